package testvec

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// maxFuzzInput bounds the fuzz inputs below bufio.Scanner's 64 KiB line
// limit, so that adding CRLFs cannot turn an accepted input into a rejected
// one.
const maxFuzzInput = 16 << 10

// FuzzHexBytes checks both directions of the HexBytes JSON encoding: what
// UnmarshalJSON accepts re-encodes as lowercase hex of half the string's
// length and decodes back to the same bytes, and any bytes survive
// MarshalJSON then UnmarshalJSON. Errors are package errors and leave h
// unchanged.
func FuzzHexBytes(f *testing.F) {
	for _, s := range []string{
		`"00ff"`, `"00FF"`, `""`, `"0"`, `"0g"`, `"00 ff"`, `null`, `0`, `["00"]`, `"\u0030\u0030"`, `"00"x`, ``, `"`,
	} {
		f.Add([]byte(s))
	}
	v, err := HomeKeyStandard()
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range [][]byte{v.SharedSecret, v.ReaderEphemeralPublicKey, v.TransactionIdentifier} {
		m, err := json.Marshal(HexBytes(b))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Any bytes: encode, then decode.
		m, err := HexBytes(data).MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%x) = %v", data, err)
		}
		if want := `"` + hex.EncodeToString(data) + `"`; string(m) != want {
			t.Fatalf("MarshalJSON(%x) = %s, want %s", data, m, want)
		}
		var back HexBytes
		if err := back.UnmarshalJSON(m); err != nil || !bytes.Equal(back, data) {
			t.Fatalf("UnmarshalJSON(MarshalJSON(%x)) = %x, %v", data, back, err)
		}

		// The bytes as JSON: decode, then encode.
		h := HexBytes{0xde, 0xad}
		err = h.UnmarshalJSON(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "testvec: hex string") || !bytes.Equal(h, []byte{0xde, 0xad}) {
				t.Fatalf("UnmarshalJSON(%q) = %v, left %x", data, err, h)
			}
			return
		}
		var s string
		if json.Unmarshal(data, &s) == nil && 2*len(h) != len(s) {
			t.Fatalf("UnmarshalJSON(%q) = %d bytes from a string of %d digits", data, len(h), len(s))
		}
		m, err = h.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var again HexBytes
		if err := again.UnmarshalJSON(m); err != nil || !bytes.Equal(again, h) {
			t.Fatalf("round trip of %q: %x, then %x (%v)", data, h, again, err)
		}
	})
}

// embeddedJSON returns the vector files of testdata/aliro and
// testdata/homekey.
func embeddedJSON(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	for _, d := range []struct {
		fsys fs.FS
		glob string
	}{{aliroFS, "testdata/aliro/*.json"}, {homeKeyFS, "testdata/homekey/*.json"}} {
		names, err := fs.Glob(d.fsys, d.glob)
		if err != nil || len(names) == 0 {
			f.Fatalf("glob %s: %v, %d files", d.glob, err, len(names))
		}
		for _, n := range names {
			b, err := fs.ReadFile(d.fsys, n)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// strictRoundTrip decodes b strictly as a T; if that succeeds, what
// json.Marshal makes of the value must decode strictly again to a value
// that marshals to the same bytes. It reports whether b was accepted.
func strictRoundTrip[T any](t *testing.T, b []byte) bool {
	t.Helper()
	v, err := decodeStrict[T]("fuzz.json", b)
	if err != nil {
		if v != nil || !strings.HasPrefix(err.Error(), "testvec: fuzz.json: ") {
			t.Fatalf("decodeStrict[%T] = %v, %v", *new(T), v, err)
		}
		return false
	}
	m1, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%T) = %v", v, err)
	}
	w, err := decodeStrict[T]("fuzz.json", m1)
	if err != nil {
		t.Fatalf("strict decode of our own encoding %s = %v", m1, err)
	}
	m2, err := json.Marshal(w)
	if err != nil || !bytes.Equal(m1, m2) {
		t.Fatalf("encoding not stable:\n%s\n%s (%v)", m1, m2, err)
	}
	// Trailing data is never part of an accepted file.
	if _, err := decodeStrict[T]("fuzz.json", append(bytes.Clone(b), []byte(" {}")...)); err == nil {
		t.Fatalf("decodeStrict accepted %q followed by another value", b)
	}
	return true
}

// FuzzDecodeStrict decodes fuzzed files as each vector type the package
// loads and checks the strict decoder: typed errors, no trailing data, and a
// stable JSON round trip of whatever it accepts.
func FuzzDecodeStrict(f *testing.F) {
	for _, b := range embeddedJSON(f) {
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `{"name":"x","kdh":"00"}`, `{"nmae":"x"}`, `{"kdh":"0"}`, `{"kdh":1}`, `{} {}`, `{}x`, `[]`, `null`, ``,
		`{"standard":{"kdh":"00"},"fast":{}}`, `{"apdus":[{"command":"00a4","redacted":true}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		strictRoundTrip[HomeKeyTransaction](t, b)
		strictRoundTrip[HomeKeyTrace](t, b)
		strictRoundTrip[HomeKeyExamples](t, b)
		strictRoundTrip[AliroTransaction](t, b)
		strictRoundTrip[AliroCertificates](t, b)
		strictRoundTrip[AliroFixed](t, b)
	})
}

// encodeCAVP writes records back as a CAVP response file: before each
// record, section lines that rebuild its parameter set (PRF first, since it
// starts a new set; otherwise a bare name starts one), then COUNT and the
// other fields in sorted order.
func encodeCAVP(recs []cavpRecord) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		if len(r.section) > 0 {
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range r.section {
					if !yield(k) {
						return
					}
				}
			})
			if v, ok := r.section["PRF"]; ok {
				fmt.Fprintf(&b, "[PRF = %s]\n", v)
			} else {
				fmt.Fprintf(&b, "[%s]\n", keys[0])
			}
			for _, k := range keys {
				if k != "PRF" {
					fmt.Fprintf(&b, "[%s = %s]\n", k, r.section[k])
				}
			}
		}
		fmt.Fprintf(&b, "COUNT = %s\n", r.fields["COUNT"])
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range r.fields {
				if !yield(k) {
					return
				}
			}
		}) {
			if k != "COUNT" {
				fmt.Fprintf(&b, "%s=%s\n", k, r.fields[k]) // no space first: an empty key would read as indented
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// sameRecords compares records without their names (file:line).
func sameRecords(a, b []cavpRecord) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i].section, b[i].section) || !reflect.DeepEqual(a[i].fields, b[i].fields) {
			return false
		}
	}
	return true
}

// FuzzParseCAVP checks the CAVP response file parser: errors are package
// errors naming the file; every record starts at a COUNT line, in order;
// CRLF line ends and leading comment or intermediate-value lines change
// nothing but line numbers; and the records re-encoded parse to the same
// records.
func FuzzParseCAVP(f *testing.F) {
	for _, name := range []string{"testdata/cavp/ansx963_2001_sha256.txt", "testdata/cavp/nist-800-108-KBKDF-CTR_cmac_aes_before_r32.txt"} {
		b, err := cavpFiles.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4096)]) // the header, sections and first records
	}
	for _, s := range []string{
		"[SHA-256]\n[key data length = 128]\n\nCOUNT = 0\nZ = 00\nkey_data = 00\n",
		"[PRF=CMAC_AES128]\r\n[RLEN=32_BITS]\r\n\r\nCOUNT=0\r\nL = 128\r\n\tinstring = 00\r\n",
		"[SHA-256\nCOUNT = 0\n",     // malformed section
		"Z = 00\n",                  // field outside a record
		"COUNT = 0\nZ = 0\nZ = 1\n", // duplicate field
		"COUNT = 0\nno equals sign\n",
		"COUNT = 0\n[a]]\nCOUNT = 1\n[ = v=w]\nCOUNT = 2\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		recs, err := parseCAVP("fuzz", data)
		crlf := bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
		recsCRLF, errCRLF := parseCAVP("fuzz", crlf)
		prefixed := append([]byte("# comment\n\tK1 = intermediate\n"), data...)
		recsPre, errPre := parseCAVP("fuzz", prefixed)
		if err != nil {
			if recs != nil || !strings.HasPrefix(err.Error(), "testvec: fuzz") {
				t.Fatalf("parseCAVP = %d records, %v", len(recs), err)
			}
			if errCRLF == nil || errPre == nil {
				t.Fatalf("parseCAVP rejected %q (%v) but accepted it with CRLF (%v) or a comment before it (%v)", data, err, errCRLF, errPre)
			}
			return
		}
		if errCRLF != nil || !sameRecords(recs, recsCRLF) {
			t.Fatalf("CRLF line ends changed the records of %q: %v", data, errCRLF)
		}
		if errPre != nil || !sameRecords(recs, recsPre) {
			t.Fatalf("a leading comment changed the records of %q: %v", data, errPre)
		}
		lines := strings.Split(string(data), "\n")
		last := 0
		for i, r := range recs {
			var line int
			if _, err := fmt.Sscanf(r.name, "fuzz:%d", &line); err != nil || line <= last || line > len(lines) {
				t.Fatalf("record %d is named %q after line %d", i, r.name, last)
			}
			last = line
			if k, _, _ := strings.Cut(lines[line-1], "="); strings.TrimSpace(k) != "COUNT" {
				t.Fatalf("record %q starts at line %q", r.name, lines[line-1])
			}
			if _, ok := r.fields["COUNT"]; !ok {
				t.Fatalf("record %q has no COUNT", r.name)
			}
			if pre, _ := fmt.Sscanf(recsPre[i].name, "fuzz:%d", &line); pre != 1 || line != last+2 {
				t.Fatalf("with two lines before it, record %q is %q", r.name, recsPre[i].name)
			}
		}
		enc := encodeCAVP(recs)
		back, err := parseCAVP("fuzz", enc)
		if err != nil || !sameRecords(recs, back) {
			t.Fatalf("re-encoded records do not parse back (%v):\n%s", err, enc)
		}
	})
}

func TestDecodeStrictTrailingData(t *testing.T) {
	for _, s := range []string{`{} {}`, `{}x`, `{}}`, `{"name":"a"}1`} {
		if _, err := decodeStrict[HomeKeyTransaction]("t.json", []byte(s)); err == nil {
			t.Errorf("decodeStrict(%q) accepted data after the value", s)
		}
	}
	if _, err := decodeStrict[HomeKeyTransaction]("t.json", []byte("{\"name\":\"a\"}\n\t ")); err != nil {
		t.Errorf("decodeStrict with trailing white space = %v", err)
	}
}
