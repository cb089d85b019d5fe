package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

// canned answers every request with one response, and counts how many body
// bytes the client read.
type canned struct {
	status int
	typ    string
	body   []byte
	read   int
}

func (c *canned) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	h := http.Header{}
	if c.typ != "" {
		h.Set("Content-Type", c.typ)
	}
	return &http.Response{
		StatusCode: c.status, Status: strconv.Itoa(c.status) + " " + http.StatusText(c.status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Request: r,
		Body: io.NopCloser(&countingReader{r: bytes.NewReader(c.body), n: &c.read}),
	}, nil
}

type countingReader struct {
	r io.Reader
	n *int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += n
	return n, err
}

// fuzzVehicle returns a vehicle certificate and key, issued once.
func fuzzVehicle(tb testing.TB) *tls.Certificate {
	tb.Helper()
	rk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		tb.Fatal(err)
	}
	tm := cert.Template{Subject: pkix.Name{CommonName: "root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	root, err := cert.NewVehicleRoot(tm, rk)
	if err != nil {
		tb.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		tb.Fatal(err)
	}
	tm.Subject = keyservice.VehicleName(vid, "Vehicle VIN00001")
	vc, err := cert.NewVehicle(tm, vk.PublicKey(), root, rk)
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{vc.Raw}, PrivateKey: vk}
}

// The calls FuzzResponse drives, each with the media type its success
// carries and the decoder the service's answer must go through.
const (
	callKeys = iota
	callDisplay
	callFetch
	callContent
	callWait
	callTerminate
	callHealth
	nCalls
)

var callTypes = [nCalls]string{keyservice.CBORType, keyservice.ContentType, keyservice.CBORType, keyservice.ContentType, keyservice.CBORType, keyservice.CBORType, ""}

// FuzzResponse answers the client's calls with arbitrary bodies: a success
// of the expected media type, a success of another media type, an error
// status with a problem body, or a body over the client's limit. Every
// malformed body is an error wrapping keyservice.ErrMalformed (or
// sharing.ErrMalformed for the relay's content), a success is exactly what
// keyservice's decoder makes of the body, a service error is a
// *keyservice.Error, and no body over maxResponse is taken or read beyond
// maxResponse+1 bytes.
func FuzzResponse(f *testing.F) {
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	slot, _ := dkey.NewKeySlot([]byte("owner001"))
	cmd, err := sharing.NewKeyCommand(sharing.ActionSuspend, vid, slot, nil)
	if err != nil {
		f.Fatal(err)
	}
	deliveries, err := keyservice.MarshalDeliveries([]keyservice.Delivery{{Seq: 1, Command: cmd}, {Seq: 2, Command: cmd}})
	if err != nil {
		f.Fatal(err)
	}
	noDeliveries, _ := keyservice.MarshalDeliveries(nil)
	list, err := (&keyservice.KeyList{}).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := sharing.NewAccessToken()
	fetched, err := (&keyservice.Fetched{Content: []byte("sealed invitation"), Receiver: tok}).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	acc, err := (&keyservice.Accepted{ID: keyservice.CommandID(cmd.ID)}).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	problem, err := (&keyservice.Error{Status: http.StatusNotFound, Code: keyservice.CodeNotFound, Detail: "no such mailbox"}).MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	for mode := range uint8(4) {
		for _, s := range []struct {
			call uint8
			body []byte
		}{
			{callKeys, list}, {callDisplay, []byte("Alice's car")}, {callDisplay, nil}, {callDisplay, make([]byte, sharing.MaxDisplaySize+1)},
			{callFetch, fetched}, {callContent, []byte{1, 2, 3}}, {callContent, nil}, {callWait, deliveries}, {callWait, noDeliveries},
			{callTerminate, acc}, {callHealth, nil}, {callKeys, problem}, {callFetch, fetched[:len(fetched)-1]}, {callWait, append(deliveries, 0)},
			{callTerminate, []byte{0xA1, 0x01, 0x40}}, {callKeys, []byte{0xFF}},
		} {
			f.Add(s.call, mode, uint16(404), s.body)
		}
	}
	f.Add(uint8(callKeys), uint8(2), uint16(503), []byte("{"))
	f.Add(uint8(callWait), uint8(2), uint16(500), []byte(`{"status":700,"code":"x"}`))
	vcert := fuzzVehicle(f)

	f.Fuzz(func(t *testing.T, call, mode uint8, status uint16, body []byte) {
		call %= nCalls
		rt := &canned{status: http.StatusOK, typ: callTypes[call], body: body}
		switch mode % 4 {
		case 1: // a success of another type
			rt.typ = "text/plain"
			if call == callHealth {
				rt.typ = ""
			}
		case 2: // a failure
			rt.status = 400 + int(status)%200
			rt.typ = keyservice.ProblemType
		case 3: // over the limit
			rt.body = append(bytes.Repeat([]byte{0xA0}, maxResponse+1-len(body)%maxResponse), body...)
		}
		c, err := New(&Config{URL: "https://keys.example", Certificate: vcert, Transport: rt})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var got any
		switch call {
		case callKeys:
			got, err = c.Keys(ctx, vid)
		case callDisplay:
			got, err = c.ReadDisplayInformation(ctx, sharing.MailboxID{}, tok)
		case callFetch:
			var content []byte
			var receiver sharing.AccessToken
			content, receiver, err = c.FetchInvitation(ctx, sharing.MailboxID{}, tok)
			got = &keyservice.Fetched{Content: content, Receiver: receiver}
		case callContent:
			got, err = c.ReadSecureContent(ctx, sharing.MailboxID{}, tok)
		case callWait:
			got, err = c.Wait(ctx, 0)
		case callTerminate:
			var id keyservice.CommandID
			id, err = c.Terminate(ctx, vid, []byte{0xD2})
			got = id
		case callHealth:
			err = c.Health(ctx)
		}
		if rt.read > maxResponse+1 {
			t.Fatalf("the client read %d body bytes, limit %d", rt.read, maxResponse+1)
		}
		if len(rt.body) > maxResponse {
			if err == nil || !strings.Contains(err.Error(), "response over") {
				t.Fatalf("a body of %d bytes: %v", len(rt.body), err)
			}
			var ke *keyservice.Error
			if errors.As(err, &ke) {
				t.Fatalf("an oversize body made a service error: %v", err)
			}
			return
		}
		if rt.status >= 300 {
			var ke *keyservice.Error
			if !errors.As(err, &ke) {
				t.Fatalf("status %d: %v, want a *keyservice.Error", rt.status, err)
			}
			if want, perr := keyservice.ParseError(rt.body); perr == nil {
				if *ke != *want {
					t.Fatalf("status %d: %+v, want the problem body's %+v", rt.status, ke, want)
				}
			} else if ke.Status != rt.status || (ke.Code != keyservice.CodeInternal && ke.Code != keyservice.CodeUnavailable) {
				t.Fatalf("status %d without a problem body: %+v", rt.status, ke)
			}
			return
		}
		if call == callHealth {
			if err != nil {
				t.Fatalf("Health with a 200 = %v", err)
			}
			return
		}
		if rt.typ != callTypes[call] {
			if !errors.Is(err, keyservice.ErrMalformed) {
				t.Fatalf("a %s body: %v, want ErrMalformed", rt.typ, err)
			}
			return
		}
		// The expected media type: the result is the decoder's.
		var want any
		var werr error
		switch call {
		case callKeys:
			want, werr = keyservice.ParseKeyList(body)
		case callDisplay:
			switch {
			case len(body) > sharing.MaxDisplaySize:
				werr = keyservice.ErrMalformed
			case len(body) == 0:
				want = []byte(nil)
			default:
				want = body
			}
		case callFetch:
			want, werr = keyservice.ParseFetched(body)
			if werr != nil {
				want = &keyservice.Fetched{}
			}
		case callContent:
			want, werr = body, sharing.CheckContent(body)
			if werr != nil {
				want = []byte(nil)
			}
		case callWait:
			var ds []keyservice.Delivery
			ds, werr = keyservice.ParseDeliveries(body)
			if len(ds) > keyservice.MaxDeliveries {
				t.Fatalf("%d deliveries, limit %d", len(ds), keyservice.MaxDeliveries)
			}
			want = ds
		case callTerminate:
			a, perr := keyservice.ParseAccepted(body)
			werr, want = perr, keyservice.CommandID{}
			if perr == nil {
				want = a.ID
			}
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("call %d: %v, decoder %v", call, err, werr)
		}
		if err != nil {
			if !errors.Is(err, keyservice.ErrMalformed) && !errors.Is(err, sharing.ErrMalformed) {
				t.Fatalf("call %d: a malformed body gave an untyped %v", call, err)
			}
			return
		}
		if d := cmp.Diff(want, got, cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b }), cmp.Comparer(func(a, b dkey.VehicleID) bool { return a.Equal(b) }), cmp.Comparer(func(a, b *dkey.PublicKey) bool { return a.Equal(b) })); d != "" {
			t.Fatalf("call %d: result differs from the decoder's (-want +got):\n%s", call, d)
		}
	})
}
