package mdoc

import (
	"bytes"
	"slices"
)

// EngagementVersion is the only DeviceEngagement and ReaderEngagement
// version (ISO/IEC 18013-5 §8.2.1.1).
const EngagementVersion = "1.0"

// maxEngagementEntries bounds the entries of an engagement besides its
// version.
const maxEngagementEntries = 7

// Engagement is a DeviceEngagement or ReaderEngagement (ISO/IEC 18013-5
// §8.2.1.1): a CBOR map with integer keys whose key 0 is the version. The
// other entries are kept as encoded data items: what the Home Key phone and
// readers put there is public only as bytes (see [HomeKeyDeviceEngagement]),
// and the exchange needs nothing from them but their bytes in the session
// transcript.
type Engagement struct {
	Version string
	Entries []EngagementEntry
}

// EngagementEntry is an entry of an [Engagement] other than the version.
type EngagementEntry struct {
	Key   int64
	Value []byte // one encoded data item
}

// HomeKeyDeviceEngagement returns the DeviceEngagement an iPhone sends in
// its Home Key handover select, a20063312e30018129 = {0: "1.0", 1: [-10]}
// (recorded iPhone exchange, testdata/README.md). Key 1 is the Security
// entry of ISO/IEC 18013-5, here without an ephemeral device key, which the
// Home Key session does not use; the meaning of -10 is not public, so the
// SDK sends the same bytes.
func HomeKeyDeviceEngagement() *Engagement {
	return &Engagement{Version: EngagementVersion, Entries: []EngagementEntry{{Key: 1, Value: []byte{0x81, 0x29}}}}
}

// HomeKeyReaderEngagement returns the ReaderEngagement of the Home Key
// reader's handover request, a20063312e30208129 = {0: "1.0", -1: [-10]}, as
// the public reader sends it and the iPhone accepts it.
func HomeKeyReaderEngagement() *Engagement {
	return &Engagement{Version: EngagementVersion, Entries: []EngagementEntry{{Key: -1, Value: []byte{0x81, 0x29}}}}
}

// ParseEngagement parses an encoded engagement. It must be in Core
// Deterministic Encoding: the reader hashes the DeviceEngagement it
// re-encodes (I+ [AHKR] decodes and re-encodes it), so only an engagement
// whose re-encoding is itself gives both sides the same transcript. The
// version must be "1.0"; other entries are any well-formed items within
// MaxDepth.
func ParseEngagement(b []byte) (*Engagement, error) {
	if len(b) > MaxEngagement {
		return nil, malformed("engagement of %d bytes, more than %d", len(b), MaxEngagement)
	}
	d := decoder{s: b}
	n := d.mapLen("engagement", maxEngagementEntries+1)
	e := &Engagement{}
	sawVersion := false
	for i := 0; i < n && d.ok(); i++ {
		k := d.int("engagement key")
		if k == 0 {
			if sawVersion {
				d.fail("engagement: duplicate version")
			}
			sawVersion = true
			e.Version = d.text("engagement version", MaxText)
			continue
		}
		e.Entries = append(e.Entries, EngagementEntry{Key: k, Value: d.raw("engagement entry", MaxDepth)})
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	if !sawVersion || e.Version != EngagementVersion {
		return nil, malformed("engagement version %q, want %q", e.Version, EngagementVersion)
	}
	again, err := e.Append(nil)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, malformed("engagement not in Core Deterministic Encoding")
	}
	for i := range e.Entries {
		e.Entries[i].Value = slices.Clone(e.Entries[i].Value)
	}
	return e, nil
}

// Append appends the deterministic encoding of e to dst.
func (e *Engagement) Append(dst []byte) ([]byte, error) {
	if e.Version != EngagementVersion {
		return dst, malformed("engagement version %q, want %q", e.Version, EngagementVersion)
	}
	if len(e.Entries) > maxEngagementEntries {
		return dst, malformed("engagement of %d entries, more than %d", len(e.Entries), maxEngagementEntries)
	}
	var w mapWriter
	w.intKey(0)
	w.buf = appendTstr(w.buf, e.Version)
	for i, en := range e.Entries {
		if en.Key == 0 {
			return dst, malformed("engagement entry with the version's key 0")
		}
		for _, other := range e.Entries[:i] {
			if other.Key == en.Key {
				return dst, malformed("engagement: duplicate key %d", en.Key)
			}
		}
		v := decoder{s: en.Value}
		v.raw("engagement entry", MaxDepth)
		if err := v.done(); err != nil {
			return dst, err
		}
		w.intKey(en.Key)
		w.buf = append(w.buf, en.Value...)
	}
	out := w.appendTo(dst)
	if len(out)-len(dst) > MaxEngagement {
		return dst, malformed("engagement of %d bytes, more than %d", len(out)-len(dst), MaxEngagement)
	}
	return out, nil
}
