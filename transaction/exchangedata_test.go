package transaction

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// dataEndpoint answers EXCHANGE by echoing nothing and recording the
// plaintext OpenExchangeData returned; the rest is testEndpoint's.
type dataEndpoint struct {
	*testEndpoint
	got []byte
}

func (e *dataEndpoint) ProcessAPDU(dst, apdu []byte) []byte {
	if len(apdu) > 1 && apdu[1] == insExchange {
		cmd, err := transport.ParseCommand(apdu)
		if err != nil {
			return append(dst, 0x67, 0x00)
		}
		plain, err := e.s.OpenExchangeData(&cmd)
		if err != nil {
			sw := StatusWordFor(err)
			return append(dst, byte(sw>>8), byte(sw))
		}
		e.got = bytes.Clone(plain)
		out, err := e.s.SealExchange(dst, nil)
		if err != nil {
			sw := StatusWordFor(err)
			return append(dst, byte(sw>>8), byte(sw))
		}
		return append(out, 0x90, 0x00)
	}
	return e.testEndpoint.ProcessAPDU(dst, apdu)
}

// TestAttestationExchange: a Home Key vehicle sends the attestation
// EXCHANGE after ReadAuth1, before it knows the endpoint's key; the
// endpoint reads the plaintext whole, answers with the R-MAC alone (as
// the recorded iPhone does), and the vehicle then verifies the AUTH1
// signature and goes on.
func TestAttestationExchange(t *testing.T) {
	tv, te := pair(t, dkey.HomeKey)
	de := &dataEndpoint{testEndpoint: te}
	tv.card = de
	if err := tv.auth0(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	cmd, err := tv.s.Auth1()
	if err != nil {
		t.Fatal(err)
	}
	r, err := tv.do(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tv.s.ReadAuth1(r); err != nil {
		t.Fatal(err)
	}
	if _, err := tv.s.Exchange([]MailboxOp{{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Length: 1}}); err == nil {
		t.Fatal("Exchange before VerifyEndpoint succeeded")
	}
	plain := append([]byte{0x00, 0x8E, 0x22, 0xC0, 0x20}, bytes.Repeat([]byte{0x5A}, 32)...)
	cmd, err = tv.s.AttestationExchange(plain)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = tv.do(cmd); err != nil {
		t.Fatal(err)
	}
	if len(r.Data) != 8 {
		t.Errorf("attestation EXCHANGE response %x, want the 8-byte R-MAC alone", r.Data)
	}
	got, err := tv.s.ReadExchange(r)
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadExchange = %x, %v", got, err)
	}
	if !bytes.Equal(de.got, plain) {
		t.Errorf("endpoint read %x, want %x", de.got, plain)
	}
	if _, err := tv.s.VerifyEndpoint(te.cred.PublicKey); err != nil {
		t.Fatalf("VerifyEndpoint after the attestation EXCHANGE: %v", err)
	}
	// A second one, now authenticated, takes the next counter.
	if cmd, err = tv.s.AttestationExchange(plain); err != nil {
		t.Fatal(err)
	}
	if r, err = tv.do(cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := tv.s.ReadExchange(r); err != nil {
		t.Fatal(err)
	}
}

func TestAttestationExchangeRefused(t *testing.T) {
	plain := []byte{0x00, 0x8E, 0x22, 0xC0, 0x20}
	t.Run("CCC", func(t *testing.T) {
		tv, te := pair(t, dkey.CCC)
		if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
			t.Fatal(err)
		}
		_, err := tv.s.AttestationExchange(plain)
		wantErr(t, "CCC attestation EXCHANGE", err, ErrOutOfSequence)
	})
	t.Run("before AUTH1", func(t *testing.T) {
		tv, _ := pair(t, dkey.HomeKey)
		if err := tv.auth0(dkey.ActionUnlock, 0); err != nil {
			t.Fatal(err)
		}
		_, err := tv.s.AttestationExchange(plain)
		wantErr(t, "attestation EXCHANGE before AUTH1", err, ErrOutOfSequence)
		if _, err := tv.s.ReadExchange(transport.Response{Data: make([]byte, 8), SW: dkey.SWSuccess}); err == nil {
			t.Error("ReadExchange without an EXCHANGE succeeded")
		}
	})
	t.Run("fast", func(t *testing.T) {
		tv, te := pair(t, dkey.HomeKey)
		pk, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		te.cred.Persistent = pk
		if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
			t.Fatal(err)
		}
		if tv.s.FindFast([]FastKey{NewFastKey(te.cred.PublicKey, &pk)}) != 0 {
			t.Fatal("no fast match")
		}
		_, err = tv.s.AttestationExchange(plain)
		wantErr(t, "attestation EXCHANGE after a fast match", err, ErrOutOfSequence)
	})
	t.Run("size", func(t *testing.T) {
		tv, te := pair(t, dkey.HomeKey)
		if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, MaxExchangeData + 1} {
			_, err := tv.s.AttestationExchange(make([]byte, n))
			wantErr(t, "attestation EXCHANGE size", err, ErrInvalidOp)
		}
	})
}
