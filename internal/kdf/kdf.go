package kdf

import (
	"crypto/sha256"
	"encoding/binary"
	"math"

	"github.com/opencarkey/sdk/internal/cmac"
)

// MaxX963Size is the largest output [X963] produces: 2^32-1 SHA-256 blocks
// (ANSI X9.63-2001 §5.6.3; the counter is 32 bits), or the largest int,
// whichever is smaller.
const MaxX963Size = min((1<<32-1)*sha256.Size, math.MaxInt)

// MaxCounterModeSize is the largest output of [CounterMode] and
// [CounterModeFixed]: L, the output length in bits, is encoded on 32 bits
// (SP 800-108r1 §4.1 requires L ≤ (2^r − 1)·h, which with r = 32 is larger).
const MaxCounterModeSize = (1<<32 - 1) / 8

// X963 appends n bytes of the ANSI X9.63 KDF with SHA-256 of the shared
// secret z and sharedInfo to dst and returns the extended slice. It panics if
// n is negative or larger than [MaxX963Size]: the protocol's sizes are
// constants, so such an n is a programming error.
func X963(dst, z, sharedInfo []byte, n int) []byte {
	if n < 0 || n > MaxX963Size {
		panic("kdf: X963 output size out of range")
	}
	ret, out := sliceForAppend(dst, n)
	h := sha256.New()
	var ctr [4]byte
	var block [sha256.Size]byte
	for i := uint32(1); len(out) > 0; i++ {
		h.Reset()
		h.Write(z)
		binary.BigEndian.PutUint32(ctr[:], i)
		h.Write(ctr[:])
		h.Write(sharedInfo)
		h.Sum(block[:0])
		out = out[copy(out, block[:]):]
	}
	clear(block[:])
	h.Reset()
	return ret
}

// CounterMode appends n bytes of the SP 800-108 counter-mode KDF to dst and
// returns the extended slice. The PRF is prf (AES-CMAC with a 16- or 32-byte
// key), the counter is 32 bits and comes before the fixed input data, which
// is label ‖ 00 ‖ context ‖ [8n]32 (SP 800-108r1 §5). It panics if n is
// negative or larger than [MaxCounterModeSize].
//
// It allocates nothing when dst has room for n bytes and
// len(label)+len(context) ≤ 123; longer inputs take one allocation for the
// fixed input data.
func CounterMode(dst []byte, prf *cmac.CMAC, label, context []byte, n int) []byte {
	checkCounterModeSize(n)
	var buf [128]byte
	fixed := AppendFixedInput(buf[:0], label, context, n)
	return CounterModeFixed(dst, prf, fixed, n)
}

// AppendFixedInput appends the fixed input data of SP 800-108r1 §5,
// label ‖ 00 ‖ context ‖ [8n]32, to dst and returns the extended slice. It
// panics if n is negative or larger than [MaxCounterModeSize].
func AppendFixedInput(dst, label, context []byte, n int) []byte {
	checkCounterModeSize(n)
	dst = append(dst, label...)
	dst = append(dst, 0x00)
	dst = append(dst, context...)
	return binary.BigEndian.AppendUint32(dst, uint32(8*n))
}

// CounterModeFixed appends n bytes of the SP 800-108 counter-mode KDF to dst
// and returns the extended slice: the concatenation of
// prf([i]32 ‖ fixed) for i = 1, 2, …, truncated to n bytes. fixed is the
// caller's fixed input data, used as is. It panics if n is negative or larger
// than [MaxCounterModeSize].
func CounterModeFixed(dst []byte, prf *cmac.CMAC, fixed []byte, n int) []byte {
	checkCounterModeSize(n)
	ret, out := sliceForAppend(dst, n)
	var ctr [4]byte
	var block [cmac.Size]byte
	for i := uint32(1); len(out) > 0; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		prf.Sum2(&block, ctr[:], fixed)
		out = out[copy(out, block[:]):]
	}
	clear(block[:])
	return ret
}

func checkCounterModeSize(n int) {
	if n < 0 || n > MaxCounterModeSize {
		panic("kdf: counter-mode output size out of range")
	}
}

// sliceForAppend extends in by n bytes. head is the extended slice and tail
// its last n bytes (the crypto/cipher idiom).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return head, tail
}
