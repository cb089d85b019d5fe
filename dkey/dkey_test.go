package dkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func TestVehicleID(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"ccc", bytes.Repeat([]byte{1}, 8), nil},
		{"homekey", bytes.Repeat([]byte{2}, 16), nil},
		{"empty", nil, ErrInvalidVehicleID},
		{"seven", make([]byte, 7), ErrInvalidVehicleID},
		{"nine", make([]byte, 9), ErrInvalidVehicleID},
		{"seventeen", make([]byte, 17), ErrInvalidVehicleID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVehicleID(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("NewVehicleID(%x) error = %v, want %v", tt.in, err, tt.err)
			}
			if err != nil {
				if !v.IsZero() {
					t.Errorf("NewVehicleID(%x) = %v on error, want zero", tt.in, v)
				}
				return
			}
			if !bytes.Equal(v.Bytes(), tt.in) || v.Len() != len(tt.in) || !v.EqualBytes(tt.in) {
				t.Errorf("NewVehicleID(%x) round trip = %x (len %d)", tt.in, v.Bytes(), v.Len())
			}
			if v.String() != hex.EncodeToString(tt.in) {
				t.Errorf("String() = %q", v.String())
			}
			w, _ := NewVehicleID(tt.in)
			if !v.Equal(w) || v != w {
				t.Errorf("equal identifiers compare unequal")
			}
		})
	}
	// An 8-byte prefix of a 16-byte identifier is a different identifier.
	long, _ := NewVehicleID(bytes.Repeat([]byte{3}, 16))
	short, _ := NewVehicleID(bytes.Repeat([]byte{3}, 8))
	if long == short || long.EqualBytes(short.Bytes()) {
		t.Errorf("8-byte and 16-byte identifiers compare equal")
	}
}

func TestKeySlot(t *testing.T) {
	for n := 0; n <= 9; n++ {
		b := bytes.Repeat([]byte{0xA5}, n)
		k, err := NewKeySlot(b)
		valid := n >= 1 && n <= MaxKeySlotLen
		if valid != (err == nil) {
			t.Fatalf("NewKeySlot(%x) error = %v, want valid=%v", b, err, valid)
		}
		if !valid {
			if !errors.Is(err, ErrInvalidKeySlot) {
				t.Errorf("NewKeySlot(%x) error = %v, want ErrInvalidKeySlot", b, err)
			}
			continue
		}
		if !bytes.Equal(k.Bytes(), b) || !k.EqualBytes(b) || k.Len() != n {
			t.Errorf("NewKeySlot(%x) round trip = %x", b, k.Bytes())
		}
		if k.EqualBytes(append(b, 0)) {
			t.Errorf("KeySlot %v equals a longer identifier", k)
		}
	}
}

func TestVersionList(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want []Version
		err  error
	}{
		{"ccc", "0100", []Version{Version1}, nil},
		{"homekey", "02000100", []Version{Version2, Version1}, nil},
		{"empty", "", nil, ErrInvalidVersionList},
		{"odd", "01", nil, ErrInvalidVersionList},
		{"odd3", "010002", nil, ErrInvalidVersionList},
		{"ascending", "01000200", nil, ErrInvalidVersionList},
		{"duplicate", "01000100", nil, ErrInvalidVersionList},
		{"too long", "0900080007000600050004000300020001", nil, ErrInvalidVersionList},
		{"eight", "0800070006000500040003000200 0100", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := mustHex(t, string(bytes.ReplaceAll([]byte(tt.in), []byte(" "), nil)))
			l, err := ParseVersionList(in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseVersionList(%x) error = %v, want %v", in, err, tt.err)
			}
			if err != nil {
				return
			}
			if got := l.Append(nil); !bytes.Equal(got, in) {
				t.Errorf("round trip = %x, want %x", got, in)
			}
			if tt.want != nil {
				if l.Len() != len(tt.want) {
					t.Fatalf("Len() = %d, want %d", l.Len(), len(tt.want))
				}
				for i, v := range tt.want {
					if l.At(i) != v {
						t.Errorf("At(%d) = %v, want %v", i, l.At(i), v)
					}
				}
			}
			// No strict prefix of a valid list of two or more entries is the same list.
			for i := 0; i < len(in); i++ {
				if p, err := ParseVersionList(in[:i]); err == nil && p == l {
					t.Errorf("prefix %x parses to the same list", in[:i])
				}
			}
		})
	}
}

func TestVersionSelect(t *testing.T) {
	hk := HomeKey.Versions()
	ccc := CCC.Versions()
	if v, ok := ccc.Select(hk); !ok || v != Version1 {
		t.Errorf("CCC.Select(HomeKey) = %v, %v, want 1.0", v, ok)
	}
	if v, ok := hk.Select(hk); !ok || v != Version2 {
		t.Errorf("HomeKey.Select(HomeKey) = %v, %v, want 2.0", v, ok)
	}
	only3, _ := NewVersionList(0x0300)
	if _, ok := ccc.Select(only3); ok {
		t.Errorf("Select with no common version succeeded")
	}
	if hk.String() != "2.0,1.0" || Version(0x0102).String() != "1.2" {
		t.Errorf("String() = %q, %q", hk.String(), Version(0x0102).String())
	}
	if (VersionList{}).Highest() != 0 || hk.Highest() != Version2 {
		t.Errorf("Highest wrong")
	}
}

// TestVehicleVersions: a default Home Key reader speaks 2.0 alone, so an
// endpoint list stripped of 2.0 (a downgrade by a relay) has no version in
// common with it; a CCC reader speaks what CCC endpoints offer.
func TestVehicleVersions(t *testing.T) {
	only2, _ := NewVersionList(Version2)
	only1, _ := NewVersionList(Version1)
	for _, tt := range []struct {
		name    string
		p       Profile
		offered VersionList
		want    Version // 0: no common version
	}{
		{"HomeKey endpoint", HomeKey, HomeKey.Versions(), Version2},
		{"HomeKey stripped to 1.0", HomeKey, only1, 0},
		{"CCC endpoint", CCC, CCC.Versions(), Version1},
		{"CCC asked for 2.0 only", CCC, only2, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := tt.p.VehicleVersions().Select(tt.offered)
			if ok != (tt.want != 0) || v != tt.want {
				t.Errorf("%v.VehicleVersions().Select(%v) = %v, %v; want %v", tt.p, tt.offered, v, ok, tt.want)
			}
		})
	}
	if got := HomeKey.VehicleVersions(); got != only2 {
		t.Errorf("HomeKey.VehicleVersions() = %v, want 2.0", got)
	}
	if got := CCC.VehicleVersions(); got != CCC.Versions() {
		t.Errorf("CCC.VehicleVersions() = %v, want %v", got, CCC.Versions())
	}
}

func TestProfile(t *testing.T) {
	var zero Profile
	if zero != CCC || !CCC.Valid() || !HomeKey.Valid() || Profile(7).Valid() {
		t.Fatalf("profile validity wrong")
	}
	if CCC.VehicleIDLen() != 8 || HomeKey.VehicleIDLen() != 16 || CCC.KeySlotLen() != 8 || HomeKey.KeySlotLen() != 6 {
		t.Errorf("profile lengths wrong")
	}
	if CCC.AppletAID() != AIDDigitalKey || HomeKey.AppletAID() != AIDHomeKey {
		t.Errorf("profile AIDs wrong")
	}
	if got := AIDDigitalKey.String(); got != "A000000809434343444B417631" {
		t.Errorf("AIDDigitalKey = %s", got)
	}
	if got := AIDFramework.String(); got != "A000000809434343444B467631" {
		t.Errorf("AIDFramework = %s", got)
	}
	if !AIDHomeKey.Equal(mustHex(t, "A00000085801010100000001")) || AIDHomeKey.Equal(mustHex(t, "A0000008580101")) {
		t.Errorf("AID.Equal wrong")
	}
	for _, tt := range []struct {
		sel  string
		want bool
	}{
		{"A00000085801010100000001", true},
		{"A0000008580101", true},
		{"A000000858", true},
		{"A0000008", false},
		{"", false},
		{"A0000008580102", false},
		{"A0000008580101010000000100", false},
	} {
		if got := AIDHomeKey.Selects(mustHex(t, tt.sel)); got != tt.want {
			t.Errorf("AIDHomeKey.Selects(%s) = %v, want %v", tt.sel, got, tt.want)
		}
	}
	if Profile(9).String() != "Profile(9)" || HomeKey.String() != "HomeKey" {
		t.Errorf("Profile.String wrong")
	}
}

func TestStatusWordIs(t *testing.T) {
	for _, tt := range []struct {
		sw, target StatusWord
		want       bool
	}{
		{0x9000, SWSuccess, true},
		{0x6110, SWBytesAvailable, true},
		{0x6100, SWBytesAvailable, true},
		{0x6C20, SWWrongLe, true},
		{0x63C3, SWVerifyFailed, true},
		{0x63C0, SWVerifyFailed, true},
		{0x6310, SWVerifyFailed, false},
		{0x6310, SWWarningChanged, true},
		{0x6A82, SWWrongParameters, true},
		{0x6A82, SWFileNotFound, true},
		{0x6A82, SWReferencedDataNotFound, false},
		{0x6985, SWChecking, true},
		{0x6402, SWExecutionError, true},
		{0x6402, SWNotAvailable, true},
		{0x6400, SWNotAvailable, false},
		{0x6B01, SWWrongP1P2, false},
		{0x6D00, SWClassNotSupported, false},
		{0x9001, SWSuccess, false},
		{0x6110, SWWrongLe, false},
	} {
		if got := errors.Is(tt.sw, tt.target); got != tt.want {
			t.Errorf("errors.Is(%04X, %04X) = %v, want %v", uint16(tt.sw), uint16(tt.target), got, tt.want)
		}
	}
	if errors.Is(SWFileNotFound, ErrUnknownKey) {
		t.Errorf("StatusWord matched a non-status error")
	}
	if SWSuccess.Err() != nil || SWFileNotFound.Err() == nil {
		t.Errorf("Err() wrong")
	}
	for sw, want := range map[StatusWord]string{
		0x6A82: "status word 6A82: file or application not found",
		0x6120: "status word 6120: 32 bytes available",
		0x63C2: "status word 63C2: verification failed, 2 tries left",
		0x9ABC: "status word 9ABC",
	} {
		if got := sw.Error(); got != want {
			t.Errorf("%04X.Error() = %q, want %q", uint16(sw), got, want)
		}
	}
}

func TestAccessProfile(t *testing.T) {
	owner := OwnerProfile()
	friend := AccessProfile{Entitlements: AccessOnly}
	limited := AccessProfile{Entitlements: UnlockAndDrive, MaxSpeed: 80}
	for _, tt := range []struct {
		name    string
		p, g    AccessProfile
		within  bool
		engine  bool
		unlocks bool
	}{
		{"friend under owner", friend, owner, true, false, true},
		{"owner under friend", owner, friend, false, true, true},
		{"limited under owner", limited, owner, true, true, true},
		{"unlimited under limited", AccessProfile{Entitlements: AccessOnly}, limited, false, false, true},
		{"stricter under limited", AccessProfile{Entitlements: AccessOnly, MaxSpeed: 50}, limited, true, false, true},
		{"looser under limited", AccessProfile{Entitlements: AccessOnly, MaxSpeed: 100}, limited, false, false, true},
		{"nothing", AccessProfile{}, friend, true, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Within(tt.g); got != tt.within {
				t.Errorf("(%v).Within(%v) = %v, want %v", tt.p, tt.g, got, tt.within)
			}
			if got := tt.p.Allows(ActionEngineStart); got != tt.engine {
				t.Errorf("(%v).Allows(engine start) = %v, want %v", tt.p, got, tt.engine)
			}
			if got := tt.p.Allows(ActionUnlock); got != tt.unlocks {
				t.Errorf("(%v).Allows(unlock) = %v, want %v", tt.p, got, tt.unlocks)
			}
		})
	}
	if !friend.Allows(ActionOther) || (AccessProfile{}).Allows(ActionOther) {
		t.Errorf("generic authentication: any key with an entitlement, and only such a key")
	}
	for a := 0; a < 256; a++ {
		if (AccessProfile{}).Allows(Action(a)) {
			t.Errorf("a profile without entitlements allows %v", Action(a))
		}
		if !Action(a).Valid() && OwnerProfile().Allows(Action(a)) {
			t.Errorf("the owner profile allows the unknown code %#x", a)
		}
	}
	for _, a := range []Action{ActionOwnerPairingFirst, ActionOwnerPairingSecond} {
		if friend.Allows(a) || (AccessProfile{Entitlements: UnlockAndDrive}).Allows(a) || !OwnerProfile().Allows(a) {
			t.Errorf("%v: owner only", a)
		}
	}
	if !friend.Allows(ActionRangingKey) || (AccessProfile{Entitlements: EntitleLock}).Allows(ActionRangingKey) {
		t.Errorf("ranging needs the unlock entitlement")
	}
	if got := limited.String(); got != "unlock|lock|trunk|engine-start, max 80 km/h" {
		t.Errorf("String() = %q", got)
	}
	if (Entitlements(1 << 20)).Known() || !OwnerEntitlements.Known() {
		t.Errorf("Known() wrong")
	}
}

func TestActions(t *testing.T) {
	for a := 0; a < 256; a++ {
		act := Action(a)
		want := (a >= 1 && a <= 8) || a == 0x10 || a == 0x11
		if act.Valid() != want {
			t.Errorf("Action(%#x).Valid() = %v, want %v", a, act.Valid(), want)
		}
		if act.StartsDrive() != (a == 3 || a == 4) {
			t.Errorf("Action(%#x).StartsDrive() wrong", a)
		}
	}
}

func TestMailboxConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    MailboxConfig
		ok   bool
	}{
		{"empty", MailboxConfig{}, true},
		{"subsets", MailboxConfig{PrivateSize: 100, ConfidentialSize: 64, PrivateAuth1: MailboxRange{0, 1}, ConfidentialAuth1: MailboxRange{0, 64}}, true},
		{"conf overflow", MailboxConfig{ConfidentialSize: 64, ConfidentialAuth1: MailboxRange{1, 64}}, false},
		{"priv overflow", MailboxConfig{PrivateSize: 10, PrivateAuth1: MailboxRange{10, 1}}, false},
		{"too large", MailboxConfig{PrivateSize: 4096, PrivateAuth1: MailboxRange{0, MaxAuth1Subset + 1}}, false},
		{"offset past end of uint16", MailboxConfig{PrivateSize: 65535, PrivateAuth1: MailboxRange{65535, 2}}, false},
		{"empty subset past the end", MailboxConfig{ConfidentialSize: 16, ConfidentialAuth1: MailboxRange{100, 0}}, false},
		{"empty subset at the end", MailboxConfig{ConfidentialSize: 16, ConfidentialAuth1: MailboxRange{16, 0}}, true},
	} {
		err := tt.c.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidMailboxConfig)) {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	k, err := GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	good := k.PublicKey().Bytes()
	offCurve := bytes.Clone(good)
	offCurve[64] ^= 1
	compressed := append([]byte{0x02 | good[64]&1}, good[1:33]...)
	for _, tt := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"valid", good, true},
		{"empty", nil, false},
		{"short", good[:64], false},
		{"long", append(bytes.Clone(good), 0), false},
		{"compressed", compressed, false},
		{"wrong prefix", append([]byte{0x05}, good[1:]...), false},
		{"off curve", offCurve, false},
		{"zero point", append([]byte{0x04}, make([]byte, 64)...), false},
		{"x too large", append(append([]byte{0x04}, bytes.Repeat([]byte{0xFF}, 32)...), good[33:]...), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePublicKey(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ParsePublicKey(%x) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidPublicKey) {
					t.Errorf("error %v does not wrap ErrInvalidPublicKey", err)
				}
				return
			}
			if !bytes.Equal(p.Bytes(), tt.in) || !p.Equal(k.PublicKey()) {
				t.Errorf("round trip mismatch")
			}
			x := p.X()
			if !bytes.Equal(x[:], tt.in[1:33]) {
				t.Errorf("X() = %x", x)
			}
		})
	}
	var zero PublicKey
	if _, err := zero.ECDH(); err == nil {
		t.Errorf("zero PublicKey converted to ECDH")
	}
	if zero.Verify([]byte("m"), &Signature{1}) == nil {
		t.Errorf("zero PublicKey verified a signature")
	}
}

func TestSignVerify(t *testing.T) {
	k, err := GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("AUTH1 signed data")
	sig, err := Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.PublicKey().Verify(msg, &sig); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if err := k.PublicKey().Verify([]byte("other"), &sig); err != ErrVerification {
		t.Errorf("Verify(other message) = %v, want ErrVerification", err)
	}
	for i := range sig {
		bad := sig
		bad[i] ^= 0x01
		if err := k.PublicKey().Verify(msg, &bad); err != ErrVerification {
			t.Fatalf("Verify(signature with byte %d flipped) = %v, want ErrVerification", i, err)
		}
	}
	other, _ := GenerateSoftwareKey()
	if err := other.PublicKey().Verify(msg, &sig); err != ErrVerification {
		t.Errorf("Verify(other key) = %v", err)
	}
	// DER round trip.
	der := sig.AppendASN1(nil)
	back, err := SignatureFromASN1(der)
	if err != nil || back != sig {
		t.Errorf("SignatureFromASN1(AppendASN1) = %x, %v", back, err)
	}
	// Cross-check the DER with crypto/ecdsa.
	digest := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(k.PublicKey().ECDSA(), digest[:], der) {
		t.Errorf("crypto/ecdsa rejects our DER encoding")
	}
	// A software key restored from its bytes is the same key.
	raw, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NewSoftwareKey(raw)
	if err != nil || !k2.PublicKey().Equal(k.PublicKey()) {
		t.Errorf("NewSoftwareKey(Bytes()) = %v, %v", k2, err)
	}
	if _, err := k.Sign(nil, digest[:16], nil); err == nil {
		t.Errorf("Sign without SHA-256 options succeeded")
	}
}

func TestSoftwareKeyECDH(t *testing.T) {
	a, _ := GenerateSoftwareKey()
	b, _ := GenerateSoftwareKey()
	pa, _ := a.PublicKey().ECDH()
	pb, _ := b.PublicKey().ECDH()
	z1, err1 := a.ECDH(pb)
	z2, err2 := b.ECDH(pa)
	if err1 != nil || err2 != nil || !bytes.Equal(z1, z2) || len(z1) != 32 {
		t.Fatalf("ECDH mismatch: %x %v / %x %v", z1, err1, z2, err2)
	}
	if _, err := a.ECDH(nil); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("ECDH(nil) = %v", err)
	}
}

func TestParseSignature(t *testing.T) {
	n := new(big.Int).SetBytes(p256Order[:])
	enc := func(r, s *big.Int) []byte {
		var b [64]byte
		r.FillBytes(b[:32])
		s.FillBytes(b[32:])
		return b[:]
	}
	one := big.NewInt(1)
	nm1 := new(big.Int).Sub(n, one)
	for _, tt := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"one one", enc(one, one), true},
		{"n-1", enc(nm1, nm1), true},
		{"r zero", enc(new(big.Int), one), false},
		{"s zero", enc(one, new(big.Int)), false},
		{"r = n", enc(n, one), false},
		{"s = n", enc(one, n), false},
		{"s = n+1", enc(one, new(big.Int).Add(n, one)), false},
		{"short", make([]byte, 63), false},
		{"long", make([]byte, 65), false},
	} {
		_, err := ParseSignature(tt.in)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidSignature)) {
			t.Errorf("%s: ParseSignature = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	for _, der := range []string{"", "3000", "300602010002010100", "3006020101020101ff", "30060201010201", "30070201ff02020101"} {
		if _, err := SignatureFromASN1(mustHex(t, der)); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("SignatureFromASN1(%s) = %v, want ErrInvalidSignature", der, err)
		}
	}
}

func TestPublicKeyOf(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := PublicKeyOf(priv); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("PublicKeyOf(P-384) = %v", err)
	}
	k, _ := GenerateSoftwareKey()
	p, err := PublicKeyOf(k)
	if err != nil || !p.Equal(k.PublicKey()) {
		t.Errorf("PublicKeyOf(SoftwareKey) = %v, %v", p, err)
	}
}

func BenchmarkVerify(b *testing.B) {
	k, _ := GenerateSoftwareKey()
	msg := make([]byte, 100)
	sig, _ := Sign(k, msg)
	b.ReportAllocs()
	for b.Loop() {
		if err := k.PublicKey().Verify(msg, &sig); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPublicKeyString(t *testing.T) {
	k, err := NewSoftwareKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	pub := k.PublicKey()
	if got, want := pub.String(), hex.EncodeToString(pub.Bytes()); got != want || len(got) != 130 || got[:2] != "04" {
		t.Errorf("PublicKey.String() = %q, want %q (65 bytes, 04 first)", got, want)
	}
	if got := fmt.Sprint(pub); got != pub.String() {
		t.Errorf("fmt.Sprint(pub) = %q, want %q", got, pub.String())
	}
	var none *PublicKey
	if got := none.String(); got != "<nil>" {
		t.Errorf("(*PublicKey)(nil).String() = %q, want <nil>", got)
	}
}
