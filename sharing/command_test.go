package sharing_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

func TestSignCommand(t *testing.T) {
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	k := mustKey(t)
	cmd, err := sharing.NewKeyCommand(sharing.ActionSuspend, vid, slot("friend01"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sharing.SignCommand(cmd, k, slot("owner001"), t0)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sharing.ParseSignedCommand(b)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Command.ID != cmd.ID || sc.Command.Action != cmd.Action || sc.SignerSlot != slot("owner001") || !sc.SignedAt.Equal(t0) {
		t.Errorf("ParseSignedCommand = %+v", sc)
	}
	if !bytes.Equal(sc.Bytes(), b) {
		t.Error("Bytes() is not the parsed encoding")
	}
	if err := sc.Verify(k.PublicKey()); err != nil {
		t.Errorf("Verify = %v", err)
	}
	if err := sc.Verify(mustKey(t).PublicKey()); !errors.Is(err, dkey.ErrVerification) {
		t.Errorf("Verify with another key = %v, want ErrVerification", err)
	}
	if err := sc.Verify(nil); !errors.Is(err, dkey.ErrVerification) {
		t.Errorf("Verify(nil) = %v", err)
	}
	// Every strict prefix is refused.
	for i := range len(b) {
		if _, err := sharing.ParseSignedCommand(b[:i]); !errors.Is(err, sharing.ErrMalformed) {
			t.Fatalf("ParseSignedCommand of the %d-byte prefix = %v", i, err)
		}
	}
	// Any changed byte is refused by the parser or by Verify.
	for i := range len(b) {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		sc, err := sharing.ParseSignedCommand(c)
		if err == nil && sc.Verify(k.PublicKey()) == nil {
			t.Fatalf("byte %d changed: the command still verifies", i)
		}
	}
	if _, err := sharing.SignCommand(nil, k, slot("o"), t0); err == nil {
		t.Error("SignCommand(nil) succeeded")
	}
	if _, err := sharing.SignCommand(cmd, k, dkey.KeySlot{}, t0); err == nil {
		t.Error("SignCommand without a slot succeeded")
	}
	if _, err := sharing.SignCommand(&sharing.KeyCommand{}, k, slot("o"), t0); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("SignCommand of an invalid command = %v", err)
	}
}

// TestParseSignedCommandStrict: encodings other than SignCommand's.
func TestParseSignedCommandStrict(t *testing.T) {
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	cmd, _ := sharing.NewKeyCommand(sharing.ActionResume, vid, slot("friend01"), nil)
	c, _ := cmd.MarshalBinary()
	sig := bytes.Repeat([]byte{1}, 64)
	enc := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"version 2", enc([]any{2, c, []byte("o"), 1, sig})},
		{"four elements", enc([]any{1, c, []byte("o"), 1})},
		{"six elements", enc([]any{1, c, []byte("o"), 1, sig, 0})},
		{"bad command", enc([]any{1, []byte{0xa0}, []byte("o"), 1, sig})},
		{"empty slot", enc([]any{1, c, []byte{}, 1, sig})},
		{"long slot", enc([]any{1, c, make([]byte, 9), 1, sig})},
		{"time after 9999", enc([]any{1, c, []byte("o"), uint64(253402300800), sig})},
		{"short signature", enc([]any{1, c, []byte("o"), 1, sig[:63]})},
		{"zero signature", enc([]any{1, c, []byte("o"), 1, make([]byte, 64)})},
		{"a map", enc(map[int]any{1: 1})},
		{"non-minimal time", append(append(enc([]any{1, c, []byte("o")})[:0:0], 0x85, 0x01), append(append(append([]byte{}, enc(c)...), enc([]byte("o"))...), append([]byte{0x18, 0x01}, enc(sig)...)...)...)},
		{"too large", make([]byte, sharing.MaxSignedCommandSize+1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sharing.ParseSignedCommand(tt.b); !errors.Is(err, sharing.ErrMalformed) {
				t.Errorf("ParseSignedCommand(%x) = %v, want ErrMalformed", tt.b, err)
			}
		})
	}
	// The well-formed one parses (the signature is checked by Verify).
	if _, err := sharing.ParseSignedCommand(enc([]any{1, c, []byte("o"), 1, sig})); err != nil {
		t.Errorf("well-formed command = %v", err)
	}
}

func FuzzSignedCommand(f *testing.F) {
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	k := mustKey(f)
	for _, a := range []sharing.KeyAction{sharing.ActionSuspend, sharing.ActionResume, sharing.ActionTerminate} {
		var term []byte
		if a == sharing.ActionTerminate {
			term = bytes.Repeat([]byte{0xD2}, 100)
		}
		cmd, _ := sharing.NewKeyCommand(a, vid, slot("friend01"), term)
		b, err := sharing.SignCommand(cmd, k, slot("owner001"), t0)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := sharing.ParseSignedCommand(b)
		if err != nil {
			if !errors.Is(err, sharing.ErrMalformed) {
				t.Fatalf("ParseSignedCommand error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Parse → encode identity: the parsed command re-encodes to the
		// same bytes.
		if !bytes.Equal(sc.Bytes(), b) {
			t.Fatal("Bytes() differs from the input")
		}
		c, err := sc.Command.MarshalBinary()
		if err != nil {
			t.Fatalf("a parsed command does not marshal: %v", err)
		}
		if !bytes.Contains(b, c) {
			t.Fatal("the command does not re-encode to its bytes")
		}
		_ = sc.Verify(k.PublicKey())
	})
}

// ExampleSignCommand: the owner's device signs a suspension of a friend's
// key for the automaker's key service, which checks it against the
// vehicle's key inventory.
func ExampleSignCommand() {
	owner := must(dkey.GenerateSoftwareKey())
	ownerSlot := must(dkey.NewKeySlot([]byte("owner001")))
	vid := must(dkey.NewVehicleID([]byte("VIN00001")))
	cmd := must(sharing.NewKeyCommand(sharing.ActionSuspend, vid, must(dkey.NewKeySlot([]byte("friend01"))), nil))
	signed := must(sharing.SignCommand(cmd, owner, ownerSlot, time.Unix(1772359200, 0)))

	// The key service:
	sc := must(sharing.ParseSignedCommand(signed))
	fmt.Println(sc.Command.Action, string(sc.SignerSlot.Bytes()), sc.SignedAt.UTC().Format(time.RFC3339))
	fmt.Println("verified:", sc.Verify(owner.PublicKey()) == nil)
	// Output:
	// suspend owner001 2026-03-01T10:00:00Z
	// verified: true
}
