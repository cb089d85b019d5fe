package kdf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/internal/cmac"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/internal/testvec"
)

func TestX963CAVP(t *testing.T) {
	vs, err := testvec.X963SHA256()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no X9.63 vectors")
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			if got := X963(nil, v.Z, v.SharedInfo, len(v.KeyData)); !bytes.Equal(got, v.KeyData) {
				t.Errorf("X963(nil, %x, %x, %d) = %x, want %x", v.Z, v.SharedInfo, len(v.KeyData), got, v.KeyData)
			}
			prefix := []byte{0xAA, 0xBB}
			got := X963(prefix, v.Z, v.SharedInfo, len(v.KeyData))
			if !bytes.Equal(got[:2], prefix) || !bytes.Equal(got[2:], v.KeyData) {
				t.Errorf("X963(%x, …) = %x, want the prefix then %x", prefix, got, v.KeyData)
			}
		})
	}
	t.Logf("%d CAVP X9.63 SHA-256 vectors", len(vs))
}

// TestX963SingleBlock checks the form docs/protocol.md §4.4 writes out for the
// transaction's Kdh: SHA-256(Z ‖ 00000001 ‖ SharedInfo) when n = 32, and the
// second block when n = 64.
func TestX963SingleBlock(t *testing.T) {
	z := bytes.Repeat([]byte{0x5A}, 32)
	txid := []byte("0123456789abcdef")
	b1 := sha256.Sum256(append(append(append([]byte(nil), z...), 0, 0, 0, 1), txid...))
	b2 := sha256.Sum256(append(append(append([]byte(nil), z...), 0, 0, 0, 2), txid...))
	if got := X963(nil, z, txid, 32); !bytes.Equal(got, b1[:]) {
		t.Errorf("X963(nil, %x, %x, 32) = %x, want %x", z, txid, got, b1)
	}
	want := append(b1[:], b2[:20]...)
	if got := X963(nil, z, txid, 52); !bytes.Equal(got, want) {
		t.Errorf("X963(nil, %x, %x, 52) = %x, want %x", z, txid, got, want)
	}
	if got := X963([]byte{1}, z, txid, 0); !bytes.Equal(got, []byte{1}) {
		t.Errorf("X963([01], …, 0) = %x, want 01", got)
	}
}

func newCMAC(t testing.TB, key []byte) *cmac.CMAC {
	t.Helper()
	c, err := cmac.New(key)
	if err != nil {
		t.Fatalf("cmac.New(%x) = %v", key, err)
	}
	return c
}

func TestCounterModeCAVP(t *testing.T) {
	vs, err := testvec.KBKDFCounterCMAC()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			prf := newCMAC(t, v.KI)
			if got := CounterModeFixed(nil, prf, v.FixedInput, len(v.KO)); !bytes.Equal(got, v.KO) {
				t.Errorf("CounterModeFixed(nil, %x, %x, %d) = %x, want %x", v.KI, v.FixedInput, len(v.KO), got, v.KO)
			}
		})
		counts[v.PRF]++
	}
	if counts["CMAC_AES128"] == 0 || counts["CMAC_AES256"] == 0 {
		t.Fatalf("vector counts %v: want both AES-128 and AES-256", counts)
	}
	t.Logf("CAVP SP 800-108 counter-mode CMAC vectors: %v", counts)
}

// TestCounterModeUWB writes out the first blocks of the UWB key schedule of
// docs/protocol.md §8.5 with CMAC directly, and checks CounterMode against them:
// mUPSK1 ‖ mUPSK2 is one 48-byte derivation (L = 0x180), mURSK one of 32
// bytes (L = 0x100).
func TestCounterModeUWB(t *testing.T) {
	ursk := make([]byte, 32)
	for i := range ursk {
		ursk[i] = byte(i)
	}
	prf := newCMAC(t, ursk)
	block := func(i byte, label string, ctx []byte, lbits uint32) []byte {
		in := []byte{0, 0, 0, i}
		in = append(in, label...)
		in = append(in, 0)
		in = append(in, ctx...)
		in = append(in, byte(lbits>>24), byte(lbits>>16), byte(lbits>>8), byte(lbits))
		return prf.Sum(nil, in)
	}
	ctx := []byte{0, 0, 0}
	for _, tc := range []struct {
		name  string
		label string
		n     int
		want  []byte
	}{
		{"mUPSK", "UPSK", 48, bytes.Join([][]byte{block(1, "UPSK", ctx, 0x180), block(2, "UPSK", ctx, 0x180), block(3, "UPSK", ctx, 0x180)}, nil)},
		{"mURSK", "URSK", 32, bytes.Join([][]byte{block(1, "URSK", ctx, 0x100), block(2, "URSK", ctx, 0x100)}, nil)},
		{"truncated", "UAD", 20, append(block(1, "UAD", ctx, 160), block(2, "UAD", ctx, 160)[:4]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CounterMode(nil, prf, []byte(tc.label), ctx, tc.n); !bytes.Equal(got, tc.want) {
				t.Errorf("CounterMode(nil, URSK, %q, %x, %d) = %x, want %x", tc.label, ctx, tc.n, got, tc.want)
			}
		})
	}
}

func TestAppendFixedInput(t *testing.T) {
	got := AppendFixedInput([]byte{0xEE}, []byte("URSK_KT"), []byte{1, 0, 1}, 32)
	want, _ := hex.DecodeString("ee" + hex.EncodeToString([]byte("URSK_KT")) + "00" + "010001" + "00000100")
	if !bytes.Equal(got, want) {
		t.Errorf("AppendFixedInput(ee, %q, 010001, 32) = %x, want %x", "URSK_KT", got, want)
	}
}

// TestCounterModeLongInput covers the path where the fixed input data does
// not fit the stack buffer.
func TestCounterModeLongInput(t *testing.T) {
	prf := newCMAC(t, make([]byte, 16))
	for _, ctxLen := range []int{0, 118, 119, 120, 300} {
		label := []byte("LABEL")
		ctx := bytes.Repeat([]byte{0xC7}, ctxLen)
		want := CounterModeFixed(nil, prf, AppendFixedInput(nil, label, ctx, 40), 40)
		if got := CounterMode(nil, prf, label, ctx, 40); !bytes.Equal(got, want) {
			t.Errorf("CounterMode(nil, prf, %q, %d-byte context, 40) = %x, want %x", label, ctxLen, got, want)
		}
	}
}

func TestPanics(t *testing.T) {
	prf := newCMAC(t, make([]byte, 16))
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"X963 negative", func() { X963(nil, nil, nil, -1) }},
		{"CounterMode negative", func() { CounterMode(nil, prf, nil, nil, -1) }},
		{"CounterModeFixed too large", func() { CounterModeFixed(nil, prf, nil, MaxCounterModeSize+1) }},
		{"AppendFixedInput too large", func() { AppendFixedInput(nil, nil, nil, MaxCounterModeSize+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tc.name)
				}
			}()
			tc.f()
		})
	}
}

func TestAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	prf := newCMAC(t, make([]byte, 32))
	z := make([]byte, 32)
	txid := make([]byte, 16)
	dst := make([]byte, 0, 64)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"X963/32", func() { X963(dst[:0], z, txid, 32) }},
		{"X963/64", func() { X963(dst[:0], z, txid, 64) }},
		{"CounterMode/48", func() { CounterMode(dst[:0], prf, []byte("UPSK"), txid, 48) }},
		{"CounterModeFixed/32", func() { CounterModeFixed(dst[:0], prf, txid, 32) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s allocated %v times, want 0", tc.name, n)
		}
	}
}

func BenchmarkX963(b *testing.B) {
	z := make([]byte, 32)
	txid := make([]byte, 16)
	dst := make([]byte, 0, 32)
	b.ReportAllocs()
	for b.Loop() {
		X963(dst[:0], z, txid, 32)
	}
}

func BenchmarkCounterMode(b *testing.B) {
	prf := newCMAC(b, make([]byte, 32))
	ctx := make([]byte, 19)
	dst := make([]byte, 0, 32)
	for _, n := range []int{16, 32} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				CounterMode(dst[:0], prf, []byte("URSK"), ctx, n)
			}
		})
	}
}
