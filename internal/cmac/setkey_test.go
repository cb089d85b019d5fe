package cmac

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

// TestSetKey checks that a zero, a used and a closed CMAC rekeyed with
// SetKey compute the known answers of RFC 4493 and SP 800-38B, and that a
// rejected key leaves the CMAC as it was.
func TestSetKey(t *testing.T) {
	msg := unhex(t, rfcMessage)
	var c CMAC // zero value
	for _, ka := range knownAnswers {
		if err := c.SetKey(unhex(t, ka.key)); err != nil {
			t.Fatalf("SetKey(%s) = %v", ka.key, err)
		}
		if got := c.Sum(nil, msg[:ka.mlen]); !bytes.Equal(got, unhex(t, ka.tag)) {
			t.Errorf("%s: SetKey then Sum = %x, want %s", ka.name, got, ka.tag)
		}
	}
	c.Close()
	ka := knownAnswers[0]
	if err := c.SetKey(unhex(t, ka.key)); err != nil {
		t.Fatalf("SetKey after Close = %v", err)
	}
	if got := c.Sum(nil, msg[:ka.mlen]); !bytes.Equal(got, unhex(t, ka.tag)) {
		t.Errorf("SetKey after Close then Sum = %x, want %s", got, ka.tag)
	}
	for _, n := range []int{0, 15, 24, 33} {
		if err := c.SetKey(make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("SetKey(%d bytes) = %v, want ErrKeySize", n, err)
		}
	}
	if got := c.Sum(nil, msg[:ka.mlen]); !bytes.Equal(got, unhex(t, ka.tag)) {
		t.Errorf("after a rejected SetKey, Sum = %x, want the old key's %s", got, ka.tag)
	}
}

// TestSetKeyAllocs pins the cost of a rekey: the AES key schedule, once.
func TestSetKeyAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	var c CMAC
	key := make([]byte, 32)
	if n := testing.AllocsPerRun(100, func() { _ = c.SetKey(key) }); n != 1 {
		t.Errorf("SetKey allocated %v times, want 1 (the AES key schedule)", n)
	}
}
