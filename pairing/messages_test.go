package pairing

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/tlv"
)

// message is what every pairing message implements.
type message interface {
	append([]byte) []byte
	unmarshal([]byte) bool
}

// mappingObject and configObject are 7F4D and 7F4E as whole data objects,
// as WRITE DATA carries them.
type mappingObject struct{ m MailboxMapping }

func (o *mappingObject) append(b []byte) []byte { return appendMapping(b, &o.m) }
func (o *mappingObject) unmarshal(b []byte) bool {
	v, err := tlv.Single(b, tagMailboxMapping)
	return err == nil && unmarshalMapping(v, &o.m)
}

type configObject struct{ c keyConfiguration }

func (o *configObject) append(b []byte) []byte { return o.c.append(b) }
func (o *configObject) unmarshal(b []byte) bool {
	v, err := tlv.Single(b, tagKeyConfig)
	return err == nil && o.c.unmarshal(v)
}

// kinds are the message types with a generator of random values.
var kinds = []struct {
	name   string
	new    func() message
	random func(r *rand.Rand) message
}{
	{"select", func() message { return new(selectResponse) }, func(r *rand.Rand) message {
		tag := tagFrameworkVersionsR3
		if r.IntN(2) == 1 {
			tag = tagFrameworkVersions
		}
		return &selectResponse{frameworkTag: tag, framework: randomVersions(r), applet: randomVersions(r), state: []byte{stateNotReady, stateReady}[r.IntN(2)]}
	}},
	{"request", func() message { return new(spakeRequest) }, func(r *rand.Rand) message {
		m := &spakeRequest{framework: randomVersions(r), applet: randomVersions(r), params: ScryptParams{N: r.Uint32(), R: uint16(r.Uint32()), P: uint16(r.Uint32())}, brand: uint16(r.Uint32())}
		if r.IntN(2) == 1 {
			m.bt = randomVersions(r)
		}
		randomBytes(r, m.salt[:])
		return m
	}},
	{"response", func() message { return new(spakeResponse) }, func(r *rand.Rand) message {
		m := &spakeResponse{}
		randomBytes(r, m.x[:])
		return m
	}},
	{"verify", func() message { return new(verifyCommand) }, func(r *rand.Rand) message {
		m := &verifyCommand{}
		randomBytes(r, m.y[:])
		randomBytes(r, m.m1[:])
		return m
	}},
	{"verify response", func() message { return new(verifyResponse) }, func(r *rand.Rand) message {
		m := &verifyResponse{}
		randomBytes(r, m.m2[:])
		return m
	}},
	{"7F4D", func() message { return new(mappingObject) }, func(r *rand.Rand) message {
		return &mappingObject{MailboxMapping{uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())}}
	}},
	{"7F4E", func() message { return new(configObject) }, func(r *rand.Rand) message {
		c := keyConfiguration{option1: byte(r.Uint32()), option2: byte(r.Uint32())}
		c.mailboxes = dkey.MailboxConfig{
			PrivateSize: uint16(r.Uint32()), ConfidentialSize: uint16(r.Uint32()),
			PrivateAuth1:      dkey.MailboxRange{Offset: uint16(r.Uint32()), Length: uint16(r.Uint32())},
			ConfidentialAuth1: dkey.MailboxRange{Offset: uint16(r.Uint32()), Length: uint16(r.Uint32())},
		}
		randomBytes(r, c.vehicleID[:])
		return &configObject{c}
	}},
}

func randomBytes(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// randomVersions returns 1 to MaxVersions distinct versions, descending.
func randomVersions(r *rand.Rand) dkey.VersionList {
	n := 1 + r.IntN(dkey.MaxVersions)
	seen := map[dkey.Version]bool{}
	var vs []dkey.Version
	for len(vs) < n {
		v := dkey.Version(r.Uint32())
		if !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	slices.Reverse(vs)
	l, err := dkey.NewVersionList(vs...)
	if err != nil {
		panic(err)
	}
	return l
}

// TestMessagesRoundTrip encodes random messages, parses them back and checks
// that the parsed message is the same and encodes to the same bytes.
func TestMessagesRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			for range 200 {
				m := k.random(r)
				enc := m.append(nil)
				got := k.new()
				if !got.unmarshal(enc) {
					t.Fatalf("unmarshal(%x) = false", enc)
				}
				if !equalMessages(got, m) {
					t.Fatalf("unmarshal(%x) = %+v, want %+v", enc, got, m)
				}
				if re := got.append(nil); !bytes.Equal(re, enc) {
					t.Fatalf("re-encoding of %x = %x", enc, re)
				}
			}
		})
	}
}

func equalMessages(a, b message) bool {
	switch a := a.(type) {
	case *selectResponse:
		return *a == *b.(*selectResponse)
	case *spakeRequest:
		return *a == *b.(*spakeRequest)
	case *spakeResponse:
		return *a == *b.(*spakeResponse)
	case *verifyCommand:
		return *a == *b.(*verifyCommand)
	case *verifyResponse:
		return *a == *b.(*verifyResponse)
	case *mappingObject:
		return *a == *b.(*mappingObject)
	case *configObject:
		return *a == *b.(*configObject)
	}
	return false
}

// TestMessagesNoPrefix checks that no strict prefix of a valid encoding
// parses, and that no encoding with a byte appended does.
func TestMessagesNoPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			for range 20 {
				enc := k.random(r).append(nil)
				for i := range enc {
					if k.new().unmarshal(enc[:i]) {
						t.Fatalf("unmarshal(%x), a prefix of %x, = true", enc[:i], enc)
					}
				}
				if k.new().unmarshal(append(slices.Clone(enc), 0x00)) {
					t.Fatalf("unmarshal(%x‖00) = true", enc)
				}
			}
		})
	}
}

// TestMessagesStrict lists encodings that are close to valid ones and must
// not parse, and the variants that must.
func TestMessagesStrict(t *testing.T) {
	for _, tt := range []struct {
		name string
		kind string
		hex  string
		ok   bool
	}{
		{"select 5A", "select", "5a020100 5c020100 d40102", true},
		{"select 5B", "select", "5b020100 5c020100 d40100", true},
		{"select other framework tag", "select", "5d020100 5c020100 d40102", false},
		{"select pairing state 01", "select", "5a020100 5c020100 d40101", false},
		{"select versions ascending", "select", "5a0401000200 5c020100 d40102", false},
		{"select empty versions", "select", "5a00 5c020100 d40102", false},
		{"select odd versions", "select", "5a03010002 5c020100 d40102", false},
		{"select without state", "select", "5a020100 5c020100", false},
		{"select fields swapped", "select", "5c020100 5a020100 d40102", false},
		{"select state two bytes", "select", "5a020100 5c020100 d4020002", false},
		{"request with 5E", "request", "5b020100 5c020100 5e020100 7f5020 c010" + zeros(16) + " c10400000400 c2020008 c3020001 d6020000", true},
		{"request without brand", "request", "5b020100 5c020100 7f5020 c010" + zeros(16) + " c10400000400 c2020008 c3020001", false},
		{"request short salt", "request", "5b020100 5c020100 7f501f c00f" + zeros(15) + " c10400000400 c2020008 c3020001 d6020000", false},
		{"request scrypt fields swapped", "request", "5b020100 5c020100 7f5020 c010" + zeros(16) + " c2020008 c10400000400 c3020001 d6020000", false},
		{"request extra scrypt field", "request", "5b020100 5c020100 7f5023 c010" + zeros(16) + " c10400000400 c2020008 c3020001 c40100 d6020000", false},
		{"request non-canonical length", "request", "5b020100 5c020100 7f508120 c010" + zeros(16) + " c10400000400 c2020008 c3020001 d6020000", false},
		{"request 5E after 7F50", "request", "5b020100 5c020100 7f5020 c010" + zeros(16) + " c10400000400 c2020008 c3020001 5e020100 d6020000", false},
		{"response with selected version", "response", "5041 04" + zeros(64) + " 5f020100", false},
		{"response short X", "response", "5040 04" + zeros(63), false},
		{"verify without M1", "verify", "5241 04" + zeros(64), false},
		{"verify M1 of 32 bytes", "verify", "5241 04" + zeros(64) + " 5720" + zeros(32), false},
		{"verify response of 32 bytes", "verify response", "5820" + zeros(32), false},
		{"7F4D missing D4", "7F4D", "7f4d10 c3020010 d0020000 d1020190 d2020010", false},
		{"7F4D one-byte value", "7F4D", "7f4d13 c30110 d0020000 d1020190 d2020010 d4020180", false},
		{"7F4E short vehicle id", "7F4E", "7f4e1f 4a06000000000000 4b06000000000000 4d07" + zeros(7) + " d70100 d80100", false},
		{"7F4E without option groups", "7F4E", "7f4e1a 4a06000000000000 4b06000000000000 4d08" + zeros(8), false},
		{"7F4E with 7F49", "7F4E", "7f4e25 4a06000000000000 4b06000000000000 4d08" + zeros(8) + " d70100 d80100 7f4902d000", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, stripSpaces(tt.hex))
			for _, k := range kinds {
				if k.name == tt.kind {
					if got := k.new().unmarshal(b); got != tt.ok {
						t.Errorf("%s unmarshal(%x) = %v, want %v", k.name, b, got, tt.ok)
					}
					return
				}
			}
			t.Fatalf("unknown kind %q", tt.kind)
		})
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}
