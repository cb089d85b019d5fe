package cert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/dkey"
)

// testKey returns a software key from a fixed scalar, so that encodings
// holding public keys are reproducible.
func testKey(t testing.TB, seed byte) *dkey.SoftwareKey {
	t.Helper()
	raw := bytes.Repeat([]byte{seed}, 32)
	k, err := dkey.NewSoftwareKey(raw)
	if err != nil {
		t.Fatalf("NewSoftwareKey(%x) = %v", raw, err)
	}
	return k
}

func mustVehicleID(t testing.TB, b []byte) dkey.VehicleID {
	t.Helper()
	v, err := dkey.NewVehicleID(b)
	if err != nil {
		t.Fatalf("NewVehicleID(%x) = %v", b, err)
	}
	return v
}

func mustSlot(t testing.TB, b []byte) dkey.KeySlot {
	t.Helper()
	s, err := dkey.NewKeySlot(b)
	if err != nil {
		t.Fatalf("NewKeySlot(%x) = %v", b, err)
	}
	return s
}

// cmpKeys compares dkey.PublicKey values by their encoding.
var cmpKeys = cmp.Comparer(func(a, b *dkey.PublicKey) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
})

// cmpIDs compares dkey identifiers by their bytes.
var cmpIDs = cmp.Options{
	cmp.Comparer(func(a, b dkey.VehicleID) bool { return a == b }),
	cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b }),
}

func minimalEndpointExtension(t testing.TB) *EndpointExtension {
	t.Helper()
	return &EndpointExtension{
		Version:          1,
		VehicleID:        mustVehicleID(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}),
		OptionGroup1:     0x00,
		OptionGroup2:     0x80,
		ProtocolVersion:  dkey.Version1,
		VehiclePublicKey: testKey(t, 0x11).PublicKey(),
		InitialKeySlot:   mustSlot(t, []byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}),
	}
}

func fullEndpointExtension(t testing.TB) *EndpointExtension {
	t.Helper()
	e := minimalEndpointExtension(t)
	e.Version = 255
	e.OptionGroup1, e.OptionGroup2 = 0xff, 0x7f
	for i := range MaxAuthorizedKeys {
		e.AuthorizedKeys = append(e.AuthorizedKeys, testKey(t, byte(0x21+i)).PublicKey())
	}
	e.ConfidentialMailboxSize = 65535
	e.PrivateMailboxSize = 128
	e.AccountInfoHash = new([AccountInfoHashSize]byte)
	for i := range e.AccountInfoHash {
		e.AccountInfoHash[i] = byte(i)
	}
	return e
}

// asn1Endpoint mirrors the endpoint extension for encoding/asn1, an encoder
// independent of the cryptobyte code under test.
type asn1Endpoint struct {
	Version         int
	VehicleID       []byte
	OptionGroup1    []byte
	OptionGroup2    []byte
	ProtocolVersion []byte
	VehiclePK       asn1.RawValue
	InitialKeySlot  []byte
	Authorized      []asn1.RawValue `asn1:"optional"`
	Confidential    int             `asn1:"optional,explicit,tag:0"`
	Private         int             `asn1:"optional,explicit,tag:1"`
	AccountInfoHash []byte          `asn1:"optional"`
}

// asn1EndpointImplicit is asn1Endpoint with IMPLICIT mailbox tags.
type asn1EndpointImplicit struct {
	Version         int
	VehicleID       []byte
	OptionGroup1    []byte
	OptionGroup2    []byte
	ProtocolVersion []byte
	VehiclePK       asn1.RawValue
	InitialKeySlot  []byte
	Authorized      []asn1.RawValue `asn1:"optional"`
	Confidential    int             `asn1:"optional,tag:0"`
	Private         int             `asn1:"optional,tag:1"`
	AccountInfoHash []byte          `asn1:"optional"`
}

// spkiDER returns the SubjectPublicKeyInfo of k as crypto/x509 encodes it.
func spkiDER(t testing.TB, k *dkey.PublicKey) asn1.RawValue {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.ECDSA())
	if err != nil {
		t.Fatal(err)
	}
	return asn1.RawValue{FullBytes: der}
}

func toASN1(t testing.TB, e *EndpointExtension) asn1Endpoint {
	t.Helper()
	a := asn1Endpoint{
		Version:         int(e.Version),
		VehicleID:       e.VehicleID.Bytes(),
		OptionGroup1:    []byte{e.OptionGroup1},
		OptionGroup2:    []byte{e.OptionGroup2},
		ProtocolVersion: e.ProtocolVersion.Append(nil),
		VehiclePK:       spkiDER(t, e.VehiclePublicKey),
		InitialKeySlot:  e.InitialKeySlot.Bytes(),
		Confidential:    int(e.ConfidentialMailboxSize),
		Private:         int(e.PrivateMailboxSize),
	}
	for _, k := range e.AuthorizedKeys {
		a.Authorized = append(a.Authorized, spkiDER(t, k))
	}
	if e.AccountInfoHash != nil {
		a.AccountInfoHash = e.AccountInfoHash[:]
	}
	return a
}

func TestEndpointExtensionMatchesEncodingASN1(t *testing.T) {
	for _, tc := range []struct {
		name string
		ext  *EndpointExtension
	}{
		{"minimal", minimalEndpointExtension(t)},
		{"full", fullEndpointExtension(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := toASN1(t, tc.ext)
			want, err := asn1.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.ext.Marshal()
			if err != nil {
				t.Fatalf("Marshal() = %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal() = %x, want (encoding/asn1) %x", got, want)
			}
			parsed, err := ParseEndpointExtension(want)
			if err != nil {
				t.Fatalf("ParseEndpointExtension(%x) = %v", want, err)
			}
			if diff := cmp.Diff(tc.ext, parsed, cmpKeys, cmpIDs); diff != "" {
				t.Errorf("ParseEndpointExtension(%x) mismatch (-want +got):\n%s", want, diff)
			}

			// IMPLICIT mailbox tags parse to the same value.
			implicit, err := asn1.Marshal(asn1EndpointImplicit(a))
			if err != nil {
				t.Fatal(err)
			}
			parsed, err = ParseEndpointExtension(implicit)
			if err != nil {
				t.Fatalf("ParseEndpointExtension(%x) (IMPLICIT) = %v", implicit, err)
			}
			if diff := cmp.Diff(tc.ext, parsed, cmpKeys, cmpIDs); diff != "" {
				t.Errorf("ParseEndpointExtension(%x) (IMPLICIT) mismatch (-want +got):\n%s", implicit, diff)
			}
		})
	}
}

// TestEndpointExtensionVector checks the encoder against a value assembled
// by hand from the ASN.1 of docs/protocol.md §10.2.
func TestEndpointExtensionVector(t *testing.T) {
	pk := testKey(t, 0x11).PublicKey()
	body := "020101" + // extension_version 1
		"04080102030405060708" + // vehicle_identifier
		"040100" + "040180" + // option_group_1, option_group_2
		"04020100" + // protocol_version 1.0
		"3059301306072a8648ce3d020106082a8648ce3d030107034200" + hex.EncodeToString(pk.Bytes()) + // vehicle_PK
		"0408a0a1a2a3a4a5a6a7" + // initial_key_slot
		"a004020200ff" + // confidential_mailbox_size [0] EXPLICIT 255
		"a10402020100" // private_mailbox_size [1] EXPLICIT 256
	want := "3081" + hex.EncodeToString([]byte{byte(len(body) / 2)}) + body
	e := minimalEndpointExtension(t)
	e.ConfidentialMailboxSize = 255
	e.PrivateMailboxSize = 256
	got, err := e.Marshal()
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("Marshal() = %x, want %s", got, want)
	}
}

func TestEndpointExtensionRoundTrip(t *testing.T) {
	for i := range 50 {
		e := minimalEndpointExtension(t)
		var b [40]byte
		_, _ = rand.Read(b[:])
		e.Version = b[0] | 1
		e.VehicleID = mustVehicleID(t, b[1:9])
		e.OptionGroup1, e.OptionGroup2 = b[9], b[10]
		e.ProtocolVersion = dkey.Version(uint16(b[11])<<8 | uint16(b[12]))
		e.InitialKeySlot = mustSlot(t, b[13:13+1+int(b[13]%8)])
		if n := int(b[22] % 6); n > 0 {
			for range n {
				k, err := dkey.GenerateSoftwareKey()
				if err != nil {
					t.Fatal(err)
				}
				e.AuthorizedKeys = append(e.AuthorizedKeys, k.PublicKey())
			}
		}
		e.ConfidentialMailboxSize = uint16(b[23])<<8 | uint16(b[24])
		e.PrivateMailboxSize = uint16(b[25]) << (b[26] % 9)
		if b[27]&1 == 1 {
			e.AccountInfoHash = (*[32]byte)(bytes.Repeat(b[28:29], 32))
		}
		der, err := e.Marshal()
		if err != nil {
			t.Fatalf("#%d: Marshal() = %v", i, err)
		}
		got, err := ParseEndpointExtension(der)
		if err != nil {
			t.Fatalf("#%d: ParseEndpointExtension(%x) = %v", i, der, err)
		}
		if diff := cmp.Diff(e, got, cmpKeys, cmpIDs); diff != "" {
			t.Errorf("#%d: round trip mismatch (-want +got):\n%s", i, diff)
		}
		assertNoPrefixParses(t, der, func(b []byte) error { _, err := ParseEndpointExtension(b); return err })
	}
}

func assertNoPrefixParses(t *testing.T, der []byte, parse func([]byte) error) {
	t.Helper()
	for n := range len(der) {
		if err := parse(der[:n]); err == nil {
			t.Errorf("parse(%x) (prefix %d of %d) = nil, want error", der[:n], n, len(der))
		}
	}
}

// tlv encodes a DER TLV with a one-byte tag.
func tlv(tag byte, content ...[]byte) []byte {
	c := bytes.Join(content, nil)
	switch n := len(c); {
	case n < 0x80:
		return append([]byte{tag, byte(n)}, c...)
	case n < 0x100:
		return append([]byte{tag, 0x81, byte(n)}, c...)
	default:
		return append([]byte{tag, 0x82, byte(n >> 8), byte(n)}, c...)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseEndpointExtensionErrors(t *testing.T) {
	pk := testKey(t, 0x11).PublicKey()
	spki := tlv(0x30, tlv(0x30, tlv(0x06, []byte(oidECPublicKey)), tlv(0x06, []byte(oidPrime256v1))), tlv(0x03, []byte{0}, pk.Bytes()))
	x := pk.X()
	compressed := append([]byte{0x02 | pk.Bytes()[64]&1}, x[:]...)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki384, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// fields in order; each case replaces some.
	base := func() [][]byte {
		return [][]byte{
			unhex(t, "020101"),
			unhex(t, "04080102030405060708"),
			unhex(t, "040100"),
			unhex(t, "040100"),
			unhex(t, "04020100"),
			spki,
			unhex(t, "0401a0"),
		}
	}
	with := func(i int, b []byte) [][]byte { f := base(); f[i] = b; return f }
	plus := func(extra ...[]byte) [][]byte { return append(base(), extra...) }
	for _, tc := range []struct {
		name   string
		fields [][]byte
		raw    []byte // used instead of fields when set
		field  string
	}{
		{name: "empty", raw: []byte{}, field: "extension"},
		{name: "not a sequence", raw: unhex(t, "0400"), field: "extension"},
		{name: "trailing data", raw: append(tlv(0x30, base()...), 0), field: "extension"},
		{name: "indefinite length", raw: append(append([]byte{0x30, 0x80}, bytes.Join(base(), nil)...), 0, 0), field: "extension"},
		{name: "non-minimal length", raw: append([]byte{0x30, 0x81, byte(len(bytes.Join(base(), nil)))}, bytes.Join(base(), nil)...), field: "extension"},
		{name: "version 0", fields: with(0, unhex(t, "020100")), field: "extension_version"},
		{name: "version 256", fields: with(0, unhex(t, "02020100")), field: "extension_version"},
		{name: "version negative", fields: with(0, unhex(t, "0201ff")), field: "extension_version"},
		{name: "version non-minimal", fields: with(0, unhex(t, "02020001")), field: "extension_version"},
		{name: "version as octet string", fields: with(0, unhex(t, "040101")), field: "extension_version"},
		{name: "vehicle id 7 bytes", fields: with(1, unhex(t, "040701020304050607")), field: "vehicle_identifier"},
		{name: "vehicle id 16 bytes", fields: with(1, tlv(0x04, make([]byte, 16))), field: "vehicle_identifier"},
		{name: "option group 1 empty", fields: with(2, unhex(t, "0400")), field: "option_group_1"},
		{name: "option group 2 two bytes", fields: with(3, unhex(t, "04020000")), field: "option_group_2"},
		{name: "protocol version 3 bytes", fields: with(4, unhex(t, "0403010000")), field: "protocol_version"},
		{name: "vehicle PK compressed", fields: with(5, tlv(0x30, tlv(0x30, tlv(0x06, []byte(oidECPublicKey)), tlv(0x06, []byte(oidPrime256v1))), tlv(0x03, []byte{0}, compressed))), field: "vehicle_PK"},
		{name: "vehicle PK P-384", fields: with(5, spki384), field: "vehicle_PK"},
		{name: "vehicle PK unused bits", fields: with(5, tlv(0x30, tlv(0x30, tlv(0x06, []byte(oidECPublicKey)), tlv(0x06, []byte(oidPrime256v1))), tlv(0x03, []byte{1}, pk.Bytes()))), field: "vehicle_PK"},
		{name: "vehicle PK off curve", fields: with(5, tlv(0x30, tlv(0x30, tlv(0x06, []byte(oidECPublicKey)), tlv(0x06, []byte(oidPrime256v1))), tlv(0x03, []byte{0, 4}, make([]byte, 64)))), field: "vehicle_PK"},
		{name: "vehicle PK with NULL parameters", fields: with(5, tlv(0x30, tlv(0x30, tlv(0x06, []byte(oidECPublicKey)), tlv(0x06, []byte(oidPrime256v1)), []byte{5, 0}), tlv(0x03, []byte{0}, pk.Bytes()))), field: "vehicle_PK"},
		{name: "key slot empty", fields: with(6, unhex(t, "0400")), field: "initial_key_slot"},
		{name: "key slot 9 bytes", fields: with(6, tlv(0x04, make([]byte, 9))), field: "initial_key_slot"},
		{name: "missing key slot", fields: base()[:6], field: "initial_key_slot"},
		{name: "authorized list empty", fields: plus(unhex(t, "3000")), field: "authorized_PK_list"},
		{name: "authorized list 6 keys", fields: plus(tlv(0x30, spki, spki, spki, spki, spki, spki)), field: "authorized_PK_list"},
		{name: "authorized list bad key", fields: plus(tlv(0x30, spki384)), field: "authorized_PK_list"},
		{name: "mailbox 0", fields: plus(unhex(t, "a003020100")), field: "confidential_mailbox_size"},
		{name: "mailbox 65536", fields: plus(unhex(t, "a005020301000000")[:7]), field: "confidential_mailbox_size"},
		{name: "mailbox negative", fields: plus(unhex(t, "a1030201ff")), field: "private_mailbox_size"},
		{name: "mailbox explicit trailing", fields: plus(unhex(t, "a106020101020101")), field: "private_mailbox_size"},
		{name: "mailbox implicit 0", fields: plus(unhex(t, "800100")), field: "confidential_mailbox_size"},
		{name: "mailbox implicit non-minimal", fields: plus(unhex(t, "81020001")), field: "private_mailbox_size"},
		{name: "mailbox implicit negative", fields: plus(unhex(t, "810180")), field: "private_mailbox_size"},
		{name: "mailbox implicit too long", fields: plus(unhex(t, "8103010000")), field: "private_mailbox_size"},
		{name: "mailbox implicit empty", fields: plus(unhex(t, "8100")), field: "private_mailbox_size"},
		{name: "account hash 31 bytes", fields: plus(tlv(0x04, make([]byte, 31))), field: "account_info_hash"},
		{name: "private before confidential", fields: plus(unhex(t, "a103020101"), unhex(t, "a003020101")), field: "extension"},
		{name: "duplicate confidential", fields: plus(unhex(t, "a003020101"), unhex(t, "a003020101")), field: "extension"},
		{name: "hash before mailbox", fields: plus(tlv(0x04, make([]byte, 32)), unhex(t, "a003020101")), field: "extension"},
		{name: "unknown trailing field", fields: plus(unhex(t, "0500")), field: "extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der := tc.raw
			if der == nil {
				der = tlv(0x30, tc.fields...)
			}
			_, err := ParseEndpointExtension(der)
			var ee *ExtensionError
			if !errors.As(err, &ee) || !errors.Is(err, ErrMalformedExtension) {
				t.Fatalf("ParseEndpointExtension(%x) = %v, want *ExtensionError", der, err)
			}
			if ee.Field != tc.field {
				t.Errorf("ParseEndpointExtension(%x) = %v, want field %q", der, err, tc.field)
			}
		})
	}
}

func TestParseEndpointExtensionTooLarge(t *testing.T) {
	der := tlv(0x30, make([]byte, MaxExtensionSize))
	if _, err := ParseEndpointExtension(der); !errors.Is(err, ErrMalformedExtension) {
		t.Errorf("ParseEndpointExtension(%d bytes) = %v, want %v", len(der), err, ErrMalformedExtension)
	}
}

func TestEndpointExtensionMarshalErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*EndpointExtension)
		field string
	}{
		{"version 0", func(e *EndpointExtension) { e.Version = 0 }, "extension_version"},
		{"Home Key vehicle id", func(e *EndpointExtension) { e.VehicleID = mustVehicleID(t, make([]byte, 16)) }, "vehicle_identifier"},
		{"no vehicle key", func(e *EndpointExtension) { e.VehiclePublicKey = nil }, "vehicle_PK"},
		{"no key slot", func(e *EndpointExtension) { e.InitialKeySlot = dkey.KeySlot{} }, "initial_key_slot"},
		{"empty authorized list", func(e *EndpointExtension) { e.AuthorizedKeys = []*dkey.PublicKey{} }, "authorized_PK_list"},
		{"nil authorized key", func(e *EndpointExtension) { e.AuthorizedKeys = []*dkey.PublicKey{nil} }, "authorized_PK_list"},
		{"6 authorized keys", func(e *EndpointExtension) {
			e.AuthorizedKeys = fullEndpointExtension(t).AuthorizedKeys
			e.AuthorizedKeys = append(e.AuthorizedKeys, e.VehiclePublicKey)
		}, "authorized_PK_list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := minimalEndpointExtension(t)
			tc.mod(e)
			_, err := e.Marshal()
			var ee *ExtensionError
			if !errors.As(err, &ee) || ee.Field != tc.field {
				t.Errorf("Marshal() = %v, want *ExtensionError for %q", err, tc.field)
			}
		})
	}
}

func TestSimpleExtension(t *testing.T) {
	for _, v := range []uint8{1, 127, 128, 255} {
		e := SimpleExtension{Version: v}
		der, err := e.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%d) = %v", v, err)
		}
		want, err := asn1.Marshal(struct{ V int }{int(v)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(der, want) {
			t.Errorf("Marshal(%d) = %x, want %x", v, der, want)
		}
		got, err := ParseSimpleExtension(der)
		if err != nil || got.Version != v {
			t.Errorf("ParseSimpleExtension(%x) = %v, %v, want %d", der, got, err, v)
		}
		assertNoPrefixParses(t, der, func(b []byte) error { _, err := ParseSimpleExtension(b); return err })
	}
	if _, err := (&SimpleExtension{}).Marshal(); !errors.Is(err, ErrMalformedExtension) {
		t.Errorf("Marshal(version 0) = %v, want %v", err, ErrMalformedExtension)
	}
	for _, s := range []string{"", "3000", "3003020100", "300402020100", "30030201ff", "3003020101" + "00", "3006020101020101", "3103020101", "3080020101" + "0000"} {
		if _, err := ParseSimpleExtension(unhex(t, s)); !errors.Is(err, ErrMalformedExtension) {
			t.Errorf("ParseSimpleExtension(%s) = %v, want %v", s, err, ErrMalformedExtension)
		}
	}
}

func TestInstanceCAExtension(t *testing.T) {
	for _, tc := range []struct {
		name string
		ext  InstanceCAExtension
		der  string // hand-assembled
	}{
		{"no platform information", InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 2, 3, 4}}, "3009" + "020101" + "040401020304"},
		{"platform information", InstanceCAExtension{Version: 2, AppletVersion: [4]byte{0, 0, 1, 0}, PlatformInformation: []byte("SE-A")}, "300f" + "020102" + "040400000100" + "040453452d41"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := tc.ext.Marshal()
			if err != nil {
				t.Fatalf("Marshal() = %v", err)
			}
			if hex.EncodeToString(der) != tc.der {
				t.Errorf("Marshal() = %x, want %s", der, tc.der)
			}
			got, err := ParseInstanceCAExtension(der)
			if err != nil {
				t.Fatalf("ParseInstanceCAExtension(%x) = %v", der, err)
			}
			if diff := cmp.Diff(&tc.ext, got); diff != "" {
				t.Errorf("ParseInstanceCAExtension(%x) mismatch (-want +got):\n%s", der, diff)
			}
			assertNoPrefixParses(t, der, func(b []byte) error { _, err := ParseInstanceCAExtension(b); return err })
		})
	}
	for _, tc := range []struct {
		name, der, field string
	}{
		{"applet version 3 bytes", "3008020101" + "0403010203", "applet_version"},
		{"applet version missing", "3003020101", "applet_version"},
		{"platform information empty", "300b0201010404010203040400", "platform_information"},
		{"platform information 21 bytes", "3020020101040401020304" + "0415" + "000000000000000000000000000000000000000000", "platform_information"},
		{"trailing field", "300e0201010404010203040401aa0500", "extension"},
		{"version 0", "3009020100040401020304", "extension_version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInstanceCAExtension(unhex(t, tc.der))
			var ee *ExtensionError
			if !errors.As(err, &ee) || ee.Field != tc.field {
				t.Errorf("ParseInstanceCAExtension(%s) = %v, want *ExtensionError for %q", tc.der, err, tc.field)
			}
		})
	}
	if _, err := (&InstanceCAExtension{Version: 1, PlatformInformation: []byte{}}).Marshal(); !errors.Is(err, ErrMalformedExtension) {
		t.Errorf("Marshal(empty platform information) = %v, want %v", err, ErrMalformedExtension)
	}
	if _, err := (&InstanceCAExtension{Version: 1, PlatformInformation: make([]byte, 21)}).Marshal(); !errors.Is(err, ErrMalformedExtension) {
		t.Errorf("Marshal(21-byte platform information) = %v, want %v", err, ErrMalformedExtension)
	}
}

func TestKind(t *testing.T) {
	for k := minKind; k <= maxKind; k++ {
		oid := k.OID()
		want := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41577, 5, int(k)}
		if !oid.Equal(want) {
			t.Errorf("%v.OID() = %v, want %v", k, oid, want)
		}
		if got, ok := isCCCOID(oid); !ok || got != k {
			t.Errorf("isCCCOID(%v) = %v, %v, want %v, true", oid, got, ok, k)
		}
		oid[len(oid)-1] = 99 // the caller owns the slice
		if k.OID()[8] != int(k) {
			t.Errorf("%v.OID() shares its backing array", k)
		}
	}
	for _, oid := range []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 41577, 5}, {1, 3, 6, 1, 4, 1, 41577, 6, 1}, {1, 3, 6, 1, 4, 1, 41577, 5, 1, 1}, {1, 3, 6, 1, 4, 1, 41577, 5, 1000}} {
		if k, ok := isCCCOID(oid); ok && k.Valid() {
			t.Errorf("isCCCOID(%v) = %v, true, want not a CCC kind", oid, k)
		}
	}
	if s := Kind(0).String(); s != "Kind(0)" {
		t.Errorf("Kind(0).String() = %q", s)
	}
}
