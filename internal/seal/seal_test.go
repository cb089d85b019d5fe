package seal

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/store"
)

func testKEK(t testing.TB, b byte) *SoftwareKEK {
	t.Helper()
	k, err := NewSoftwareKEK(bytes.Repeat([]byte{b}, KEKSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSoftwareKEK(t *testing.T) {
	k := testKEK(t, 1)
	w, err := k.WrapKey([]byte("data key"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.UnwrapKey(w, []byte("ad")); err != nil || string(got) != "data key" {
		t.Fatalf("UnwrapKey = %q, %v", got, err)
	}
	for name, f := range map[string]func() ([]byte, error){
		"other ad":  func() ([]byte, error) { return k.UnwrapKey(w, []byte("AD")) },
		"other key": func() ([]byte, error) { return testKEK(t, 2).UnwrapKey(w, []byte("ad")) },
		"truncated": func() ([]byte, error) { return k.UnwrapKey(w[:5], []byte("ad")) },
	} {
		if _, err := f(); !errors.Is(err, ErrKEK) {
			t.Errorf("UnwrapKey(%s) = %v, want ErrKEK", name, err)
		}
	}
	if _, err := NewSoftwareKEK(make([]byte, 16)); err == nil {
		t.Error("NewSoftwareKEK accepted a 16-byte key")
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%#v", k), fmt.Sprintf("%+v", k), fmt.Sprintf("%x", k)} {
		if s != "seal.SoftwareKEK{redacted}" {
			t.Errorf("formatted KEK = %q", s)
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Role: "vehicle", Schema: 7, WrappedKey: []byte{1, 2, 3}}
	b := h.Append(nil)
	got, err := ParseHeader(b)
	if err != nil || got.Role != h.Role || got.Schema != h.Schema || !bytes.Equal(got.WrappedKey, h.WrappedKey) {
		t.Fatalf("ParseHeader(Append(h)) = %+v, %v", got, err)
	}
	// No strict prefix parses, nor anything longer.
	for i := range len(b) {
		if _, err := ParseHeader(b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ParseHeader(%X) = %v, want ErrCorrupt", b[:i], err)
		}
	}
	if _, err := ParseHeader(append(b, 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ParseHeader with a trailing byte = %v", err)
	}
	future := bytes.Clone(b)
	future[4] = 2
	if _, err := ParseHeader(future); !errors.Is(err, ErrSchema) {
		t.Errorf("ParseHeader(format 2) = %v, want ErrSchema", err)
	}
}

func TestSection(t *testing.T) {
	m := store.NewMemory()
	kek := testKEK(t, 1)
	s, fresh, err := OpenSection(m, "v/", kek, "vehicle", 1)
	if err != nil || !fresh {
		t.Fatalf("OpenSection(empty) = %v, fresh %v", err, fresh)
	}
	ops, err := s.Put(nil, "k/1", []byte("secret one"))
	if err != nil {
		t.Fatal(err)
	}
	ops, _ = s.Put(ops, "k/2", []byte("secret two"))
	ops, _ = s.Put(ops, "other", []byte("x"))
	if err := s.Write(ops); err != nil {
		t.Fatal(err)
	}
	// Nothing in clear in the store.
	_ = m.Scan(nil, func(k, v []byte) error {
		if bytes.Contains(v, []byte("secret")) {
			t.Errorf("record %q holds the plaintext", k)
		}
		return nil
	})
	s, fresh, err = OpenSection(m, "v/", kek, "vehicle", 1)
	if err != nil || fresh {
		t.Fatalf("OpenSection(existing) = %v, fresh %v", err, fresh)
	}
	var got []string
	err = s.Scan("k/", func(name string, p []byte) error {
		got = append(got, name+"="+string(p))
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[k/1=secret one k/2=secret two]" {
		t.Fatalf("Scan = %v, %v", got, err)
	}
	if p, err := s.Get("other"); err != nil || string(p) != "x" {
		t.Fatalf("Get = %q, %v", p, err)
	}
	if _, err := s.Get("absent"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(absent) = %v", err)
	}
	if err := s.Write(s.Delete(nil, "other")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(deleted) = %v", err)
	}
	if ops := (*Section)(nil).Delete(nil, "r"); len(ops) != 0 {
		t.Errorf("a nil Section deleted %v", ops)
	}
	if _, err := s.Put(nil, "#header", nil); err == nil {
		t.Error("Put accepted the header's name")
	}

	// Wrong KEK, other role, future schema.
	if _, _, err := OpenSection(m, "v/", testKEK(t, 2), "vehicle", 1); !errors.Is(err, ErrKEK) {
		t.Errorf("OpenSection(wrong KEK) = %v, want ErrKEK", err)
	}
	if _, _, err := OpenSection(m, "v/", kek, "device", 1); !errors.Is(err, ErrSchema) {
		t.Errorf("OpenSection(other role) = %v, want ErrSchema", err)
	}
	if _, _, err := OpenSection(m, "v/", kek, "vehicle", 2); !errors.Is(err, ErrSchema) {
		t.Errorf("OpenSection(other schema) = %v, want ErrSchema", err)
	}

	// A flipped byte, a record moved to another name: ErrCorrupt, and
	// the scan stops.
	raw, _ := m.Get([]byte("v/k/1"))
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 1
		_ = m.Write([]store.Op{store.Put([]byte("v/k/1"), bad)})
		if _, err := s.Get("k/1"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Get(byte %d flipped) = %v, want ErrCorrupt", i, err)
		}
	}
	two, _ := m.Get([]byte("v/k/2"))
	_ = m.Write([]store.Op{store.Put([]byte("v/k/1"), two)})
	n := 0
	if err := s.Scan("k/", func(string, []byte) error { n++; return nil }); !errors.Is(err, ErrCorrupt) || n != 0 {
		t.Errorf("Scan over a swapped record = %v after %d records, want ErrCorrupt", err, n)
	}
	// A damaged header.
	h, _ := m.Get([]byte("v/#header"))
	_ = m.Write([]store.Op{store.Put([]byte("v/#header"), h[:len(h)-1])})
	if _, _, err := OpenSection(m, "v/", kek, "vehicle", 1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("OpenSection(truncated header) = %v, want ErrCorrupt", err)
	}
	h[len(h)-1] ^= 1
	_ = m.Write([]store.Op{store.Put([]byte("v/#header"), h)})
	if _, _, err := OpenSection(m, "v/", kek, "vehicle", 1); !errors.Is(err, ErrKEK) {
		t.Errorf("OpenSection(flipped wrapped key) = %v, want ErrKEK", err)
	}
}

// A section under another prefix or in another store does not open the
// records of the first: each has its own data key.
func TestSectionsAreSeparate(t *testing.T) {
	m := store.NewMemory()
	kek := testKEK(t, 1)
	a, _, _ := OpenSection(m, "a/", kek, "role", 1)
	b, _, _ := OpenSection(m, "b/", kek, "role", 1)
	ops, _ := a.Put(nil, "r", []byte("a's"))
	if err := a.Write(ops); err != nil {
		t.Fatal(err)
	}
	raw, _ := m.Get([]byte("a/r"))
	_ = m.Write([]store.Op{store.Put([]byte("b/r"), raw)})
	if _, err := b.Get("r"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a record of section a opened in section b: %v", err)
	}
}

func TestBoxFormat(t *testing.T) {
	b, _, err := NewBox(testKEK(t, 1), "r", 1)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v", b, b, b); s != "seal.Box{redacted} seal.Box{redacted} seal.Box{redacted}" {
		t.Errorf("formatted Box = %q", s)
	}
}

// FuzzHeader: ParseHeader never panics, and what it accepts encodes back
// to the same bytes.
func FuzzHeader(f *testing.F) {
	f.Add((&Header{Role: "vehicle", Schema: 1, WrappedKey: make([]byte, 60)}).Append(nil))
	f.Add((&Header{Role: "device/se", Schema: 1, WrappedKey: []byte{1}}).Append(nil))
	f.Add([]byte("OCKS\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchema) {
				t.Fatalf("ParseHeader error %v is neither ErrCorrupt nor ErrSchema", err)
			}
			return
		}
		if out := h.Append(nil); !bytes.Equal(out, b) {
			t.Fatalf("ParseHeader(%X) re-encodes as %X", b, out)
		}
	})
}

// FuzzOpen: Box.Open never panics and opens nothing but what it sealed.
func FuzzOpen(f *testing.F) {
	b, _, err := NewBox(testKEK(f, 1), "r", 1)
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := b.Seal(nil, []byte("name"), []byte("plaintext"))
	f.Add([]byte("name"), sealed)
	f.Add([]byte("name"), sealed[:Overhead])
	f.Fuzz(func(t *testing.T, name, in []byte) {
		out, err := b.Open(nil, name, in)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open error %v is not ErrCorrupt", err)
			}
			return
		}
		if !bytes.Equal(in, sealed) || string(name) != "name" || string(out) != "plaintext" {
			t.Fatalf("Open(%q, %X) = %q: a forgery opened", name, in, out)
		}
	})
}

func ExampleOpenSection() {
	kek, _ := NewSoftwareKEK(bytes.Repeat([]byte{7}, KEKSize))
	m := store.NewMemory()
	s, _, _ := OpenSection(m, "app/", kek, "example", 1)
	ops, _ := s.Put(nil, "greeting", []byte("hello"))
	_ = s.Write(ops)
	s, _, _ = OpenSection(m, "app/", kek, "example", 1)
	p, _ := s.Get("greeting")
	fmt.Println(string(p))
	// Output: hello
}

func TestCodec(t *testing.T) {
	type rec struct {
		_ struct{} `cbor:",toarray"`
		A uint16
		B []byte
		C [][]byte
	}
	in := rec{A: 7, B: []byte{1}, C: [][]byte{{2}, {}}}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var out rec
	if err := Decode(b, &out); err != nil || out.A != 7 || len(out.C) != 2 {
		t.Fatalf("Decode(Encode(r)) = %+v, %v", out, err)
	}
	for i := range len(b) {
		if err := Decode(b[:i], &out); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%X) = %v, want ErrCorrupt", b[:i], err)
		}
	}
	if err := Decode(append(bytes.Clone(b), 0), &out); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Decode with a trailing byte = %v", err)
	}
	// A non-minimal integer is not the deterministic encoding.
	nonMin := []byte{0x83, 0x19, 0x00, 0x07, 0x41, 0x01, 0x82, 0x41, 0x02, 0x40}
	if err := Decode(nonMin, &out); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Decode(non-minimal) = %v, want ErrCorrupt", err)
	}
}

func TestTime(t *testing.T) {
	for _, tm := range []time.Time{{}, time.Unix(0, 0), time.Date(2031, 5, 6, 7, 8, 9, 10, time.FixedZone("", 3600))} {
		got, err := ParseTime(AppendTime(nil, tm))
		if err != nil || !got.Equal(tm) || got.IsZero() != tm.IsZero() {
			t.Errorf("ParseTime(AppendTime(%v)) = %v, %v", tm, got, err)
		}
	}
	if _, err := ParseTime([]byte{1, 2}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ParseTime(garbage) = %v", err)
	}
}
