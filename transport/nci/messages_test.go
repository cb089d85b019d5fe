package nci_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/polling"
)

func TestResetMessages(t *testing.T) {
	for _, tt := range []struct {
		hex  string
		want nci.ResetResponse
	}{
		{"00", nci.ResetResponse{}},
		// NCI 1.0: status, version 1.0, configuration reset (Linux nci.h
		// nci_core_reset_rsp).
		{"00 10 01", nci.ResetResponse{V1: true, Version: nci.Version10, ConfigStatus: 1}},
	} {
		b := mustHex(t, tt.hex)
		got, err := nci.ParseResetResponse(b)
		if err != nil || got != tt.want || !bytes.Equal(got.Append(nil), b) {
			t.Errorf("ParseResetResponse(%s) = %+v, %v", tt.hex, got, err)
		}
	}
	for _, bad := range []string{"", "00 10", "00 10 01 00"} {
		if _, err := nci.ParseResetResponse(mustHex(t, bad)); !errors.Is(err, nci.ErrMalformedPacket) {
			t.Errorf("ParseResetResponse(%q) = %v", bad, err)
		}
	}
	// A PN7160's CORE_RESET_NTF as ESPHome's pn7160 checks it: 9 payload
	// bytes, trigger 02 (CORE_RESET_CMD), configuration, version 2.0,
	// manufacturer NXP, four bytes of information starting with the
	// hardware version.
	b := mustHex(t, "02 01 20 04 04 61 12 02 00")
	n, err := nci.ParseResetNotification(b)
	want := nci.ResetNotification{Trigger: 2, ConfigStatus: 1, Version: 0x20, ManufacturerID: 4, ManufacturerInfo: []byte{0x61, 0x12, 0x02, 0x00}}
	if err != nil || !cmp.Equal(n, want) || !bytes.Equal(n.Append(nil), b) {
		t.Errorf("ParseResetNotification = %+v, %v", n, err)
	}
	for _, bad := range []string{"02 01 20 04 05 61 12 02 00", "02 01 20 04 03 61 12 02 00", "02 01 20"} {
		if _, err := nci.ParseResetNotification(mustHex(t, bad)); err == nil {
			t.Errorf("ParseResetNotification(%s) succeeded", bad)
		}
	}
}

func TestInitMessages(t *testing.T) {
	if got := nci.AppendInitCommand(nil, nci.Version20); !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("CORE_INIT_CMD 2.0 payload = %X, want 00 00", got)
	}
	if got := nci.AppendInitCommand(nil, nci.Version10); len(got) != 0 {
		t.Errorf("CORE_INIT_CMD 1.0 payload = %X, want none", got)
	}
	v1 := nci.InitResponse{Features: 0x00010203, Interfaces: []nci.Interface{{Type: 1}, {Type: 2}}, MaxLogicalConnections: 1,
		MaxRoutingTableSize: 0x200, MaxControlPayload: 0xFF, MaxLargeParams: 0x400, ManufacturerID: 4, ManufacturerInfo: [4]byte{0x48, 0x10, 0x08, 0x01}}
	v2 := nci.InitResponse{V2: true, Features: 0x1A, Interfaces: []nci.Interface{{Type: 1, Extensions: []byte{}}, {Type: 2, Extensions: []byte{0}}},
		MaxLogicalConnections: 1, MaxRoutingTableSize: 0x200, MaxControlPayload: 0xFF, HCIMaxDataPayload: 0xFF, HCICredits: 1, MaxNFCVFrame: 0x100}
	for _, tt := range []struct {
		version byte
		v       nci.InitResponse
	}{{nci.Version10, v1}, {nci.Version20, v2}} {
		b := tt.v.Append(nil)
		got, err := nci.ParseInitResponse(tt.version, b)
		if err != nil || !cmp.Equal(got, tt.v) {
			t.Errorf("ParseInitResponse(%02X, %X) = %+v, %v; want %+v", tt.version, b, got, err, tt.v)
		}
		for i := range len(b) {
			if _, err := nci.ParseInitResponse(tt.version, b[:i]); err == nil && i > 1 {
				t.Errorf("ParseInitResponse(prefix %d of %d) succeeded", i, len(b))
			}
		}
	}
	// A failure is the status alone.
	if got, err := nci.ParseInitResponse(nci.Version20, []byte{0x03}); err != nil || got.Status != nci.StatusFailed {
		t.Errorf("ParseInitResponse(03) = %+v, %v", got, err)
	}
	// Linux's NCI 1.0 layout, field by field: status, features, one
	// interface, max connections, routing size, control payload, large
	// parameters, manufacturer and its four bytes.
	b := mustHex(t, "00 03020100 01 02 01 0002 ff 0004 04 48100801")
	if got, err := nci.ParseInitResponse(nci.Version10, b); err != nil || got.MaxControlPayload != 0xFF || got.ManufacturerInfo != [4]byte{0x48, 0x10, 0x08, 0x01} || got.Features != 0x00010203 {
		t.Errorf("ParseInitResponse(NCI 1.0) = %+v, %v", got, err)
	}
}

func TestSmallMessages(t *testing.T) {
	sc := nci.SetConfigResponse{Status: nci.StatusInvalidParam, Invalid: []byte{0x00}}
	if got, err := nci.ParseSetConfigResponse(sc.Append(nil)); err != nil || !cmp.Equal(got, sc) {
		t.Errorf("SetConfigResponse round trip = %+v, %v", got, err)
	}
	if _, err := nci.AppendSetConfig(nil, nci.ConfigParam{ID: 0xB001, Value: []byte{1}}); err == nil {
		t.Error("AppendSetConfig(parameter B001) succeeded")
	}
	if _, err := nci.AppendSetConfig(nil, nci.ConfigParam{ID: 0xA0, Value: []byte{1}}); err == nil {
		t.Error("AppendSetConfig(one-octet parameter A0) succeeded")
	}
	cs := []nci.Credit{{Conn: 0, Credits: 1}, {Conn: 1, Credits: 2}}
	if got, err := nci.ParseCredits(nci.AppendCredits(nil, cs...)); err != nil || !cmp.Equal(got, cs) {
		t.Errorf("credits round trip = %+v, %v", got, err)
	}
	ms := []nci.Mapping{{Protocol: nci.ProtocolISODEP, Mode: nci.ModePoll, Interface: nci.InterfaceISODEP}}
	if b := nci.AppendDiscoverMap(nil, ms...); !bytes.Equal(b, []byte{1, 4, 1, 2}) {
		t.Errorf("RF_DISCOVER_MAP payload = %X, want 01 04 01 02", b)
	} else if got, err := nci.ParseDiscoverMap(b); err != nil || !cmp.Equal(got, ms) {
		t.Errorf("ParseDiscoverMap = %+v, %v", got, err)
	}
	dc := []nci.DiscoverConfig{{TechMode: nci.TechNFCAPoll, Frequency: 1}}
	if b := nci.AppendDiscover(nil, dc...); !bytes.Equal(b, []byte{1, 0, 1}) {
		t.Errorf("RF_DISCOVER payload = %X, want 01 00 01", b)
	} else if got, err := nci.ParseDiscover(b); err != nil || !cmp.Equal(got, dc) {
		t.Errorf("ParseDiscover = %+v, %v", got, err)
	}
	dn := nci.DiscoverNotification{ID: 1, Protocol: 4, TechMode: 0, TechParams: []byte{0, 4, 4, 1, 2, 3, 4, 1, 0x20}, Type: nci.DiscoverMore}
	if got, err := nci.ParseDiscoverNotification(dn.Append(nil)); err != nil || !cmp.Equal(got, dn) {
		t.Errorf("DiscoverNotification round trip = %+v, %v", got, err)
	}
	if typ, err := nci.ParseDeactivateCommand([]byte{3}); err != nil || typ != nci.DeactivateDiscovery {
		t.Errorf("ParseDeactivateCommand(03) = %v, %v", typ, err)
	}
	if typ, reason, err := nci.ParseDeactivateNotification([]byte{0, 2}); err != nil || typ != nci.DeactivateIdle || reason != nci.ReasonRFLinkLoss {
		t.Errorf("ParseDeactivateNotification(00 02) = %v, %v, %v", typ, reason, err)
	}
	if s, conn, err := nci.ParseInterfaceError([]byte{0xB2, 0}); err != nil || s != nci.StatusRFTimeoutError || conn != 0 {
		t.Errorf("ParseInterfaceError = %v, %v, %v", s, conn, err)
	}
	for name, f := range map[string]func() error{
		"status":          func() error { _, err := nci.ParseStatus(nci.GroupRF, 3, []byte{0, 0}); return err },
		"set config":      func() error { _, err := nci.ParseSetConfig([]byte{2, 0, 1}); return err },
		"set config rsp":  func() error { _, err := nci.ParseSetConfigResponse([]byte{0, 2, 1}); return err },
		"credits":         func() error { _, err := nci.ParseCredits([]byte{2, 0, 1}); return err },
		"discover map":    func() error { _, err := nci.ParseDiscoverMap([]byte{1, 4, 1}); return err },
		"discover":        func() error { _, err := nci.ParseDiscover([]byte{1, 0}); return err },
		"discover ntf":    func() error { _, err := nci.ParseDiscoverNotification([]byte{1, 4, 0, 0, 3}); return err },
		"deactivate cmd":  func() error { _, err := nci.ParseDeactivateCommand([]byte{4}); return err },
		"deactivate ntf":  func() error { _, _, err := nci.ParseDeactivateNotification([]byte{0}); return err },
		"interface error": func() error { _, _, err := nci.ParseInterfaceError([]byte{0}); return err },
		"init in v2 layout": func() error {
			_, err := nci.ParseInitResponse(nci.Version20, mustHex(t, "00 03020100 01 02 01 0002 ff 0004 04 48100801"))
			return err
		},
	} {
		if err := f(); !errors.Is(err, nci.ErrMalformedPacket) {
			t.Errorf("%s: %v, want %v", name, err, nci.ErrMalformedPacket)
		}
	}
	if nci.DeactivateSleepAF.String() != "sleep_af" || nci.DeactivationType(9).String() != "type 09" || nci.ReasonBadAFI.String() != "NFC-B bad AFI" || nci.DeactivationReason(9).String() != "reason 09" {
		t.Error("deactivation names")
	}
}

func TestActivation(t *testing.T) {
	a := nci.Activation{ID: 1, Interface: nci.InterfaceISODEP, Protocol: nci.ProtocolISODEP, TechMode: nci.TechNFCAPoll, MaxPayload: 0xFF, Credits: 1,
		SENSRes: [2]byte{0, 4}, NFCID1: []byte{8, 1, 2, 3}, SELRes: []byte{0x20}, HRx: []byte{}, ATS: []byte{5, 0x78, 0x80, 0x70, 0x02}}
	for _, v := range []byte{nci.Version10, nci.Version20} {
		want := a
		if v < nci.Version20 {
			want.HRx = nil
		}
		b := a.Append(v, nil)
		got, err := nci.ParseActivation(v, b)
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("ParseActivation(%02X, %X) = %+v, %v", v, b, got, err)
		}
		for i := range len(b) {
			if _, err := nci.ParseActivation(v, b[:i]); err == nil {
				t.Errorf("ParseActivation(%02X, prefix %d) succeeded", v, i)
			}
		}
	}
	// The layout of Linux nci.h nci_rf_intf_activated_ntf (NCI 1.0), by
	// hand: ID 01, ISO-DEP interface and protocol, NFC-A poll, 255 bytes,
	// one credit, 9 bytes of NFC-A parameters, data exchange NFC-A 106/106,
	// 6 bytes of activation parameters (RATS response length 5 and the
	// ATS).
	b := mustHex(t, "01 02 04 00 ff 01 09 0004 04 08010203 01 20 00 00 00 06 05 0578807002")
	if got, err := nci.ParseActivation(nci.Version10, b); err != nil || !bytes.Equal(got.ATS, a.ATS) || got.SELRes[0] != 0x20 {
		t.Errorf("ParseActivation(Linux layout) = %+v, %v", got, err)
	}
	bad := a
	bad.TechMode = 0x01
	if _, err := nci.ParseActivation(nci.Version20, bad.Append(nci.Version20, nil)); err == nil {
		t.Error("ParseActivation(NFC-B) succeeded")
	}
	bad = a
	bad.NFCID1 = []byte{1, 2, 3}
	if _, err := nci.ParseActivation(nci.Version20, bad.Append(nci.Version20, nil)); err == nil {
		t.Error("ParseActivation(3-byte NFCID1) succeeded")
	}
	frame := a
	frame.Interface, frame.ATS = nci.InterfaceFrame, nil
	if got, err := nci.ParseActivation(nci.Version20, frame.Append(nci.Version20, nil)); err != nil || got.Interface != nci.InterfaceFrame {
		t.Errorf("ParseActivation(frame interface) = %+v, %v", got, err)
	}
}

func TestStatuses(t *testing.T) {
	for _, tt := range []struct {
		s    nci.Status
		name string
		want error
	}{
		{nci.StatusRejected, "STATUS_REJECTED", nci.ErrRejected},
		{nci.StatusFailed, "STATUS_FAILED", nci.ErrRejected},
		{nci.StatusSyntaxError, "STATUS_SYNTAX_ERROR", nci.ErrSyntax},
		{nci.StatusNotSupported, "STATUS_NOT_SUPPORTED", nci.ErrSyntax},
		{nci.StatusNotInitialized, "STATUS_NOT_INITIALIZED", nci.ErrNotInitialized},
		{nci.StatusDiscoveryTearDown, "DISCOVERY_TEAR_DOWN", nci.ErrDiscovery},
		{nci.StatusRFUnexpectedData, "RF_UNEXPECTED_DATA", nci.ErrRF},
		{nci.StatusNFCEETimeoutError, "NFCEE_TIMEOUT_ERROR", nci.ErrNFCEE},
		{0xE5, "proprietary status E5", nci.ErrProprietary},
		{0x42, "unknown status 42", nci.ErrProprietary},
	} {
		if !strings.Contains(tt.s.String(), tt.name) {
			t.Errorf("Status(%02X).String() = %q, want %q", uint8(tt.s), tt.s.String(), tt.name)
		}
		err := &nci.StatusError{GID: nci.GroupRF, OID: nci.OIDRFDiscover, Status: tt.s}
		if !errors.Is(err, tt.want) || errors.Is(err, transport.ErrCardRemoved) {
			t.Errorf("StatusError(%v) matches %v: %v, card removed: %v", tt.s, tt.want, errors.Is(err, tt.want), errors.Is(err, transport.ErrCardRemoved))
		}
		if !strings.Contains(err.Error(), "RF_DISCOVER") {
			t.Errorf("Error() = %q", err.Error())
		}
	}
	for _, s := range []nci.Status{nci.StatusOK, nci.StatusOK1Bit, nci.StatusOK7Bit} {
		if !s.Known() {
			t.Errorf("%v not known", s)
		}
	}
	if nci.Status(0xE0).Known() {
		t.Error("a proprietary status is known")
	}
	var de error = &nci.DeactivationError{Type: nci.DeactivateDiscovery, Reason: nci.ReasonRFLinkLoss}
	if !errors.Is(de, transport.ErrCardRemoved) || !strings.Contains(de.Error(), "RF link loss") {
		t.Errorf("DeactivationError = %v", de)
	}
}

func TestECPCommand(t *testing.T) {
	var group [8]byte
	frame := polling.HomeKey(group).Append(nil)
	for _, tt := range []struct {
		in   string
		want nci.ECPCommand
	}{
		{"F:3F", nci.ECPCommand{GID: 0xF, OID: 0x3F}},
		{"f:3f:a501", nci.ECPCommand{GID: 0xF, OID: 0x3F, Prefix: []byte{0xA5, 0x01}}},
		{"0F:3F::nocrc", nci.ECPCommand{GID: 0xF, OID: 0x3F, Prefix: []byte{}, OmitCRC: true}},
	} {
		c, err := nci.ParseECPCommand(tt.in)
		if err != nil || !cmp.Equal(*c, tt.want) {
			t.Errorf("ParseECPCommand(%q) = %+v, %v", tt.in, c, err)
			continue
		}
		p, err := c.AppendPayload(nil, frame)
		if err != nil {
			t.Fatal(err)
		}
		back, ok := c.Frame(p)
		if !ok || !bytes.Equal(back, frame) {
			t.Errorf("%q: Frame(AppendPayload) = %X, %v; want %X", tt.in, back, ok, frame)
		}
		if c.OmitCRC && len(p) != len(frame)-2 {
			t.Errorf("%q: payload keeps the CRC", tt.in)
		}
	}
	for _, bad := range []string{"", "F", "G:3F", "F:40", "F:3F:zz", "F:3F::crc", "F:3F:00:nocrc:x", "10:00"} {
		if _, err := nci.ParseECPCommand(bad); err == nil {
			t.Errorf("ParseECPCommand(%q) succeeded", bad)
		}
	}
	c := &nci.ECPCommand{Prefix: []byte{1}}
	if _, ok := c.Frame([]byte{2, 3}); ok {
		t.Error("Frame accepted another prefix")
	}
	if _, err := c.AppendPayload(nil, []byte{1}); err == nil {
		t.Error("AppendPayload(1-byte frame) succeeded")
	}
}

func FuzzMessages(f *testing.F) {
	f.Add(byte(0), mustHex(f, "02 01 20 04 04 61 12 02 00"))
	f.Add(byte(1), mustHex(f, "00 03020100 01 02 01 0002 ff 0004 04 48100801"))
	f.Add(byte(2), mustHex(f, "01 02 04 00 ff 01 0a 0004 04 08010203 01 20 00 00 00 00 06 05 0578807002"))
	f.Add(byte(3), mustHex(f, "0f 85 01 01 28 01 00 21 01 00 30 01 08 31 01 03 32 01 60 38 01 01 33 04 01 02 03 04 54 01 06 50 01 02 5b 01 00 80 01 01 81 01 01 82 01 0e 18 01 01"))
	f.Add(byte(4), mustHex(f, "01 a0 0e 0b 31 01 01 31 00 00 00 01 00 d0 0c"))
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		check := func(err error) {
			if err != nil && !errors.Is(err, nci.ErrMalformedPacket) {
				t.Fatalf("error %v is not ErrMalformedPacket", err)
			}
		}
		switch kind % 8 {
		case 0:
			n, err := nci.ParseResetNotification(b)
			check(err)
			if err == nil && !bytes.Equal(n.Append(nil), b) {
				t.Fatalf("reset notification round trip %X", b)
			}
		case 1:
			for _, v := range []byte{nci.Version10, nci.Version20} {
				r, err := nci.ParseInitResponse(v, b)
				check(err)
				if err == nil && len(b) > 1 && !bytes.Equal(r.Append(nil), b) {
					t.Fatalf("init response round trip %X", b)
				}
			}
		case 2:
			for _, v := range []byte{nci.Version10, nci.Version20} {
				a, err := nci.ParseActivation(v, b)
				if err == nil && !bytes.Equal(a.Append(v, nil), b) && a.Interface == nci.InterfaceISODEP {
					t.Fatalf("activation round trip %X", b)
				}
			}
		case 3, 4:
			ps, err := nci.ParseSetConfig(b)
			check(err)
			if err == nil {
				if again, err := nci.AppendSetConfig(nil, ps...); err != nil || !bytes.Equal(again, b) {
					t.Fatalf("set config round trip %X: %X, %v", b, again, err)
				}
			}
		case 5:
			r, err := nci.ParseResetResponse(b)
			check(err)
			if err == nil && !bytes.Equal(r.Append(nil), b) {
				t.Fatalf("reset response round trip %X", b)
			}
		case 6:
			n, err := nci.ParseDiscoverNotification(b)
			check(err)
			if err == nil && !bytes.Equal(n.Append(nil), b) {
				t.Fatalf("discover notification round trip %X", b)
			}
		case 7:
			cs, err := nci.ParseCredits(b)
			check(err)
			if err == nil && !bytes.Equal(nci.AppendCredits(nil, cs...), b) {
				t.Fatalf("credits round trip %X", b)
			}
		}
	})
}
