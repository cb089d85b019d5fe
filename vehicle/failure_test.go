package vehicle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// mitm sits between the reader and the card and may rewrite what crosses.
type mitm struct {
	inner    transport.Transceiver
	n        int
	command  func(i int, cmd []byte) []byte
	response func(i int, cmd, resp []byte) []byte
	// sent records the commands the card received.
	sent [][]byte
}

func (m *mitm) Transceive(ctx context.Context, dst, cmd []byte) ([]byte, error) {
	i := m.n
	m.n++
	if m.command != nil {
		cmd = m.command(i, bytes.Clone(cmd))
	}
	m.sent = append(m.sent, bytes.Clone(cmd))
	start := len(dst)
	out, err := m.inner.Transceive(ctx, dst, cmd)
	if err != nil || m.response == nil {
		return out, err
	}
	resp := m.response(i, cmd, bytes.Clone(out[start:]))
	return append(out[:start], resp...), nil
}

// ins returns the instruction byte of an APDU.
func ins(apdu []byte) byte {
	if len(apdu) < 2 {
		return 0
	}
	return apdu[1]
}

// snapshot is the stored state a failed transaction must not change.
type snapshot struct {
	reader []KeyInfo
	fast   []transaction.FastKey
	device []device.KeyInfo
}

func (w *world) snapshot() snapshot {
	s := snapshot{reader: w.reader.Keys(), device: w.applet.Keys()}
	w.reader.mu.Lock()
	s.fast = append([]transaction.FastKey(nil), w.reader.fast...)
	w.reader.mu.Unlock()
	for i := range s.device {
		s.device[i].LastControlFlow = 0 // the device records every outcome
	}
	return s
}

func (w *world) assertUnchanged(t *testing.T, before snapshot) {
	t.Helper()
	after := w.snapshot()
	if fmt.Sprint(before.reader) != fmt.Sprint(after.reader) {
		t.Errorf("reader keys changed:\n%v\n%v", before.reader, after.reader)
	}
	if len(before.fast) != len(after.fast) {
		t.Fatalf("reader has %d fast keys, had %d", len(after.fast), len(before.fast))
	}
	for i := range before.fast {
		if before.fast[i] != after.fast[i] {
			t.Errorf("reader Kpersistent of key %d changed", i)
		}
	}
	if fmt.Sprint(before.device) != fmt.Sprint(after.device) {
		t.Errorf("device keys changed:\n%v\n%v", before.device, after.device)
	}
}

// assertFastWorks checks that vehicle and device still share Kpersistent: an
// unlock goes fast.
func (w *world) assertFastWorks(t *testing.T) {
	t.Helper()
	res, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock)
	if err != nil || !res.Fast {
		t.Fatalf("unlock after the failure: fast=%v, %v; vehicle and device no longer agree on Kpersistent", res.Fast, err)
	}
}

// warm runs a standard transaction so both sides hold Kpersistent and the
// immobilizer token is provisioned.
func warm(t *testing.T, w *world) {
	t.Helper()
	if _, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
}

// expectFailure runs action through m and checks the error, the CONTROL
// FLOW code the reader sent (and the device received), and that nothing
// stored changed.
func expectFailure(t *testing.T, w *world, m *mitm, action dkey.Action, wantErr error, wantCF transaction.ControlFlow) Result {
	t.Helper()
	before := w.snapshot()
	m.inner = w.card
	res, err := w.reader.Transact(context.Background(), m, action)
	if !errors.Is(err, wantErr) {
		t.Fatalf("Transact error = %v, want %v", err, wantErr)
	}
	if res.Err != err || res.OK() {
		t.Errorf("Result.Err = %v", res.Err)
	}
	if res.ControlFlow != wantCF {
		t.Errorf("CONTROL FLOW = %v, want %v", res.ControlFlow, wantCF)
	}
	last := m.sent[len(m.sent)-1]
	if ins(last) != 0x3C || len(last) != 4 || transaction.ControlFlow(uint16(last[2])<<8|uint16(last[3])) != wantCF {
		t.Errorf("last command sent = %X, want CONTROL FLOW %v", last, wantCF)
	}
	w.assertUnchanged(t, before)
	return res
}

func TestFailureSignatureFromUnenrolledKey(t *testing.T) {
	// The device holds a key the vehicle never enrolled.
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	// A second device with a key for this vehicle, unknown to the reader.
	other, err := device.NewApplet(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateKey(device.KeyConfig{VehicleID: w.reader.ID(), VehicleKey: w.reader.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	before := w.snapshot()
	m := &mitm{inner: newCardFor(other)}
	res, err := w.reader.Transact(context.Background(), m, dkey.ActionUnlock)
	if !errors.Is(err, dkey.ErrUnknownKey) || res.ControlFlow != transaction.CFKeyNotFound {
		t.Fatalf("unenrolled key: %v, CONTROL FLOW %v", err, res.ControlFlow)
	}
	w.assertUnchanged(t, before)
	if keys, _ := other.Key(w.reader.ID()); keys.HasPersistent {
		t.Error("refused device committed a Kpersistent")
	}
	w.assertFastWorks(t)
}

func TestFailureAuth1Replayed(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	// Record the AUTH1 command of one transaction (engine start: standard).
	var recorded []byte
	rec := &mitm{command: func(i int, cmd []byte) []byte {
		if ins(cmd) == 0x81 {
			recorded = bytes.Clone(cmd)
		}
		return cmd
	}, inner: w.card}
	if _, err := w.reader.Transact(context.Background(), rec, dkey.ActionEngineStart); err != nil {
		t.Fatal(err)
	}
	// Replay it in the next one.
	m := &mitm{command: func(i int, cmd []byte) []byte {
		if ins(cmd) == 0x81 {
			return recorded
		}
		return cmd
	}}
	expectFailure(t, w, m, dkey.ActionEngineStart, dkey.SWSecurityNotSatisfied, transaction.CFFailure)
	w.assertFastWorks(t)
}

func TestFailureTamperedCryptogram(t *testing.T) {
	w := newWorld(t, dkey.HomeKey)
	warm(t, w)
	// A flipped cryptogram bit matches no key: the reader falls back to a
	// standard transaction, which the attacker cannot complete here because
	// the card leaves after AUTH0.
	m := &mitm{response: func(i int, cmd, resp []byte) []byte {
		if ins(cmd) == 0x80 && len(resp) > 20 {
			resp[len(resp)-3] ^= 0x01 // last byte of the cryptogram
		}
		return resp
	}, command: func(i int, cmd []byte) []byte {
		if ins(cmd) == 0x81 {
			return cmd[:3] // the standard fallback is cut
		}
		return cmd
	}}
	res := expectFailure(t, w, m, dkey.ActionUnlock, dkey.SWWrongLength, transaction.CFFailure)
	if res.Fast {
		t.Error("tampered cryptogram accepted")
	}
	w.assertFastWorks(t)
	// With the link intact the fallback succeeds, standard.
	m = &mitm{inner: w.card, response: m.response}
	res, err := w.reader.Transact(context.Background(), m, dkey.ActionUnlock)
	if err != nil || res.Fast {
		t.Errorf("tampered cryptogram with intact link: fast=%v, %v", res.Fast, err)
	}
}

func TestFailureAuth1ResponseFlipped(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	// Learn the AUTH1 response length.
	var n int
	probe := &mitm{inner: w.card, response: func(i int, cmd, resp []byte) []byte {
		if ins(cmd) == 0x81 {
			n = len(resp) - 2
		}
		return resp
	}}
	if _, err := w.reader.Transact(context.Background(), probe, dkey.ActionEngineStart); err != nil {
		t.Fatal(err)
	}
	for pos := 0; pos < n; pos++ {
		t.Run(fmt.Sprint(pos), func(t *testing.T) {
			m := &mitm{response: func(i int, cmd, resp []byte) []byte {
				if ins(cmd) == 0x81 {
					resp[pos] ^= 0x80
				}
				return resp
			}}
			expectFailure(t, w, m, dkey.ActionEngineStart, transaction.ErrChannel, transaction.CFInvalidChannel)
		})
	}
	w.assertFastWorks(t)
}

func TestFailureDowngrade(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	// The AUTH0 command names version 2.0, which the CCC endpoint never
	// offered.
	m := &mitm{command: func(i int, cmd []byte) []byte {
		if ins(cmd) == 0x80 {
			cmd[7], cmd[8] = 0x02, 0x00 // 5C 02 <version>
		}
		return cmd
	}}
	expectFailure(t, w, m, dkey.ActionUnlock, dkey.SWWrongData, transaction.CFFailure)
	// The SELECT response rewritten to offer only a version the vehicle does
	// not speak.
	m = &mitm{response: func(i int, cmd, resp []byte) []byte {
		if ins(cmd) == 0xA4 {
			return []byte{0x5C, 0x02, 0x03, 0x00, 0x90, 0x00}
		}
		return resp
	}}
	expectFailure(t, w, m, dkey.ActionUnlock, transaction.ErrVersion, transaction.CFInvalidDataFormat)
	w.assertFastWorks(t)
}

func TestFailureUnknownVehicleID(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	m := &mitm{command: func(i int, cmd []byte) []byte {
		if ins(cmd) == 0x80 {
			cmd[len(cmd)-2] ^= 0xFF // last byte of the vehicle identifier
		}
		return cmd
	}}
	expectFailure(t, w, m, dkey.ActionUnlock, dkey.SWFileNotFound, transaction.CFFailure)
	w.assertFastWorks(t)
}

func TestFailureSuspendedKey(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	t.Run("device", func(t *testing.T) {
		if err := w.applet.Suspend(w.reader.ID()); err != nil {
			t.Fatal(err)
		}
		res := expectFailure(t, w, &mitm{}, dkey.ActionUnlock, dkey.SWConditionsNotSatisfied, transaction.CFFailure)
		if !errors.Is(res.Err, ErrRefused) {
			t.Errorf("error %v does not wrap ErrRefused", res.Err)
		}
		if err := w.applet.Resume(w.reader.ID()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("lost mode", func(t *testing.T) {
		w.applet.SetLostMode(true)
		expectFailure(t, w, &mitm{}, dkey.ActionEngineStart, dkey.SWConditionsNotSatisfied, transaction.CFFailure)
		w.applet.SetLostMode(false)
	})
	t.Run("vehicle", func(t *testing.T) {
		if err := w.reader.SetState(w.slot, dkey.KeySuspended); err != nil {
			t.Fatal(err)
		}
		for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionEngineStart} {
			expectFailure(t, w, &mitm{}, a, dkey.ErrKeySuspended, transaction.CFFailure)
		}
		if err := w.reader.SetState(w.slot, dkey.KeyActive); err != nil {
			t.Fatal(err)
		}
	})
	w.assertFastWorks(t)
}

func TestFailureTerminatedKey(t *testing.T) {
	t.Run("device", func(t *testing.T) {
		w := newWorld(t, dkey.CCC)
		warm(t, w)
		if err := w.applet.Terminate(w.reader.ID()); err != nil {
			t.Fatal(err)
		}
		// The vehicle has not heard of it; the key still never transacts.
		for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionEngineStart} {
			expectFailure(t, w, &mitm{}, a, dkey.SWFileNotFound, transaction.CFFailure)
		}
		if err := w.applet.Resume(w.reader.ID()); !errors.Is(err, dkey.ErrUnknownVehicle) {
			t.Errorf("Resume of a terminated key = %v", err)
		}
		if _, err := w.applet.CreateKey(device.KeyConfig{VehicleID: w.reader.ID(), VehicleKey: w.reader.PublicKey()}); err != nil {
			t.Errorf("a new key after termination: %v", err)
		}
	})
	t.Run("vehicle", func(t *testing.T) {
		w := newWorld(t, dkey.CCC)
		warm(t, w)
		if err := w.reader.Remove(w.slot); err != nil {
			t.Fatal(err)
		}
		// The removed key proves itself and is told to delete itself.
		res, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock)
		if !errors.Is(err, dkey.ErrKeyTerminated) || res.ControlFlow != transaction.CFKeyDeleted || res.Slot != w.slot {
			t.Fatalf("removed key: %v, CONTROL FLOW %v", err, res.ControlFlow)
		}
		// The device suspends the key and flags it; the host app terminates it.
		keys := w.applet.Keys()
		if len(keys) != 1 || keys[0].State != dkey.KeySuspended || !keys[0].VehicleDeleted {
			t.Fatalf("device keys after 00A0: %+v", keys)
		}
		_, err = w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock)
		if !errors.Is(err, dkey.SWConditionsNotSatisfied) {
			t.Errorf("transaction with the suspended key: %v", err)
		}
		if err := w.applet.Terminate(w.reader.ID()); err != nil {
			t.Fatal(err)
		}
		_, err = w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock)
		if !errors.Is(err, dkey.SWFileNotFound) {
			t.Errorf("transaction with the deleted key: %v", err)
		}
	})
}

func TestFailureExpressModeOff(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, dkey.CCC, withDeviceTime(func() time.Time { return now }))
	warm(t, w)
	if err := w.applet.SetExpress(w.reader.ID(), false); err != nil {
		t.Fatal(err)
	}
	expectFailure(t, w, &mitm{}, dkey.ActionUnlock, dkey.SWConditionsNotSatisfied, transaction.CFFailure)
	w.applet.AuthenticateUser(now.Add(30 * time.Second))
	if res, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock); err != nil || !res.Fast {
		t.Fatalf("unlock after user authentication: %v", err)
	}
	now = now.Add(31 * time.Second)
	expectFailure(t, w, &mitm{}, dkey.ActionUnlock, dkey.SWConditionsNotSatisfied, transaction.CFFailure)
}

func TestFailureStaleExchangeCounter(t *testing.T) {
	// Tokens read by EXCHANGE (no AUTH1 subset): the attacker sends the
	// vehicle's EXCHANGE twice and returns the second answer.
	w := newWorld(t, dkey.CCC, withoutAuth1Subset())
	warm(t, w)
	var card transport.Transceiver
	m := &mitm{}
	m.response = func(i int, cmd, resp []byte) []byte {
		if ins(cmd) != 0xC9 {
			return resp
		}
		again, err := card.Transceive(context.Background(), nil, cmd)
		if err != nil {
			t.Fatal(err)
		}
		return again
	}
	card = w.card
	expectFailure(t, w, m, dkey.ActionEngineStart, dkey.SWSecureMessagingIncorrect, transaction.CFFailure)
	w.assertFastWorks(t)
}

// typedFailure reports whether err is one of the documented failures of a
// transaction with a misbehaving card or link.
func typedFailure(err error) bool {
	var sw dkey.StatusWord
	for _, want := range []error{transaction.ErrMalformed, transaction.ErrChannel, transaction.ErrVersion, transport.ErrProtocol, ErrImmobilizer} {
		if errors.Is(err, want) {
			return true
		}
	}
	return errors.As(err, &sw)
}

func TestFailureMalformedAPDUs(t *testing.T) {
	w := newWorld(t, dkey.CCC, withoutAuth1Subset())
	warm(t, w)
	steps := []struct {
		name string
		ins  byte
	}{{"SELECT", 0xA4}, {"AUTH0", 0x80}, {"AUTH1", 0x81}, {"EXCHANGE", 0xC9}, {"CONTROL FLOW", 0x3C}}
	mutations := []struct {
		name string
		f    func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-2] }},
		{"one byte", func(b []byte) []byte { return b[:1] }},
		{"oversized", func(b []byte) []byte { return append(b, bytes.Repeat([]byte{0xAB}, 300)...) }},
	}
	for _, st := range steps {
		for _, mu := range mutations {
			for _, side := range []string{"command", "response"} {
				t.Run(side+"/"+st.name+"/"+mu.name, func(t *testing.T) {
					before := w.snapshot()
					m := &mitm{inner: w.card}
					if side == "command" {
						m.command = func(i int, cmd []byte) []byte {
							if ins(cmd) == st.ins {
								return mu.f(cmd)
							}
							return cmd
						}
					} else {
						m.response = func(i int, cmd, resp []byte) []byte {
							if ins(cmd) == st.ins {
								return mu.f(resp)
							}
							return resp
						}
					}
					res, err := w.reader.Transact(context.Background(), m, dkey.ActionEngineStart)
					if st.ins == 0x3C {
						// Everything before CONTROL FLOW succeeded: the
						// vehicle acts on it; nobody commits a new Kpersistent.
						if err != nil || res.ControlFlowDelivered {
							t.Fatalf("mutated CONTROL FLOW: delivered=%v, %v", res.ControlFlowDelivered, err)
						}
						if side == "response" {
							// The device received CONTROL FLOW and committed;
							// the vehicle never saw the acknowledgement and did
							// not. The next unlock falls back to a standard
							// transaction, which brings them together again.
							if _, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock); err != nil {
								t.Fatal(err)
							}
							w.assertFastWorks(t)
							return
						}
					} else {
						if err == nil || res.OK() || !typedFailure(err) {
							t.Fatalf("mutated %s %s: %v, want a typed failure", st.name, side, err)
						}
						if res.ControlFlow.Success() {
							t.Errorf("failure reported to the device as %v", res.ControlFlow)
						}
						last := m.sent[len(m.sent)-1]
						if ins(last) != 0x3C || transaction.ControlFlow(uint16(last[2])<<8|uint16(last[3])) != res.ControlFlow {
							t.Errorf("last command %X is not the CONTROL FLOW %v", last, res.ControlFlow)
						}
					}
					after := w.snapshot()
					for i := range before.fast {
						if before.fast[i] != after.fast[i] {
							t.Errorf("Kpersistent changed")
						}
					}
					if fmt.Sprint(before.device) != fmt.Sprint(after.device) && st.ins != 0x3C {
						t.Errorf("device keys changed:\n%v\n%v", before.device, after.device)
					}
				})
			}
		}
	}
	w.assertFastWorks(t)
}

func TestFailureWrongImmobilizerToken(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	// Someone rewrote the token in the confidential mailbox: only the
	// vehicle can, so simulate it by enrolling a different expected token.
	w.reader.mu.Lock()
	w.reader.keys[0].token = []byte("immobilizer-9999")
	w.reader.mu.Unlock()
	expectFailure(t, w, &mitm{}, dkey.ActionEngineStart, ErrImmobilizer, transaction.CFInvalidDataContent)
	// Unlock does not read the token.
	w.assertFastWorks(t)
}

func TestFailureNotEntitled(t *testing.T) {
	w := newWorld(t, dkey.CCC, withProfile(dkey.AccessProfile{Entitlements: dkey.AccessOnly, MaxSpeed: 80}))
	warm(t, w)
	res := expectFailure(t, w, &mitm{}, dkey.ActionEngineStart, dkey.ErrNotEntitled, transaction.CFFailure)
	if res.Profile.MaxSpeed != 80 || res.Slot != w.slot {
		t.Errorf("result = %+v", res)
	}
	w.assertFastWorks(t)
}

func TestFailureExpiredKey(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, dkey.CCC, withReaderTime(func() time.Time { return now }), withValidity(now.Add(-time.Hour), now.Add(time.Hour)))
	warm(t, w)
	now = now.Add(2 * time.Hour)
	for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionEngineStart} {
		expectFailure(t, w, &mitm{}, a, dkey.ErrKeyExpired, transaction.CFKeyExpired)
	}
}

func TestFailureCardRemoved(t *testing.T) {
	w := newWorld(t, dkey.CCC, withoutAuth1Subset())
	warm(t, w)
	for _, step := range []byte{0xA4, 0x80, 0x81, 0xC9} {
		t.Run(fmt.Sprintf("%02X", step), func(t *testing.T) {
			before := w.snapshot()
			m := &mitm{inner: w.card, command: func(i int, cmd []byte) []byte {
				if ins(cmd) == step {
					w.card.Remove()
				}
				return cmd
			}}
			_, err := w.reader.Transact(context.Background(), m, dkey.ActionEngineStart)
			w.card.Insert()
			if !errors.Is(err, transport.ErrCardRemoved) {
				t.Fatalf("error = %v, want ErrCardRemoved", err)
			}
			w.assertUnchanged(t, before)
		})
	}
	w.assertFastWorks(t)
}

// TestFailureControlFlowRewritten: a relay lets a genuine standard
// transaction run and rewrites its final CONTROL FLOW into "key deleted".
// The device must not lose its key: it suspends it and flags it, and the host
// app resumes it.
func TestFailureControlFlowRewritten(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	m := &mitm{inner: w.card, command: func(i int, cmd []byte) []byte {
		if ins(cmd) == 0x3C {
			return []byte{0x80, 0x3C, 0x00, 0xA0}
		}
		return cmd
	}}
	if _, err := w.reader.Transact(context.Background(), m, dkey.ActionEngineStart); err != nil {
		t.Fatal(err)
	}
	info, ok := w.applet.Key(w.reader.ID())
	if !ok || info.State != dkey.KeySuspended || !info.VehicleDeleted || !info.HasPersistent {
		t.Fatalf("key after a rewritten CONTROL FLOW = %+v", info)
	}
	if err := w.applet.Resume(w.reader.ID()); err != nil {
		t.Fatal(err)
	}
	// The vehicle committed the new Kpersistent (the device acknowledged
	// what it received), the device did not: the next unlock falls back to
	// a standard transaction, which brings them together again.
	res, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock)
	if err != nil || res.Fast {
		t.Fatalf("unlock after the relay: fast=%v, %v", res.Fast, err)
	}
	w.assertFastWorks(t)
}

// TestControlFlowLost: the phone leaves the field right after the vehicle
// authenticated it. The transaction succeeds (the vehicle acts on it), the
// CONTROL FLOW is reported undelivered, and both sides keep their old
// Kpersistent, so the next unlock is fast.
func TestControlFlowLost(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	before := w.snapshot()
	m := &mitm{inner: w.card, command: func(i int, cmd []byte) []byte {
		if ins(cmd) == 0x3C {
			w.card.Remove()
		}
		return cmd
	}}
	res, err := w.reader.Transact(context.Background(), m, dkey.ActionEngineStart)
	w.card.Insert()
	if err != nil || !res.OK() || res.ControlFlowDelivered || res.Slot != w.slot {
		t.Fatalf("engine start without CONTROL FLOW: %+v, %v", res, err)
	}
	after := w.snapshot()
	for i := range before.fast {
		if before.fast[i] != after.fast[i] {
			t.Errorf("Kpersistent committed without an acknowledged CONTROL FLOW")
		}
	}
	w.assertFastWorks(t)
}

// everyControlFlow is every CONTROL FLOW code the protocol defines
// (docs/protocol.md §4.9), and two it does not.
var everyControlFlow = []transaction.ControlFlow{
	transaction.CFFailure, transaction.CFKeyNotFound, transaction.CFKeyExpired, transaction.CFKeyNotTrusted,
	transaction.CFInvalidSignature, transaction.CFInvalidChannel, transaction.CFInvalidDataFormat,
	transaction.CFInvalidDataContent, transaction.CFKeyDeleted, transaction.CFDoorOpen, transaction.CFSuccess,
	transaction.CFSuccessFirstApproach, transaction.CFPairingComplete, transaction.CFTracked, transaction.CFNotTracked,
	transaction.CFTokenRefill, transaction.CFDeleteAttestation, transaction.CFServiceData, transaction.CFReceiptInDevice,
	transaction.CFReceiptInCar, transaction.CFMoreTime, transaction.CFLongProcessing, 0x4084, 0xFFFF,
}

// TestFailureForgedControlFlowAfterCorruptedResponse extends the tamper
// matrix to the statement area (issue 12, finding 3): the owner's device
// queued a termination; a relay flips a bit of one response the car
// receives before the vehicle acknowledged the area (SELECT, AUTH0,
// AUTH1, the EXCHANGE that reads the area), and replaces the car's final
// CONTROL FLOW with each code in turn. The car fails and records nothing;
// the device keeps its statement area, whatever the code; the next clean
// transaction consumes it.
func TestFailureForgedControlFlowAfterCorruptedResponse(t *testing.T) {
	kc := pairing.DefaultOwnerKeyConfig()
	victim := newPairPhone(t)
	w := newShareWorld(t, shareOptions{keyConfig: &kc, phones: []*pairPhone{newPairPhone(t), victim}})
	vid := w.reader.ID()
	w.owner.applet.AuthenticateUser(pairNow.Add(time.Hour))
	vic := w.share(t, w.owner, victim, unlockOnly())
	if _, _, err := w.transact(victim, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	if _, err := w.owner.applet.TerminateShared(&sharing.Termination{Vehicle: vid, Slot: vic.Attestation.FriendSlot, Key: vic.Attestation.FriendKey}); err != nil {
		t.Fatal(err)
	}
	area := w.area(t, w.owner)
	// The responses before the acknowledgement: SELECT, AUTH0, AUTH1 and
	// the EXCHANGE reading the rest of the area (the first EXCHANGE: the
	// header came in AUTH1).
	responses := []byte{0xA4, 0x80, 0x81, 0xC9}
	n := 0
	for _, at := range responses {
		for _, bit := range []int{0, -3} { // the first byte, and the last before the status word
			for _, cf := range everyControlFlow {
				before := w.state()
				m := &mitm{
					command: func(i int, cmd []byte) []byte {
						if ins(cmd) == 0x3C {
							return []byte{0x80, 0x3C, byte(cf >> 8), byte(cf)}
						}
						return cmd
					},
					response: func(i int, cmd, resp []byte) []byte {
						if ins(cmd) == at && len(resp) > 2 {
							resp[(len(resp)+bit)%len(resp)] ^= 0x01
						}
						return resp
					},
				}
				m.inner = w.owner.card
				res, err := w.reader.Transact(context.Background(), m, dkey.ActionEngineStart)
				n++
				if err == nil || res.OK() {
					t.Fatalf("response to %02X corrupted at %d, CONTROL FLOW %v: the car succeeded", at, bit, cf)
				}
				if got := w.area(t, w.owner); !bytes.Equal(got, area) {
					t.Fatalf("response to %02X corrupted at %d, forged CONTROL FLOW %v: the statement area was erased", at, bit, cf)
				}
				if after := w.state(); after != before {
					t.Fatalf("response to %02X corrupted at %d, CONTROL FLOW %v: the reader changed:\n%v\n%v", at, bit, cf, before, after)
				}
				if info, _ := w.owner.applet.Key(vid); info.VehicleDeleted {
					// The forged 00A0 suspended the key; the host app
					// resumes it.
					if err := w.owner.applet.Resume(vid); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	t.Logf("%d tampered transactions", n)
	res, _, err := w.transact(w.owner, dkey.ActionEngineStart)
	if err != nil || res.ControlFlow != transaction.CFDeleteAttestation || len(res.Statements) != 1 || res.Statements[0].Err != nil {
		t.Fatalf("the clean transaction = %+v, %v", res, err)
	}
	if got := w.area(t, w.owner); len(got) != sharing.AreaHeaderSize {
		t.Errorf("the area after the clean transaction = %x, want empty", got)
	}
	if _, _, err := w.transact(victim, dkey.ActionUnlock); !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("the terminated friend after the clean transaction: %v", err)
	}
}
