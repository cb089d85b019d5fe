package attest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/dkey"
)

// kaFields returns the hex fields of the key attestation payload of the
// fixture, in deterministic order, map head first.
func kaFields(t testing.TB, f *fixture) []string {
	t.Helper()
	a := f.keyAttestation()
	return []string{
		"aa",
		"0101",
		"0250" + hex.EncodeToString(a.ID[:]),
		"0348" + hex.EncodeToString(a.VehicleID.Bytes()),
		"045841" + hex.EncodeToString(a.FriendKey.Bytes()),
		"0548" + hex.EncodeToString(a.FriendSlot.Bytes()),
		"060f",
		"071850",
		"081a6955b900",
		"091a6b36ec7f",
		"0a1a694c2a20",
	}
}

// kaProtected returns the hex of the protected header of the fixture's key
// attestation: {1: -7, 3: content type, 4: owner slot}.
func kaProtected(f *fixture) []string {
	return []string{
		"a3",
		"0126",
		"03782f" + hex.EncodeToString([]byte(ContentTypeKeyAttestation)),
		"0448" + hex.EncodeToString(f.ownerSlot.Bytes()),
	}
}

// rawStatement is a COSE_Sign1 assembled piece by piece.
type rawStatement struct {
	tag         string // hex of the tag head
	array       string // hex of the array head
	protected   []byte // contents of the protected bstr
	unprotected string // hex
	payload     []byte // contents of the payload bstr
	payloadEnc  string // hex replacing the payload bstr when set
	sig         []byte // nil: sign with the owner key
	trailer     string // hex appended
}

func (r *rawStatement) bytes(t testing.TB, f *fixture) []byte {
	t.Helper()
	sig := r.sig
	if sig == nil {
		s, err := dkey.Sign(f.owner, appendSigStructure(nil, r.protected, r.payload))
		if err != nil {
			t.Fatal(err)
		}
		sig = s[:]
	}
	b := unhex(t, r.tag+r.array)
	b = appendBstr(b, r.protected)
	b = append(b, unhex(t, r.unprotected)...)
	if r.payloadEnc != "" {
		b = append(b, unhex(t, r.payloadEnc)...)
	} else {
		b = appendBstr(b, r.payload)
	}
	b = appendBstr(b, sig)
	return append(b, unhex(t, r.trailer)...)
}

func join(t testing.TB, parts []string) []byte { t.Helper(); return unhex(t, strings.Join(parts, "")) }

// TestStrictDecoding signs, with the right key, statements that a lax
// decoder would accept, and checks that each is rejected as malformed.
func TestStrictDecoding(t *testing.T) {
	f := newFixture(t)
	base := func() *rawStatement {
		return &rawStatement{tag: "d2", array: "84", protected: join(t, kaProtected(f)), unprotected: "a0", payload: join(t, kaFields(t, f))}
	}
	// The assembled statement verifies, so each case below fails only for
	// the one thing it changes.
	if _, err := VerifyKeyAttestation(base().bytes(t, f), f.opts); err != nil {
		t.Fatalf("VerifyKeyAttestation(assembled) = %v", err)
	}
	withPayload := func(mod func([]string) []string) func(*rawStatement) {
		return func(r *rawStatement) { r.payload = join(t, mod(kaFields(t, f))) }
	}
	withProtected := func(mod func([]string) []string) func(*rawStatement) {
		return func(r *rawStatement) { r.protected = join(t, mod(kaProtected(f))) }
	}
	set := func(i int, v string) func([]string) []string {
		return func(p []string) []string { p[i] = v; return p }
	}
	ctOther := "0378" + hex.EncodeToString([]byte{byte(len(ContentTypeTerminationAttestation))}) + hex.EncodeToString([]byte(ContentTypeTerminationAttestation))
	for _, tc := range []struct {
		name string
		mod  func(*rawStatement)
		raw  []byte
	}{
		// Envelope.
		{name: "untagged", mod: func(r *rawStatement) { r.tag = "" }},
		{name: "COSE_Sign tag", mod: func(r *rawStatement) { r.tag = "d862" }},
		{name: "tag 18 with a long head", mod: func(r *rawStatement) { r.tag = "d812" }},
		{name: "tag twice", mod: func(r *rawStatement) { r.tag = "d2d2" }},
		{name: "kid in unprotected header", mod: func(r *rawStatement) { r.unprotected = "a10448" + hex.EncodeToString(f.ownerSlot.Bytes()) }},
		{name: "unprotected header null", mod: func(r *rawStatement) { r.unprotected = "f6" }},
		{name: "indefinite-length array", mod: func(r *rawStatement) { r.array = "9f"; r.trailer = "ff" }},
		{name: "array of five", mod: func(r *rawStatement) { r.array = "85"; r.trailer = "f6" }},
		{name: "indefinite-length payload", mod: func(r *rawStatement) {
			r.payloadEnc = "5f" + hex.EncodeToString(appendBstr(nil, r.payload)) + "ff"
		}},
		{name: "payload with a long head", mod: func(r *rawStatement) {
			r.payloadEnc = "590084" + hex.EncodeToString(r.payload)
		}},
		{name: "detached payload", mod: func(r *rawStatement) { r.payloadEnc = "f6" }},
		{name: "trailing byte", mod: func(r *rawStatement) { r.trailer = "00" }},
		{name: "signature of 63 bytes", mod: func(r *rawStatement) { r.sig = make([]byte, 63) }},
		{name: "signature of 65 bytes", mod: func(r *rawStatement) { r.sig = bytes.Repeat([]byte{1}, 65) }},
		{name: "signature with s = 0", mod: func(r *rawStatement) { r.sig = append(bytes.Repeat([]byte{1}, 32), make([]byte, 32)...) }},
		{name: "empty", raw: []byte{}},
		{name: "oversized", raw: append(unhex(t, "d2845904"), make([]byte, MaxStatementSize)...)},
		// Protected header.
		{name: "duplicate alg", mod: withProtected(func(p []string) []string { return append([]string{"a4", "0126"}, p[1:]...) })},
		{name: "alg ES384", mod: withProtected(set(1, "013822"))},
		{name: "alg as text", mod: withProtected(set(1, "01654553323536"))},
		{name: "no alg", mod: withProtected(func(p []string) []string { return append([]string{"a2"}, p[2:]...) })},
		{name: "no content type", mod: withProtected(func(p []string) []string { return []string{"a2", p[1], p[3]} })},
		{name: "content type as CoAP number", mod: withProtected(set(2, "03183c"))},
		{name: "content type of a termination", mod: withProtected(set(2, ctOther))},
		{name: "crit header", mod: withProtected(func(p []string) []string { return []string{"a4", p[1], "028101", p[2], p[3]} })},
		{name: "unknown header", mod: withProtected(func(p []string) []string { return []string{"a4", p[1], p[2], p[3], "0540"} })},
		{name: "keys out of order", mod: withProtected(func(p []string) []string { return []string{"a3", p[2], p[1], p[3]} })},
		{name: "empty kid", mod: withProtected(set(3, "0440"))},
		{name: "kid of 9 bytes", mod: withProtected(set(3, "0449000000000000000001"))},
		{name: "no kid", mod: withProtected(func(p []string) []string { return []string{"a2", p[1], p[2]} })},
		{name: "indefinite-length header map", mod: withProtected(func(p []string) []string { return append(append([]string{"bf"}, p[1:]...), "ff") })},
		{name: "empty protected header", mod: func(r *rawStatement) { r.protected = []byte{} }},
		{name: "protected header not a map", mod: func(r *rawStatement) { r.protected = []byte{0x80} }},
		{name: "protected header with trailing byte", mod: func(r *rawStatement) { r.protected = append(r.protected, 0) }},
		// Payload.
		{name: "duplicate key", mod: withPayload(func(p []string) []string { return append([]string{"ab"}, append(p[1:], "0101")...) })},
		{name: "duplicate key in order", mod: withPayload(func(p []string) []string { return append([]string{"ab", p[1]}, p[1:]...) })},
		{name: "indefinite-length map", mod: withPayload(func(p []string) []string { return append(append([]string{"bf"}, p[1:]...), "ff") })},
		{name: "unknown field", mod: withPayload(func(p []string) []string { return append([]string{"ab"}, append(p[1:], "0b00")...) })},
		{name: "text key", mod: withPayload(func(p []string) []string { return append([]string{"ab"}, append(p[1:], "613100")...) })},
		{name: "missing field", mod: withPayload(func(p []string) []string { return append([]string{"a9"}, p[1:10]...) })},
		{name: "fields out of order", mod: withPayload(func(p []string) []string { return append([]string{"aa"}, append(p[2:], p[1])...) })},
		{name: "integer with a long head", mod: withPayload(set(1, "011801"))},
		{name: "speed limit present as 0", mod: withPayload(set(7, "0700"))},
		{name: "tag in payload", mod: withPayload(set(2, "02d84050"+hex.EncodeToString(f.keyAttestation().ID[:])))},
		{name: "format version 2", mod: withPayload(set(1, "0102"))},
		{name: "vehicle identifier of 7 bytes", mod: withPayload(set(3, "034756494e30303030"))},
		{name: "friend key off the curve", mod: withPayload(set(4, "04584104"+strings.Repeat("00", 64)))},
		{name: "friend slot empty", mod: withPayload(set(5, "0540"))},
		{name: "unknown entitlement", mod: withPayload(set(6, "06184f"))},
		{name: "no entitlement", mod: withPayload(set(6, "0600"))},
		{name: "entitlements negative", mod: withPayload(set(6, "0620"))},
		{name: "entitlements as float", mod: withPayload(set(6, "06f94b80"))},
		{name: "speed above 65535", mod: withPayload(set(7, "071a00010000"))},
		{name: "NotBefore after NotAfter", mod: withPayload(func(p []string) []string { p[8], p[9] = "08"+p[9][2:], "09"+p[8][2:]; return p })},
		{name: "time after year 9999", mod: withPayload(set(9, "091b000000ffffffffff"))},
		{name: "zero ID", mod: withPayload(set(2, "0250"+strings.Repeat("00", 16)))},
		{name: "ID of 15 bytes", mod: withPayload(set(2, "024f"+strings.Repeat("11", 15)))},
		{name: "payload is an array", mod: func(r *rawStatement) { r.payload = []byte{0x80} }},
		{name: "payload is empty", mod: func(r *rawStatement) { r.payload = []byte{} }},
		{name: "payload with trailing byte", mod: withPayload(func(p []string) []string { return append(p, "00") })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.raw
			if st == nil {
				r := base()
				tc.mod(r)
				st = r.bytes(t, f)
			}
			_, err := VerifyKeyAttestation(st, f.opts)
			wantVerifyError(t, err, StepParse, ErrMalformed)
		})
	}
}

func TestSignRejectsInvalidStatements(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		mod  func(*KeyAttestation)
	}{
		{"zero ID", func(a *KeyAttestation) { a.ID = ID{} }},
		{"no vehicle", func(a *KeyAttestation) { a.VehicleID = dkey.VehicleID{} }},
		{"no friend key", func(a *KeyAttestation) { a.FriendKey = nil }},
		{"no friend slot", func(a *KeyAttestation) { a.FriendSlot = dkey.KeySlot{} }},
		{"no signer slot", func(a *KeyAttestation) { a.SignerSlot = dkey.KeySlot{} }},
		{"empty profile", func(a *KeyAttestation) { a.Profile = dkey.AccessProfile{} }},
		{"unknown entitlement", func(a *KeyAttestation) { a.Profile.Entitlements |= 1 << 20 }},
		{"window reversed", func(a *KeyAttestation) { a.NotBefore, a.NotAfter = a.NotAfter, a.NotBefore }},
		{"time before 1970", func(a *KeyAttestation) { a.IssuedAt = a.IssuedAt.AddDate(-100, 0, 0) }},
		{"zero time", func(a *KeyAttestation) { a.NotBefore = a.NotBefore.AddDate(-2026, 0, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.keyAttestation()
			tc.mod(a)
			if _, err := a.Sign(f.owner); !errors.Is(err, ErrMalformed) {
				t.Errorf("Sign() = %v, want %v", err, ErrMalformed)
			}
		})
	}
	ta := f.termination()
	ta.KeyHash = [32]byte{}
	if _, err := ta.Sign(f.friend); !errors.Is(err, ErrMalformed) {
		t.Errorf("TerminationAttestation.Sign(zero key hash) = %v, want %v", err, ErrMalformed)
	}
	r := f.receipt()
	r.Slot = dkey.KeySlot{}
	if _, err := r.Sign(f.tracker); !errors.Is(err, ErrMalformed) {
		t.Errorf("TrackingReceipt.Sign(no slot) = %v, want %v", err, ErrMalformed)
	}
}
