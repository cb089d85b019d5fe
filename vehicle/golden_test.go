package vehicle

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts and key logs in testdata")

// globalRand reads crypto/rand when called, so that it follows
// testing/cryptotest.SetGlobalRandom.
type globalRand struct{}

func (globalRand) Read(b []byte) (int, error) { return rand.Read(b) }

// withDeterminism gives the reader and the applet Rand and their key logs.
func withDeterminism(r io.Reader, vehicleLog, deviceLog io.Writer) worldOption {
	return func(o *worldOptions) {
		o.vehicle = func(c *Config) { c.Rand, c.KeyLog = r, vehicleLog }
		o.device = func(c *device.Config) { c.Rand, c.KeyLog = r, deviceLog }
	}
}

// goldenActions are the transactions of the golden transcripts: a standard
// unlock that writes the immobilizer token by EXCHANGE, a fast unlock, and
// an engine start whose token comes from the AUTH1 subset.
var goldenActions = []dkey.Action{dkey.ActionUnlock, dkey.ActionUnlock, dkey.ActionEngineStart}

// TestGoldenTranscripts records whole transactions between a Reader and an
// Applet with fixed randomness and compares them with the checked-in
// transcripts, so that any change to the bytes on the wire shows, and the
// key log of the reader with testdata/<profile>.keylog, which cmd/dkey and
// package apdutrace decrypt the transcripts with. The protocol randomness
// of both sides (ephemeral keys, transaction identifiers, the key's slot)
// comes through Config.Rand, which reads the stream of
// testing/cryptotest.SetGlobalRandom(t, 1) that the transcripts were first
// recorded under (the key pairs and the ECDSA nonces still come from that
// stream itself): the deterministic mode reproduces the transcripts byte
// for byte. The applet's key log holds the same keys as the reader's.
// Regenerate with go test ./vehicle -run TestGoldenTranscripts -update.
//
// The pools of precomputed ephemeral keys (Config.EphemeralKeys) are off
// by default, and off in the deterministic mode whatever their size: the
// "pools configured" runs, with EphemeralKeys set on both sides, give the
// same bytes.
func TestGoldenTranscripts(t *testing.T) {
	for _, p := range []dkey.Profile{dkey.CCC, dkey.HomeKey} {
		for _, pools := range []bool{false, true} {
			name := p.String()
			opts := []worldOption(nil)
			if pools {
				name += " pools configured"
				opts = append(opts, withPools(4))
			}
			t.Run(name, func(t *testing.T) { goldenTranscript(t, p, opts...) })
		}
	}
}

func goldenTranscript(t *testing.T, p dkey.Profile, opts ...worldOption) {
	cryptotest.SetGlobalRandom(t, 1)
	var vlog, dlog bytes.Buffer
	w := newWorld(t, p, append(opts, withDeterminism(globalRand{}, &vlog, &dlog))...)
	rec := transporttest.NewRecorder(w.card)
	for i, a := range goldenActions {
		rec.Note(a.String())
		res, err := w.reader.Transact(context.Background(), rec, a)
		if err != nil {
			t.Fatalf("%v: %v", a, err)
		}
		if fast := i == 1; res.Fast != fast {
			t.Fatalf("transaction %d (%v): fast %v, want %v", i, a, res.Fast, fast)
		}
	}
	transporttest.CheckGolden(t, "testdata/"+p.String()+".transcript", rec.Transcript(), *update)

	path := filepath.Join("testdata", p.String()+".keylog")
	text := append([]byte("# Session keys of vehicle/testdata/"+p.String()+".transcript, from TestGoldenTranscripts.\n"), vlog.Bytes()...)
	if *update {
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if golden, err := os.ReadFile(path); err != nil || !bytes.Equal(golden, text) {
		t.Errorf("key log differs from %s (%v); run with -update:\n%s", path, err, text)
	}
	// The keys of the two standard transactions (Kenc, Kmac,
	// Krmac, Kpersistent, and URSK for CCC) and the fast keys of
	// the second one (Kenc, Kmac, Krmac).
	lines := strings.Split(strings.TrimSpace(vlog.String()), "\n")
	want := 2*4 + 3
	if p == dkey.CCC {
		want += 2
	}
	if len(lines) != want {
		t.Errorf("reader's key log has %d lines, want %d:\n%s", len(lines), want, vlog.String())
	}
	dlines := strings.Split(strings.TrimSpace(dlog.String()), "\n")
	slices.Sort(lines)
	slices.Sort(dlines)
	if !slices.Equal(lines, dlines) {
		t.Errorf("the applet's key log differs from the reader's:\napplet:\n%s\nreader:\n%s", dlog.String(), vlog.String())
	}
}

// seededRand is a deterministic stream of bytes that is not crypto/rand's.
type seededRand struct{ state [32]byte }

func (s *seededRand) Read(b []byte) (int, error) {
	for i := range b {
		if i%32 == 0 {
			next := s.state
			next[0]++
			for j := range next {
				next[j] ^= byte(j * 37)
			}
			s.state = next
		}
		b[i] = s.state[i%32] ^ byte(i)
	}
	return len(b), nil
}

// TestRandDeterminesTheWire shows that Config.Rand alone decides the
// protocol randomness: two worlds with different keys, each side with a
// fresh reader of the same stream (not crypto/rand), send the same AUTH0
// command (the vehicle's ephemeral key and transaction identifier) and get
// the same AUTH0 response (the endpoint's ephemeral key), and the applets
// derive the same slot; with Rand nil they differ.
func TestRandDeterminesTheWire(t *testing.T) {
	auth0 := func(withRand bool) (cmd, resp string, slot dkey.KeySlot) {
		t.Helper()
		var opts []worldOption
		if withRand {
			opts = append(opts, func(o *worldOptions) {
				o.vehicle = func(c *Config) { c.Rand = &seededRand{} }
				o.device = func(c *device.Config) { c.Rand = &seededRand{state: [32]byte{1}} }
			})
		}
		w := newWorld(t, dkey.CCC, opts...)
		rec := transporttest.NewRecorder(w.card)
		if _, err := w.reader.Transact(context.Background(), rec, dkey.ActionUnlock); err != nil {
			t.Fatal(err)
		}
		for _, ex := range rec.Transcript() {
			if len(ex.Command) > 1 && ex.Command[1] == 0x80 { // AUTH0
				return string(ex.Command), string(ex.Response), w.slot
			}
		}
		t.Fatal("no AUTH0 in the transcript")
		return
	}
	c1, r1, s1 := auth0(true)
	c2, r2, s2 := auth0(true)
	if c1 != c2 || r1 != r2 || s1 != s2 {
		t.Errorf("with the same Rand, AUTH0 %x / %x (slot %v) differs from %x / %x (slot %v)", c1, r1, s1, c2, r2, s2)
	}
	c3, r3, s3 := auth0(false)
	if c1 == c3 || r1 == r3 || s1 == s3 {
		t.Errorf("with Rand nil, AUTH0 or the slot is the same as with Rand: %x / %x (slot %v)", c3, r3, s3)
	}
}

// TestKeyLogOverBLE: the sessions of another interface (BLE, C3) take the
// key logs and the randomness of the configurations too: both sides log
// the same keys of a standard transaction over a BLE link.
func TestKeyLogOverBLE(t *testing.T) {
	var vlog, dlog bytes.Buffer
	w := newR3World(t, func(v *Config, d *device.Config) {
		v.KeyLog, d.KeyLog = &vlog, &dlog
		v.Rand, d.Rand = &seededRand{}, &seededRand{state: [32]byte{1}}
	}, nil)
	if _, err := w.reader.Transact(context.Background(), bleLink(t, w.applet, 0, 0), dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vlog.String(), "TRANSACTION_KENC ") || vlog.String() != dlog.String() {
		t.Errorf("key logs over BLE:\nvehicle:\n%s\ndevice:\n%s", vlog.String(), dlog.String())
	}
}
