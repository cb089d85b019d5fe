package sharing_test

import (
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/opencarkey/sdk/sharing"
)

// plaintexts returns a genuine message of each type, unpadded, as the
// receiving side decrypts it.
func plaintexts(t testing.TB) map[sharing.DataType][]byte {
	t.Helper()
	w := newWorld(t)
	out := map[sharing.DataType][]byte{}
	lk := mustRecipient(t)
	os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	out[sharing.TypeKeyCreationRequest] = openUnpadded(t, lk, sharing.PurposeInvitation, sealed)
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed)
	if err != nil {
		t.Fatal(err)
	}
	issued := w.issue(t, os, fs)
	id := fs.Invitation().ID
	// The plaintexts are opened again with keys the test holds: reseal
	// what the sessions sealed to keys it does not.
	for typ, body := range map[sharing.DataType]map[uint64]any{
		sharing.TypeKeySigningRequest: ksrBody(fs.Invitation().ID, fs.Created(), mustRecipient(t)),
		sharing.TypeImportRequest:     {1: id[:], 2: issued.Statement},
		sharing.TypeSenderCancel:      {1: id[:], 2: uint64(sharing.CodeSharingCancelled)},
		sharing.TypeReceiverCancel:    {1: id[:], 2: uint64(sharing.CodeCancelledByFriend)},
	} {
		msg, err := sharing.MarshalForTest(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		out[typ] = msg
	}
	return out
}

func openUnpadded(t testing.TB, k *sharing.RecipientPrivateKey, p byte, sealed []byte) []byte {
	t.Helper()
	padded, err := sharing.OpenForTest(k, p, "", sealed)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	rest, err := cbor.UnmarshalFirst(padded, &v)
	if err != nil {
		t.Fatal(err)
	}
	return padded[:len(padded)-len(rest)]
}

// TestMessagesRoundTrip parses a genuine message of each type, padded and
// not, and refuses every strict prefix.
func TestMessagesRoundTrip(t *testing.T) {
	for typ, m := range plaintexts(t) {
		t.Run(typ.String(), func(t *testing.T) {
			for _, b := range [][]byte{m, append(append([]byte(nil), m...), make([]byte, 300)...)} {
				got, err := sharing.ParsePlaintextForTest(b)
				if err != nil || got != typ {
					t.Fatalf("ParsePlaintext(%x) = %v, %v; want %v", b, got, err, typ)
				}
			}
			for i := range len(m) {
				if _, err := sharing.ParsePlaintextForTest(m[:i]); err == nil {
					t.Fatalf("ParsePlaintext of the %d-byte prefix of %x succeeded", i, m)
				}
			}
		})
	}
}

// TestStrictMessages: every way a message may be almost right.
func TestStrictMessages(t *testing.T) {
	id := strings.Repeat("ab", 16)
	cancel := "8204a20150" + id + "021820"
	for _, tt := range []struct {
		name string
		hex  string
		want error
		code sharing.ErrorCode
	}{
		{"valid cancel", cancel, nil, 0},
		{"padding", cancel + "0000", nil, 0},
		{"bytes after the message", cancel + "01", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"indefinite map", "8204bf0150" + id + "021820ff", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"indefinite array", "9f04a20150" + id + "021820ff", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"duplicate key", "8204a30150" + id + "0218200218 21", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"unknown key", "8204a30150" + id + "0218200300", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"non-minimal integer", "8204a20150" + id + "02190020", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"non-minimal type", "821804a20150" + id + "021820", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"keys out of order", "8204a2021820" + "0150" + id, sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"tag", "c1" + cancel, sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"tagged field", "8204a201d84050" + id + "021820", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"three elements", "8304a20150" + id + "02182000", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"type 0", "8200a20150" + id + "021820", sharing.ErrUnexpectedMessage, sharing.CodeInvalidStructure},
		{"type 6 (PIN)", "8206a20150" + id + "021820", sharing.ErrUnexpectedMessage, sharing.CodeInvalidStructure},
		{"negative type", "8220a20150" + id + "021820", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"text identifier", "8204a20170" + id + "021820", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"short identifier", "8204a2014f" + id[2:] + "021820", sharing.ErrMalformed, sharing.CodeInvalidContent},
		{"empty identifier", "8204a20140021820", sharing.ErrMalformed, sharing.CodeMissingField},
		{"missing code", "8204a10150" + id, sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"unknown code", "8204a20150" + id + "021842", sharing.ErrMalformed, sharing.CodeInvalidContent},
		{"code above a byte", "8204a20150" + id + "02190120", sharing.ErrMalformed, sharing.CodeInvalidContent},
		{"float code", "8204a20150" + id + "02f94000", sharing.ErrMalformed, sharing.CodeInvalidStructure},
		{"empty", "", sharing.ErrMalformed, sharing.CodeInvalidStructure},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(strings.ReplaceAll(tt.hex, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			_, err = sharing.ParsePlaintextForTest(b)
			if tt.want == nil {
				if err != nil {
					t.Errorf("ParsePlaintext(%x) = %v, want success", b, err)
				}
				return
			}
			var se *sharing.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &se) || se.Code != tt.code {
				t.Errorf("ParsePlaintext(%x) = %v, want %v with code %v", b, err, tt.want, tt.code)
			}
		})
	}
}

// TestStrictInvitationFields changes one field of a genuine
// KeyCreationRequest at a time.
func TestStrictInvitationFields(t *testing.T) {
	m := plaintexts(t)[sharing.TypeKeyCreationRequest]
	var msg struct {
		_    struct{} `cbor:",toarray"`
		Type uint64
		Body map[uint64]any
	}
	if err := cbor.Unmarshal(m, &msg); err != nil {
		t.Fatal(err)
	}
	mailboxes := func(v ...uint64) []any {
		out := make([]any, len(v))
		for i := range v {
			out[i] = v[i]
		}
		return out
	}
	cert := msg.Body[4].([]any)[0]
	for _, tt := range []struct {
		name  string
		key   uint64
		value any // nil deletes
		code  sharing.ErrorCode
	}{
		{"vehicle identifier of 7 bytes", 2, make([]byte, 7), sharing.CodeInvalidContent},
		{"vehicle key off the curve", 3, append([]byte{4}, make([]byte, 64)...), sharing.CodeInvalidContent},
		{"no vehicle key", 3, nil, sharing.CodeMissingField},
		{"chain without root", 5, nil, sharing.CodeInvalidContent},
		{"root without chain", 4, nil, sharing.CodeInvalidContent},
		{"chain of four", 4, []any{cert, cert, cert, cert}, sharing.CodeInvalidContent},
		{"empty certificate", 4, []any{[]byte{}}, sharing.CodeInvalidCertificateStructure},
		{"oversized root", 5, make([]byte, 2049), sharing.CodeInvalidCertificateStructure},
		{"owner slot of 9 bytes", 7, make([]byte, 9), sharing.CodeInvalidContent},
		{"no entitlements", 8, uint64(0), sharing.CodeInvalidContent},
		{"unknown entitlement", 8, uint64(1 << 20), sharing.CodeInvalidContent},
		{"entitlements above 32 bits", 8, uint64(1 << 32), sharing.CodeInvalidContent},
		{"speed above 16 bits", 9, uint64(1 << 16), sharing.CodeInvalidContent},
		{"NotBefore after NotAfter", 10, uint64(t0.Add(30 * 24 * time.Hour).Unix()), sharing.CodeInvalidContent},
		{"after 9999", 12, uint64(253402300800), sharing.CodeInvalidContent},
		{"friend slot of 9 bytes", 13, make([]byte, 9), sharing.CodeInvalidContent},
		{"five mailbox values", 14, mailboxes(640, 128, 0, 3, 0), sharing.CodeInvalidContent},
		{"private mailbox too small", 14, mailboxes(517, 128, 0, 3, 0, 0), sharing.CodeInvalidContent},
		{"AUTH1 subset outside", 14, mailboxes(640, 128, 600, 100, 0, 0), sharing.CodeInvalidContent},
		{"mailbox size above 16 bits", 14, mailboxes(1<<16, 128, 0, 3, 0, 0), sharing.CodeInvalidContent},
		{"compressed response key", 15, append([]byte{2}, make([]byte, 64)...), sharing.CodeInvalidContent},
		{"no response key", 15, nil, sharing.CodeMissingField},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := map[uint64]any{}
			for k, v := range msg.Body {
				body[k] = v
			}
			if tt.value == nil {
				delete(body, tt.key)
			} else {
				body[tt.key] = tt.value
			}
			b, err := sharing.MarshalForTest(sharing.TypeKeyCreationRequest, body)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sharing.ParsePlaintextForTest(b)
			if !errors.Is(err, sharing.ErrMalformed) || !errors.Is(err, tt.code) {
				t.Errorf("ParsePlaintext = %v, want ErrMalformed with %v", err, tt.code)
			}
		})
	}
}

// TestEnvelopeIsDocumentedHPKE opens a sealed invitation with crypto/hpke
// directly, as doc.go describes the envelope: a second implementation of
// the format from its documentation.
func TestEnvelopeIsDocumentedHPKE(t *testing.T) {
	w := newWorld(t)
	link, err := sharing.ParseLink("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	if err != nil {
		t.Fatal(err)
	}
	lk, err := link.Key()
	if err != nil {
		t.Fatal(err)
	}
	_, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if sealed[0] != 2 || sealed[1] != 0 || (len(sealed)-2-65-16)%256 != 0 {
		t.Fatalf("envelope header %x, length %d", sealed[:2], len(sealed))
	}
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i)
	}
	sk, err := hpke.DHKEM(ecdh.P256()).DeriveKeyPair(secret)
	if err != nil {
		t.Fatal(err)
	}
	info := append([]byte("opencarkey sharing v1"), 0, 1)
	r, err := hpke.NewRecipient(sealed[2:67], sk, hpke.HKDFSHA256(), hpke.AES128GCM(), info)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := r.Open(sealed[:67], sealed[67:])
	if err != nil {
		t.Fatalf("crypto/hpke does not open the envelope: %v", err)
	}
	if pt[0] != 0x82 || pt[1] != 0x01 || pt[len(pt)-1] != 0 || len(pt)%256 != 0 {
		t.Errorf("plaintext starts %x, %d bytes; want [1, {...}] padded to 256", pt[:2], len(pt))
	}
}
