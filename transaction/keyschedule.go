package transaction

import (
	"crypto/subtle"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/kdf"
	"github.com/opencarkey/sdk/internal/securemsg"
)

// InterfaceNFC is the interface byte bound into the key derivation for NFC
// (docs/protocol.md §4.4), verified against real phones.
const InterfaceNFC byte = 0x5E

// Sizes of the derived keys.
const (
	// PersistentKeySize is the size of Kpersistent.
	PersistentKeySize = 32
	// RangingKeySize is the size of the UWB ranging secret key URSK.
	RangingKeySize = 32

	volatileSize    = 48                            // Kenc ‖ Kmac ‖ Krmac
	volatileURSK    = volatileSize + RangingKeySize // with URSK (CCC, docs/protocol.md §4.4)
	fastOKMSize     = cryptogramSize + volatileSize
	kdhSize         = 32
	labelVolatile   = "Volatile"
	labelPersistent = "Persistent"
	labelFast       = "VolatileFast"

	// maxInfo bounds every HKDF info string: the fast info is the longest,
	// 32+12+16+32+1+(2+16)+4+32+16+2+32 bytes.
	maxInfo = 256
)

// PersistentKey is Kpersistent: the secret a standard transaction leaves
// behind on both sides for the next fast transaction (docs/protocol.md §4.4,
// §4.5). It is replaced after every standard transaction. The zero value
// holds no key.
//
// It keeps the HKDF pseudorandom key HMAC(0³², Kpersistent) precomputed: the
// vehicle tries every enrolled key during a fast transaction, and the
// extraction is half of the work.
type PersistentKey struct {
	key   [PersistentKeySize]byte
	prk   [PersistentKeySize]byte
	valid bool
}

// NewPersistentKey returns the key whose 32 bytes are b, as returned by
// [PersistentKey.Bytes], for restoring stored state.
func NewPersistentKey(b []byte) (PersistentKey, error) {
	var k PersistentKey
	if len(b) != PersistentKeySize {
		return k, ErrInvalidPersistentKey
	}
	k.set(b, newHMAC())
	return k, nil
}

func (k *PersistentKey) set(b []byte, m *hmacSHA256) {
	copy(k.key[:], b)
	m.extract(&k.prk, k.key[:])
	k.valid = true
}

// Valid reports whether k holds a key.
func (k *PersistentKey) Valid() bool { return k.valid }

// Bytes returns a copy of the 32-byte key, for storing it. It returns nil
// for the zero PersistentKey.
func (k *PersistentKey) Bytes() []byte {
	if !k.valid {
		return nil
	}
	return append([]byte(nil), k.key[:]...)
}

// Equal reports, in constant time, whether k and o hold the same key.
func (k *PersistentKey) Equal(o *PersistentKey) bool {
	return k.valid == o.valid && subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// Zeroize erases the key.
func (k *PersistentKey) Zeroize() { *k = PersistentKey{} }

// RangingKey is the UWB ranging secret key URSK that a standard transaction
// of the CCC profile derives (Volatile[48:80], docs/protocol.md §4.4) for the
// ranging setup (§8.5). It redacts itself when formatted; Bytes gives the
// key to whoever needs it. The zero value holds no key.
type RangingKey struct {
	key   [RangingKeySize]byte
	valid bool
}

// Valid reports whether k holds a key.
func (k *RangingKey) Valid() bool { return k.valid }

// Bytes returns a copy of the 32-byte key, or nil for the zero RangingKey.
func (k *RangingKey) Bytes() []byte {
	if !k.valid {
		return nil
	}
	return append([]byte(nil), k.key[:]...)
}

// Equal reports, in constant time, whether k and o hold the same key.
func (k *RangingKey) Equal(o *RangingKey) bool {
	return k.valid == o.valid && subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// Zeroize erases the key.
func (k *RangingKey) Zeroize() { *k = RangingKey{} }

// transcript is what both sides of one transaction bind into its keys:
// the profile's choices and the values exchanged in SELECT and AUTH0.
type transcript struct {
	profile          dkey.Profile
	iface            byte
	flags            Flags
	action           dkey.Action
	version          dkey.Version
	endpointVersions dkey.VersionList
	vehicleID        dkey.VehicleID
	vehicleEPKX      [coordSize]byte
	endpointEPKX     [coordSize]byte
	txID             [txIDSize]byte
}

// listInKDF reports whether the endpoint's version list follows the selected
// version in the key derivation: Home Key 2.0 only (docs/protocol.md §4.4).
func (t *transcript) listInKDF() bool {
	return t.profile == dkey.HomeKey && t.version == dkey.Version2
}

// appendInfo appends the HKDF info of the standard key schedule
// (docs/protocol.md §4.4): vehicle_ePK.x ‖ endpoint_ePK.x ‖ transaction_identifier
// ‖ interface ‖ P1 ‖ P2 ‖ label ‖ 5C 02 version [‖ 5C len endpoint versions].
func (t *transcript) appendInfo(dst []byte, label string) []byte {
	dst = append(dst, t.vehicleEPKX[:]...)
	dst = append(dst, t.endpointEPKX[:]...)
	dst = append(dst, t.txID[:]...)
	dst = append(dst, t.iface, byte(t.flags), byte(t.action))
	dst = append(dst, label...)
	dst = append(dst, byte(tagVersions), 2)
	dst = t.version.Append(dst)
	if t.listInKDF() {
		dst = append(dst, byte(tagVersions), byte(2*t.endpointVersions.Len()))
		dst = t.endpointVersions.Append(dst)
	}
	return dst
}

// appendFastInfo appends the HKDF info of the fast derivation (docs/protocol.md
// §4.5), leaving endpointKeyX zero when it is nil so that the vehicle can
// patch in each candidate key at fastInfoEndpointOffset:
//
//	vehicle_PK.x ‖ "VolatileFast" ‖ vehicle_identifier ‖ endpoint_PK.x ‖ interface
//	‖ [5C len endpoint versions] ‖ 5C 02 version ‖ vehicle_ePK.x ‖ transaction_identifier
//	‖ P1 ‖ P2 ‖ endpoint_ePK.x
//
// The Home Key 2.0 layout follows the public Home Key reader that unlocks
// real iPhones ([AHKR] homekey.py); no public vector with keys exists, so it
// is checked only against that layout. The CCC 1.0 cryptogram is
// not public (docs/protocol.md §4.5, §11 item 1); the project follows hypothesis
// (a) of §4.5: the same derivation with the 8-byte vehicle identifier and
// without the endpoint's version list, cryptogram = OKM[0:16]. It is an
// optimisation only: anything security-relevant (engine start, first friend
// transaction) takes a standard transaction.
func (t *transcript) appendFastInfo(dst []byte, vehicleKeyX, endpointKeyX []byte) []byte {
	dst = append(dst, vehicleKeyX...)
	dst = append(dst, labelFast...)
	dst = t.vehicleID.Append(dst)
	if endpointKeyX == nil {
		var zero [coordSize]byte
		dst = append(dst, zero[:]...)
	} else {
		dst = append(dst, endpointKeyX...)
	}
	dst = append(dst, t.iface)
	if t.listInKDF() {
		dst = append(dst, byte(tagVersions), byte(2*t.endpointVersions.Len()))
		dst = t.endpointVersions.Append(dst)
	}
	dst = append(dst, byte(tagVersions), 2)
	dst = t.version.Append(dst)
	dst = append(dst, t.vehicleEPKX[:]...)
	dst = append(dst, t.txID[:]...)
	dst = append(dst, byte(t.flags), byte(t.action))
	return append(dst, t.endpointEPKX[:]...)
}

// fastInfoEndpointOffset is where endpoint_PK.x starts in the fast info.
func (t *transcript) fastInfoEndpointOffset() int {
	return coordSize + len(labelFast) + t.vehicleID.Len()
}

// keySchedule holds the derived secrets of one transaction. It lives in the
// session so that nothing is allocated per transaction.
type keySchedule struct {
	mac      *hmacSHA256
	info     [maxInfo]byte
	kdh      [kdhSize]byte
	prk      [32]byte
	volatile [volatileURSK]byte
	okm      [fastOKMSize]byte
	persist  [PersistentKeySize]byte
	urskOK   bool
}

func (ks *keySchedule) init() {
	if ks.mac == nil {
		ks.mac = newHMAC()
	}
}

// deriveStandard runs the standard key schedule of docs/protocol.md §4.4 from the
// shared X coordinate z: Kdh = X9.63(z, transaction_identifier), then HKDF
// (no salt) with the "Volatile" and "Persistent" infos. The CCC profile
// derives 80 volatile bytes, the last 32 being the UWB ranging key URSK
// (docs/protocol.md §4.4, §11 item 14: the offset Volatile[48:80] is inferred); the
// HKDF output is a prefix code, so the first 48 bytes are the same either way.
func (ks *keySchedule) deriveStandard(t *transcript, z *[32]byte) {
	kdf.X963(ks.kdh[:0], z[:], t.txID[:], kdhSize)
	ks.mac.extract(&ks.prk, ks.kdh[:])
	n := volatileSize
	ks.urskOK = t.profile == dkey.CCC
	if ks.urskOK {
		n = volatileURSK
	}
	ks.mac.expand(ks.volatile[:n], &ks.prk, t.appendInfo(ks.info[:0], labelVolatile))
	ks.mac.expand(ks.persist[:], &ks.prk, t.appendInfo(ks.info[:0], labelPersistent))
}

// standardKeys returns the secure-messaging keys of the standard schedule.
func (ks *keySchedule) standardKeys(k *securemsg.Keys) {
	copy(k.Enc[:], ks.volatile[0:16])
	copy(k.MAC[:], ks.volatile[16:32])
	copy(k.RMAC[:], ks.volatile[32:48])
}

// deriveFast runs the fast derivation for one candidate key: OKM =
// HKDF-Expand(PRK(Kpersistent), info, 64), cryptogram = OKM[0:16] and the
// secure-messaging keys OKM[16:64] (docs/protocol.md §4.5). info must already
// hold the candidate's endpoint key.
func (ks *keySchedule) deriveFast(pk *PersistentKey, info []byte) {
	ks.mac.expand(ks.okm[:], &pk.prk, info)
}

// fastCryptogramMatches derives only the first HKDF block for a candidate
// and compares its first 16 bytes with the received cryptogram in constant
// time. It costs one HMAC per enrolled key.
func (ks *keySchedule) fastCryptogramMatches(pk *PersistentKey, info []byte, want *[cryptogramSize]byte) bool {
	ks.mac.expand(ks.okm[:cryptogramSize], &pk.prk, info)
	return subtle.ConstantTimeCompare(ks.okm[:cryptogramSize], want[:]) == 1
}

// fastKeys returns the secure-messaging keys of the fast derivation.
func (ks *keySchedule) fastKeys(k *securemsg.Keys) {
	copy(k.Enc[:], ks.okm[16:32])
	copy(k.MAC[:], ks.okm[32:48])
	copy(k.RMAC[:], ks.okm[48:64])
}

// zeroize erases every secret of the schedule.
func (ks *keySchedule) zeroize() {
	clear(ks.kdh[:])
	clear(ks.prk[:])
	clear(ks.volatile[:])
	clear(ks.okm[:])
	clear(ks.persist[:])
	clear(ks.info[:])
	ks.urskOK = false
	if ks.mac != nil {
		ks.mac.zeroize()
	}
}
