package transaction

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

func TestHMACAgainstStdlib(t *testing.T) {
	m := newHMAC()
	for i := 0; i < 200; i++ {
		key := make([]byte, i%65)
		msg := make([]byte, i*3)
		rand.Read(key)
		rand.Read(msg)
		ref := hmac.New(sha256.New, key)
		ref.Write(msg)
		want := ref.Sum(nil)
		m.setKey(key)
		var got [32]byte
		cut := len(msg) / 3
		m.mac(&got, msg[:cut], msg[cut:2*cut], msg[2*cut:])
		if !bytes.Equal(got[:], want) {
			t.Fatalf("HMAC(%x, %x) = %x, want %x", key, msg, got, want)
		}
	}
}

func TestHKDFAgainstStdlib(t *testing.T) {
	m := newHMAC()
	for _, n := range []int{1, 16, 32, 33, 48, 64, 80, 255} {
		ikm := make([]byte, 32)
		info := make([]byte, n+7)
		rand.Read(ikm)
		rand.Read(info)
		want, err := hkdf.Key(sha256.New, ikm, nil, string(info), n)
		if err != nil {
			t.Fatal(err)
		}
		var prk [32]byte
		m.extract(&prk, ikm)
		got := make([]byte, n)
		m.expand(got, &prk, info)
		if !bytes.Equal(got, want) {
			t.Fatalf("HKDF(%x, %x, %d) = %x, want %x", ikm, info, n, got, want)
		}
	}
}

// TestHKDFRFC5869 checks RFC 5869 Appendix A.3 (SHA-256, zero-length salt and
// info), the case the protocol uses (no salt).
func TestHKDFRFC5869(t *testing.T) {
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	wantPRK := mustHex(t, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04")
	wantOKM := mustHex(t, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
	m := newHMAC()
	var prk [32]byte
	m.extract(&prk, ikm)
	if !bytes.Equal(prk[:], wantPRK) {
		t.Errorf("PRK = %x, want %x", prk, wantPRK)
	}
	okm := make([]byte, 42)
	m.expand(okm, &prk, nil)
	if !bytes.Equal(okm, wantOKM) {
		t.Errorf("OKM = %x, want %x", okm, wantOKM)
	}
}

func TestHKDFAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	m := newHMAC()
	var prk [32]byte
	out := make([]byte, 80)
	info := make([]byte, 190)
	if n := testing.AllocsPerRun(100, func() {
		m.extract(&prk, info[:32])
		m.expand(out, &prk, info)
	}); n != 0 {
		t.Errorf("HKDF allocated %v times, want 0", n)
	}
}
