package testvec

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// cavpFiles holds the NIST CAVP response files of testdata/cavp, trimmed to
// the sections the SDK uses; testdata/cavp/README.md gives their provenance.
//
//go:embed testdata/cavp/*.txt
var cavpFiles embed.FS

// X963Vector is one ANSI X9.63-2001 KDF known answer with SHA-256, from the
// NIST CAVP component tests of SP 800-135.
type X963Vector struct {
	Name       string // section and COUNT, for test names
	Z          HexBytes
	SharedInfo HexBytes
	KeyData    HexBytes // the expected output; its length is the requested size
}

// X963SHA256 returns the X9.63 KDF SHA-256 vectors, in file order.
func X963SHA256() ([]X963Vector, error) {
	recs, err := readCAVP("testdata/cavp/ansx963_2001_sha256.txt")
	if err != nil {
		return nil, err
	}
	var vs []X963Vector
	for _, r := range recs {
		if r.section["SHA-256"] != "present" {
			return nil, fmt.Errorf("testvec: X9.63 record %s outside the SHA-256 sections", r.name)
		}
		v := X963Vector{Name: fmt.Sprintf("SharedInfo%s/L%s/COUNT%s", r.section["SharedInfo length"], r.section["key data length"], r.fields["COUNT"])}
		if err := r.hex("Z", (*[]byte)(&v.Z)); err != nil {
			return nil, err
		}
		if err := r.hex("SharedInfo", (*[]byte)(&v.SharedInfo)); err != nil {
			return nil, err
		}
		if err := r.hex("key_data", (*[]byte)(&v.KeyData)); err != nil {
			return nil, err
		}
		if err := r.checkBits("key data length", len(v.KeyData)); err != nil {
			return nil, err
		}
		if err := r.checkBits("SharedInfo length", len(v.SharedInfo)); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// KBKDFVector is one NIST SP 800-108 counter-mode KDF known answer with
// AES-CMAC as PRF, the counter of r = 32 bits before the fixed input data.
type KBKDFVector struct {
	Name       string // PRF and COUNT, for test names
	PRF        string // "CMAC_AES128" or "CMAC_AES256"
	KI         HexBytes
	FixedInput HexBytes
	KO         HexBytes // the expected output; its length is L/8
}

// KBKDFCounterCMAC returns the SP 800-108 counter-mode vectors with
// CMAC-AES128 and CMAC-AES256, counter before the fixed data, r = 32, in file
// order.
func KBKDFCounterCMAC() ([]KBKDFVector, error) {
	recs, err := readCAVP("testdata/cavp/nist-800-108-KBKDF-CTR_cmac_aes_before_r32.txt")
	if err != nil {
		return nil, err
	}
	var vs []KBKDFVector
	for _, r := range recs {
		prf := r.section["PRF"]
		if (prf != "CMAC_AES128" && prf != "CMAC_AES256") || r.section["CTRLOCATION"] != "BEFORE_FIXED" || r.section["RLEN"] != "32_BITS" {
			return nil, fmt.Errorf("testvec: KBKDF record %s in unexpected section %v", r.name, r.section)
		}
		v := KBKDFVector{Name: prf + "/COUNT" + r.fields["COUNT"], PRF: prf}
		if err := r.hex("KI", (*[]byte)(&v.KI)); err != nil {
			return nil, err
		}
		if err := r.hex("FixedInputData", (*[]byte)(&v.FixedInput)); err != nil {
			return nil, err
		}
		if err := r.hex("KO", (*[]byte)(&v.KO)); err != nil {
			return nil, err
		}
		if err := r.checkBits("L", len(v.KO)); err != nil {
			return nil, err
		}
		if n, err := strconv.Atoi(r.fields["FixedInputDataByteLen"]); err != nil || n != len(v.FixedInput) {
			return nil, fmt.Errorf("testvec: KBKDF %s: FixedInputDataByteLen %q, data has %d bytes", r.name, r.fields["FixedInputDataByteLen"], len(v.FixedInput))
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// cavpRecord is one COUNT record of a CAVP response file with the bracketed
// section parameters in force where it appears.
type cavpRecord struct {
	name    string // file:line
	section map[string]string
	fields  map[string]string
}

func (r *cavpRecord) hex(key string, dst *[]byte) error {
	s, ok := r.fields[key]
	if !ok {
		return fmt.Errorf("testvec: CAVP %s: no %s", r.name, key)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("testvec: CAVP %s: %s: %w", r.name, key, err)
	}
	*dst = b
	return nil
}

// checkBits checks that the length parameter key, in bits, matches n bytes.
// It looks in the record first, then in the section.
func (r *cavpRecord) checkBits(key string, n int) error {
	s, ok := r.fields[key]
	if !ok {
		s = r.section[key]
	}
	bits, err := strconv.Atoi(s)
	if err != nil || bits != 8*n {
		return fmt.Errorf("testvec: CAVP %s: %s = %q, data has %d bytes", r.name, key, s, n)
	}
	return nil
}

// readCAVP parses a CAVP response file: '#' comments, "[name = value]" or
// "[name]" section lines (a bare name is recorded as "present" and starts a
// new set of parameters), "key = value" fields, records separated by blank
// lines and starting with COUNT. Indented lines are intermediate values and
// are skipped. Lines may end in CRLF.
func readCAVP(path string) ([]cavpRecord, error) {
	data, err := cavpFiles.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testvec: %w", err)
	}
	return parseCAVP(path, data)
}

// parseCAVP parses the CAVP response file data that readCAVP read from
// path; path names the records and the errors.
func parseCAVP(path string, data []byte) ([]cavpRecord, error) {
	var (
		recs    []cavpRecord
		section = map[string]string{}
		cur     *cavpRecord
	)
	flush := func() {
		if cur != nil {
			recs = append(recs, *cur)
			cur = nil
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		raw := strings.TrimRight(sc.Text(), "\r")
		text := strings.TrimSpace(raw)
		switch {
		case text == "":
			flush()
			continue
		case strings.HasPrefix(text, "#"):
			continue
		case raw[0] == ' ' || raw[0] == '\t':
			continue // intermediate values
		case strings.HasPrefix(text, "["):
			flush()
			body, ok := strings.CutSuffix(text[1:], "]")
			if !ok {
				return nil, fmt.Errorf("testvec: %s:%d: malformed section %q", path, line, text)
			}
			k, v, isKV := strings.Cut(body, "=")
			if !isKV {
				// "[SHA-256]" or "[PRF=…]" starts a new parameter set.
				section = map[string]string{}
				section[strings.TrimSpace(k)] = "present"
			} else {
				k = strings.TrimSpace(k)
				if k == "PRF" {
					section = map[string]string{}
				}
				section[k] = strings.TrimSpace(v)
			}
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("testvec: %s:%d: malformed line %q", path, line, text)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "COUNT" {
			flush()
			sec := make(map[string]string, len(section))
			for sk, sv := range section {
				sec[sk] = sv
			}
			cur = &cavpRecord{name: fmt.Sprintf("%s:%d", path, line), section: sec, fields: map[string]string{}}
		}
		if cur == nil {
			return nil, fmt.Errorf("testvec: %s:%d: field %q outside a COUNT record", path, line, k)
		}
		if _, dup := cur.fields[k]; dup {
			return nil, fmt.Errorf("testvec: %s:%d: duplicate field %q", path, line, k)
		}
		cur.fields[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("testvec: %s: %w", path, err)
	}
	flush()
	return recs, nil
}
