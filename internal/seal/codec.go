package seal

import (
	"bytes"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/opencarkey/sdk/internal/cborstrict"
)

// MaxRecordArray bounds the arrays of a record: the keys of a reader, the
// certificates of a chain.
const MaxRecordArray = 1 << 16

var (
	recEnc = cborstrict.EncMode()
	recDec = cborstrict.DecMode(cbor.TagsForbidden, MaxRecordArray)
)

// Encode returns the deterministic CBOR encoding of a record (a struct
// with `cbor:",toarray"`), to seal.
func Encode(v any) ([]byte, error) {
	b, err := recEnc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("seal: encoding a record: %w", err)
	}
	return b, nil
}

// Decode decodes a record strictly: anything but the exact encoding Encode
// writes (unknown fields, trailing bytes, a non-deterministic form) is
// ErrCorrupt.
func Decode(b []byte, v any) error {
	if err := recDec.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	again, err := recEnc.Marshal(v)
	if err != nil || !bytes.Equal(again, b) {
		return fmt.Errorf("%w: record not in its deterministic encoding", ErrCorrupt)
	}
	return nil
}

// AppendTime appends the encoding of t (time.Time.MarshalBinary), for a
// record: the zero time included, and the instant and the zone offset
// kept.
func AppendTime(dst []byte, t time.Time) []byte {
	b, err := t.MarshalBinary()
	if err != nil {
		// Only a zone offset that is not a whole minute fails, which
		// no clock of the project produces; keep the instant in UTC.
		b, _ = t.UTC().MarshalBinary()
	}
	return append(dst, b...)
}

// ParseTime parses what AppendTime wrote; anything else is ErrCorrupt.
func ParseTime(b []byte) (time.Time, error) {
	var t time.Time
	if err := t.UnmarshalBinary(b); err != nil {
		return time.Time{}, fmt.Errorf("%w: time: %w", ErrCorrupt, err)
	}
	if again := AppendTime(nil, t); !bytes.Equal(again, b) {
		return time.Time{}, fmt.Errorf("%w: time not in its canonical encoding", ErrCorrupt)
	}
	return t, nil
}
