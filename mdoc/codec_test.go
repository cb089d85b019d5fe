package mdoc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecoderStrict(t *testing.T) {
	tests := []struct {
		name string
		in   string
		read func(d *decoder)
	}{
		{"non-minimal uint", "1817", func(d *decoder) { d.uint("x") }},
		{"non-minimal 2-byte", "1900ff", func(d *decoder) { d.uint("x") }},
		{"non-minimal 4-byte", "1a0000ffff", func(d *decoder) { d.uint("x") }},
		{"non-minimal 8-byte", "1b00000000ffffffff", func(d *decoder) { d.uint("x") }},
		{"non-minimal length", "5801ff", func(d *decoder) { d.bytes("x", 10) }},
		{"indefinite bytes", "5fff", func(d *decoder) { d.bytes("x", 10) }},
		{"indefinite map", "bfff", func(d *decoder) { d.mapLen("x", 10) }},
		{"reserved ai", "1c", func(d *decoder) { d.uint("x") }},
		{"wrong major", "41ff", func(d *decoder) { d.uint("x") }},
		{"bytes over limit", "43010203", func(d *decoder) { d.bytes("x", 2) }},
		{"truncated bytes", "4301", func(d *decoder) { d.bytes("x", 10) }},
		{"invalid UTF-8", "61ff", func(d *decoder) { d.text("x", 10) }},
		{"map over limit", "a3010203040506", func(d *decoder) { d.mapLen("x", 2) }},
		{"array longer than input", "8501", func(d *decoder) { d.array("x", 10) }},
		{"int too negative", "3bffffffffffffffff", func(d *decoder) { d.int("x") }},
		{"bool from null", "f6", func(d *decoder) { d.bool("x") }},
		{"two-byte simple", "f820", func(d *decoder) { d.raw("x", 1) }},
		{"two-byte small simple", "f810", func(d *decoder) { d.raw("x", 1) }},
		{"undefined", "f7", func(d *decoder) { d.raw("x", 1) }},
		{"unassigned simple", "e0", func(d *decoder) { d.raw("x", 1) }},
		{"too deep", "8181818181818181818100", func(d *decoder) { d.raw("x", MaxDepth) }},
		{"tdate with fraction", "c07818323032362d30312d30315430303a30303a30302e315a", func(d *decoder) { d.tdate("x") }},
		{"tdate with offset", "c0781932303236" + "2d30312d30315430303a30303a30302b3031", func(d *decoder) { d.tdate("x") }},
		{"tdate wrong tag", "c17432303236", func(d *decoder) { d.tdate("x") }},
		{"trailing", "0000", func(d *decoder) { d.uint("x") }},
	}
	for _, tt := range tests {
		d := decoder{s: unhex(t, tt.in)}
		tt.read(&d)
		if err := d.done(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tt.name, err)
		}
	}
	// What is accepted.
	for _, in := range []string{"f93c00", "fa3f800000", "fb3ff0000000000000", "f4", "f5", "f6", "d9 03ec 6a 323031392d31302d3230", "a2 01 02 03 04", "3b7fffffffffffffff"} {
		d := decoder{s: unhex(t, in)}
		d.raw("x", MaxDepth)
		if err := d.done(); err != nil {
			t.Errorf("raw %s: %v", in, err)
		}
	}
	d := decoder{s: unhex(t, "c074323032362d30332d30315431323a30303a30305a")}
	if tm := d.tdate("x"); d.done() != nil || !tm.Equal(testTime) {
		t.Errorf("tdate = %v, %v", tm, d.err)
	}
	if got := appendTDate(nil, testTime.Add(500*time.Millisecond)); !bytes.Equal(got, unhex(t, "c074323032362d30332d30315431323a30303a30305a")) {
		t.Errorf("appendTDate = %X", got)
	}
}

func TestAppendHead(t *testing.T) {
	for _, tt := range []struct {
		n    uint64
		want string
	}{{0, "00"}, {23, "17"}, {24, "1818"}, {255, "18ff"}, {256, "190100"}, {65535, "19ffff"}, {65536, "1a00010000"}, {1 << 32, "1b0000000100000000"}} {
		if got := appendHead(nil, majorUint, tt.n); !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("appendHead(%d) = %X, want %s", tt.n, got, tt.want)
		}
		d := decoder{s: unhex(t, tt.want)}
		if v := d.uint("x"); d.done() != nil || v != tt.n {
			t.Errorf("uint(%s) = %d, %v", tt.want, v, d.err)
		}
	}
	if got := appendInt(nil, -10); !bytes.Equal(got, []byte{0x29}) {
		t.Errorf("appendInt(-10) = %X", got)
	}
}

func TestNDEF(t *testing.T) {
	recs := []Record{
		{TNF: TNFWellKnown, Type: []byte("T"), Payload: []byte("hi")},
		{TNF: TNFExternal, Type: []byte("a:b"), ID: []byte("id"), Payload: bytes.Repeat([]byte{7}, 300)},
		{TNF: TNFEmpty},
		{TNF: TNFUnknown, Payload: []byte{1}},
	}
	b, err := AppendNDEF(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseNDEF(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recs, got, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if b[0] != ndefMB|ndefSR|byte(TNFWellKnown) || b[len(b)-4]&ndefME == 0 {
		t.Errorf("flags % X ... % X", b[0], b[len(b)-4])
	}
	for n := range len(b) {
		if _, err := ParseNDEF(b[:n]); err == nil {
			t.Errorf("prefix of %d bytes parsed", n)
		}
	}
	bad := map[string]string{
		"chunked":            "f1 01 00 54",
		"MB missing":         "51 01 00 54",
		"ME missing":         "91 01 00 54",
		"MB on second":       "91 01 00 54 d1 01 00 54",
		"long record short":  "c1 01 00000001 54 00",
		"IL with empty ID":   "d9 01 00 00 54",
		"reserved TNF":       "d7 01 00 54",
		"unchanged TNF":      "d6 01 00 54",
		"empty with type":    "d0 01 00 54",
		"unknown with type":  "d5 01 00 54",
		"well-known no type": "d1 00 00",
		"truncated payload":  "d1 01 05 54 00",
		"empty":              "",
	}
	for name, in := range bad {
		if _, err := ParseNDEF(unhex(t, in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseNDEF(make([]byte, MaxNDEFMessage+1)); !errors.Is(err, ErrMalformed) {
		t.Error("oversize message parsed")
	}
	many := make([]Record, MaxNDEFRecords+1)
	for i := range many {
		many[i] = Record{TNF: TNFEmpty}
	}
	if _, err := AppendNDEF(nil, many); err == nil {
		t.Error("too many records encoded")
	}
	m, _ := AppendNDEF(nil, many[:MaxNDEFRecords])
	m[len(m)-3] &^= ndefME
	m = append(m, 0x50, 0, 0)
	if _, err := ParseNDEF(m); err == nil {
		t.Error("too many records parsed")
	}
	for _, r := range []Record{{TNF: 9, Type: []byte("x")}, {TNF: TNFMedia}, {TNF: TNFURI, Type: make([]byte, 256)}} {
		if _, err := AppendNDEF(nil, []Record{r}); err == nil {
			t.Errorf("%+v encoded", r)
		}
	}
	if TNFExternal.String() != "external" || TNF(7).String() != "TNF(7)" {
		t.Error("TNF names")
	}
}

func TestEngagement(t *testing.T) {
	for _, e := range []*Engagement{HomeKeyDeviceEngagement(), HomeKeyReaderEngagement(), {Version: EngagementVersion}} {
		b, err := e.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseEngagement(b)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := got.Append(nil)
		if !bytes.Equal(again, b) {
			t.Errorf("%X re-encodes as %X", b, again)
		}
	}
	want := unhex(t, "a20063312e30018129")
	if b, _ := HomeKeyDeviceEngagement().Append(nil); !bytes.Equal(b, want) {
		t.Errorf("Home Key device engagement %X", b)
	}
	bad := map[string]string{
		"version 1.1":       "a10063312e31",
		"no version":        "a1018129",
		"keys unsorted":     "a2018129 0063312e30",
		"duplicate version": "a20063312e300063312e30",
		"text key":          "a2 0063312e30 6178 01",
		"not a map":         "8100",
		"trailing":          "a10063312e3000",
		"indefinite entry":  "a2 0063312e30 01 9fff",
	}
	for name, in := range bad {
		if _, err := ParseEngagement(unhex(t, in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, e := range []*Engagement{
		{Version: "2.0"},
		{Version: EngagementVersion, Entries: []EngagementEntry{{Key: 0, Value: []byte{1}}}},
		{Version: EngagementVersion, Entries: []EngagementEntry{{Key: 1, Value: []byte{1}}, {Key: 1, Value: []byte{2}}}},
		{Version: EngagementVersion, Entries: []EngagementEntry{{Key: 1, Value: []byte{1, 2}}}},
		{Version: EngagementVersion, Entries: []EngagementEntry{{Key: 1, Value: EncodeBytes(make([]byte, MaxEngagement))}}},
	} {
		if _, err := e.Append(nil); err == nil {
			t.Errorf("%+v encoded", e)
		}
	}
}

func TestSessionData(t *testing.T) {
	for _, sd := range []*SessionData{{Data: []byte{1, 2}}, {Status: StatusTermination}, {Data: []byte{}, Status: StatusDecodingError}} {
		b, err := sd.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseSessionData(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, sd.Data) || (got.Data == nil) != (sd.Data == nil) || got.Status != sd.Status {
			t.Errorf("%+v round-trips as %+v", sd, got)
		}
	}
	for _, sd := range []*SessionData{{}, {Status: 12}, {Data: make([]byte, maxSessionData+1)}} {
		if _, err := sd.Append(nil); err == nil {
			t.Errorf("%+v encoded", sd)
		}
	}
	bad := map[string]string{
		"empty map":      "a0",
		"status 0":       "a166737461747573 00",
		"status 12":      "a166737461747573 0c",
		"duplicate data": "a2 6464617461 40 6464617461 40",
		"unknown key":    "a1 6464617462 40",
		"data as text":   "a1 6464617461 60",
	}
	for name, in := range bad {
		if _, err := ParseSessionData(unhex(t, in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if StatusTermination.String() != "session termination" || SessionStatus(1).String() != "SessionStatus(1)" {
		t.Error("status names")
	}
}

// randomRequest returns a random valid DeviceRequest.
func randomRequest(r *rand.Rand) *DeviceRequest {
	word := func() string {
		b := make([]byte, 1+r.IntN(30))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	req := &DeviceRequest{Version: DeviceRequestVersion}
	for range 1 + r.IntN(3) {
		dr := DocRequest{DocType: word()}
		seen := map[string]bool{}
		for range 1 + r.IntN(3) {
			ns := RequestedNameSpace{Name: word()}
			if seen[ns.Name] {
				continue
			}
			seen[ns.Name] = true
			el := map[string]bool{}
			for range 1 + r.IntN(4) {
				id := word()
				if !el[id] {
					el[id] = true
					ns.Elements = append(ns.Elements, RequestedElement{Identifier: id, IntentToRetain: r.IntN(2) == 0})
				}
			}
			dr.NameSpaces = append(dr.NameSpaces, ns)
		}
		req.DocRequests = append(req.DocRequests, dr)
	}
	return req
}

func TestDeviceRequestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range []Dialect{HomeKey, Aliro} {
		for range 200 {
			req := randomRequest(r)
			b, err := req.Append(nil, d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDeviceRequest(d, b)
			if err != nil {
				t.Fatalf("%X: %v", b, err)
			}
			if diff := cmp.Diff(req, got); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
			for n := range len(b) {
				if _, err := ParseDeviceRequest(d, b[:n]); err == nil {
					t.Fatalf("prefix %X parsed", b[:n])
				}
			}
		}
	}
	// The Home Key request of the public reader, as cbor2 writes it.
	hk, _ := (&DeviceRequest{Version: DeviceRequestVersion, DocRequests: HomeKey.DefaultRequest()}).Append(nil, HomeKey)
	if !strings.Contains(string(hk), "docRequests") || !strings.Contains(string(hk), "itemsRequest") {
		t.Errorf("Home Key request %X", hk)
	}
	bad := []*DeviceRequest{
		{Version: "1.1", DocRequests: HomeKey.DefaultRequest()},
		{Version: DeviceRequestVersion},
		{Version: DeviceRequestVersion, DocRequests: []DocRequest{{DocType: "x"}}},
		{Version: DeviceRequestVersion, DocRequests: []DocRequest{{DocType: "x", NameSpaces: []RequestedNameSpace{{Name: "n"}}}}},
		{Version: DeviceRequestVersion, DocRequests: []DocRequest{{DocType: "x", NameSpaces: []RequestedNameSpace{{Name: "n", Elements: []RequestedElement{{Identifier: "a"}, {Identifier: "a"}}}}}}},
		{Version: DeviceRequestVersion, DocRequests: []DocRequest{{DocType: "x", NameSpaces: []RequestedNameSpace{{Name: "n", Elements: []RequestedElement{{Identifier: "a"}}}, {Name: "n", Elements: []RequestedElement{{Identifier: "a"}}}}}}},
		{Version: DeviceRequestVersion, DocRequests: []DocRequest{{DocType: "", NameSpaces: []RequestedNameSpace{{Name: "n", Elements: []RequestedElement{{Identifier: "a"}}}}}}},
	}
	for i, req := range bad {
		if _, err := req.Append(nil, HomeKey); !errors.Is(err, ErrMalformed) {
			t.Errorf("bad request %d: %v", i, err)
		}
	}
	if _, err := (&DeviceRequest{}).Append(nil, Dialect(0)); err == nil {
		t.Error("dialect 0")
	}
	if _, err := ParseDeviceRequest(Dialect(3), hk); err == nil {
		t.Error("dialect 3")
	}
	if _, err := ParseDeviceRequest(Aliro, hk); !errors.Is(err, ErrMalformed) {
		t.Errorf("Home Key request parsed as Aliro: %v", err)
	}
}

func TestDeviceResponseRoundTrip(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		doc := testDocument(t, d)
		for _, r := range []*DeviceResponse{
			{Version: DeviceResponseVersion},
			{Version: DeviceResponseVersion, Status: ResponseGeneralError},
			{Version: DeviceResponseVersion, Documents: []*Document{doc, doc}},
		} {
			b, err := r.Append(nil, d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDeviceResponse(d, b)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := got.Append(nil, d)
			if !bytes.Equal(again, b) || got.Status != r.Status || len(got.Documents) != len(r.Documents) {
				t.Errorf("%+v does not round-trip", r)
			}
		}
		other := HomeKey
		if d == HomeKey {
			other = Aliro
		}
		if _, err := (&DeviceResponse{Version: DeviceResponseVersion, Documents: []*Document{doc}}).Append(nil, other); err == nil {
			t.Error("document of another dialect encoded")
		}
		for _, r := range []*DeviceResponse{{Version: "2"}, {Version: DeviceResponseVersion, Status: 1}} {
			if _, err := r.Append(nil, d); err == nil {
				t.Errorf("%+v encoded", r)
			}
		}
		if _, err := (&DeviceResponse{Version: DeviceResponseVersion}).Verify(nil); !errors.Is(err, ErrNoDocument) {
			t.Errorf("Verify of no documents: %v", err)
		}
	}
}

func TestProvisioned(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		doc := testDocument(t, d)
		p, err := NewProvisioned(testGroup(d), doc)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if b[1] != provisionedVersion {
			t.Errorf("record version %d", b[1])
		}
		got, err := ParseProvisioned(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.ReaderGroup, p.ReaderGroup) || !got.Document.equal(doc) {
			t.Error("record does not round-trip")
		}
		for n := range len(b) {
			if _, err := ParseProvisioned(b[:n]); err == nil {
				t.Fatalf("prefix of %d bytes parsed", n)
			}
		}
		v2 := bytes.Clone(b)
		v2[1] = 2
		if _, err := ParseProvisioned(v2); !errors.Is(err, ErrMalformed) {
			t.Errorf("version 2: %v", err)
		}
		if _, err := NewProvisioned(testGroup(d)[1:], doc); err == nil {
			t.Error("short reader group")
		}
	}
	if _, err := NewProvisioned(make([]byte, 8), nil); err == nil {
		t.Error("nil document")
	}
	if _, err := (&Provisioned{}).MarshalBinary(); err == nil {
		t.Error("empty record encoded")
	}
}

func TestDialect(t *testing.T) {
	if HomeKey.String() != "HomeKey" || Aliro.String() != "Aliro" || Dialect(0).String() != "Dialect(0)" || Dialect(0).Valid() {
		t.Error("names")
	}
	if HomeKey.KeySize() != 16 || Aliro.KeySize() != 32 {
		t.Error("key sizes")
	}
	if HomeKey.AID().String() != "A0000008580102" || Aliro.AID().String() != "A000000909ACCE5502" {
		t.Error("AIDs")
	}
	for _, s := range []Step{StepIssuer, StepSignature, StepDocType, StepDigests, StepDeviceKey, StepValidity, 0} {
		if s.String() == "" {
			t.Error("step name")
		}
	}
}
