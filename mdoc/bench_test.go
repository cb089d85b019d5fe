package mdoc

import (
	"testing"

	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// TestChannelAllocations checks that sealing and opening a message into
// reused buffers allocates nothing.
func TestChannelAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	keys := testStepUpKeys(t)
	a, _ := newChannel(gcmchannel.DeviceEnd, keys)
	b, _ := newChannel(gcmchannel.ReaderEnd, keys)
	msg := make([]byte, 700)
	ct := make([]byte, 0, 1024)
	pt := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() {
		c, _ := a.seal(ct[:0], msg)
		if _, err := b.open(pt[:0], c); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("seal and open allocated %v times, want 0", n)
	}
}

func BenchmarkChannel(b *testing.B) {
	keys := testStepUpKeys(b)
	a, _ := newChannel(gcmchannel.DeviceEnd, keys)
	c, _ := newChannel(gcmchannel.ReaderEnd, keys)
	msg := make([]byte, 700)
	ct := make([]byte, 0, 1024)
	pt := make([]byte, 0, 1024)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		x, _ := a.seal(ct[:0], msg)
		if _, err := c.open(pt[:0], x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		b.Run(d.String(), func(b *testing.B) {
			doc := testDocument(b, d)
			opts := &VerifyOptions{Issuers: []*IssuerKey{testIssuer(b, d).Key()}, Time: fixedNow}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := doc.Verify(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseDeviceResponse(b *testing.B) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		b.Run(d.String(), func(b *testing.B) {
			resp, _ := (&DeviceResponse{Version: DeviceResponseVersion, Documents: []*Document{testDocument(b, d)}}).Append(nil, d)
			b.SetBytes(int64(len(resp)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseDeviceResponse(d, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExchange runs the whole exchange, both roles, in memory:
// handover (Home Key), request, response with GET RESPONSE, verification.
func BenchmarkExchange(b *testing.B) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		b.Run(d.String(), func(b *testing.B) {
			doc := testDocument(b, d)
			opts := &VerifyOptions{Issuers: []*IssuerKey{testIssuer(b, d).Key()}, Time: fixedNow}
			b.ReportAllocs()
			for b.Loop() {
				dev := newTestDevice(b, d, doc)
				c := transport.NewClient(transporttest.NewCard(stepUpApplet(d, dev)), nil)
				resp, err := runExchangeClient(b, d, c, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := resp.Verify(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
