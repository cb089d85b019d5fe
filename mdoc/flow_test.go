package mdoc

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"path/filepath"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts")

// stepUpApplet is what the device applet does around a Device in the
// tests: it answers SELECT of the dialect's applet and routes the rest to
// the session, behind a ChainingCard that serves long responses with GET
// RESPONSE.
func stepUpApplet(d Dialect, dev *Device) transport.Card {
	return transport.NewChainingCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		c, err := transport.ParseCommand(cmd)
		if err == nil && c.INS == 0xA4 && c.P1 == 0x04 {
			if !d.AID().Equal(c.Data) {
				return transport.AppendResponse(dst, nil, dkey.SWFileNotFound)
			}
			return transport.AppendResponse(dst, nil, dkey.SWSuccess)
		}
		return dev.ProcessAPDU(dst, cmd)
	}))
}

// testKeys returns fixed Aliro step-up keys.
func testStepUpKeys(t testing.TB) *SessionKeys {
	t.Helper()
	m := make([]byte, 32)
	for i := range m {
		m[i] = byte(0x30 + i)
	}
	k, err := AliroStepUpKeys(m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testSecret() *Secret {
	s := &Secret{}
	for i := range s.b {
		s.b[i] = byte(0x50 + i)
	}
	return s
}

// newTestDevice returns the device side of dialect d holding docs.
func newTestDevice(t testing.TB, d Dialect, docs ...*Document) *Device {
	t.Helper()
	var ps []*Provisioned
	for _, doc := range docs {
		p, err := NewProvisioned(testGroup(d), doc)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	cfg := &DeviceConfig{Documents: ps, ReaderGroup: testGroup(d)}
	var dev *Device
	var err error
	if d == HomeKey {
		dev, err = NewHomeKeyDevice(testSecret(), cfg)
	} else {
		dev, err = NewStepUpDevice(testStepUpKeys(t), cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// runExchange runs the reader side over a recorder and returns the
// response and the transcript.
func runExchange(t testing.TB, d Dialect, dev *Device, cfg *ReaderConfig) (*DeviceResponse, transporttest.Transcript, error) {
	t.Helper()
	rec := transporttest.NewRecorder(transporttest.NewCard(stepUpApplet(d, dev)))
	resp, err := runExchangeClient(t, d, transport.NewClient(rec, nil), cfg)
	return resp, rec.Transcript(), err
}

// runExchangeClient runs the reader side over c.
func runExchangeClient(t testing.TB, d Dialect, c *transport.Client, cfg *ReaderConfig) (*DeviceResponse, error) {
	t.Helper()
	var resp *DeviceResponse
	var err error
	if d == HomeKey {
		resp, err = ReadHomeKey(context.Background(), c, testSecret(), cfg)
	} else {
		resp, err = ReadStepUp(context.Background(), c, testStepUpKeys(t), cfg)
	}
	return resp, err
}

func TestExchange(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		t.Run(d.String(), func(t *testing.T) {
			doc := testDocument(t, d)
			dev := newTestDevice(t, d, doc)
			resp, tr, err := runExchange(t, d, dev, nil)
			if err != nil {
				t.Fatalf("exchange: %v\n%s", err, tr)
			}
			vs, err := resp.Verify(&VerifyOptions{Issuers: []*IssuerKey{testIssuer(t, d).Key()}, Time: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 || !vs[0].DeviceKey.Equal(mustPub(t, testDeviceKey(t))) {
				t.Fatalf("verified %+v", vs)
			}
			// Only what was requested comes back.
			want := d.DefaultRequest()[0]
			if len(vs[0].Elements) != 1 || vs[0].Elements[0].Identifier != want.NameSpaces[0].Elements[0].Identifier {
				t.Errorf("elements %+v, want only %q", vs[0].Elements, want.NameSpaces[0].Elements[0].Identifier)
			}
			if dev.Err() != nil {
				t.Errorf("device error %v", dev.Err())
			}
		})
	}
}

// TestGoldenExchange records the whole Home Key attestation exchange (and
// the Aliro step-up exchange) with fixed keys, the fixed collision random
// number and fixed issuer randomness, and compares it with the golden
// transcript. Run with -update to rewrite it.
func TestGoldenExchange(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		t.Run(d.String(), func(t *testing.T) {
			setTestRandom(t)
			doc := testDocument(t, d)
			dev := newTestDevice(t, d, doc)
			rec := transporttest.NewRecorder(transporttest.NewCard(stepUpApplet(d, dev)))
			c := transport.NewClient(rec, nil)
			ctx := context.Background()
			var r *RequestReader
			if d == HomeKey {
				rec.Note("SELECT the Home Key configuration applet")
				if err := selectApplet(ctx, c, d); err != nil {
					t.Fatal(err)
				}
				h, err := newHomeKeyReader(testSecret(), nil, 0x0102)
				if err != nil {
					t.Fatal(err)
				}
				rec.Note("ENVELOPE P2 01: NFC handover request / select")
				cmd := h.Command()
				resp, err := c.Do(ctx, &cmd, nil)
				if err != nil {
					t.Fatal(err)
				}
				if r, err = h.Handle(resp); err != nil {
					t.Fatal(err)
				}
			} else {
				rec.Note("SELECT the Aliro step-up applet")
				if err := selectApplet(ctx, c, d); err != nil {
					t.Fatal(err)
				}
				var err error
				if r, err = NewStepUpReader(testStepUpKeys(t), nil); err != nil {
					t.Fatal(err)
				}
			}
			rec.Note("ENVELOPE P2 00: SessionData(DeviceRequest), answered with SessionData(DeviceResponse) by GET RESPONSE")
			cmd := r.Command()
			resp, err := c.Do(ctx, &cmd, nil)
			if err != nil {
				t.Fatal(err)
			}
			dr, err := r.Handle(resp)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dr.Verify(&VerifyOptions{Issuers: []*IssuerKey{testIssuer(t, d).Key()}, Time: fixedNow}); err != nil {
				t.Fatal(err)
			}
			transporttest.CheckGolden(t, filepath.Join("testdata", "golden_"+d.String()+".transcript"), rec.Transcript(), *update)
		})
	}
}

func TestExchangeNegative(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		t.Run(d.String(), func(t *testing.T) {
			doc := testDocument(t, d)

			t.Run("unknown issuer", func(t *testing.T) {
				resp, _, err := runExchange(t, d, newTestDevice(t, d, doc), nil)
				if err != nil {
					t.Fatal(err)
				}
				other, _ := NewIssuer(d)
				_, err = resp.Verify(&VerifyOptions{Issuers: []*IssuerKey{other.Key()}, Time: fixedNow})
				var ve *VerifyError
				if !errors.Is(err, ErrUnknownIssuer) || !errors.As(err, &ve) || ve.Step != StepIssuer {
					t.Errorf("Verify = %v, want ErrUnknownIssuer", err)
				}
			})
			t.Run("issuer key with the right kid", func(t *testing.T) {
				resp, _, err := runExchange(t, d, newTestDevice(t, d, doc), nil)
				if err != nil {
					t.Fatal(err)
				}
				other, _ := NewIssuer(d)
				impostor := other.Key().WithID(testIssuer(t, d).Key().ID())
				if _, err := resp.Verify(&VerifyOptions{Issuers: []*IssuerKey{impostor}, Time: fixedNow}); !errors.Is(err, ErrBadSignature) {
					t.Errorf("Verify = %v, want ErrBadSignature", err)
				}
			})
			t.Run("another device key", func(t *testing.T) {
				resp, _, err := runExchange(t, d, newTestDevice(t, d, doc), nil)
				if err != nil {
					t.Fatal(err)
				}
				other := mustPub(t, fixedKey(t, 0x33))
				_, err = resp.Verify(&VerifyOptions{Issuers: []*IssuerKey{testIssuer(t, d).Key()}, DeviceKey: other, Time: fixedNow})
				if !errors.Is(err, ErrDeviceKeyMismatch) {
					t.Errorf("Verify = %v, want ErrDeviceKeyMismatch", err)
				}
			})
			t.Run("wrong reader group", func(t *testing.T) {
				p, err := NewProvisioned(testGroup(d), doc)
				if err != nil {
					t.Fatal(err)
				}
				other := testGroup(d)
				other[0] ^= 0xFF
				cfg := &DeviceConfig{Documents: []*Provisioned{p}, ReaderGroup: other}
				if d == HomeKey {
					_, err = NewHomeKeyDevice(testSecret(), cfg)
				} else {
					_, err = NewStepUpDevice(testStepUpKeys(t), cfg)
				}
				if !errors.Is(err, ErrNoDocument) {
					t.Errorf("device for another reader group: %v, want ErrNoDocument", err)
				}
			})
			t.Run("wrong secret", func(t *testing.T) {
				dev := newTestDevice(t, d, doc)
				rec := transporttest.NewRecorder(transporttest.NewCard(stepUpApplet(d, dev)))
				c := transport.NewClient(rec, nil)
				var err error
				if d == HomeKey {
					s := testSecret()
					s.b[0] ^= 1
					_, err = ReadHomeKey(context.Background(), c, s, nil)
				} else {
					m := make([]byte, 32)
					k, _ := AliroStepUpKeys(m)
					_, err = ReadStepUp(context.Background(), c, k, nil)
				}
				// The device cannot open the request: it ends the session
				// with status 10, in clear.
				var se *StatusError
				if !errors.As(err, &se) || se.Status != StatusEncryptionError {
					t.Errorf("exchange with the wrong key: %v, want status 10", err)
				}
				if !errors.Is(dev.Err(), ErrDecrypt) || !dev.Done() {
					t.Errorf("device: %v, done %t; want ErrDecrypt", dev.Err(), dev.Done())
				}
			})
			t.Run("GCM tag wrong", func(t *testing.T) {
				for _, side := range []string{"request", "response"} {
					dev := newTestDevice(t, d, doc)
					card := stepUpApplet(d, dev)
					tamper := transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
						c, _ := transport.ParseCommand(cmd)
						if side == "request" && c.INS == insEnvelope && c.P2 == p2SessionData {
							cmd = bytes.Clone(cmd)
							cmd[len(cmd)-2] ^= 0x80 // last tag byte, before Le
						}
						out := card.ProcessAPDU(dst, cmd)
						if side == "response" && c.INS == insEnvelope && c.P2 == p2SessionData && len(out) > 2 {
							out[len(out)-3] ^= 0x80 // last tag byte, before the SW
						}
						return out
					})
					rec := transporttest.NewRecorder(transporttest.NewCard(tamper))
					c := transport.NewClient(rec, &transport.ClientConfig{ExtendedLength: true})
					var err error
					if d == HomeKey {
						_, err = ReadHomeKey(context.Background(), c, testSecret(), nil)
					} else {
						_, err = ReadStepUp(context.Background(), c, testStepUpKeys(t), nil)
					}
					var se *StatusError
					switch side {
					case "request":
						if !errors.As(err, &se) || se.Status != StatusEncryptionError || !errors.Is(dev.Err(), ErrDecrypt) {
							t.Errorf("tampered request: reader %v, device %v", err, dev.Err())
						}
					case "response":
						if !errors.Is(err, ErrDecrypt) {
							t.Errorf("tampered response: %v, want ErrDecrypt", err)
						}
					}
				}
			})
		})
	}
}
