package testvec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"math/big"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests prove that each Home Key vector is self-consistent and was
// transcribed correctly, using only the standard library. They also pin the
// byte layouts of docs/protocol.md §4 that the vectors confirm.

// Usage constants of the AUTH1 signature input (docs/protocol.md §4.3).
var (
	hkReaderUsage   = []byte{0x41, 0x5d, 0x95, 0x69}
	hkEndpointUsage = []byte{0x4e, 0x88, 0x7b, 0x4c}
)

func mustHomeKey[T any](t *testing.T, load func() (*T, error)) *T {
	t.Helper()
	v, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hkHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hkCat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// hkTLV encodes a one-byte tag with a short-form length.
func hkTLV(tag byte, v []byte) []byte {
	if len(v) > 0x7f {
		panic("hkTLV: long form not needed here")
	}
	return hkCat([]byte{tag, byte(len(v))}, v)
}

type hkField struct {
	tag byte
	val []byte
}

// hkSplitTLV walks one-byte tags with short-form lengths, which is all the
// Home Key transaction messages use.
func hkSplitTLV(t *testing.T, b []byte) []hkField {
	t.Helper()
	var out []hkField
	for len(b) > 0 {
		if len(b) < 2 || b[1] > 0x7f || int(b[1]) > len(b)-2 {
			t.Fatalf("hkSplitTLV(%x): malformed", b)
		}
		out = append(out, hkField{b[0], b[2 : 2+b[1]]})
		b = b[2+b[1]:]
	}
	return out
}

func hkTags(tv []hkField) []byte {
	var out []byte
	for _, f := range tv {
		out = append(out, f.tag)
	}
	return out
}

// hkCommandAPDU is a command APDU split by ISO 7816-4 case (short lengths only).
type hkCommandAPDU struct {
	header []byte
	data   []byte
	le     []byte
}

func hkParseCommand(t *testing.T, c []byte) hkCommandAPDU {
	t.Helper()
	switch {
	case len(c) < 4:
		t.Fatalf("command %x: shorter than a header", c)
	case len(c) == 4:
		return hkCommandAPDU{header: c[:4]}
	case len(c) == 5:
		return hkCommandAPDU{header: c[:4], le: c[4:]}
	}
	lc := int(c[4])
	switch len(c) - 5 - lc {
	case 0:
		return hkCommandAPDU{header: c[:4], data: c[5:]}
	case 1:
		return hkCommandAPDU{header: c[:4], data: c[5 : 5+lc], le: c[5+lc:]}
	}
	t.Fatalf("command %x: Lc %d does not match length %d", c, lc, len(c))
	return hkCommandAPDU{}
}

// hkSignatureInput is the AUTH1 signature input of docs/protocol.md §4.3.
func hkSignatureInput(readerID, endpointX, readerX, txid, usage []byte) []byte {
	return hkCat(hkTLV(0x4d, readerID), hkTLV(0x86, endpointX), hkTLV(0x87, readerX), hkTLV(0x4c, txid), hkTLV(0x93, usage))
}

func hkVerifyRaw(t *testing.T, pub []byte, msg, sig []byte) bool {
	t.Helper()
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		t.Fatalf("ParseUncompressedPublicKey(%x) = %v", pub, err)
	}
	h := sha256.Sum256(msg)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pk, h[:], r, s)
}

// hkCMAC is RFC 4493 AES-CMAC, written here so that the vectors are checked
// without the SDK's own CMAC.
func hkCMAC(key, msg []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	dbl := func(in []byte) []byte {
		out := make([]byte, 16)
		for i := range 15 {
			out[i] = in[i]<<1 | in[i+1]>>7
		}
		out[15] = in[15] << 1
		if in[0]&0x80 != 0 {
			out[15] ^= 0x87
		}
		return out
	}
	l := make([]byte, 16)
	b.Encrypt(l, l)
	k1 := dbl(l)
	k2 := dbl(k1)
	n := (len(msg) + 15) / 16
	last := make([]byte, 16)
	if n > 0 && len(msg)%16 == 0 {
		copy(last, msg[(n-1)*16:])
		hkXOR(last, k1)
	} else {
		if n == 0 {
			n = 1
		}
		rest := msg[(n-1)*16:]
		copy(last, rest)
		last[len(rest)] = 0x80
		hkXOR(last, k2)
	}
	x := make([]byte, 16)
	for i := 0; i < n-1; i++ {
		hkXOR(x, msg[i*16:(i+1)*16])
		b.Encrypt(x, x)
	}
	hkXOR(x, last)
	b.Encrypt(x, x)
	return x
}

func hkXOR(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

func TestHomeKeyCMACHelper(t *testing.T) {
	key := hkHex("2b7e151628aed2a6abf7158809cf4f3c")
	msg := hkHex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	for _, tt := range []struct {
		name string
		n    int
		want string
	}{
		{"empty", 0, "bb1d6929e95937287fa37d129b756746"},
		{"16", 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"40", 40, "dfa66747de9ae63030ca32611497c827"},
		{"64", 64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hkCMAC(key, msg[:tt.n]); !bytes.Equal(got, hkHex(tt.want)) {
				t.Errorf("hkCMAC(%x) = %x, want %s", msg[:tt.n], got, tt.want)
			}
		})
	}
}

// hkCRCA is the ISO/IEC 14443-3 type A CRC (initial 6363, reflected 8408),
// sent least significant byte first.
func hkCRCA(b []byte) []byte {
	crc := uint16(0x6363)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return []byte{byte(crc), byte(crc >> 8)}
}

func TestHomeKeyCRCAHelper(t *testing.T) {
	// ISO/IEC 14443-3 Annex B: CRC_A of 00 00 is A0 1E (sent 0xA0 first).
	if got := hkCRCA([]byte{0, 0}); !bytes.Equal(got, []byte{0xa0, 0x1e}) {
		t.Errorf("hkCRCA(0000) = %x, want a01e", got)
	}
}

// TestHomeKeyFiles checks that every embedded file has a loader, decodes
// strictly, and that every name in derived/from_code is a key of that file.
func TestHomeKeyFiles(t *testing.T) {
	loaders := map[string]func() error{
		"homekeygo_standard.json":                                   func() error { _, err := HomeKeyStandard(); return err },
		"kormax_km_standard.json":                                   func() error { _, err := HomeKeyReaderAuth(); return err },
		"issue2_watch_standard.json":                                func() error { _, err := HomeKeyWatchStandard(); return err },
		"kormax_readme_examples.json":                               func() error { _, err := HomeKeyKormaxExamples(); return err },
		"kupa22_examples.json":                                      func() error { _, err := HomeKeyKupa22Examples(); return err },
		"kormax_trace_df_fast.json":                                 func() error { _, err := HomeKeyTraces(); return err },
		"kormax_trace_km_fast.json":                                 func() error { _, err := HomeKeyTraces(); return err },
		"kormax_trace_km_fast_standard_exchange_configuration.json": func() error { _, err := HomeKeyTraces(); return err },
	}
	names, err := fs.Glob(homeKeyFS, "testdata/homekey/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(loaders) {
		t.Errorf("embedded %d files, have loaders for %d", len(names), len(loaders))
	}
	for _, path := range names {
		name := path[len("testdata/homekey/"):]
		t.Run(name, func(t *testing.T) {
			load, ok := loaders[name]
			if !ok {
				t.Fatalf("no loader for %s", name)
			}
			if err := load(); err != nil {
				t.Fatal(err)
			}
			b, err := homeKeyFS.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, list := range []string{"derived", "from_code"} {
				var keys []string
				if raw, ok := m[list]; ok {
					if err := json.Unmarshal(raw, &keys); err != nil {
						t.Fatal(err)
					}
				}
				for _, k := range keys {
					if _, ok := m[k]; !ok {
						t.Errorf("%s names %q, which is not a key of the file", list, k)
					}
				}
			}
		})
	}
}

func TestHomeKeyLoadErrors(t *testing.T) {
	if _, err := loadHomeKey[HomeKeyTransaction]("missing.json"); err == nil {
		t.Error(`loadHomeKey("missing.json") = nil error, want one`)
	}
	// A trace decoded as a transaction has unknown fields.
	if _, err := loadHomeKey[HomeKeyTransaction]("kormax_trace_km_fast.json"); err == nil {
		t.Error("loadHomeKey of a trace as a transaction = nil error, want unknown-field error")
	}
}

// TestHomeKeyStandard recomputes the homekey-go key schedule: X9.63 of Z is
// Kdh, HKDF-SHA256 of Kdh with the v2.0 info gives Volatile and Persistent,
// and the AUTH1 response opens with counter 0 and the zero MAC chain.
func TestHomeKeyStandard(t *testing.T) {
	v := mustHomeKey(t, HomeKeyStandard)
	for _, k := range [][]byte{v.ReaderEphemeralPublicKey, v.EndpointEphemeralPublicKey} {
		if _, err := ecdh.P256().NewPublicKey(k); err != nil {
			t.Errorf("NewPublicKey(%x) = %v", k, err)
		}
	}

	kdh := sha256.Sum256(hkCat(v.SharedSecret, []byte{0, 0, 0, 1}, v.TransactionIdentifier))
	if !bytes.Equal(kdh[:], v.Kdh) {
		t.Errorf("X9.63(Z=%x) = %x, want %x", v.SharedSecret, kdh, v.Kdh)
	}

	info := func(ctx string) []byte {
		return hkCat(v.ReaderEphemeralPublicKey[1:33], v.EndpointEphemeralPublicKey[1:33], v.TransactionIdentifier,
			v.Interface, v.Flags, []byte(ctx), hkTLV(0x5c, v.ProtocolVersion), hkTLV(0x5c, v.EndpointVersions))
	}
	for _, tt := range []struct {
		ctx      string
		wantInfo []byte
		want     []byte
	}{
		{"Volatile", v.InfoVolatile, v.Volatile},
		{"Persistent", v.InfoPersistent, v.Persistent},
	} {
		t.Run(tt.ctx, func(t *testing.T) {
			in := info(tt.ctx)
			if !bytes.Equal(in, tt.wantInfo) {
				t.Errorf("info(%s) = %x, want %x", tt.ctx, in, tt.wantInfo)
			}
			got, err := hkdf.Key(sha256.New, v.Kdh, nil, string(in), len(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("HKDF(Kdh, %x) = %x, want %x", in, got, tt.want)
			}
		})
	}
	if got := hkCat(v.Kenc, v.Kmac, v.Krmac); !bytes.Equal(got, v.Volatile) {
		t.Errorf("Kenc‖Kmac‖Krmac = %x, want Volatile %x", got, v.Volatile)
	}

	// Without the 5C version list (the v1.0 form, docs/protocol.md §4.4) the
	// output differs, so the vector does pin the v2.0 suffix.
	short := hkCat(v.ReaderEphemeralPublicKey[1:33], v.EndpointEphemeralPublicKey[1:33], v.TransactionIdentifier,
		v.Interface, v.Flags, []byte("Volatile"), hkTLV(0x5c, v.ProtocolVersion))
	if got, _ := hkdf.Key(sha256.New, v.Kdh, nil, string(short), 48); bytes.Equal(got, v.Volatile) {
		t.Error("HKDF without the endpoint version list also gives Volatile")
	}

	pt := hkOpenResponse(t, v.Kenc, v.Krmac, make([]byte, 16), byte(v.Auth1ResponseCounter), v.Auth1ResponseData)
	if !bytes.Equal(pt, v.Auth1ResponsePlaintext) {
		t.Errorf("open(AUTH1 response) = %x, want %x", pt, v.Auth1ResponsePlaintext)
	}
	if got := hkTags(hkSplitTLV(t, pt)); !bytes.Equal(got, []byte{0x4e, 0x9e}) {
		t.Errorf("AUTH1 plaintext tags = %x, want 4e9e", got)
	}
}

// hkOpenResponse checks the R-MAC of a secure-messaging response and decrypts
// it (docs/protocol.md §4.7): R-MAC = CMAC(Krmac, chain‖ct)[:8], ICV =
// AES(Kenc, 80‖00×14‖ctr), AES-CBC, ISO/IEC 9797-1 padding method 2.
func hkOpenResponse(t *testing.T, kenc, krmac, chain []byte, ctr byte, data []byte) []byte {
	t.Helper()
	if len(data) < 8 || (len(data)-8)%16 != 0 {
		t.Fatalf("response data length %d is not 16n+8", len(data))
	}
	ct, mac := data[:len(data)-8], data[len(data)-8:]
	if want := hkCMAC(krmac, hkCat(chain, ct))[:8]; !bytes.Equal(mac, want) {
		t.Fatalf("R-MAC = %x, want %x", mac, want)
	}
	b, err := aes.NewCipher(kenc)
	if err != nil {
		t.Fatal(err)
	}
	icv := make([]byte, 16)
	icv[0], icv[15] = 0x80, ctr
	b.Encrypt(icv, icv)
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, icv).CryptBlocks(pt, ct)
	i := bytes.LastIndexByte(pt, 0x80)
	if i < 0 || len(pt)-i > 16 || !bytes.Equal(pt[i+1:], make([]byte, len(pt)-i-1)) {
		t.Fatalf("padding of %x is not 80 00…", pt)
	}
	return pt[:i]
}

// TestHomeKeyReaderAuth checks the reader's AUTH1 signature of a real iPhone
// transaction with the reader key from the same repository, and the APDU
// framing around it.
func TestHomeKeyReaderAuth(t *testing.T) {
	v := mustHomeKey(t, HomeKeyReaderAuth)

	sk, err := ecdh.P256().NewPrivateKey(v.ReaderPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := sk.PublicKey().Bytes(); !bytes.Equal(got, v.ReaderPublicKey) {
		t.Errorf("public key of reader_private_key = %x, want %x", got, v.ReaderPublicKey)
	}
	gid := sha256.Sum256(hkCat([]byte("key-identifier"), v.ReaderPrivateKey))
	if !bytes.Equal(gid[:8], v.ReaderGroupIdentifier) || !bytes.Equal(v.ReaderIdentifier[:8], v.ReaderGroupIdentifier) {
		t.Errorf("SHA-256(key-identifier‖sk)[:8] = %x, group id %x, reader id %x", gid[:8], v.ReaderGroupIdentifier, v.ReaderIdentifier)
	}

	// SELECT of the full instance AID with Le 00; answer 5C 0200 0100.
	sel := hkParseCommand(t, v.SelectCommand)
	if !bytes.Equal(sel.header, hkHex("00a40400")) || !bytes.Equal(sel.data, hkHex("a00000085801010100000001")) || !bytes.Equal(sel.le, []byte{0}) {
		t.Errorf("SELECT = %x", v.SelectCommand)
	}
	if want := hkCat(hkTLV(0x5c, v.EndpointVersions), hkHex("9000")); !bytes.Equal(v.SelectResponse, want) {
		t.Errorf("SELECT response = %x, want %x", v.SelectResponse, want)
	}

	// AUTH0: 80 80 P1 P2 6B 5C 87 4C 4D 00.
	a0 := hkParseCommand(t, v.Auth0Command)
	if !bytes.Equal(a0.header, hkCat(hkHex("8080"), v.Flags)) || !bytes.Equal(a0.le, []byte{0}) {
		t.Errorf("AUTH0 header/Le = %x/%x", a0.header, a0.le)
	}
	wantData := hkCat(hkTLV(0x5c, v.ProtocolVersion), hkTLV(0x87, v.ReaderEphemeralPublicKey), hkTLV(0x4c, v.TransactionIdentifier), hkTLV(0x4d, v.ReaderIdentifier))
	if !bytes.Equal(a0.data, wantData) {
		t.Errorf("AUTH0 data = %x, want %x", a0.data, wantData)
	}
	wantResp := hkCat(hkTLV(0x86, v.EndpointEphemeralPublicKey), hkTLV(0x9d, v.Cryptogram), hkHex("9000"))
	if !bytes.Equal(v.Auth0Response, wantResp) {
		t.Errorf("AUTH0 response = %x, want %x", v.Auth0Response, wantResp)
	}
	for _, k := range [][]byte{v.ReaderEphemeralPublicKey, v.EndpointEphemeralPublicKey} {
		if _, err := ecdh.P256().NewPublicKey(k); err != nil {
			t.Errorf("NewPublicKey(%x) = %v", k, err)
		}
	}

	// AUTH1: 80 81 00 00 42 9E 40 sig 00, and the signature.
	if want := hkCat(hkHex("80810000429e40"), v.ReaderSignature, []byte{0}); !bytes.Equal(v.Auth1Command, want) {
		t.Errorf("AUTH1 = %x, want %x", v.Auth1Command, want)
	}
	in := hkSignatureInput(v.ReaderIdentifier, v.EndpointEphemeralPublicKey[1:33], v.ReaderEphemeralPublicKey[1:33], v.TransactionIdentifier, hkReaderUsage)
	if !bytes.Equal(in, v.ReaderSignatureInput) {
		t.Errorf("signature input = %x, want %x", in, v.ReaderSignatureInput)
	}
	if !hkVerifyRaw(t, v.ReaderPublicKey, in, v.ReaderSignature) {
		t.Error("reader signature does not verify")
	}
	swapped := hkSignatureInput(v.ReaderIdentifier, v.EndpointEphemeralPublicKey[1:33], v.ReaderEphemeralPublicKey[1:33], v.TransactionIdentifier, hkEndpointUsage)
	if hkVerifyRaw(t, v.ReaderPublicKey, swapped, v.ReaderSignature) {
		t.Error("reader signature verifies with the endpoint usage constant")
	}

	// AUTH1 response: 80 bytes of ciphertext (4E 06 … 9E 40 … = 74 bytes
	// padded), 8-byte R-MAC, 9000.
	if want := hkCat(v.Auth1ResponseData, hkHex("9000")); !bytes.Equal(v.Auth1Response, want) {
		t.Errorf("AUTH1 response = %x, want data‖9000", v.Auth1Response)
	}
	if len(v.Auth1ResponseData) != 80+8 {
		t.Errorf("AUTH1 response data is %d bytes, want 88", len(v.Auth1ResponseData))
	}

	// EXCHANGE: 84 C9 00 00 38 <48 ct ‖ 8 C-MAC> 00; response is an R-MAC only.
	ex := hkParseCommand(t, v.ExchangeCommand)
	if !bytes.Equal(ex.header, hkHex("84c90000")) || len(ex.data) != 48+8 || !bytes.Equal(ex.le, []byte{0}) {
		t.Errorf("EXCHANGE = %x", v.ExchangeCommand)
	}
	if len(v.ExchangeResponse) != 8+2 || !bytes.Equal(v.ExchangeResponse[8:], hkHex("9000")) {
		t.Errorf("EXCHANGE response = %x, want 8-byte R-MAC‖9000", v.ExchangeResponse)
	}

	// The APDUs are the first four of the trace file.
	traces, err := HomeKeyTraces()
	if err != nil {
		t.Fatal(err)
	}
	tr := traces[2]
	got := []HomeKeyAPDU{
		{Command: v.SelectCommand, Response: v.SelectResponse},
		{Command: v.Auth0Command, Response: v.Auth0Response},
		{Command: v.Auth1Command, Response: v.Auth1Response},
		{Command: v.ExchangeCommand, Response: v.ExchangeResponse},
	}
	want := make([]HomeKeyAPDU, 4)
	for i, a := range tr.APDUs[:4] {
		want[i] = HomeKeyAPDU{Command: a.Command, Response: a.Response}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("APDUs differ from %s (-trace +vector):\n%s", tr.Name, diff)
	}
}

// TestHomeKeyWatchStandard checks the Apple Watch log: the endpoint signature
// input has the §4.3 layout, the AUTH1 plaintext is 4E‖9E, and the public key
// recovered from the signature hashes to the logged endpoint identifier.
func TestHomeKeyWatchStandard(t *testing.T) {
	v := mustHomeKey(t, HomeKeyWatchStandard)
	if got := hkCat(v.Kenc, v.Kmac, v.Krmac); !bytes.Equal(got, v.Volatile) {
		t.Errorf("Kenc‖Kmac‖Krmac = %x, want %x", got, v.Volatile)
	}
	in := hkSignatureInput(v.ReaderIdentifier, v.EndpointEphemeralX, v.ReaderEphemeralX, v.TransactionIdentifier, hkEndpointUsage)
	if !bytes.Equal(in, v.EndpointSignatureInput) {
		t.Errorf("signature input = %x, want %x", in, v.EndpointSignatureInput)
	}
	if want := hkCat(hkTLV(0x4e, v.EndpointIdentifier), hkTLV(0x9e, v.EndpointSignature)); !bytes.Equal(v.Auth1ResponsePlaintext, want) {
		t.Errorf("AUTH1 plaintext = %x, want %x", v.Auth1ResponsePlaintext, want)
	}
	// A key recovered from a signature verifies it by construction; the
	// check that can fail is that SHA-1 of that key gives the identifier the
	// watch sent, which holds only if the signed bytes are the ones above.
	id := sha1.Sum(v.EndpointPublicKey)
	if !bytes.Equal(id[:6], v.EndpointIdentifier) {
		t.Errorf("SHA-1(endpoint key)[:6] = %x, want %x", id[:6], v.EndpointIdentifier)
	}
	if !hkVerifyRaw(t, v.EndpointPublicKey, in, v.EndpointSignature) {
		t.Error("endpoint signature does not verify")
	}
	if hkVerifyRaw(t, v.EndpointPublicKey, hkSignatureInput(v.ReaderIdentifier, v.EndpointEphemeralX, v.ReaderEphemeralX, v.TransactionIdentifier, hkReaderUsage), v.EndpointSignature) {
		t.Error("endpoint signature verifies with the reader usage constant")
	}
}

// TestHomeKeyTraces checks the framing of every APDU of the real logs.
func TestHomeKeyTraces(t *testing.T) {
	traces, err := HomeKeyTraces()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range traces {
		t.Run(tr.Name, func(t *testing.T) {
			if len(tr.APDUs) == 0 {
				t.Fatal("no APDUs")
			}
			for i, a := range tr.APDUs {
				hkCheckTraceAPDU(t, i, a)
			}
		})
	}
}

func hkCheckTraceAPDU(t *testing.T, i int, a HomeKeyAPDU) {
	t.Helper()
	c := hkParseCommand(t, a.Command)
	if len(a.Response) < 2 {
		t.Fatalf("APDU %d: response %x has no status word", i, a.Response)
	}
	data, sw := a.Response[:len(a.Response)-2], a.Response[len(a.Response)-2:]
	if sw[0] != 0x90 && sw[0] != 0x61 {
		t.Errorf("APDU %d: SW %x", i, sw)
	}
	switch ins := c.header[1]; {
	case ins == 0xa4: // SELECT
		if !bytes.Equal(c.le, []byte{0}) {
			t.Errorf("APDU %d: SELECT Le = %x, want 00", i, c.le)
		}
		if bytes.Equal(c.data, hkHex("a00000085801010100000001")) {
			if want := hkTLV(0x5c, hkHex("02000100")); !bytes.Equal(data, want) {
				t.Errorf("APDU %d: SELECT response data %x, want %x", i, data, want)
			}
		}
	case c.header[0] == 0x80 && ins == 0x80: // AUTH0
		tv := hkSplitTLV(t, c.data)
		if got := hkTags(tv); !bytes.Equal(got, []byte{0x5c, 0x87, 0x4c, 0x4d}) {
			t.Fatalf("APDU %d: AUTH0 tags %x, want 5c874c4d", i, got)
		}
		if len(tv[0].val) != 2 || len(tv[1].val) != 65 || len(tv[2].val) != 16 || len(tv[3].val) != 16 {
			t.Errorf("APDU %d: AUTH0 lengths %d/%d/%d/%d", i, len(tv[0].val), len(tv[1].val), len(tv[2].val), len(tv[3].val))
		}
		if len(c.data) != 0x6b || !bytes.Equal(c.le, []byte{0}) {
			t.Errorf("APDU %d: AUTH0 Lc %d Le %x, want 107 and 00", i, len(c.data), c.le)
		}
		if _, err := ecdh.P256().NewPublicKey(tv[1].val); err != nil {
			t.Errorf("APDU %d: reader ephemeral key: %v", i, err)
		}
		rs := hkSplitTLV(t, data)
		if got := hkTags(rs); !bytes.Equal(got, []byte{0x86, 0x9d}) || len(rs[0].val) != 65 || len(rs[1].val) != 16 {
			t.Fatalf("APDU %d: AUTH0 response %x", i, data)
		}
		if _, err := ecdh.P256().NewPublicKey(rs[0].val); err != nil {
			t.Errorf("APDU %d: endpoint ephemeral key: %v", i, err)
		}
	case c.header[0] == 0x80 && ins == 0x81: // AUTH1
		tv := hkSplitTLV(t, c.data)
		if len(tv) != 1 || tv[0].tag != 0x9e || len(tv[0].val) != 64 || !bytes.Equal(c.le, []byte{0}) {
			t.Errorf("APDU %d: AUTH1 %x", i, a.Command)
		}
		if len(data) < 24 || (len(data)-8)%16 != 0 {
			t.Errorf("APDU %d: AUTH1 response data %d bytes, want 16n+8", i, len(data))
		}
	case c.header[0] == 0x84 && ins == 0xc9: // EXCHANGE
		if len(c.data) < 8 || (len(c.data)-8)%16 != 0 || !bytes.Equal(c.le, []byte{0}) {
			t.Errorf("APDU %d: EXCHANGE %x", i, a.Command)
		}
		if len(data) < 8 || (len(data)-8)%16 != 0 {
			t.Errorf("APDU %d: EXCHANGE response data %d bytes, want 16n+8", i, len(data))
		}
	case c.header[0] == 0x80 && ins == 0x3c: // CONTROL FLOW
		if c.data != nil || c.le != nil || len(data) != 0 {
			t.Errorf("APDU %d: CONTROL FLOW %x → %x, want a bare header and 9000", i, a.Command, a.Response)
		}
	case ins == 0xc3 || ins == 0xc0: // ENVELOPE, GET RESPONSE (configuration applet)
		if !a.Redacted && ins == 0xc0 {
			t.Errorf("APDU %d: GET RESPONSE data not marked redacted", i)
		}
	default:
		t.Errorf("APDU %d: unexpected command %x", i, a.Command)
	}
}

// TestHomeKeyKormaxExamples ties the README's HomeKit reader key to the km
// traces and checks the example points.
func TestHomeKeyKormaxExamples(t *testing.T) {
	v := mustHomeKey(t, HomeKeyKormaxExamples)
	req, err := base64.StdEncoding.DecodeString(v.HAPReaderKeyRequestBase64)
	if err != nil {
		t.Fatal(err)
	}
	// TLV8: 01 01 02 (operation add), 06 2F { 01 01 02 (P-256), 02 20 key, 03 08 id }.
	want := hkCat(hkHex("010102062f010102"), []byte{0x02, 0x20}, v.ReaderPrivateKey, []byte{0x03, 0x08}, v.ReaderUniqueIdentifier)
	if !bytes.Equal(req, want) {
		t.Errorf("HAP request = %x, want %x", req, want)
	}
	ra := mustHomeKey(t, HomeKeyReaderAuth)
	if !bytes.Equal(v.ReaderPrivateKey, ra.ReaderPrivateKey) {
		t.Errorf("README reader key %x differs from the km vector's %x", v.ReaderPrivateKey, ra.ReaderPrivateKey)
	}
	gid := sha256.Sum256(hkCat([]byte("key-identifier"), v.ReaderPrivateKey))
	traces, err := HomeKeyTraces()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range traces[1:] { // the two km traces
		a0 := hkParseCommand(t, tr.APDUs[1].Command)
		tv := hkSplitTLV(t, a0.data)
		if len(tv) != 4 || len(tv[3].val) != 16 {
			t.Fatalf("%s: AUTH0 data %x", tr.Name, a0.data)
		}
		if !bytes.Equal(tv[3].val[:8], gid[:8]) {
			t.Errorf("%s: reader group id %x, want SHA-256(key-identifier‖sk)[:8] = %x", tr.Name, tv[3].val[:8], gid[:8])
		}
	}
	for _, k := range [][]byte{v.EndpointEphemeralPublicKey, hkCat([]byte{4}, v.EndpointPublicKeyXY)} {
		if _, err := ecdh.P256().NewPublicKey(k); err != nil {
			t.Errorf("NewPublicKey(%x) = %v", k, err)
		}
	}
	if len(v.Cryptogram) != 16 || len(v.ReaderSignature) != 64 || len(v.IssuerIdentifier) != 8 {
		t.Errorf("cryptogram/signature/issuer lengths %d/%d/%d", len(v.Cryptogram), len(v.ReaderSignature), len(v.IssuerIdentifier))
	}
	if tv := hkSplitTLV(t, v.SelectResponseData); len(tv) != 1 || tv[0].tag != 0x5c || !bytes.Equal(tv[0].val, hkHex("02000100")) {
		t.Errorf("SELECT response data %x", v.SelectResponseData)
	}
	if !bytes.Equal(v.ECPFrameTemplate[:8], hkHex("6a02cb0206021100")) {
		t.Errorf("ECP template %x", v.ECPFrameTemplate)
	}
}

// TestHomeKeyKupa22Examples checks the ECP frame: header, reader group
// identifier, and the trailing ISO 14443-3 CRC_A.
func TestHomeKeyKupa22Examples(t *testing.T) {
	v := mustHomeKey(t, HomeKeyKupa22Examples)
	f := v.ECPFrame
	if len(f) != 18 {
		t.Fatalf("ECP frame %x is %d bytes, want 18", f, len(f))
	}
	if !bytes.Equal(f[:8], hkHex("6a02cb0204021100")) || !bytes.Equal(f[8:16], v.ReaderGroupIdentifier) {
		t.Errorf("ECP frame %x", f)
	}
	if got := hkCRCA(f[:16]); !bytes.Equal(got, f[16:]) {
		t.Errorf("hkCRCA(%x) = %x, want %x", f[:16], got, f[16:])
	}
	if want := hkTLV(0x5c, hkHex("02000100")); !bytes.Equal(v.StandardInfoSuffix, want) {
		t.Errorf("standard info suffix %x, want %x", v.StandardInfoSuffix, want)
	}
	if !bytes.Equal(v.AIDFull[:7], hkHex("a0000008580101")) {
		t.Errorf("AID %x", v.AIDFull)
	}
}
