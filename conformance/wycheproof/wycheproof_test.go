package wycheproof_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io/fs"
	"math/big"
	"testing"

	c2sp "github.com/c2sp/wycheproof"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/cmac"
	"github.com/opencarkey/sdk/internal/ecdhe"
	"github.com/opencarkey/sdk/internal/testvec"
)

// fileHeader is the part of every Wycheproof file that the tests check.
type fileHeader struct {
	Algorithm     string
	NumberOfTests int
}

// vector holds the fields common to every test case.
type vector struct {
	TcID    int `json:"tcId"`
	Comment string
	Flags   []string
	Result  string
}

// tally counts the vectors of one file by result.
type tally struct {
	valid, invalid, acceptable int
}

func (c *tally) add(t *testing.T, v vector) {
	t.Helper()
	switch v.Result {
	case "valid":
		c.valid++
	case "invalid":
		c.invalid++
	case "acceptable":
		c.acceptable++
	default:
		t.Errorf("tcId %d: unknown result %q", v.TcID, v.Result)
	}
}

// check fails the test if the file yielded no vectors or fewer than it
// declares, and logs the counts.
func (c tally) check(t *testing.T, file string, h fileHeader) {
	t.Helper()
	total := c.valid + c.invalid + c.acceptable
	if total == 0 {
		t.Fatalf("%s: no vectors", file)
	}
	if total != h.NumberOfTests {
		t.Errorf("%s: ran %d vectors, the file declares %d", file, total, h.NumberOfTests)
	}
	t.Logf("%s (%s): %d vectors: %d valid, %d invalid, %d acceptable", file, h.Algorithm, total, c.valid, c.invalid, c.acceptable)
}

func load(t *testing.T, file string, v any) {
	t.Helper()
	b, err := fs.ReadFile(c2sp.TestVectors, file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
}

func TestAESCMAC(t *testing.T) {
	const file = "aes_cmac_test.json"
	var f struct {
		fileHeader
		TestGroups []struct {
			KeySize int
			TagSize int
			Tests   []struct {
				vector
				Key, Msg, Tag testvec.HexBytes
			}
		}
	}
	load(t, file, &f)
	var c tally
	refusedKey := map[int]map[string]int{} // key size in bits → result → count
	refusedTag := 0
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			c.add(t, v.vector)
			m, err := cmac.New(v.Key)
			if len(v.Key) != 16 && len(v.Key) != 32 {
				// Not AES-128 or AES-256 (AES-192 included): New refuses
				// the key, whatever the vector's result.
				if !errors.Is(err, cmac.ErrKeySize) || m != nil {
					t.Errorf("tcId %d: cmac.New(%d-byte key) = %v, want ErrKeySize", v.TcID, len(v.Key), err)
				}
				if refusedKey[8*len(v.Key)] == nil {
					refusedKey[8*len(v.Key)] = map[string]int{}
				}
				refusedKey[8*len(v.Key)][v.Result]++
				continue
			}
			if err != nil {
				t.Errorf("tcId %d: cmac.New(%d-byte key) = %v", v.TcID, len(v.Key), err)
				continue
			}
			if g.TagSize/8 < cmac.MinTagSize && v.Result == "valid" {
				// Tags under 64 bits are refused by policy (SP 800-38B
				// Appendix A); the protocol uses 64 and 128.
				if m.Verify(v.Tag, v.Msg) {
					t.Errorf("tcId %d: Verify accepted a %d-bit tag", v.TcID, g.TagSize)
				}
				refusedTag++
				continue
			}
			ok := m.Verify(v.Tag, v.Msg)
			switch v.Result {
			case "valid":
				full := m.Sum(nil, v.Msg)
				if !ok || !bytes.Equal(full[:len(v.Tag)], v.Tag) {
					t.Errorf("tcId %d (%s): Sum(%x) = %x, Verify = %v, want tag %x", v.TcID, v.Comment, v.Msg, full, ok, v.Tag)
				}
			case "invalid":
				if ok {
					t.Errorf("tcId %d (%s): Verify(%x, %x) = true for an invalid tag", v.TcID, v.Comment, v.Tag, v.Msg)
				}
			case "acceptable":
				// The file has none; a MAC is either right or wrong, so a
				// new "acceptable" case needs a decision: fail.
				t.Errorf("tcId %d (%s): unexpected acceptable CMAC vector", v.TcID, v.Comment)
			}
		}
	}
	c.check(t, file, f.fileHeader)
	t.Logf("%s: keys refused by size (bits → result → count): %v; valid vectors with tags under 64 bits refused: %d", file, refusedKey, refusedTag)
	if refusedKey[192]["valid"] == 0 {
		t.Errorf("%s: no valid AES-192 vectors were refused; the file changed, recheck the counts", file)
	}
}

// scalar32 returns the Wycheproof private key, a big-endian integer of any
// length, as the 32-byte scalar that dkey.NewSoftwareKey takes.
func scalar32(t *testing.T, b []byte) []byte {
	t.Helper()
	n := new(big.Int).SetBytes(b)
	if n.BitLen() > 256 {
		t.Fatalf("private key %x longer than 256 bits", b)
	}
	return n.FillBytes(make([]byte, 32))
}

func TestECDHP256ECPoint(t *testing.T) {
	const file = "ecdh_secp256r1_ecpoint_test.json"
	var f struct {
		fileHeader
		TestGroups []struct {
			Curve    string
			Encoding string
			Tests    []struct {
				vector
				Public, Private, Shared testvec.HexBytes
			}
		}
	}
	load(t, file, &f)
	var c tally
	for _, g := range f.TestGroups {
		if g.Curve != "secp256r1" || g.Encoding != "ecpoint" {
			t.Fatalf("%s: group for %s/%s", file, g.Curve, g.Encoding)
		}
		for _, v := range g.Tests {
			c.add(t, v.vector)
			scalar := scalar32(t, v.Private)
			priv, err := dkey.NewSoftwareKey(scalar)
			if err != nil {
				t.Errorf("tcId %d: NewSoftwareKey(%x) = %v", v.TcID, scalar, err)
				continue
			}
			pub, err := dkey.ParsePublicKey(v.Public)
			if err == nil {
				var ep *ecdh.PublicKey
				if ep, err = pub.ECDH(); err == nil {
					var shared []byte
					if shared, err = priv.ECDH(ep); err == nil {
						// Cross-check the software key against crypto/ecdh.
						std, err2 := ecdh.P256().NewPrivateKey(scalar)
						if err2 != nil {
							t.Fatalf("tcId %d: ecdh.NewPrivateKey: %v", v.TcID, err2)
						}
						stdShared, err2 := std.ECDH(ep)
						if err2 != nil || !bytes.Equal(stdShared, shared) {
							t.Errorf("tcId %d: crypto/ecdh = %x, %v; SoftwareKey.ECDH = %x", v.TcID, stdShared, err2, shared)
						}
					}
					if err == nil && v.Result == "valid" && !bytes.Equal(shared, v.Shared) {
						t.Errorf("tcId %d (%s): ECDH = %x, want %x", v.TcID, v.Comment, shared, v.Shared)
					}
				}
			}
			// The allocation-free ephemeral ECDH of the transactions parses
			// the same attacker-supplied points; it must agree.
			var eph ecdhe.PrivateKey
			var epub ecdhe.PublicKey
			var z [ecdhe.SharedSize]byte
			eerr := eph.SetScalar(scalar)
			if eerr == nil {
				if eerr = epub.SetBytes(v.Public); eerr == nil {
					eerr = eph.ECDH(&z, &epub)
				}
			}
			if (eerr == nil) != (err == nil) {
				t.Errorf("tcId %d (%s): ecdhe = %v, dkey = %v", v.TcID, v.Comment, eerr, err)
			}
			if eerr == nil && v.Result == "valid" && !bytes.Equal(z[:], v.Shared) {
				t.Errorf("tcId %d (%s): ecdhe ECDH = %x, want %x", v.TcID, v.Comment, z, v.Shared)
			}
			switch v.Result {
			case "valid":
				if err != nil {
					t.Errorf("tcId %d (%s): public %x: %v, want success", v.TcID, v.Comment, v.Public, err)
				}
			case "invalid":
				// Off-curve points, the wrong encoding, points on the twist:
				// all must be refused when the point is parsed.
				if !errors.Is(err, dkey.ErrInvalidPublicKey) {
					t.Errorf("tcId %d (%s): public %x: %v, want ErrInvalidPublicKey", v.TcID, v.Comment, v.Public, err)
				}
			case "acceptable":
				// The only acceptable vector is a compressed public key. The
				// protocol carries 65-byte uncompressed points only
				// (docs/protocol.md §0), so ParsePublicKey rejects compressed
				// points: the stricter of the two allowed behaviours.
				if !errors.Is(err, dkey.ErrInvalidPublicKey) {
					t.Errorf("tcId %d (%s) %v: public %x: %v, want ErrInvalidPublicKey (compressed points are refused)", v.TcID, v.Comment, v.Flags, v.Public, err)
				}
				if !hasFlag(v.Flags, "CompressedPublic") {
					t.Errorf("tcId %d (%s) %v: acceptable for a reason other than a compressed point; decide how to handle it", v.TcID, v.Comment, v.Flags)
				}
			}
		}
	}
	c.check(t, file, f.fileHeader)
}

func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if g == f {
			return true
		}
	}
	return false
}

func TestECDSAP256SHA256P1363(t *testing.T) {
	const file = "ecdsa_secp256r1_sha256_p1363_test.json"
	var f struct {
		fileHeader
		TestGroups []struct {
			PublicKey struct {
				Curve        string
				Uncompressed testvec.HexBytes
			}
			Sha   string
			Tests []struct {
				vector
				Msg, Sig testvec.HexBytes
			}
		}
	}
	load(t, file, &f)
	var c tally
	for _, g := range f.TestGroups {
		if g.PublicKey.Curve != "secp256r1" || g.Sha != "SHA-256" {
			t.Fatalf("%s: group for %s/%s", file, g.PublicKey.Curve, g.Sha)
		}
		pub, err := dkey.ParsePublicKey(g.PublicKey.Uncompressed)
		if err != nil {
			t.Fatalf("ParsePublicKey(%x) = %v: every group key of this file is valid", g.PublicKey.Uncompressed, err)
		}
		for _, v := range g.Tests {
			c.add(t, v.vector)
			sig, err := dkey.ParseSignature(v.Sig)
			if err == nil {
				err = pub.Verify(v.Msg, &sig)
			}
			switch v.Result {
			case "valid":
				if err != nil {
					t.Errorf("tcId %d (%s): Verify(%x, %x) = %v, want nil", v.TcID, v.Comment, v.Msg, v.Sig, err)
				}
			case "invalid":
				// Wrong lengths and r or s out of [1, n-1] fail in
				// ParseSignature, the rest in Verify.
				if !errors.Is(err, dkey.ErrInvalidSignature) && !errors.Is(err, dkey.ErrVerification) {
					t.Errorf("tcId %d (%s) %v: Verify(%x, %x) = %v, want ErrInvalidSignature or ErrVerification", v.TcID, v.Comment, v.Flags, v.Msg, v.Sig, err)
				}
			case "acceptable":
				// The file has none: a P1363 signature is either well formed
				// and valid or not. A new "acceptable" case needs a
				// decision: fail.
				t.Errorf("tcId %d (%s) %v: unexpected acceptable ECDSA vector (Verify = %v)", v.TcID, v.Comment, v.Flags, err)
			}
		}
	}
	c.check(t, file, f.fileHeader)
}

func TestHKDFSHA256(t *testing.T) {
	const file = "hkdf_sha256_test.json"
	var f struct {
		fileHeader
		TestGroups []struct {
			Tests []struct {
				vector
				IKM  testvec.HexBytes `json:"ikm"`
				Salt testvec.HexBytes
				Info testvec.HexBytes
				Size int
				OKM  testvec.HexBytes `json:"okm"`
			}
		}
	}
	load(t, file, &f)
	var c tally
	emptySalt := 0
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			c.add(t, v.vector)
			okm, err := hkdf.Key(sha256.New, v.IKM, v.Salt, string(v.Info), v.Size)
			switch v.Result {
			case "valid":
				if err != nil || !bytes.Equal(okm, v.OKM) {
					t.Errorf("tcId %d (%s): hkdf.Key(%x, %x, %x, %d) = %x, %v, want %x", v.TcID, v.Comment, v.IKM, v.Salt, v.Info, v.Size, okm, err, v.OKM)
				}
				if len(v.Salt) == 0 {
					// The key schedule's "salt = none": nil and 32 zero
					// bytes are the same salt (RFC 5869 §2.2).
					emptySalt++
					for _, salt := range [][]byte{nil, make([]byte, sha256.Size)} {
						if got, err := hkdf.Key(sha256.New, v.IKM, salt, string(v.Info), v.Size); err != nil || !bytes.Equal(got, v.OKM) {
							t.Errorf("tcId %d: hkdf.Key with salt %x = %x, %v, want %x", v.TcID, salt, got, err, v.OKM)
						}
					}
				}
			case "invalid":
				// Output longer than 255 hash blocks.
				if err == nil {
					t.Errorf("tcId %d (%s): hkdf.Key(size %d) succeeded, want an error", v.TcID, v.Comment, v.Size)
				}
			case "acceptable":
				// The file has none; fail so that someone decides.
				t.Errorf("tcId %d (%s): unexpected acceptable HKDF vector", v.TcID, v.Comment)
			}
		}
	}
	c.check(t, file, f.fileHeader)
	if emptySalt == 0 {
		t.Errorf("%s: no empty-salt vectors; the salt = none check did not run", file)
	}
}
