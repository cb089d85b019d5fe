package gcmchannel

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/internal/redacttest"
	"github.com/opencarkey/sdk/internal/testvec"
)

func pair(t testing.TB, size int, last uint32) (*Channel, *Channel, []byte, []byte) {
	t.Helper()
	rk, dk := bytes.Repeat([]byte{1}, size), bytes.Repeat([]byte{2}, size)
	var r, d Channel
	if err := r.Init(ReaderEnd, rk, dk, last); err != nil {
		t.Fatal(err)
	}
	if err := d.Init(DeviceEnd, rk, dk, last); err != nil {
		t.Fatal(err)
	}
	return &r, &d, rk, dk
}

// TestAliroVector opens the AUTH1 response of Aliro 1.0 section 14.3 with
// its ExpeditedSKDevice, device counter 1, and seals it back.
func TestAliroVector(t *testing.T) {
	v, err := testvec.AliroSpecStandard()
	if err != nil {
		t.Fatal(err)
	}
	var r, d Channel
	if err := r.Init(ReaderEnd, v.ExpeditedSKReader, v.ExpeditedSKDevice, 0xFFFE); err != nil {
		t.Fatal(err)
	}
	if err := d.Init(DeviceEnd, v.ExpeditedSKReader, v.ExpeditedSKDevice, 0xFFFE); err != nil {
		t.Fatal(err)
	}
	resp := v.Auth1Response[:len(v.Auth1Response)-2]
	pt, err := r.Open(nil, resp)
	if err != nil || !bytes.Equal(pt, v.Auth1Plaintext) {
		t.Fatalf("Open = %x, %v", pt, err)
	}
	ct, err := d.Seal(nil, v.Auth1Plaintext)
	if err != nil || !bytes.Equal(ct, resp) {
		t.Fatalf("Seal = %x, %v", ct, err)
	}
	if s, o := r.Counters(); s != 1 || o != 2 {
		t.Errorf("reader counters = %d, %d", s, o)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, size := range []int{16, 32} {
		r, d, _, _ := pair(t, size, 100)
		for i := range 5 {
			msg := bytes.Repeat([]byte{byte(i)}, i*7)
			ct, err := r.Seal(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(ct) != len(msg)+TagSize {
				t.Errorf("ciphertext of %d bytes for %d", len(ct), len(msg))
			}
			pt, err := d.Open(nil, ct)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("device Open = %x, %v", pt, err)
			}
			// Two device messages for each reader one: the directions
			// count independently.
			for range 2 {
				ct, _ = d.Seal(nil, msg)
				if pt, err = r.Open(pt[:0], ct); err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("reader Open = %x, %v", pt, err)
				}
			}
		}
		if s, o := r.Counters(); s != 6 || o != 11 {
			t.Errorf("reader counters = %d, %d, want 6, 11", s, o)
		}
	}
}

func TestFailures(t *testing.T) {
	t.Run("tampered", func(t *testing.T) {
		r, d, _, _ := pair(t, 32, 100)
		ct, _ := r.Seal(nil, []byte("open the door"))
		ct[0] ^= 1
		if _, err := d.Open(nil, ct); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("Open of a tampered message = %v", err)
		}
		if _, err := d.Seal(nil, nil); !errors.Is(err, ErrBroken) {
			t.Errorf("Seal after a failure = %v, want ErrBroken", err)
		}
		if _, err := d.Open(nil, ct); !errors.Is(err, ErrBroken) {
			t.Errorf("Open after a failure = %v, want ErrBroken", err)
		}
	})
	t.Run("replay", func(t *testing.T) {
		r, d, _, _ := pair(t, 32, 100)
		ct, _ := r.Seal(nil, []byte("once"))
		if _, err := d.Open(nil, ct); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Open(nil, ct); !errors.Is(err, ErrAuthentication) {
			t.Errorf("replayed message = %v", err)
		}
	})
	t.Run("reflected", func(t *testing.T) {
		r, _, _, _ := pair(t, 32, 100)
		ct, _ := r.Seal(nil, []byte("mine"))
		if _, err := r.Open(nil, ct); !errors.Is(err, ErrAuthentication) {
			t.Errorf("own message opened: %v", err)
		}
	})
	t.Run("short", func(t *testing.T) {
		_, d, _, _ := pair(t, 32, 100)
		if _, err := d.Open(nil, make([]byte, TagSize-1)); !errors.Is(err, ErrAuthentication) {
			t.Errorf("Open of 15 bytes = %v", err)
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		r, d, _, _ := pair(t, 32, 2)
		for range 2 {
			ct, err := r.Seal(nil, []byte{1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Open(nil, ct); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Seal(nil, []byte{1}); !errors.Is(err, ErrCounterExhausted) {
			t.Errorf("third Seal = %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		var c Channel
		if _, err := c.Seal(nil, nil); !errors.Is(err, ErrClosed) {
			t.Errorf("zero Channel Seal = %v", err)
		}
		r, _, _, _ := pair(t, 32, 100)
		r.Close()
		if _, err := r.Open(nil, make([]byte, 16)); !errors.Is(err, ErrClosed) || r.Ready() {
			t.Errorf("closed Open = %v", err)
		}
	})
	t.Run("init", func(t *testing.T) {
		var c Channel
		for _, tt := range []struct {
			role   Role
			r, d   []byte
			last   uint32
			expect error
		}{
			{ReaderEnd, make([]byte, 24), make([]byte, 24), 1, ErrKeySize},
			{ReaderEnd, make([]byte, 16), make([]byte, 32), 1, ErrKeySize},
			{Role(9), make([]byte, 16), make([]byte, 16), 1, nil},
			{ReaderEnd, make([]byte, 16), make([]byte, 16), 0, nil},
		} {
			err := c.Init(tt.role, tt.r, tt.d, tt.last)
			if err == nil || tt.expect != nil && !errors.Is(err, tt.expect) {
				t.Errorf("Init(%v, %d, %d, %d) = %v", tt.role, len(tt.r), len(tt.d), tt.last, err)
			}
		}
	})
}

func TestAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	r, d, _, _ := pair(t, 32, 1<<30)
	buf := make([]byte, 0, 256)
	pt := make([]byte, 0, 256)
	msg := make([]byte, 100)
	if n := testing.AllocsPerRun(100, func() {
		ct, _ := r.Seal(buf[:0], msg)
		if _, err := d.Open(pt[:0], ct); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Seal and Open allocated %v times, want 0", n)
	}
}

func TestRedacted(t *testing.T) {
	r, _, rk, dk := pair(t, 32, 100)
	if err := redacttest.Leak(*r, rk, dk); err != nil {
		t.Error(err)
	}
	if ReaderEnd.String() != "ReaderEnd" || Role(7).String() != "Role(7)" {
		t.Errorf("Role.String")
	}
}

// FuzzOpen feeds arbitrary messages to a device end: they never panic, and
// only what the reader end sealed opens.
func FuzzOpen(f *testing.F) {
	r, _, rk, dk := pair(f, 32, 1<<20)
	seed, _ := r.Seal(nil, []byte("seed message"))
	f.Add(seed)
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var d Channel
		if err := d.Init(DeviceEnd, rk, dk, 1<<20); err != nil {
			t.Fatal(err)
		}
		pt, err := d.Open(nil, msg)
		if err == nil && (!bytes.Equal(msg, seed) || string(pt) != "seed message") {
			t.Fatalf("forged message %x opened as %q", msg, pt)
		}
		if err != nil && !errors.Is(err, ErrAuthentication) {
			t.Fatalf("Open error = %v", err)
		}
	})
}

// BenchmarkChannel seals and opens a 700-byte message (the size of
// package mdoc's BenchmarkChannel) into reused buffers, for both key sizes.
func BenchmarkChannel(b *testing.B) {
	for _, size := range []int{16, 32} {
		b.Run(fmt.Sprintf("AES-%d", size*8), func(b *testing.B) {
			r, d, _, _ := pair(b, size, 1<<31)
			msg := make([]byte, 700)
			ct := make([]byte, 0, 1024)
			pt := make([]byte, 0, 1024)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				x, _ := d.Seal(ct[:0], msg)
				if _, err := r.Open(pt[:0], x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
