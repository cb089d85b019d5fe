package mdoc

import (
	"bytes"
	"math"
	"slices"
	"time"
	"unicode/utf8"
)

// This file is the package's CBOR (RFC 8949): a writer that emits Core
// Deterministic Encoding (§4.2.1: definite lengths, shortest heads, map keys
// sorted by their encoded bytes) and a reader for the subset the exchange
// uses. The reader accepts only definite lengths and shortest heads
// (preferred serialization, §4.1), rejects reserved and unassigned simple
// values, and leaves map key order free: peers' encoders order keys as they
// like, and everything that is hashed or signed is kept as received.
//
// A hand-written codec rather than a reflection one: the dialects name the
// same fields differently, the digests and the transcript need the exact
// bytes of nested items, and every length and depth has a limit here.

// CBOR major types (RFC 8949 §3.1).
const (
	majorUint   = 0
	majorNeg    = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// Tags and simple values the exchange uses.
const (
	tagTDate       = 0  // RFC 3339 date-time text (RFC 8949 §3.4.1)
	tagEncodedCBOR = 24 // embedded CBOR data item in a byte string (§3.4.5.1)

	simpleFalse = 20
	simpleTrue  = 21
	simpleNull  = 22
)

// appendHead appends the head of major type m with argument n in its
// shortest form.
func appendHead(dst []byte, m byte, n uint64) []byte {
	m <<= 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= math.MaxUint8:
		return append(dst, m|24, byte(n))
	case n <= math.MaxUint16:
		return append(dst, m|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(dst, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendUint(dst []byte, v uint64) []byte { return appendHead(dst, majorUint, v) }

func appendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return appendHead(dst, majorUint, uint64(v))
	}
	return appendHead(dst, majorNeg, uint64(-1-v))
}

func appendBstr(dst, b []byte) []byte {
	return append(appendHead(dst, majorBytes, uint64(len(b))), b...)
}

func appendTstr(dst []byte, s string) []byte {
	return append(appendHead(dst, majorText, uint64(len(s))), s...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, majorSimple<<5|simpleTrue)
	}
	return append(dst, majorSimple<<5|simpleFalse)
}

// appendEncoded appends #6.24(bstr) around inner, an encoded data item.
func appendEncoded(dst, inner []byte) []byte {
	return appendBstr(appendHead(dst, majorTag, tagEncodedCBOR), inner)
}

// tdateLayout is the only date-time form ISO/IEC 18013-5 §7.2.1 allows for
// tdate: UTC, "Z", no fractional seconds.
const tdateLayout = "2006-01-02T15:04:05Z"

// appendTDate appends #6.0(tstr) with t in UTC, truncated to the second.
func appendTDate(dst []byte, t time.Time) []byte {
	dst = appendHead(dst, majorTag, tagTDate)
	var buf [len(tdateLayout) + 8]byte
	return appendTstr(dst, string(t.UTC().AppendFormat(buf[:0], tdateLayout)))
}

// mapWriter collects the entries of a map and writes them in Core
// Deterministic order. Each entry is a key call followed by the value,
// appended by the caller to w.buf.
type mapWriter struct {
	buf  []byte
	ents []mapEntry
}

type mapEntry struct{ key, val, end int } // offsets in buf

func (w *mapWriter) closeLast() {
	if n := len(w.ents); n > 0 && w.ents[n-1].end < 0 {
		w.ents[n-1].end = len(w.buf)
	}
}

// textKey starts an entry whose key is the text s.
func (w *mapWriter) textKey(s string) {
	w.closeLast()
	k := len(w.buf)
	w.buf = appendTstr(w.buf, s)
	w.ents = append(w.ents, mapEntry{key: k, val: len(w.buf), end: -1})
}

// intKey starts an entry whose key is the integer v.
func (w *mapWriter) intKey(v int64) {
	w.closeLast()
	k := len(w.buf)
	w.buf = appendInt(w.buf, v)
	w.ents = append(w.ents, mapEntry{key: k, val: len(w.buf), end: -1})
}

// appendTo appends the map to dst, entries sorted by their encoded keys
// (RFC 8949 §4.2.1). For the text and small-integer keys of this package
// that is also the length-first order of RFC 7049 §3.9, which ISO/IEC
// 18013-5 cites.
func (w *mapWriter) appendTo(dst []byte) []byte {
	w.closeLast()
	slices.SortFunc(w.ents, func(a, b mapEntry) int {
		return bytes.Compare(w.buf[a.key:a.val], w.buf[b.key:b.val])
	})
	dst = appendHead(dst, majorMap, uint64(len(w.ents)))
	for _, e := range w.ents {
		dst = append(dst, w.buf[e.key:e.end]...)
	}
	return dst
}

// decoder reads CBOR data items from s. The first failure sticks: later
// reads return zero values and err keeps the first error, so a decoding
// function reads its fields in a row and checks err once.
type decoder struct {
	s   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = malformed(format, args...)
	}
}

// ok reports whether no read has failed.
func (d *decoder) ok() bool { return d.err == nil }

// done fails unless every byte was read: no strict prefix of an input
// decodes.
func (d *decoder) done() error {
	if d.err == nil && len(d.s) != 0 {
		d.fail("%d trailing bytes", len(d.s))
	}
	return d.err
}

// peekMajor returns the major type of the next item, or 0xFF at the end.
func (d *decoder) peekMajor() byte {
	if d.err != nil || len(d.s) == 0 {
		return 0xFF
	}
	return d.s[0] >> 5
}

// head reads the head of the next item. It rejects indefinite lengths, the
// reserved additional information 28 to 30, and arguments not in their
// shortest form. For major type 7 the argument is the simple value, or the
// bits of a float (additional information 25 to 27, returned in size).
func (d *decoder) head() (major byte, arg uint64, size int) {
	if d.err != nil {
		return 0xFF, 0, 0
	}
	if len(d.s) == 0 {
		d.fail("truncated")
		return 0xFF, 0, 0
	}
	ib := d.s[0]
	major, ai := ib>>5, ib&0x1F
	n := 1
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai <= 27:
		n += 1 << (ai - 24)
		if len(d.s) < n {
			d.fail("truncated")
			return 0xFF, 0, 0
		}
		for _, c := range d.s[1:n] {
			arg = arg<<8 | uint64(c)
		}
		if major != majorSimple {
			if min := [...]uint64{24, 1 << 8, 1 << 16, 1 << 32}[ai-24]; arg < min {
				d.fail("integer or length not in its shortest form")
				return 0xFF, 0, 0
			}
		} else if ai == 24 && arg < 32 {
			d.fail("simple value %d in two bytes", arg)
			return 0xFF, 0, 0
		}
	case ai == 31:
		d.fail("indefinite length")
		return 0xFF, 0, 0
	default:
		d.fail("reserved additional information %d", ai)
		return 0xFF, 0, 0
	}
	d.s = d.s[n:]
	return major, arg, n
}

// expect reads a head of major type m and returns its argument.
func (d *decoder) expect(m byte, what string) uint64 {
	major, arg, _ := d.head()
	if d.err == nil && major != m {
		d.fail("%s: major type %d, want %d", what, major, m)
	}
	return arg
}

func (d *decoder) uint(what string) uint64 { return d.expect(majorUint, what) }

// int reads an integer that fits int64.
func (d *decoder) int(what string) int64 {
	major, arg, _ := d.head()
	if d.err != nil {
		return 0
	}
	switch {
	case major == majorUint && arg <= math.MaxInt64:
		return int64(arg)
	case major == majorNeg && arg <= math.MaxInt64:
		return -1 - int64(arg)
	}
	d.fail("%s: not an integer within int64", what)
	return 0
}

// take returns the next n bytes.
func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.s)) {
		d.fail("truncated")
		return nil
	}
	b := d.s[:n:n]
	d.s = d.s[n:]
	return b
}

// bytes reads a byte string of at most max bytes.
func (d *decoder) bytes(what string, max int) []byte {
	n := d.expect(majorBytes, what)
	if d.err == nil && n > uint64(max) {
		d.fail("%s: %d bytes, more than %d", what, n, max)
	}
	return d.take(n)
}

// text reads a valid UTF-8 text string of at most max bytes.
func (d *decoder) text(what string, max int) string {
	n := d.expect(majorText, what)
	if d.err == nil && n > uint64(max) {
		d.fail("%s: %d bytes, more than %d", what, n, max)
	}
	b := d.take(n)
	if d.err == nil && !utf8.Valid(b) {
		d.fail("%s: invalid UTF-8", what)
	}
	return string(b)
}

// container reads an array or map head of at most max entries. Each entry
// takes at least one byte (two for a map), so a count above what remains
// fails at once.
func (d *decoder) container(m byte, what string, max int) int {
	n := d.expect(m, what)
	per := uint64(1)
	if m == majorMap {
		per = 2
	}
	switch {
	case d.err != nil:
		return 0
	case n > uint64(max):
		d.fail("%s: %d entries, more than %d", what, n, max)
		return 0
	case n*per > uint64(len(d.s)):
		d.fail("truncated")
		return 0
	}
	return int(n)
}

func (d *decoder) array(what string, max int) int  { return d.container(majorArray, what, max) }
func (d *decoder) mapLen(what string, max int) int { return d.container(majorMap, what, max) }

// bool reads true or false.
func (d *decoder) bool(what string) bool {
	major, arg, size := d.head()
	if d.err == nil && (major != majorSimple || size != 1 || (arg != simpleTrue && arg != simpleFalse)) {
		d.fail("%s: not a boolean", what)
	}
	return arg == simpleTrue
}

// tag reads the head of tag number want.
func (d *decoder) tag(what string, want uint64) {
	if t := d.expect(majorTag, what); d.err == nil && t != want {
		d.fail("%s: tag %d, want %d", what, t, want)
	}
}

// encoded reads #6.24(bstr) and returns the embedded item's bytes and the
// whole tagged item's bytes.
func (d *decoder) encoded(what string, max int) (inner, whole []byte) {
	start := d.s
	d.tag(what, tagEncodedCBOR)
	inner = d.bytes(what, max)
	if d.err != nil {
		return nil, nil
	}
	return inner, start[: len(start)-len(d.s) : len(start)-len(d.s)]
}

// tdate reads #6.0(tstr) in the one form tdateLayout allows.
func (d *decoder) tdate(what string) time.Time {
	d.tag(what, tagTDate)
	s := d.text(what, len(tdateLayout))
	if d.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(tdateLayout, s)
	if err != nil || t.Format(tdateLayout) != s {
		d.fail("%s: %q is not a date-time of the form %s", what, s, tdateLayout)
		return time.Time{}
	}
	return t
}

// raw reads one well-formed data item, nested at most depth levels, and
// returns its bytes. Floats and the simple values false, true and null are
// accepted; other simple values are not.
func (d *decoder) raw(what string, depth int) []byte {
	start := d.s
	d.skip(what, depth)
	if d.err != nil {
		return nil
	}
	n := len(start) - len(d.s)
	return start[:n:n]
}

func (d *decoder) skip(what string, depth int) {
	major, arg, size := d.head()
	if d.err != nil {
		return
	}
	switch major {
	case majorUint, majorNeg:
	case majorBytes:
		d.take(arg)
	case majorText:
		if b := d.take(arg); d.err == nil && !utf8.Valid(b) {
			d.fail("%s: invalid UTF-8", what)
		}
	case majorArray, majorMap:
		if depth == 0 {
			d.fail("%s: nested more than %d levels", what, MaxDepth)
			return
		}
		n := arg
		if major == majorMap {
			if n > math.MaxUint32 {
				d.fail("truncated")
				return
			}
			n *= 2
		}
		if n > uint64(len(d.s)) {
			d.fail("truncated")
			return
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			d.skip(what, depth-1)
		}
	case majorTag:
		if depth == 0 {
			d.fail("%s: nested more than %d levels", what, MaxDepth)
			return
		}
		d.skip(what, depth-1)
	case majorSimple:
		if size == 1 && arg != simpleFalse && arg != simpleTrue && arg != simpleNull {
			d.fail("%s: simple value %d", what, arg)
		} else if size == 2 {
			d.fail("%s: simple value %d", what, arg)
		}
	}
}

// fieldSet records the fields of a map already read.
type fieldSet uint32

// field reads a text key and returns its index in names, failing on an
// unknown or repeated key.
func (d *decoder) field(what string, names []string, seen *fieldSet) int {
	k := d.text(what+" key", MaxText)
	if d.err != nil {
		return -1
	}
	for i, n := range names {
		if n == k {
			if *seen&(1<<i) != 0 {
				d.fail("%s: duplicate key %q", what, k)
				return -1
			}
			*seen |= 1 << i
			return i
		}
	}
	d.fail("%s: unknown key %q", what, k)
	return -1
}

// require fails unless every field whose bit is in want was read.
func (d *decoder) require(what string, names []string, seen, want fieldSet) {
	if d.err != nil {
		return
	}
	for i, n := range names {
		if want&(1<<i) != 0 && seen&(1<<i) == 0 {
			d.fail("%s: missing %q", what, n)
			return
		}
	}
}
