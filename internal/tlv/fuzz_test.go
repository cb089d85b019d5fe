package tlv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/testvec"
)

var sentinels = []error{
	ErrTruncatedTag, ErrTruncatedLength, ErrTruncatedValue, ErrIndefiniteLength, ErrNonCanonicalLength,
	ErrLengthTooLong, ErrInvalidTag, ErrTrailingData, ErrTooDeep, ErrTooManyElements, ErrUnexpectedTag,
}

// fuzzLimits are small, so that the fuzzer reaches every limit.
var fuzzLimits = &Limits{MaxValueLen: 64, MaxDepth: 3, MaxElements: 16}

// checkDocumentedError checks that err is a *SyntaxError wrapping one of the
// sentinels, with an offset inside the input.
func checkDocumentedError(t *testing.T, fn string, in []byte, err error) *SyntaxError {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%s(%x) = %v (%T), want a *SyntaxError", fn, in, err, err)
	}
	found := false
	for _, s := range sentinels {
		found = found || se.Err == s
	}
	if !found {
		t.Fatalf("%s(%x) = %v, wrapping %v, not a sentinel", fn, in, err, se.Err)
	}
	if se.Offset < 0 || se.Offset > len(in) {
		t.Fatalf("%s(%x) = %v, offset outside the input", fn, in, err)
	}
	return se
}

// treeWithin reports whether elems respects lim's depth and element count.
func treeWithin(elems []Element, depth int, count *int, lim *Limits) bool {
	for _, e := range elems {
		*count++
		if depth > lim.MaxDepth || *count > lim.MaxElements || len(e.Value) > lim.MaxValueLen {
			return false
		}
		if !treeWithin(e.Children, depth+1, count, lim) {
			return false
		}
	}
	return true
}

func FuzzTLV(f *testing.F) {
	// Seeds longer than 1 KiB (the 82 FFFF forms) slow the fuzzer down
	// more than they teach it; the unit tests cover them.
	for _, tt := range goodTLVs {
		if enc := tt.encoding(); len(enc) <= 1024 {
			f.Add(enc)
		}
	}
	for _, tt := range badTLVs {
		if len(tt.in) <= 1024 {
			f.Add(tt.in)
		}
	}
	f.Add(appendAUTH0(nil))
	f.Add(fromHex("7F50 20 C0 10 000102030405060708090A0B0C0D0E0F C1 04 00004000 C2 02 0008 C3 02 0001"))
	f.Add(fromHex("7F4E 0C 7F49 09 D0 02 AAAA D1 03 BBBBBB 5F5F 00"))
	f.Add(nest(DefaultMaxDepth))
	if traces, err := testvec.HomeKeyTraces(); err == nil {
		for _, a := range traces[0].APDUs {
			f.Add([]byte(a.Command)) // not TLV, but bytes from the field
		}
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		// Next: a documented error, or a data object that encodes back to
		// the input.
		tag, value, rest, err := Next(in)
		if err != nil {
			checkDocumentedError(t, "Next", in, err)
		} else if got := append(AppendTLV(nil, tag, value), rest...); !bytes.Equal(got, in) {
			t.Fatalf("AppendTLV(Next(%x)) = %x", in, got)
		}
		stringAgreesWithNext(t, in)
		cryptobyteAgrees(t, in)
		if _, err := Single(in, tag); err != nil {
			checkDocumentedError(t, "Single", in, err)
		}

		// Validate and Parse agree; an accepted input encodes back to
		// itself, and its tree is within the limits.
		for _, lim := range []*Limits{nil, fuzzLimits} {
			verr := Validate(in, lim)
			elems, perr := Parse(in, lim)
			if verr == nil != (perr == nil) {
				t.Fatalf("Validate(%x) = %v, Parse = %v", in, verr, perr)
			}
			if verr != nil {
				vse := checkDocumentedError(t, "Validate", in, verr)
				pse := checkDocumentedError(t, "Parse", in, perr)
				if *vse != *pse {
					t.Fatalf("Validate(%x) = %#v, Parse = %#v", in, vse, pse)
				}
				continue
			}
			if got := AppendElements(nil, elems); !bytes.Equal(got, in) {
				t.Fatalf("AppendElements(Parse(%x)) = %x", in, got)
			}
			resolved := lim.resolve()
			r := &Limits{MaxValueLen: resolved.maxLen, MaxDepth: resolved.maxDepth, MaxElements: resolved.maxElems}
			if count := 0; !treeWithin(elems, 1, &count, r) {
				t.Fatalf("Parse(%x, %+v) returned a tree beyond the limits", in, r)
			}
		}

		// The walks with small and default limits take the same path, so
		// an error that is not a limit must be the same with both.
		small, def := Validate(in, fuzzLimits), Validate(in, nil)
		if small == nil && def != nil {
			t.Fatalf("Validate(%x) = nil with small limits, %v with defaults", in, def)
		}
		if small != nil && !errors.Is(small, ErrTooDeep) && !errors.Is(small, ErrTooManyElements) && !errors.Is(small, ErrLengthTooLong) {
			var a, b *SyntaxError
			if !errors.As(small, &a) || !errors.As(def, &b) || *a != *b {
				t.Fatalf("Validate(%x) = %#v with small limits, %#v with defaults", in, a, b)
			}
		}

		// A top-level shallow read with String accepts what Validate accepts
		// at depth 1 (Validate may still refuse a constructed value).
		s := String(in)
		for !s.Empty() && s.SkipAnyTLV() {
		}
		if def == nil && !s.Empty() {
			t.Fatalf("Validate(%x) = nil, but SkipAnyTLV stops at %x", in, []byte(s))
		}
	})
}
