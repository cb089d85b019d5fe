package spake2plus

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"

	"filippo.io/nistec"
)

// math/big is fine here: it is the reference the constant-time code is
// checked against, on public test values.

var (
	bigN      = new(big.Int).SetBytes([]byte("\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xbc\xe6\xfa\xad\xa7\x17\x9e\x84\xf3\xb9\xca\xc2\xfc\x63\x25\x51"))
	bigNMinus = new(big.Int).Sub(bigN, big.NewInt(1))
)

func bigBytes(x *big.Int, size int) []byte {
	return x.FillBytes(make([]byte, size))
}

// reduceInputs returns edge cases around the moduli and random values, of
// the lengths the package reduces (32 and 40 bytes) and more.
func reduceInputs(t *testing.T) [][]byte {
	t.Helper()
	var in [][]byte
	for _, size := range []int{0, 1, 32, 40, 64} {
		in = append(in, make([]byte, size), bytes.Repeat([]byte{0xff}, size))
	}
	for _, m := range []*big.Int{bigN, bigNMinus} {
		for _, k := range []int64{1, 2, 3, 1 << 20} {
			km := new(big.Int).Mul(m, big.NewInt(k))
			for _, d := range []int64{-2, -1, 0, 1, 2} {
				v := new(big.Int).Add(km, big.NewInt(d))
				size := 32
				if v.BitLen() > 256 {
					size = 40
				}
				in = append(in, bigBytes(v, size))
			}
		}
	}
	for range 200 {
		b := make([]byte, 40)
		rand.Read(b)
		in = append(in, b, b[:32])
	}
	return in
}

func TestReduce(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *limbs
		bigM *big.Int
	}{{"n", &orderN, bigN}, {"n-1", &orderNMinus1, bigNMinus}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range reduceInputs(t) {
				var got [scalarSize]byte
				reduce(&got, in, tc.m)
				want := bigBytes(new(big.Int).Mod(new(big.Int).SetBytes(in), tc.bigM), scalarSize)
				if !bytes.Equal(got[:], want) {
					t.Errorf("reduce(%x) mod %s = %x, want %x", in, tc.name, got, want)
				}
			}
		})
	}
}

func TestReduceCCC(t *testing.T) {
	for _, in := range reduceInputs(t) {
		var got [scalarSize]byte
		reduceCCC(&got, in)
		w := new(big.Int).Mod(new(big.Int).SetBytes(in), bigNMinus)
		want := bigBytes(w.Add(w, big.NewInt(1)), scalarSize)
		if !bytes.Equal(got[:], want) {
			t.Errorf("reduceCCC(%x) = %x, want %x", in, got, want)
		}
		if isCanonicalNonZero(&got) != 1 {
			t.Errorf("reduceCCC(%x) = %x, not in [1, n-1]", in, got)
		}
	}
}

func TestIsCanonicalNonZero(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *big.Int
		want int
	}{
		{"zero", big.NewInt(0), 0},
		{"one", big.NewInt(1), 1},
		{"n-1", bigNMinus, 1},
		{"n", bigN, 0},
		{"n+1", new(big.Int).Add(bigN, big.NewInt(1)), 0},
		{"2^255", new(big.Int).Lsh(big.NewInt(1), 255), 1},
		{"2^256-1", new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), 0},
		{"n with low limb smaller", new(big.Int).Sub(bigN, new(big.Int).Lsh(big.NewInt(1), 70)), 1},
		{"n with low limb larger", new(big.Int).Add(new(big.Int).Sub(bigN, new(big.Int).Lsh(big.NewInt(1), 70)), new(big.Int).Lsh(big.NewInt(1), 71)), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := [scalarSize]byte(bigBytes(tc.s, scalarSize))
			if got := isCanonicalNonZero(&s); got != tc.want {
				t.Errorf("isCanonicalNonZero(%x) = %d, want %d", s, got, tc.want)
			}
		})
	}
}

func TestAddOne(t *testing.T) {
	for _, v := range []*big.Int{big.NewInt(0), big.NewInt(0xff), new(big.Int).Lsh(big.NewInt(1), 64), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 192), big.NewInt(1)), new(big.Int).Sub(bigN, big.NewInt(2))} {
		s := [scalarSize]byte(bigBytes(v, scalarSize))
		addOne(&s)
		want := bigBytes(new(big.Int).Add(v, big.NewInt(1)), scalarSize)
		if !bytes.Equal(s[:], want) {
			t.Errorf("addOne(%x) = %x, want %x", bigBytes(v, scalarSize), s, want)
		}
	}
}

func TestRandomScalar(t *testing.T) {
	seen := map[[scalarSize]byte]bool{}
	for range 100 {
		var s [scalarSize]byte
		randomScalar(&s)
		if isCanonicalNonZero(&s) != 1 {
			t.Fatalf("randomScalar() = %x, not in [1, n-1]", s)
		}
		if seen[s] {
			t.Fatalf("randomScalar() = %x twice", s)
		}
		seen[s] = true
	}
}

// TestConstants checks the uncompressed M and N against the compressed values
// RFC 9383 §4 prints.
func TestConstants(t *testing.T) {
	for _, tc := range []struct {
		name       string
		table      string
		compressed string
	}{
		{"M", pointM, "02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f"},
		{"N", pointN, "03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := nistec.NewP256Point().SetBytes(unhex(t, tc.compressed))
			if err != nil {
				t.Fatalf("SetBytes(%s) = %v", tc.compressed, err)
			}
			checkBytes(t, tc.name, []byte(tc.table), p.Bytes())
		})
	}
}
