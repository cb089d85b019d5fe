package tlv

// Default limits, used for the fields of Limits that are zero.
const (
	DefaultMaxValueLen = MaxLength // every value the encoding allows
	DefaultMaxDepth    = 8         // the protocol nests at most 3 (7F4E{7F49{D0}})
	DefaultMaxElements = 256       // data objects in one call, at every level
)

// Limits bounds the work Validate and Parse do on one input. A nil *Limits,
// and any field that is zero or negative, means the default.
type Limits struct {
	// MaxValueLen is the longest value of any data object, at any level
	// (default DefaultMaxValueLen). Longer values fail with ErrLengthTooLong.
	MaxValueLen int
	// MaxDepth is how deep data objects may nest; top-level data objects
	// are at depth 1 (default DefaultMaxDepth). Deeper ones fail with
	// ErrTooDeep.
	MaxDepth int
	// MaxElements is the number of data objects allowed in one input,
	// counting those inside constructed values (default
	// DefaultMaxElements). One more fails with ErrTooManyElements.
	MaxElements int
}

func (l *Limits) resolve() walker {
	w := walker{maxLen: DefaultMaxValueLen, maxDepth: DefaultMaxDepth, maxElems: DefaultMaxElements}
	if l == nil {
		return w
	}
	if l.MaxValueLen > 0 {
		w.maxLen = l.MaxValueLen
	}
	if l.MaxDepth > 0 {
		w.maxDepth = l.MaxDepth
	}
	if l.MaxElements > 0 {
		w.maxElems = l.MaxElements
	}
	return w
}

// Validate checks that b is a sequence of zero or more data objects that
// fills b exactly, and that the value of every constructed data object is in
// turn such a sequence, within lim. Every byte must belong to a data object:
// padding (the 00 and FF bytes ISO/IEC 7816-4 tolerates between data
// objects) and a partial data object at the end are errors. It does not
// allocate unless it fails.
//
// The error is a *SyntaxError whose Offset is the position in b of the data
// object at fault. When one data object has several faults, the first of
// these is reported: its tag, its length field, the element count, the
// depth, Limits.MaxValueLen, a truncated value.
func Validate(b []byte, lim *Limits) error {
	w := lim.resolve()
	if _, off, t, c := w.walk(b, 0, 1, false); c != ok {
		return syntaxError(c, off, t)
	}
	return nil
}

// Element is one data object of a decoded tree.
type Element struct {
	Tag Tag
	// Value is the value field; it aliases the input of Parse.
	Value []byte
	// Children are the data objects of Value when Tag is constructed, nil
	// otherwise (and when Value is empty).
	Children []Element
}

// Parse checks b as Validate does and returns its data objects as a tree.
// It allocates the tree; it is meant for tests and tools, while protocol
// code reads with String.
func Parse(b []byte, lim *Limits) ([]Element, error) {
	w := lim.resolve()
	elems, off, t, c := w.walk(b, 0, 1, true)
	if c != ok {
		return nil, syntaxError(c, off, t)
	}
	return elems, nil
}

// AppendElements appends the encoding of elems to dst. A constructed
// element is encoded from its Children, and its Value is ignored; a
// primitive element is encoded from its Value. For a tree returned by Parse
// the result equals the input of Parse, since Parse accepts only the
// encoding this package produces. It panics as AppendTLV and
// AppendConstructed do.
func AppendElements(dst []byte, elems []Element) []byte {
	for _, e := range elems {
		if e.Tag.Valid() && e.Tag.Constructed() {
			dst = AppendConstructed(dst, e.Tag, func(b []byte) []byte {
				return AppendElements(b, e.Children)
			})
		} else {
			dst = AppendTLV(dst, e.Tag, e.Value)
		}
	}
	return dst
}

type walker struct {
	maxLen, maxDepth, maxElems int
	count                      int // data objects seen so far
}

// walk checks the sequence of data objects b, which starts at offset base
// of the caller's input and sits at the given depth. When build is set it
// returns the decoded elements. On failure it returns the offset and tag
// of the data object at fault.
func (w *walker) walk(b []byte, base, depth int, build bool) ([]Element, int, Tag, code) {
	var elems []Element
	for pos := 0; pos < len(b); {
		t, hdr, n, c := header(b[pos:])
		switch {
		case c != ok:
		case w.count >= w.maxElems:
			c = tooManyElements
		case depth > w.maxDepth:
			c = tooDeep
		case n > w.maxLen:
			c = lengthTooLong
		case n > len(b)-pos-hdr:
			c = truncatedValue
		}
		if c != ok {
			return nil, base + pos, t, c
		}
		w.count++
		start := pos + hdr
		v := b[start : start+n : start+n]
		var children []Element
		if t.Constructed() {
			var off int
			var bad Tag
			if children, off, bad, c = w.walk(v, base+start, depth+1, build); c != ok {
				return nil, off, bad, c
			}
		}
		if build {
			elems = append(elems, Element{Tag: t, Value: v, Children: children})
		}
		pos = start + n
	}
	return elems, 0, 0, ok
}
