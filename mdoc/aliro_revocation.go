package mdoc

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// RevocationData is the value of an Aliro revocation document's data
// element (Aliro 1.0 §7.6; I: aliro-actuator revocation_data.py and
// revocation_entry.py, see aliro_access.go):
//
//	RevocationData  = {0: version (1), 1: change mode, ? 2: [* RevocationEntry],
//	                   ? 3: [* RevocationEntry] (entries to remove, append mode only),
//	                   ? 4: revocation extensions}
//	RevocationEntry = {? 0: public key hash (bstr 32), ? 1: id (bstr ≤ 16),
//	                   ? 2: #6.1(expiry, uint seconds)}, at least one of 0 and 1
type RevocationData struct {
	// Mode says whether the entries replace the reader's list for the
	// issuer (RevocationOverwrite) or add to it (RevocationAppend).
	Mode RevocationMode
	// Entries are revoked; Remove (append mode only) are no longer.
	Entries, Remove []RevocationEntry
	// Extensions are the vendors' revocation extensions.
	Extensions map[uint32][]Extension
}

// RevocationMode is the change mode of a revocation document.
type RevocationMode uint8

// Change modes (aliro-actuator RevocationChangeMode).
const (
	// RevocationOverwrite erases the reader's list for the issuer, then
	// adds the entries.
	RevocationOverwrite RevocationMode = 0
	// RevocationAppend adds the entries and removes those of Remove.
	RevocationAppend RevocationMode = 1
)

// RevocationEntry names revoked credentials: by the SHA-256 of their
// 65-byte uncompressed public key, by the identifier of their access data,
// or both. Expiry, when not zero, is when the entry may be forgotten (the
// credential's documents have expired by then).
type RevocationEntry struct {
	KeyHash []byte
	ID      []byte
	Expiry  time.Time
}

// MaxRevocationEntries bounds the entries of one revocation document.
const MaxRevocationEntries = 256

// RevocationKeyHash returns the hash by which a revocation entry names a
// credential's public key: SHA-256 over its 65-byte uncompressed encoding
// (I: the 32-byte public_key_hash of aliro-actuator's examples; which bytes
// are hashed is not in the public material, and this is the project's
// reading, the one public Aliro readers use).
func RevocationKeyHash(pub *dkey.PublicKey) [sha256.Size]byte { return sha256.Sum256(pub.Bytes()) }

// Revokes reports whether e names the credential with public key pub or
// access data identifier id (nil for none).
func (e *RevocationEntry) Revokes(pub *dkey.PublicKey, id []byte) bool {
	if e.KeyHash != nil && pub != nil {
		h := RevocationKeyHash(pub)
		if string(h[:]) == string(e.KeyHash) {
			return true
		}
	}
	return e.ID != nil && id != nil && string(e.ID) == string(id)
}

// Same reports whether e and o name the same credentials (what removal
// matches on): the same hash and the same identifier.
func (e *RevocationEntry) Same(o *RevocationEntry) bool {
	return string(e.KeyHash) == string(o.KeyHash) && string(e.ID) == string(o.ID)
}

const (
	rdVersion, rdMode, rdEntries, rdRemove, rdExt = 0, 1, 2, 3, 4
	reHash, reID, reExpiry                        = 0, 1, 2
	tagEpoch                                      = 1 // epoch-based date/time (RFC 8949 §3.4.2)
)

// ParseRevocationData parses the value of a revocation document's data
// element.
func ParseRevocationData(b []byte) (*RevocationData, error) {
	if len(b) > MaxElementValue {
		return nil, malformed("revocation data of %d bytes, more than %d", len(b), MaxElementValue)
	}
	d := decoder{s: b}
	r := &RevocationData{}
	var seen fieldSet
	n := d.mapLen("RevocationData", 5)
	for range n {
		switch intKey(&d, "RevocationData", 4, &seen) {
		case rdVersion:
			if v := d.uint("RevocationData version"); d.ok() && v != AccessDataVersion {
				d.fail("RevocationData version %d, want %d", v, AccessDataVersion)
			}
		case rdMode:
			v := d.uint("change mode")
			if d.ok() && v > uint64(RevocationAppend) {
				d.fail("change mode %d", v)
			}
			r.Mode = RevocationMode(v)
		case rdEntries:
			r.Entries = parseRevocationEntries(&d, "revocation entries")
		case rdRemove:
			r.Remove = parseRevocationEntries(&d, "entries to remove")
		case rdExt:
			r.Extensions = parseExtensions(&d, "revocation extensions")
		}
	}
	switch {
	case !d.ok():
	case seen&(1<<rdVersion) == 0 || seen&(1<<rdMode) == 0:
		d.fail("RevocationData without a version or a change mode")
	case r.Mode == RevocationOverwrite && r.Remove != nil:
		// Aliro 1.0 §7.6.3: no entries to remove in overwrite mode.
		d.fail("entries to remove in overwrite mode")
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return r, nil
}

func parseRevocationEntries(d *decoder, what string) []RevocationEntry {
	n := d.array(what, MaxRevocationEntries)
	out := make([]RevocationEntry, 0, n)
	for range n {
		var e RevocationEntry
		var seen fieldSet
		m := d.mapLen("revocation entry", 3)
		for range m {
			switch intKey(d, "revocation entry", 2, &seen) {
			case reHash:
				e.KeyHash = slices.Clone(d.bytes("public key hash", sha256.Size))
				if d.ok() && len(e.KeyHash) != sha256.Size {
					d.fail("public key hash of %d bytes", len(e.KeyHash))
				}
			case reID:
				e.ID = slices.Clone(d.bytes("revocation id", MaxAccessID))
				if d.ok() && len(e.ID) == 0 {
					d.fail("empty revocation id")
				}
			case reExpiry:
				d.tag("expiry", tagEpoch)
				v := d.uint("expiry")
				if d.ok() && (v == 0 || v > 0xFFFFFFFF) {
					d.fail("expiry %d", v)
				}
				e.Expiry = time.Unix(int64(v), 0).UTC()
			}
		}
		if d.ok() && e.KeyHash == nil && e.ID == nil {
			d.fail("revocation entry with neither a key hash nor an id")
		}
		out = append(out, e)
	}
	return out
}

// Append appends the deterministic encoding of r to dst.
func (r *RevocationData) Append(dst []byte) ([]byte, error) {
	if r.Mode > RevocationAppend || r.Mode == RevocationOverwrite && r.Remove != nil ||
		len(r.Entries) > MaxRevocationEntries || len(r.Remove) > MaxRevocationEntries {
		return dst, malformed("revocation data mode %d with %d and %d entries", r.Mode, len(r.Entries), len(r.Remove))
	}
	for _, es := range [][]RevocationEntry{r.Entries, r.Remove} {
		for _, e := range es {
			if err := e.check(); err != nil {
				return dst, err
			}
		}
	}
	if err := (&AccessData{NonAccessExtensions: r.Extensions}).check(); err != nil {
		return dst, err
	}
	var w mapWriter
	w.intKey(rdVersion)
	w.buf = appendUint(w.buf, AccessDataVersion)
	w.intKey(rdMode)
	w.buf = appendUint(w.buf, uint64(r.Mode))
	if r.Entries != nil {
		w.intKey(rdEntries)
		w.buf = appendRevocationEntries(w.buf, r.Entries)
	}
	if r.Remove != nil {
		w.intKey(rdRemove)
		w.buf = appendRevocationEntries(w.buf, r.Remove)
	}
	if r.Extensions != nil {
		w.intKey(rdExt)
		w.buf = appendExtensions(w.buf, r.Extensions)
	}
	return w.appendTo(dst), nil
}

// Encode returns the encoding of r, for an [Element] value.
func (r *RevocationData) Encode() ([]byte, error) { return r.Append(nil) }

func (e *RevocationEntry) check() error {
	switch {
	case e.KeyHash == nil && e.ID == nil:
		return malformed("revocation entry with neither a key hash nor an id")
	case e.KeyHash != nil && len(e.KeyHash) != sha256.Size:
		return malformed("public key hash of %d bytes", len(e.KeyHash))
	case e.ID != nil && (len(e.ID) == 0 || len(e.ID) > MaxAccessID):
		return malformed("revocation id of %d bytes", len(e.ID))
	case !e.Expiry.IsZero() && (e.Expiry.Unix() <= 0 || e.Expiry.Unix() > 0xFFFFFFFF || e.Expiry.Nanosecond() != 0):
		return malformed("expiry %v", e.Expiry)
	}
	return nil
}

func appendRevocationEntries(dst []byte, es []RevocationEntry) []byte {
	dst = appendHead(dst, majorArray, uint64(len(es)))
	for _, e := range es {
		var w mapWriter
		if e.KeyHash != nil {
			w.intKey(reHash)
			w.buf = appendBstr(w.buf, e.KeyHash)
		}
		if e.ID != nil {
			w.intKey(reID)
			w.buf = appendBstr(w.buf, e.ID)
		}
		if !e.Expiry.IsZero() {
			w.intKey(reExpiry)
			w.buf = appendHead(w.buf, majorTag, tagEpoch)
			w.buf = appendUint(w.buf, uint64(e.Expiry.Unix()))
		}
		dst = w.appendTo(dst)
	}
	return dst
}

// String describes the revocation data.
func (r *RevocationData) String() string {
	return fmt.Sprintf("mdoc.RevocationData{mode %d, %d entries, %d to remove}", r.Mode, len(r.Entries), len(r.Remove))
}
