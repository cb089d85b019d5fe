package pairing

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// fuzzParser checks one message parser: no panic, and whatever parses
// encodes back to the same bytes (the encoding is canonical).
func fuzzParser(f *testing.F, kind string) {
	for _, k := range kinds {
		if k.name != kind {
			continue
		}
		r := rand.New(rand.NewPCG(5, 6))
		for range 8 {
			f.Add(k.random(r).append(nil))
		}
		f.Fuzz(func(t *testing.T, b []byte) {
			m := k.new()
			if !m.unmarshal(b) {
				return
			}
			if re := m.append(nil); !bytes.Equal(re, b) {
				t.Fatalf("%s: unmarshal(%x) then append = %x", kind, b, re)
			}
		})
		return
	}
	f.Fatalf("unknown kind %q", kind)
}

func FuzzSelectResponse(f *testing.F)   { fuzzParser(f, "select") }
func FuzzSpakeRequest(f *testing.F)     { fuzzParser(f, "request") }
func FuzzSpakeResponse(f *testing.F)    { fuzzParser(f, "response") }
func FuzzVerifyCommand(f *testing.F)    { fuzzParser(f, "verify") }
func FuzzVerifyResponse(f *testing.F)   { fuzzParser(f, "verify response") }
func FuzzMailboxMapping(f *testing.F)   { fuzzParser(f, "7F4D") }
func FuzzKeyConfiguration(f *testing.F) { fuzzParser(f, "7F4E") }

func FuzzParseVerifier(f *testing.F) {
	v, err := NewVerifier([]byte("1"), make([]byte, SaltSize), fastParams)
	if err != nil {
		f.Fatal(err)
	}
	b, _ := v.MarshalBinary()
	f.Add(b)
	f.Add(b[:VerifierSize-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVerifier(b)
		if err != nil {
			return
		}
		re, err := v.MarshalBinary()
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("ParseVerifier(%x) then MarshalBinary = %x, %v", b, re, err)
		}
	})
}

// fuzzPKI is built once: issuing certificates on every input would slow
// the fuzzer down for nothing.
var (
	fuzzPKIOnce sync.Once
	fuzzPKI     *testPKI
)

func fuzzFixture(t testing.TB) *fixture {
	fuzzPKIOnce.Do(func() { fuzzPKI = newPKI(t, false) })
	v, err := NewVerifier([]byte("123456"), []byte("0123456789abcdef"), fastParams)
	if err != nil {
		t.Fatal(err)
	}
	card := &deviceCard{cfg: fuzzPKI.deviceConfig(), store: newMemStore(), password: []byte("123456")}
	return &fixture{pki: fuzzPKI, verifier: v, vcfg: fuzzPKI.vehicleConfig(), card: card, link: transporttest.NewCard(transport.NewChainingCard(card))}
}

// change returns b with repl in place of it when repl is not empty,
// otherwise with xor applied at pos (modulo the length).
func change(b []byte, pos uint16, xor byte, repl []byte) []byte {
	if len(repl) > 0 {
		return bytes.Clone(repl)
	}
	b = bytes.Clone(b)
	if len(b) > 0 {
		b[int(pos)%len(b)] ^= xor
	}
	return b
}

// FuzzPairingVehicle drives the vehicle core against a live device, with
// the response to the step-th command replaced by arbitrary bytes (repl) or
// changed in one byte. The vehicle never panics; it completes only when
// the device committed the same key, and never when an authenticated or
// exact response (anything after SELECT) was changed.
func FuzzPairingVehicle(f *testing.F) {
	for step := range uint8(20) {
		f.Add(step, uint16(7), byte(0x01), []byte(nil))
	}
	f.Add(uint8(0), uint16(0), byte(0x01), []byte{0x5B, 0x02, 0x01, 0x00, 0x5C, 0x02, 0x01, 0x00, 0xD4, 0x01, 0x02, 0x90, 0x00})
	f.Add(uint8(2), uint16(0), byte(0), []byte{0x90, 0x00})
	f.Add(uint8(9), uint16(0), byte(0), []byte{0x61, 0x10})
	f.Fuzz(func(t *testing.T, step uint8, pos uint16, xor byte, repl []byte) {
		fx := fuzzFixture(t)
		tc := fx.withTamper()
		n, changed := 0, false
		tc.resp = func(cmd, resp []byte) []byte {
			n++
			if n-1 != int(step) {
				return resp
			}
			out := change(resp, pos, xor, repl)
			changed = !bytes.Equal(out, resp)
			return out
		}
		p, err := NewVehicleSession(fx.vcfg, fx.verifier)
		if err != nil {
			t.Fatal(err)
		}
		res, err := drive(context.Background(), fx.link, p)
		committed := fx.card.store.committed
		switch {
		case err != nil && res != nil:
			t.Fatalf("result %+v with error %v", res, err)
		case err == nil && changed && step > 0:
			t.Fatalf("pairing succeeded with response %d changed", step)
		case err == nil && (len(committed) != 1 || !committed[0].PublicKey.Equal(res.PublicKey) || committed[0].Slot != res.Slot):
			t.Fatalf("vehicle enrolled %v, device committed %d keys", res.Slot, len(committed))
		case err != nil && len(fx.card.store.live) != len(committed):
			t.Fatalf("failed pairing: %d keys in the secure element, %d committed", len(fx.card.store.live), len(committed))
		}
	})
}

// FuzzPairingDevice drives the device core. With step < 0x80 the vehicle
// is live and its step-th command is replaced by arbitrary bytes (repl) or
// changed in one byte; otherwise repl is a sequence of arbitrary commands
// (each with a one-byte length) fed to a fresh run with the password
// entered. The device never panics, never leaves an uncommitted key in the
// secure element, never commits a key the vehicle did not verify, and
// never commits one from arbitrary commands.
func FuzzPairingDevice(f *testing.F) {
	for step := range uint8(20) {
		f.Add(step, uint16(9), byte(0x80), []byte(nil))
	}
	f.Add(uint8(19), uint16(2), byte(0x03), []byte(nil)) // 11 11 → 12 12
	if tr, err := os.ReadFile(filepath.Join("testdata", "pairing-own-share.txt")); err == nil {
		if x, err := transporttest.ParseTranscript(tr); err == nil {
			var seq []byte
			for _, e := range x {
				if len(e.Command) < 256 {
					seq = append(append(seq, byte(len(e.Command))), e.Command...)
				}
			}
			f.Add(uint8(0x80), uint16(0), byte(0), seq)
		}
	}
	f.Fuzz(func(t *testing.T, step uint8, pos uint16, xor byte, repl []byte) {
		fx := fuzzFixture(t)
		if step >= 0x80 {
			d, err := NewDeviceSession(fx.card.cfg, fx.card.store, []byte("123456"))
			if err != nil {
				t.Fatal(err)
			}
			for len(repl) > 0 {
				n := min(int(repl[0]), len(repl)-1)
				cmd, err := transport.ParseCommand(repl[1 : 1+n])
				repl = repl[1+n:]
				if err != nil || cmd.CLA == claISO {
					continue
				}
				_, _ = d.Process(nil, &cmd)
			}
			d.Close()
			if len(fx.card.store.committed) != 0 || len(fx.card.store.live) != 0 {
				t.Fatalf("arbitrary commands: %d committed, %d in the secure element", len(fx.card.store.committed), len(fx.card.store.live))
			}
			return
		}
		tc := fx.withTamper()
		n := 0
		tc.cmd = func(apdu []byte) {
			n++
			if n-1 != int(step) {
				return
			}
			out := change(apdu, pos, xor, repl)
			// The command is changed in place; a replacement of another
			// length is cut or padded to fit.
			copy(apdu, out)
		}
		p, err := NewVehicleSession(fx.vcfg, fx.verifier)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := drive(context.Background(), fx.link, p)
		fx.card.Reset()
		committed := fx.card.store.committed
		switch {
		case len(fx.card.store.live) != len(committed):
			t.Fatalf("%d keys in the secure element, %d committed", len(fx.card.store.live), len(committed))
		case len(committed) > 1:
			t.Fatalf("%d keys committed", len(committed))
		case len(committed) == 1 && (res == nil || !committed[0].PublicKey.Equal(res.PublicKey)):
			t.Fatalf("device committed a key the vehicle did not verify")
		}
	})
}
