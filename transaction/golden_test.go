package transaction_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var update = flag.Bool("update", false, "rewrite the key logs in testdata")

// globalRand reads crypto/rand when called, so that it follows
// testing/cryptotest.SetGlobalRandom.
type globalRand struct{}

func (globalRand) Read(b []byte) (int, error) { return rand.Read(b) }

// TestGoldenTranscripts reproduces the repository's golden transaction
// transcripts, vehicle/testdata/CCC.transcript and HomeKey.transcript, byte
// for byte, with the vehicle's randomness coming through VehicleConfig.Rand.
// Those files were recorded by package vehicle's TestGoldenTranscripts:
// vehicle.Reader against device.Applet, every random value from
// testing/cryptotest.SetGlobalRandom(t, 1) (vehicle/testdata/README.md).
// This test builds the same world in the same order of random draws, with
// a VehicleSession driven as vehicle.Reader drives it for these three
// transactions (unlock: standard, then the immobilizer token written by
// EXCHANGE; unlock: fast; engine start: standard, the token read from the
// AUTH1 subset), Rand reading the seeded stream, and KeyLog set. It then
// checks the key log against testdata/<profile>.keylog, which
// cmd/dkey's trace decoding tests use to decrypt those transcripts.
// Regenerate the key logs with go test ./transaction -run
// TestGoldenTranscripts -update after the vehicle's transcripts changed.
func TestGoldenTranscripts(t *testing.T) {
	for _, p := range []dkey.Profile{dkey.CCC, dkey.HomeKey} {
		t.Run(p.String(), func(t *testing.T) {
			cryptotest.SetGlobalRandom(t, 1)
			vk, err := dkey.GenerateSoftwareKey()
			if err != nil {
				t.Fatal(err)
			}
			vid, _ := dkey.NewVehicleID([]byte("VIN-0001-reader-")[:p.VehicleIDLen()])
			var keyLog bytes.Buffer
			v, err := transaction.NewVehicle(&transaction.VehicleConfig{Profile: p, VehicleID: vid, Key: vk, Rand: globalRand{}, KeyLog: &keyLog})
			if err != nil {
				t.Fatal(err)
			}
			a, err := device.NewApplet(&device.Config{Profile: p})
			if err != nil {
				t.Fatal(err)
			}
			mb := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64, ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16}}
			info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: v.PublicKey(), Mailboxes: mb})
			if err != nil {
				t.Fatal(err)
			}
			token := []byte("immobilizer-0001")
			rec := transporttest.NewRecorder(transporttest.NewCard(a))
			d := &driver{t: t, s: v.NewSession(), c: transport.NewClient(rec, nil)}

			rec.Note(dkey.ActionUnlock.String())
			d.begin(dkey.ActionUnlock, transaction.FlagFast)
			if d.s.HasCryptogram() {
				t.Fatal("cryptogram before any standard transaction")
			}
			pk := d.standard(info.PublicKey)
			d.exchange(transaction.MailboxOp{Kind: transaction.OpWrite, Mailbox: dkey.ConfidentialMailbox, Data: token})
			d.end()

			rec.Note(dkey.ActionUnlock.String())
			d.begin(dkey.ActionUnlock, transaction.FlagFast)
			if d.s.FindFast([]transaction.FastKey{transaction.NewFastKey(info.PublicKey, &pk)}) != 0 {
				t.Fatal("no fast match")
			}
			d.end()

			rec.Note(dkey.ActionEngineStart.String())
			d.begin(dkey.ActionEngineStart, transaction.FlagExchange)
			d.standard(info.PublicKey)
			if !bytes.Equal(d.auth1.Confidential, token) {
				t.Fatalf("AUTH1 subset %x, want the token", d.auth1.Confidential)
			}
			d.end()

			want, err := os.ReadFile(filepath.Join("..", "vehicle", "testdata", p.String()+".transcript"))
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Transcript().String(); got != string(want) {
				t.Fatalf("transcript with Rand differs from vehicle/testdata/%s.transcript:\n%s", p, got)
			}
			path := filepath.Join("testdata", p.String()+".keylog")
			text := append([]byte("# Session keys of vehicle/testdata/"+p.String()+".transcript, from TestGoldenTranscripts.\n"), keyLog.Bytes()...)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, text, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if golden, err := os.ReadFile(path); err != nil || !bytes.Equal(golden, text) {
				t.Errorf("key log differs from %s (%v); run with -update:\n%s", path, err, text)
			}
		})
	}
}

// driver runs a VehicleSession over a transport.Client, failing the test on
// any error.
type driver struct {
	t     *testing.T
	s     *transaction.VehicleSession
	c     *transport.Client
	auth1 transaction.Auth1Result
}

func (d *driver) do(cmd transport.Command) transport.Response {
	d.t.Helper()
	r, err := d.c.Do(context.Background(), &cmd, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}

func (d *driver) check(err error) {
	d.t.Helper()
	if err != nil {
		d.t.Fatal(err)
	}
}

func (d *driver) begin(a dkey.Action, f transaction.Flags) {
	d.t.Helper()
	d.check(d.s.Start(a, f))
	d.check(d.s.ReadSelect(d.do(d.s.Select())))
	cmd, err := d.s.Auth0()
	d.check(err)
	d.check(d.s.ReadAuth0(d.do(cmd)))
}

func (d *driver) standard(endpoint *dkey.PublicKey) transaction.PersistentKey {
	d.t.Helper()
	cmd, err := d.s.Auth1()
	d.check(err)
	d.auth1, err = d.s.ReadAuth1(d.do(cmd))
	d.check(err)
	pk, err := d.s.VerifyEndpoint(endpoint)
	d.check(err)
	return pk
}

func (d *driver) exchange(ops ...transaction.MailboxOp) {
	d.t.Helper()
	cmd, err := d.s.Exchange(ops)
	d.check(err)
	_, err = d.s.ReadExchange(d.do(cmd))
	d.check(err)
}

func (d *driver) end() {
	d.t.Helper()
	r := d.do(d.s.ControlFlow(transaction.CFSuccess))
	d.check(r.SW.Err())
	d.s.Close()
}
