package attest

import (
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// FuzzVerifyAttestation feeds arbitrary bytes to the three verifiers, with
// every fixture key known to them. Nothing panics, every failure is a
// *VerifyError, and whatever verifies carries exactly the protected header
// and payload of a statement the fixture keys signed: a forged statement
// never verifies. (The signature itself may differ: ECDSA signatures are
// malleable, (r, n-s) verifies too.) A key attestation is verified again
// with the owner's validity bounded to the fixture attestation's window: it
// may then only be refused more often, at StepGrant with
// ErrOutsideSignerValidity, and whatever verifies lies within that window.
func FuzzVerifyAttestation(f *testing.F) {
	fx := newFixture(f)
	bounded := fx.opts
	bounded.Signers = append([]Signer(nil), fx.opts.Signers...)
	window := fx.keyAttestation()
	bounded.Signers[0].NotBefore, bounded.Signers[0].NotAfter = window.NotBefore, window.NotAfter
	genuine := map[string]bool{}
	remember := func(st []byte) {
		var tag cbor.RawTag
		var s sign1
		if cbor.Unmarshal(st, &tag) != nil || cbor.Unmarshal(tag.Content, &s) != nil {
			f.Fatalf("seed %x does not decode", st)
		}
		genuine[string(appendSigStructure(nil, s.Protected, s.Payload))] = true
	}
	for _, k := range kinds() {
		st, _ := loadGolden(f, k.file)
		remember(st)
		f.Add(st)
		fresh, err := k.sign(fx)
		if err != nil {
			f.Fatal(err)
		}
		remember(fresh)
		f.Add(fresh)
		f.Add(fresh[:len(fresh)/2])
	}
	// A key attestation that outlives the bounded signer.
	longer := fx.keyAttestation()
	longer.NotAfter = longer.NotAfter.AddDate(1, 0, 0)
	st, err := longer.Sign(fx.owner)
	if err != nil {
		f.Fatal(err)
	}
	remember(st)
	f.Add(st)
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Add([]byte{0xd2, 0x9f, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range kinds() {
			_, err := k.verify(b, fx.opts)
			if err != nil {
				var ve *VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("%s: verify(%x) = %v, want *VerifyError", k.name, b, err)
				}
				continue
			}
			var tag cbor.RawTag
			var s sign1
			if cbor.Unmarshal(b, &tag) != nil || cbor.Unmarshal(tag.Content, &s) != nil {
				t.Fatalf("%s: verify(%x) = nil, but it does not decode", k.name, b)
			}
			if !genuine[string(appendSigStructure(nil, s.Protected, s.Payload))] {
				t.Fatalf("%s: verify(%x) = nil for content nobody signed", k.name, b)
			}
		}
		a, err := VerifyKeyAttestation(b, bounded)
		_, unbounded := VerifyKeyAttestation(b, fx.opts)
		switch {
		case err == nil && unbounded != nil:
			t.Fatalf("VerifyKeyAttestation(%x) verifies only with a bounded signer: %v", b, unbounded)
		case err == nil && (a.NotBefore.Before(window.NotBefore) || a.NotAfter.After(window.NotAfter)):
			t.Fatalf("VerifyKeyAttestation(%x) = [%v, %v], outside the signer's [%v, %v]", b, a.NotBefore, a.NotAfter, window.NotBefore, window.NotAfter)
		case err != nil && unbounded == nil && !errors.Is(err, ErrOutsideSignerValidity):
			t.Fatalf("VerifyKeyAttestation(%x) with a bounded signer = %v, want ErrOutsideSignerValidity or success", b, err)
		}
	})
}
