package cmac

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex.DecodeString(%q): %v", s, err)
	}
	return b
}

// rfcMessage is the 64-byte message M of RFC 4493 §4 and SP 800-38B
// Appendix D; the examples MAC its first 0, 16, 40 and 64 bytes.
const rfcMessage = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

// knownAnswers are RFC 4493 §4 (AES-128, examples 1-4) and NIST SP 800-38B
// Appendix D.3 (AES-256, examples 9-12).
var knownAnswers = []struct {
	name string
	key  string
	mlen int
	tag  string
}{
	{"RFC4493/Example1", "2b7e151628aed2a6abf7158809cf4f3c", 0, "bb1d6929e95937287fa37d129b756746"},
	{"RFC4493/Example2", "2b7e151628aed2a6abf7158809cf4f3c", 16, "070a16b46b4d4144f79bdd9dd04a287c"},
	{"RFC4493/Example3", "2b7e151628aed2a6abf7158809cf4f3c", 40, "dfa66747de9ae63030ca32611497c827"},
	{"RFC4493/Example4", "2b7e151628aed2a6abf7158809cf4f3c", 64, "51f0bebf7e3b9d92fc49741779363cfe"},
	{"SP800-38B/AES256/Example9", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 0, "028962f61b7bf89efc6b551f4667d983"},
	{"SP800-38B/AES256/Example10", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 16, "28a7023f452e8f82bd4bf28d8c37c35c"},
	{"SP800-38B/AES256/Example11", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 40, "aaf3d8f1de5640c232f5b169b9c911e6"},
	{"SP800-38B/AES256/Example12", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 64, "e1992190549f6ed5696a2c056c315410"},
}

func TestKnownAnswers(t *testing.T) {
	m := unhex(t, rfcMessage)
	for _, tc := range knownAnswers {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(unhex(t, tc.key))
			if err != nil {
				t.Fatalf("New(%s) = %v", tc.key, err)
			}
			msg := m[:tc.mlen]
			want := unhex(t, tc.tag)
			if got := c.Sum(nil, msg); !bytes.Equal(got, want) {
				t.Errorf("Sum(%x) = %x, want %x", msg, got, want)
			}
			// Every split of the message into a ‖ b gives the same tag.
			for i := 0; i <= len(msg); i++ {
				var got [Size]byte
				c.Sum2(&got, msg[:i], msg[i:])
				if !bytes.Equal(got[:], want) {
					t.Errorf("Sum2(%x, %x) = %x, want %x", msg[:i], msg[i:], got, want)
				}
			}
			if !c.Verify(want, msg) {
				t.Errorf("Verify(%x, %x) = false, want true", want, msg)
			}
		})
	}
}

// TestSubkeys checks K1 and K2 against RFC 4493 §4 (subkey generation).
func TestSubkeys(t *testing.T) {
	c, err := New(unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "fbeed618357133667c85e08f7236a8de"); !bytes.Equal(c.k1[:], want) {
		t.Errorf("K1 = %x, want %x", c.k1, want)
	}
	if want := unhex(t, "f7ddac306ae266ccf90bc11ee46d513b"); !bytes.Equal(c.k2[:], want) {
		t.Errorf("K2 = %x, want %x", c.k2, want)
	}
}

func TestDouble(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out string
	}{
		{"msb clear", "00000000000000000000000000000001", "00000000000000000000000000000002"},
		{"msb set", "80000000000000000000000000000000", "00000000000000000000000000000087"},
		{"carry across bytes", "00ff0000000000000000000000000000", "01fe0000000000000000000000000000"},
		{"RFC4493 L to K1", "7df76b0c1ab899b33e42f047b91b546f", "fbeed618357133667c85e08f7236a8de"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in, out [Size]byte
			copy(in[:], unhex(t, tc.in))
			double(&out, &in)
			if want := unhex(t, tc.out); !bytes.Equal(out[:], want) {
				t.Errorf("double(%x) = %x, want %x", in, out, want)
			}
		})
	}
}

func TestNewKeySizes(t *testing.T) {
	for _, n := range []int{0, 1, 8, 15, 17, 24, 31, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c, err := New(make([]byte, n))
			if !errors.Is(err, ErrKeySize) || c != nil {
				t.Errorf("New(%d bytes) = %v, %v, want nil, ErrKeySize", n, c, err)
			}
		})
	}
	for _, n := range []int{16, 32} {
		if _, err := New(make([]byte, n)); err != nil {
			t.Errorf("New(%d bytes) = %v, want nil", n, err)
		}
	}
}

func TestVerifyTruncation(t *testing.T) {
	c, err := New(unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	msg := unhex(t, rfcMessage)[:40]
	tag := unhex(t, "dfa66747de9ae63030ca32611497c827")
	for _, tc := range []struct {
		name string
		tag  []byte
		want bool
	}{
		{"full", tag, true},
		{"8 bytes", tag[:8], true},
		{"12 bytes", tag[:12], true},
		{"7 bytes", tag[:7], false},
		{"empty", nil, false},
		{"17 bytes", append(append([]byte(nil), tag...), 0), false},
		{"rightmost 8 bytes", tag[8:], false},
		{"last bit flipped", append(append([]byte(nil), tag[:15]...), tag[15]^1), false},
		{"first bit flipped", append([]byte{tag[0] ^ 0x80}, tag[1:]...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Verify(tc.tag, msg); got != tc.want {
				t.Errorf("Verify(%x, msg) = %v, want %v", tc.tag, got, tc.want)
			}
		})
	}
}

// TestSplitsRandom checks that Sum2 of any split equals Sum of the whole for
// random messages of every length around the block boundaries.
func TestSplitsRandom(t *testing.T) {
	for _, keyLen := range []int{16, 32} {
		key := make([]byte, keyLen)
		rand.Read(key)
		c, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, 80)
		rand.Read(msg)
		for n := 0; n <= len(msg); n++ {
			want := c.Sum(nil, msg[:n])
			for i := 0; i <= n; i++ {
				var got [Size]byte
				c.Sum2(&got, msg[:i], msg[i:n])
				if !bytes.Equal(got[:], want) {
					t.Fatalf("key %x: Sum2(%x, %x) = %x, want %x", key, msg[:i], msg[i:n], got, want)
				}
			}
		}
	}
}

func TestSumAppends(t *testing.T) {
	c, err := New(unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	got := c.Sum(prefix, nil)
	want := append([]byte("prefix"), unhex(t, "bb1d6929e95937287fa37d129b756746")...)
	if !bytes.Equal(got, want) {
		t.Errorf("Sum(%q, nil) = %x, want %x", prefix, got, want)
	}
}

func TestClose(t *testing.T) {
	c, err := New(unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close() // idempotent
	var zero [Size]byte
	if c.k1 != zero || c.k2 != zero || c.x != zero || c.buf != zero || c.b != nil {
		t.Errorf("after Close: k1=%x k2=%x x=%x buf=%x block=%v, want all zero", c.k1, c.k2, c.x, c.buf, c.b)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Sum after Close did not panic")
		}
	}()
	c.Sum(nil, nil)
}

func TestScratchCleared(t *testing.T) {
	c, err := New(unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	c.Sum(nil, unhex(t, rfcMessage)[:40])
	var zero [Size]byte
	if c.x != zero || c.buf != zero || c.n != 0 {
		t.Errorf("after Sum: x=%x buf=%x n=%d, want zero", c.x, c.buf, c.n)
	}
}

func TestAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	c, err := New(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 64)
	dst := make([]byte, 0, Size)
	var out [Size]byte
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Sum", func() { c.Sum(dst[:0], msg) }},
		{"Sum2", func() { c.Sum2(&out, msg[:16], msg[16:]) }},
		{"Verify", func() { c.Verify(out[:8], msg) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s allocated %v times, want 0", tc.name, n)
		}
	}
}

func FuzzSum2(f *testing.F) {
	m := []byte(rfcMessage)
	f.Add(m[:0], m[:0])
	f.Add(m[:16], m[16:40])
	f.Add(m[:15], m[15:17])
	c, err := New(make([]byte, 16))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var got [Size]byte
		c.Sum2(&got, a, b)
		want := c.Sum(nil, append(append([]byte(nil), a...), b...))
		if !bytes.Equal(got[:], want) {
			t.Errorf("Sum2(%x, %x) = %x, want %x", a, b, got, want)
		}
		if !c.Verify(want[:MinTagSize], append(append([]byte(nil), a...), b...)) {
			t.Errorf("Verify(%x, a‖b) = false, want true", want[:MinTagSize])
		}
	})
}

func BenchmarkCMAC(b *testing.B) {
	c, err := New(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{16, 64, 256} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			msg := make([]byte, n)
			var out [Size]byte
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				c.Sum2(&out, msg, nil)
			}
		})
	}
}
