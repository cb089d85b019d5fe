package uwb

import (
	"encoding/binary"
	"fmt"
)

// MaxMeasurements bounds the measurements of one ranging notification.
const MaxMeasurements = 16

// Ranging measurement types of SESSION_INFO_NTF; this package decodes
// two-way ranging, the CCC ranging method.
const measurementTwoWay = 0x01

// Address modes of SESSION_INFO_NTF.
const (
	AddressShort    = 0x00 // 2-byte MAC addresses
	AddressExtended = 0x01 // 8-byte MAC addresses
)

// measurementSize is the size of one two-way measurement, with either
// address mode: 31 bytes.
const measurementSize = 31

// TwoWayMeasurement is one two-way ranging measurement of SESSION_INFO_NTF
// (google/pica ShortAddressTwoWayRangingMeasurement and
// ExtendedAddressTwoWayRangingMeasurement).
type TwoWayMeasurement struct {
	// Address is the peer's MAC address as on the wire (little-endian);
	// only the first 2 bytes in the short address mode.
	Address  [8]byte
	Status   Status // OK, or why this round measured nothing
	NLOS     uint8  // 1: non-line-of-sight
	Distance uint16 // centimetres
	// Angles of arrival, Q9.7 degrees as on the wire, with their figures
	// of merit.
	AoAAzimuth, AoAElevation       uint16
	AoAAzimuthFOM, AoAElevationFOM uint8
	DstAzimuth, DstElevation       uint16
	DstAzimuthFOM, DstElevationFOM uint8
	SlotIndex                      uint8
	RSSI                           uint8
}

// RangingData is SESSION_INFO_NTF, the notification a UWBS sends after each
// ranging round: sequence number (4), session token (4), RCR indicator (1),
// current ranging interval in ms (4), measurement type (1), RFU (1), MAC
// address mode (1), HUS primary session (4), RFU (4), count (1), the
// measurements (31 bytes each) and vendor data (Android uci_packets.pdl
// SessionInfoNtf; google/pica keeps the 8 bytes after the address mode
// reserved).
type RangingData struct {
	Sequence          uint32
	Session           uint32
	RCRIndicator      uint8
	Interval          uint32
	AddressMode       uint8
	HUSPrimarySession uint32
	n                 uint8
	m                 [MaxMeasurements]TwoWayMeasurement
	nv                uint8
	vendor            [MaxVendorInfo]byte
}

// Measurements returns the measurements, aliasing d.
func (d *RangingData) Measurements() []TwoWayMeasurement { return d.m[:d.n] }

// AddMeasurement appends a measurement.
func (d *RangingData) AddMeasurement(m TwoWayMeasurement) error {
	if d.n == MaxMeasurements {
		return malformed("more than %d measurements", MaxMeasurements)
	}
	d.m[d.n] = m
	d.n++
	return nil
}

// Vendor returns the vendor data, aliasing d.
func (d *RangingData) Vendor() []byte { return d.vendor[:d.nv] }

// SetVendor sets the vendor data (at most MaxVendorInfo bytes).
func (d *RangingData) SetVendor(b []byte) error {
	if len(b) > MaxVendorInfo {
		return malformed("%d vendor bytes, limit %d", len(b), MaxVendorInfo)
	}
	d.nv = uint8(copy(d.vendor[:], b))
	return nil
}

func (*RangingData) Type() MessageType { return MTNotification }
func (*RangingData) Opcode() Opcode    { return OpSessionStart }

// AppendPayload appends the notification's payload to dst.
func (d *RangingData) AppendPayload(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, d.Sequence)
	dst = binary.LittleEndian.AppendUint32(dst, d.Session)
	dst = append(dst, d.RCRIndicator)
	dst = binary.LittleEndian.AppendUint32(dst, d.Interval)
	dst = append(dst, measurementTwoWay, 0, d.AddressMode)
	dst = binary.LittleEndian.AppendUint32(dst, d.HUSPrimarySession)
	dst = append(dst, 0, 0, 0, 0, d.n)
	for i := range d.m[:d.n] {
		m := &d.m[i]
		if d.AddressMode == AddressExtended {
			dst = append(dst, m.Address[:]...)
		} else {
			dst = append(dst, m.Address[:2]...)
		}
		dst = append(dst, byte(m.Status), m.NLOS)
		dst = binary.LittleEndian.AppendUint16(dst, m.Distance)
		dst = binary.LittleEndian.AppendUint16(dst, m.AoAAzimuth)
		dst = append(dst, m.AoAAzimuthFOM)
		dst = binary.LittleEndian.AppendUint16(dst, m.AoAElevation)
		dst = append(dst, m.AoAElevationFOM)
		dst = binary.LittleEndian.AppendUint16(dst, m.DstAzimuth)
		dst = append(dst, m.DstAzimuthFOM)
		dst = binary.LittleEndian.AppendUint16(dst, m.DstElevation)
		dst = append(dst, m.DstElevationFOM, m.SlotIndex, m.RSSI)
		dst = append(dst, make([]byte, d.reserved())...)
	}
	return append(dst, d.vendor[:d.nv]...)
}

// reserved returns the RFU bytes that end each measurement.
func (d *RangingData) reserved() int {
	if d.AddressMode == AddressExtended {
		return 5
	}
	return 11
}

const rangingHeaderSize = 25 // through the measurement count

// UnmarshalPayload decodes a SESSION_INFO_NTF payload. Only two-way ranging
// measurements are accepted; reserved fields must be zero.
func (d *RangingData) UnmarshalPayload(b []byte) error {
	if len(b) < rangingHeaderSize {
		return malformed("SESSION_INFO_NTF of %d bytes", len(b))
	}
	var r RangingData
	r.Sequence = binary.LittleEndian.Uint32(b)
	r.Session = binary.LittleEndian.Uint32(b[4:])
	r.RCRIndicator = b[8]
	r.Interval = binary.LittleEndian.Uint32(b[9:])
	if b[13] != measurementTwoWay {
		return malformed("ranging measurement type 0x%02x; only two-way ranging (01) is supported", b[13])
	}
	if b[14] != 0 || b[20] != 0 || b[21] != 0 || b[22] != 0 || b[23] != 0 {
		return malformed("SESSION_INFO_NTF reserved bytes are not zero")
	}
	r.AddressMode = b[15]
	if r.AddressMode != AddressShort && r.AddressMode != AddressExtended {
		return malformed("MAC address mode 0x%02x", b[15])
	}
	r.HUSPrimarySession = binary.LittleEndian.Uint32(b[16:])
	r.n = b[24]
	if r.n > MaxMeasurements {
		return malformed("%d measurements, limit %d", r.n, MaxMeasurements)
	}
	b = b[rangingHeaderSize:]
	if len(b) < int(r.n)*measurementSize {
		return malformed("%d measurements in %d bytes", r.n, len(b))
	}
	addr := 2
	if r.AddressMode == AddressExtended {
		addr = 8
	}
	for i := range int(r.n) {
		p := b[i*measurementSize : (i+1)*measurementSize]
		m := &r.m[i]
		copy(m.Address[:], p[:addr])
		p = p[addr:]
		m.Status, m.NLOS = Status(p[0]), p[1]
		m.Distance = binary.LittleEndian.Uint16(p[2:])
		m.AoAAzimuth, m.AoAAzimuthFOM = binary.LittleEndian.Uint16(p[4:]), p[6]
		m.AoAElevation, m.AoAElevationFOM = binary.LittleEndian.Uint16(p[7:]), p[9]
		m.DstAzimuth, m.DstAzimuthFOM = binary.LittleEndian.Uint16(p[10:]), p[12]
		m.DstElevation, m.DstElevationFOM = binary.LittleEndian.Uint16(p[13:]), p[15]
		m.SlotIndex, m.RSSI = p[16], p[17]
		for _, z := range p[18:] {
			if z != 0 {
				return malformed("measurement %d: reserved bytes are not zero", i)
			}
		}
	}
	vendor := b[int(r.n)*measurementSize:]
	if err := r.SetVendor(vendor); err != nil {
		return err
	}
	*d = r
	return nil
}

// String summarises the notification: the distances in metres.
func (d *RangingData) String() string {
	s := fmt.Sprintf("SESSION_INFO_NTF{session %08x, seq %d", d.Session, d.Sequence)
	for _, m := range d.m[:d.n] {
		if m.Status == StatusOK || m.Status == StatusOKNegativeDistance {
			s += fmt.Sprintf(", %x: %.2f m", m.Address[:2], float64(m.Distance)/100)
		} else {
			s += fmt.Sprintf(", %x: %v", m.Address[:2], m.Status)
		}
	}
	return s + "}"
}
