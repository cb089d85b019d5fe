package dkey

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Version is a protocol version as it travels on the wire: two bytes,
// major‖minor. 0x0100 is version 1.0.
type Version uint16

// Protocol versions the SDK speaks.
const (
	// Version1 is version 1.0 (0100): the CCC Digital Key applet of Release 2
	// and 3, the DK framework and SPAKE2+ versions, and Home Key 1.0.
	Version1 Version = 0x0100
	// Version2 is version 2.0 (0200), offered by Home Key endpoints only.
	Version2 Version = 0x0200
)

// Major returns the major version number.
func (v Version) Major() uint8 { return uint8(v >> 8) }

// Minor returns the minor version number.
func (v Version) Minor() uint8 { return uint8(v) }

// Append appends the 2-byte wire encoding of v to dst.
func (v Version) Append(dst []byte) []byte { return binary.BigEndian.AppendUint16(dst, uint16(v)) }

// String returns "major.minor", for example "1.0".
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major(), v.Minor()) }

// MaxVersions is the largest number of entries a [VersionList] holds.
const MaxVersions = 8

// VersionList is a list of protocol versions ordered from highest to lowest,
// as sent in the SELECT response (tag 5C) and in the SPAKE2+ request. It holds
// at most [MaxVersions] entries and is comparable with ==.
//
// The zero value is the empty list.
type VersionList struct {
	n uint8
	v [MaxVersions]Version
}

// NewVersionList returns the list of vs, which must hold 1 to [MaxVersions]
// distinct versions ordered from highest to lowest. It returns an error
// wrapping [ErrInvalidVersionList] otherwise.
func NewVersionList(vs ...Version) (VersionList, error) {
	var l VersionList
	if len(vs) == 0 || len(vs) > MaxVersions {
		return l, fmt.Errorf("%w: %d entries, want 1 to %d", ErrInvalidVersionList, len(vs), MaxVersions)
	}
	for i, v := range vs {
		if i > 0 && v >= vs[i-1] {
			return VersionList{}, fmt.Errorf("%w: %v after %v, want strictly descending", ErrInvalidVersionList, v, vs[i-1])
		}
		l.v[i] = v
	}
	l.n = uint8(len(vs))
	return l, nil
}

// ParseVersionList parses the wire encoding of a version list: a sequence of
// 2-byte versions, strictly descending, 1 to [MaxVersions] entries.
func ParseVersionList(b []byte) (VersionList, error) {
	if len(b)%2 != 0 || len(b) == 0 || len(b) > 2*MaxVersions {
		return VersionList{}, fmt.Errorf("%w: %d bytes", ErrInvalidVersionList, len(b))
	}
	var vs [MaxVersions]Version
	n := len(b) / 2
	for i := range n {
		vs[i] = Version(binary.BigEndian.Uint16(b[2*i:]))
	}
	return NewVersionList(vs[:n]...)
}

// Len returns the number of versions in the list.
func (l VersionList) Len() int { return int(l.n) }

// At returns the i-th version, highest first. It panics if i is out of range.
func (l VersionList) At(i int) Version { return l.v[:l.n][i] }

// Highest returns the first (highest) version of the list, or 0 for the empty list.
func (l VersionList) Highest() Version {
	if l.n == 0 {
		return 0
	}
	return l.v[0]
}

// Contains reports whether v is in the list.
func (l VersionList) Contains(v Version) bool {
	for _, w := range l.v[:l.n] {
		if w == v {
			return true
		}
	}
	return false
}

// Select returns the highest version present in both l and offered, and
// false when the lists have no version in common.
func (l VersionList) Select(offered VersionList) (Version, bool) {
	for _, v := range l.v[:l.n] {
		if offered.Contains(v) {
			return v, true
		}
	}
	return 0, false
}

// Append appends the wire encoding of the list (2 bytes per version) to dst.
func (l VersionList) Append(dst []byte) []byte {
	for _, v := range l.v[:l.n] {
		dst = v.Append(dst)
	}
	return dst
}

// String returns the versions separated by commas, for example "2.0,1.0".
func (l VersionList) String() string {
	var sb strings.Builder
	for i, v := range l.v[:l.n] {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(v.String())
	}
	return sb.String()
}
