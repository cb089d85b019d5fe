package tlv

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/internal/testvec"
)

// readTrace returns the SELECT and AUTH0 exchanges of a Home Key fast
// transaction recorded from a real iPhone (internal/testvec, trace
// nfc_df_fast_success.log; provenance in its README), by name.
func readTrace(t *testing.T) map[string][]byte {
	t.Helper()
	traces, err := testvec.HomeKeyTraces()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range traces {
		if tr.Name != "nfc_df_fast_success.log" {
			continue
		}
		if len(tr.APDUs) < 2 {
			t.Fatalf("trace %s has %d APDUs", tr.Name, len(tr.APDUs))
		}
		return map[string][]byte{
			"select-command": tr.APDUs[0].Command, "select-response": tr.APDUs[0].Response,
			"auth0-command": tr.APDUs[1].Command, "auth0-response": tr.APDUs[1].Response,
		}
	}
	t.Fatal("trace nfc_df_fast_success.log not found")
	return nil
}

func TestHomeKeyTrace(t *testing.T) {
	trace := readTrace(t)

	t.Run("SELECT response", func(t *testing.T) {
		resp := trace["select-response"]
		data, sw := resp[:len(resp)-2], resp[len(resp)-2:]
		if !bytes.Equal(sw, []byte{0x90, 0x00}) {
			t.Fatalf("status word %x", sw)
		}
		versions, err := Single(data, 0x5C)
		if err != nil {
			t.Fatalf("Single(%x, 5C) = %v", data, err)
		}
		if want := fromHex("0200 0100"); !bytes.Equal(versions, want) {
			t.Errorf("versions = %x, want %x", versions, want)
		}
		if got := AppendTLV(nil, 0x5C, versions); !bytes.Equal(got, data) {
			t.Errorf("AppendTLV(5C, %x) = %x, want %x", versions, got, data)
		}
	})

	t.Run("AUTH0 command", func(t *testing.T) {
		cmd := trace["auth0-command"]
		// 80 80 P1 P2 Lc data Le
		lc := int(cmd[4])
		if lc != 0x6B || len(cmd) != 5+lc+1 {
			t.Fatalf("Lc %#x, command length %d", lc, len(cmd))
		}
		data := cmd[5 : 5+lc]
		var (
			version   uint16
			ePK       [65]byte
			txID      [16]byte
			readerID  [16]byte // Home Key: 8-byte group ‖ 8-byte reader
			remaining = String(data)
		)
		if !(remaining.ReadTLVUint16(0x5C, &version) &&
			remaining.ReadTLVBytes(0x87, ePK[:]) &&
			remaining.ReadTLVBytes(0x4C, txID[:]) &&
			remaining.ReadTLVBytes(0x4D, readerID[:]) &&
			remaining.Empty()) {
			t.Fatalf("reading AUTH0 data %x failed at %x", data, []byte(remaining))
		}
		if version != 0x0200 || ePK[0] != 0x04 {
			t.Errorf("version %04x, ePK[0] %02x, want 0200, 04", version, ePK[0])
		}
		var b []byte
		b = AppendTLVUint16(b, 0x5C, version)
		b = AppendTLV(b, 0x87, ePK[:])
		b = AppendTLV(b, 0x4C, txID[:])
		b = AppendTLV(b, 0x4D, readerID[:])
		if !bytes.Equal(b, data) {
			t.Errorf("re-encoded AUTH0 = %x, want %x", b, data)
		}
		if err := Validate(data, nil); err != nil {
			t.Errorf("Validate(%x) = %v", data, err)
		}
	})

	t.Run("AUTH0 response", func(t *testing.T) {
		resp := trace["auth0-response"]
		data := resp[:len(resp)-2]
		var ePK [65]byte
		var cryptogram [16]byte
		s := String(data)
		if !(s.ReadTLVBytes(0x86, ePK[:]) && s.ReadTLVBytes(0x9D, cryptogram[:]) && s.Empty()) {
			t.Fatalf("reading AUTH0 response %x failed at %x", data, []byte(s))
		}
		b := AppendTLV(AppendTLV(nil, 0x86, ePK[:]), 0x9D, cryptogram[:])
		if !bytes.Equal(b, data) {
			t.Errorf("re-encoded AUTH0 response = %x, want %x", b, data)
		}
	})
}
