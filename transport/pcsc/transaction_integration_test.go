package pcsc_test

// Whole Digital Key transactions through the real middleware: the device
// applet (package device) is the card, served to vpcd in this process; the
// vehicle (package vehicle) is a PC/SC application on a pcsc.Conn. The tests
// skip without the private pcscd of scripts/pcsc/run.sh (see requirePCSC).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pcsc"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// Instruction bytes of the transaction commands (docs/protocol.md §2.3).
const (
	insSelect      = 0xA4
	insAuth0       = 0x80
	insAuth1       = 0x81
	insExchange    = 0xC9
	insControlFlow = 0x3C
	insGetResponse = 0xC0
)

// insName names the steps in subtest names.
var insName = map[byte]string{
	insSelect: "SELECT", insAuth0: "AUTH0", insAuth1: "AUTH1", insExchange: "EXCHANGE",
}

// subsetMailboxes returns the immobilizer token (16 bytes at offset 0 of
// the confidential mailbox) in the AUTH1 response.
var subsetMailboxes = dkey.MailboxConfig{
	PrivateSize: 256, ConfidentialSize: 64,
	ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16},
}

// exchangeMailboxes returns nothing in AUTH1: engine start reads the token
// with EXCHANGE.
var exchangeMailboxes = dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64}

// world is one vehicle and one phone (a device applet) with an owner key
// the vehicle has enrolled.
type world struct {
	vehicle *vehicle.Reader
	applet  *device.Applet
	slot    dkey.KeySlot
}

type worldConfig struct {
	link      *transport.ClientConfig // the vehicle's NFC link; nil is short APDUs
	mailboxes dkey.MailboxConfig
	token     []byte // nil means a 16-byte token
}

func newWorld(tb testing.TB, cfg worldConfig) *world {
	tb.Helper()
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		tb.Fatal(err)
	}
	vid, err := dkey.NewVehicleID([]byte("VIN-PCSC"))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk, Link: cfg.link})
	if err != nil {
		tb.Fatal(err)
	}
	w := &world{vehicle: v}
	w.applet = w.newPhone(tb, cfg)
	w.slot = w.applet.Keys()[0].Slot
	return w
}

// newPhone returns another phone with an owner key for the world's vehicle,
// enrolled in it.
func (w *world) newPhone(tb testing.TB, cfg worldConfig) *device.Applet {
	tb.Helper()
	a, err := device.NewApplet(nil)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := a.CreateKey(device.KeyConfig{VehicleID: w.vehicle.ID(), VehicleKey: w.vehicle.PublicKey(), Mailboxes: cfg.mailboxes})
	if err != nil {
		tb.Fatal(err)
	}
	token := cfg.token
	if token == nil {
		token = []byte("immobilizer-pcsc")
	}
	err = w.vehicle.Enroll(vehicle.Enrollment{
		PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: token, Mailboxes: cfg.mailboxes,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// transact runs one transaction over t and fails tb unless it succeeded
// with the key slot, fast or standard as wanted.
func (w *world) transact(tb testing.TB, t transport.Transceiver, action dkey.Action, fast bool, slot dkey.KeySlot) vehicle.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := w.vehicle.Transact(ctx, t, action)
	if err != nil {
		tb.Fatalf("Transact(%v) = %v", action, err)
	}
	if !res.OK() || res.Fast != fast || res.Slot != slot || res.Action != action || res.ControlFlow != transaction.CFSuccess {
		tb.Fatalf("Transact(%v) = fast %v, slot %v, action %v, control flow %v; want fast %v, slot %v, %v",
			action, res.Fast, res.Slot, res.Action, res.ControlFlow, fast, slot, transaction.CFSuccess)
	}
	return res
}

// snapshot is the stored state of both sides that a failed transaction must
// not change.
type snapshot struct {
	Vehicle []vehicle.KeyInfo
	Device  []device.KeyInfo
}

func (w *world) snapshot() snapshot {
	s := snapshot{Vehicle: w.vehicle.Keys(), Device: w.applet.Keys()}
	for i := range s.Device {
		s.Device[i].LastControlFlow = 0 // the device records every outcome it hears
	}
	return s
}

// snapshotOpts compares key slots, which have no Equal method; public
// keys, vehicle identifiers and times compare with theirs.
var snapshotOpts = cmp.Options{cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b })}

// instructions returns the instruction byte of every command of tr.
func instructions(tr transporttest.Transcript) []byte {
	var ins []byte
	for _, e := range tr {
		if len(e.Command) >= 2 {
			ins = append(ins, e.Command[1])
		}
	}
	return ins
}

func TestIntegrationAppletSelect(t *testing.T) {
	requirePCSC(t)
	applet, err := device.NewApplet(nil)
	if err != nil {
		t.Fatal(err)
	}
	serveCard(t, 0, applet)
	cn := connectCard(t, establish(t), 0)

	selectDK := transport.Command{CLA: 0x00, INS: insSelect, P1: 0x04, P2: 0x00, Data: []byte(dkey.AIDDigitalKey), Ne: 256}
	selectOther := transport.Command{CLA: 0x00, INS: insSelect, P1: 0x04, P2: 0x00, Data: []byte{0xA0, 0x00, 0x00, 0x00, 0x01}, Ne: 256}
	auth0 := transport.Command{CLA: 0x80, INS: insAuth0, P1: 0x01, P2: 0x01, Data: []byte{0x5C, 0x02, 0x01, 0x00}, Ne: 256}
	for _, tt := range []struct {
		name string
		cmd  transport.Command
		sw   dkey.StatusWord
	}{
		{name: "SELECT Digital Key", cmd: selectDK, sw: dkey.SWSuccess},
		{name: "SELECT unknown AID", cmd: selectOther, sw: dkey.SWFileNotFound},
		{name: "AUTH0 without applet", cmd: auth0, sw: dkey.SWConditionsNotSatisfied},
		{name: "SELECT Digital Key again", cmd: selectDK, sw: dkey.SWSuccess},
	} {
		cmd, err := tt.cmd.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		got := transceive(t, cn, cmd)
		resp, err := transport.ParseResponse(got)
		if err != nil {
			t.Fatalf("%s: ParseResponse(%x) = %v", tt.name, got, err)
		}
		if resp.SW != tt.sw {
			t.Errorf("%s: Transceive(%x) = %x, want status word %v", tt.name, cmd, got, tt.sw)
		}
		// Through pcscd and vpcd the applet answers byte for byte what it
		// answers in memory (the command leaves it in the same state).
		if want := applet.ProcessAPDU(nil, cmd); !bytes.Equal(got, want) {
			t.Errorf("%s: Transceive(%x) = %x, want the applet's own answer %x", tt.name, cmd, got, want)
		}
	}
	// The SELECT response carries the applet's version list (tag 5C).
	resp, _ := transport.ParseResponse(applet.ProcessAPDU(nil, mustAppend(t, selectDK)))
	if len(resp.Data) < 4 || resp.Data[0] != 0x5C {
		t.Errorf("SELECT response data = %x, want a version list (5C ...)", resp.Data)
	}
}

func mustAppend(tb testing.TB, c transport.Command) []byte {
	tb.Helper()
	b, err := c.Append(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestIntegrationStandardAndFastTransaction(t *testing.T) {
	requirePCSC(t)
	w := newWorld(t, worldConfig{mailboxes: subsetMailboxes})
	serveCard(t, 0, w.applet)
	cn := connectCard(t, establish(t), 0)

	for i, tt := range []struct {
		action dkey.Action
		fast   bool
		ins    []byte
	}{
		// The first transaction is standard (no Kpersistent yet) and
		// writes the immobilizer token with EXCHANGE.
		{dkey.ActionUnlock, false, []byte{insSelect, insAuth0, insAuth1, insExchange, insControlFlow}},
		{dkey.ActionUnlock, true, []byte{insSelect, insAuth0, insControlFlow}},
		{dkey.ActionLock, true, []byte{insSelect, insAuth0, insControlFlow}},
	} {
		rec := transporttest.NewRecorder(cn)
		w.transact(t, rec, tt.action, tt.fast, w.slot)
		tr := rec.Transcript()
		if got := instructions(tr); !bytes.Equal(got, tt.ins) {
			t.Errorf("transaction %d (%v): instructions %X, want %X\n%v", i, tt.action, got, tt.ins, tr)
		}
		for _, e := range tr {
			if e.Error != "" || !bytes.HasSuffix(e.Response, []byte{0x90, 0x00}) {
				t.Errorf("transaction %d (%v): exchange %X -> %X %s, want 9000", i, tt.action, e.Command, e.Response, e.Error)
			}
		}
	}
	vk := w.vehicle.Keys()
	if len(vk) != 1 || !vk[0].HasPersistent || !vk[0].TokenProvisioned || vk[0].LastUse.IsZero() {
		t.Errorf("vehicle keys = %+v, want one key with Kpersistent, token and last use", vk)
	}
	dk, _ := w.applet.Key(w.vehicle.ID())
	if !dk.HasPersistent || dk.Transactions != 3 || dk.LastControlFlow != transaction.CFSuccess {
		t.Errorf("device key = %+v, want Kpersistent, 3 transactions, last control flow %v", dk, transaction.CFSuccess)
	}
}

func TestIntegrationEngineStart(t *testing.T) {
	requirePCSC(t)
	for _, tt := range []struct {
		name      string
		mailboxes dkey.MailboxConfig
		ins       []byte
	}{
		{"AUTH1 subset", subsetMailboxes, []byte{insSelect, insAuth0, insAuth1, insControlFlow}},
		{"EXCHANGE", exchangeMailboxes, []byte{insSelect, insAuth0, insAuth1, insExchange, insControlFlow}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, worldConfig{mailboxes: tt.mailboxes})
			s := serveCard(t, 0, w.applet)
			defer s.remove(t)
			cn := connectCard(t, establish(t), 0)
			w.transact(t, cn, dkey.ActionUnlock, false, w.slot) // provisions the token
			// Engine start always takes a standard transaction and checks
			// the immobilizer token: from the AUTH1 response when the
			// subset covers it, otherwise with EXCHANGE.
			for range 2 {
				rec := transporttest.NewRecorder(cn)
				res := w.transact(t, rec, dkey.ActionEngineStart, false, w.slot)
				if got := instructions(rec.Transcript()); !bytes.Equal(got, tt.ins) {
					t.Errorf("engine start: instructions %X, want %X\n%v", got, tt.ins, rec.Transcript())
				}
				if !res.HasRangingKey {
					t.Errorf("engine start: no ranging key in a standard CCC transaction")
				}
			}
			// The engine start rotated Kpersistent on both sides.
			w.transact(t, cn, dkey.ActionUnlock, true, w.slot)
		})
	}
}

// leavingCard passes commands to the card behind it. Once armed, it
// leaves the field at the first command with the armed instruction: after
// handing it to the card and before the response goes out (or, with before,
// without handing it over). The reader sees the card vanish in the middle
// of that exchange.
type leavingCard struct {
	inner transport.Card

	mu     sync.Mutex
	armed  bool
	ins    byte
	before bool
	leave  func()
	left   bool
}

// arm makes the card call leave at the next command with instruction ins.
func (c *leavingCard) arm(ins byte, before bool, leave func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.ins, c.before, c.leave, c.left = true, ins, before, leave, false
}

// hasLeft reports whether the armed card has left, and disarms it.
func (c *leavingCard) hasLeft() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	return c.left
}

func (c *leavingCard) ProcessAPDU(dst, cmd []byte) []byte {
	c.mu.Lock()
	hit := c.armed && !c.left && len(cmd) >= 2 && cmd[1] == c.ins
	if hit {
		c.left = true
	}
	before, leave := c.before, c.leave
	c.mu.Unlock()
	if hit && before {
		leave()
		return append(dst, 0x6F, 0x00) // never delivered: the connection is closed
	}
	dst = c.inner.ProcessAPDU(dst, cmd)
	if hit {
		leave()
	}
	return dst
}

func (c *leavingCard) Reset() {
	if r, ok := c.inner.(transport.Resetter); ok {
		r.Reset()
	}
}

// TestIntegrationCardRemovedMidTransaction pulls the phone away during each
// command of an engine start (SELECT, AUTH0, AUTH1, EXCHANGE), in both
// readers at once (a vehicle and a phone on each): the vehicle gets an error
// matching transport.ErrCardRemoved, neither side's stored state changes,
// and when the phone comes back both still share Kpersistent: an unlock is
// fast.
func TestIntegrationCardRemovedMidTransaction(t *testing.T) {
	requirePCSC(t)
	for i := range 2 {
		t.Run(fmt.Sprintf("reader %d", i), func(t *testing.T) {
			t.Parallel()
			// Engine start goes through every step: the token is read with
			// EXCHANGE.
			w := newWorld(t, worldConfig{mailboxes: exchangeMailboxes})
			c := establish(t)
			card := &leavingCard{inner: w.applet}
			s := serveCard(t, i, card)
			t.Cleanup(func() { s.remove(t) }) // the card the subtests last put in
			cn := connectCard(t, c, i)
			w.transact(t, cn, dkey.ActionUnlock, false, w.slot) // Kpersistent and token in place
			for _, step := range []byte{insSelect, insAuth0, insAuth1, insExchange} {
				for _, before := range []bool{false, true} {
					when := "after the card answered"
					if before {
						when = "before the card saw it"
					}
					t.Run(insName[step]+"/"+when, func(t *testing.T) {
						card.arm(step, before, s.leave)
						was := w.snapshot()
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						res, err := w.vehicle.Transact(ctx, cn, dkey.ActionEngineStart)
						left := card.hasLeft()
						if !left {
							t.Errorf("the card never saw %s", insName[step])
						}
						if !errors.Is(err, transport.ErrCardRemoved) {
							t.Errorf("Transact(engine start) with the card leaving = %v, want %v", err, transport.ErrCardRemoved)
						}
						var pe *pcsc.Error
						if !errors.As(err, &pe) {
							t.Errorf("Transact(engine start) = %T %v, want a *pcsc.Error inside", err, err)
						}
						if res.Err != err || res.OK() {
							t.Errorf("Result.Err = %v, OK %v; want the returned error", res.Err, res.OK())
						}
						s.remove(t)
						if diff := cmp.Diff(was, w.snapshot(), snapshotOpts); diff != "" {
							t.Errorf("state changed by the interrupted transaction (-before +after):\n%s", diff)
						}

						// The phone comes back: both sides still share
						// Kpersistent, so an unlock is fast.
						s = dialCard(t, i)
						s.serve(card)
						reconnect(t, c, cn)
						w.transact(t, cn, dkey.ActionUnlock, true, w.slot)
					})
				}
			}
		})
	}
}

// reconnect waits for the card in cn's reader and starts a new session
// with it.
func reconnect(tb testing.TB, c *pcsc.Client, cn *pcsc.Conn) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.WaitForCard(ctx, cn.Reader()); err != nil {
		tb.Fatalf("WaitForCard(%q) = %v", cn.Reader(), err)
	}
	if err := cn.Reconnect(ctx, pcsc.Leave); err != nil {
		tb.Fatalf("Reconnect(%q) = %v", cn.Reader(), err)
	}
}

// TestIntegrationTransactionsTwoReaders runs one vehicle on both readers at
// once, as a door handle and a console reader: a phone in each, a goroutine
// per reader, one PC/SC context.
func TestIntegrationTransactionsTwoReaders(t *testing.T) {
	requirePCSC(t)
	w := newWorld(t, worldConfig{mailboxes: subsetMailboxes})
	phones := []*device.Applet{w.applet, w.newPhone(t, worldConfig{mailboxes: exchangeMailboxes})}
	c := establish(t)
	var conns []*pcsc.Conn
	for i, p := range phones {
		serveCard(t, i, p)
		conns = append(conns, connectCard(t, c, i))
	}
	steps := []struct {
		action dkey.Action
		fast   bool
	}{
		{dkey.ActionUnlock, false},
		{dkey.ActionUnlock, true},
		{dkey.ActionEngineStart, false},
		{dkey.ActionLock, true},
	}
	const rounds = 3
	var wg sync.WaitGroup
	for i, p := range phones {
		slot := p.Keys()[0].Slot
		wg.Go(func() {
			for r := range rounds {
				for _, st := range steps {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					res, err := w.vehicle.Transact(ctx, conns[i], st.action)
					cancel()
					// Only the first round's first unlock lacks Kpersistent.
					fast := st.fast || (r > 0 && st.action == dkey.ActionUnlock)
					if err != nil || res.Fast != fast || res.Slot != slot {
						t.Errorf("reader %d round %d: Transact(%v) = fast %v, slot %v, %v; want fast %v, slot %v",
							i, r, st.action, res.Fast, res.Slot, err, fast, slot)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for i, p := range phones {
		info, _ := p.Key(w.vehicle.ID())
		if want := rounds * len(steps); info.Transactions != want {
			t.Errorf("phone %d counted %d transactions, want %d", i, info.Transactions, want)
		}
	}
}

// TestIntegrationAPDULength runs transactions whose messages exceed short
// APDUs: a 400-byte immobilizer token written by EXCHANGE, and AUTH1
// responses with 768 bytes of mailbox subsets. A reader without
// extended-length support (the vehicle's default link) carries them by
// command chaining and GET RESPONSE, the applet behind a
// transport.ChainingCard; a reader with it sends extended APDUs to the bare
// applet.
func TestIntegrationAPDULength(t *testing.T) {
	requirePCSC(t)
	big := dkey.MailboxConfig{
		PrivateSize: 1024, ConfidentialSize: 1024,
		PrivateAuth1:      dkey.MailboxRange{Offset: 0, Length: 256},
		ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 512},
	}
	token := bytes.Repeat([]byte("immobilizer-token-"), 23)[:400]
	for _, tt := range []struct {
		name     string
		extended bool
	}{
		{"short", false},
		{"extended", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, worldConfig{link: &transport.ClientConfig{ExtendedLength: tt.extended}, mailboxes: big, token: token})
			var card transport.Card = w.applet
			if !tt.extended {
				card = transport.NewChainingCard(w.applet)
			}
			s := serveCard(t, 0, card)
			defer s.remove(t)
			cn := connectCard(t, establish(t), 0)
			rec := transporttest.NewRecorder(cn)
			w.transact(t, rec, dkey.ActionUnlock, false, w.slot)
			w.transact(t, rec, dkey.ActionUnlock, true, w.slot)
			w.transact(t, rec, dkey.ActionEngineStart, false, w.slot)
			w.transact(t, rec, dkey.ActionLock, true, w.slot)

			var extended, chained, getResponse, longResponse int
			for _, e := range rec.Transcript() {
				cmd, err := transport.ParseCommand(e.Command)
				if err != nil {
					t.Fatalf("ParseCommand(%X) = %v", e.Command, err)
				}
				if cmd.IsExtended() {
					extended++
				}
				if cmd.IsChained() {
					chained++
				}
				if cmd.INS == insGetResponse {
					getResponse++
				}
				if len(e.Response) > 2+256 {
					longResponse++
				}
			}
			t.Logf("%d exchanges: %d extended, %d chained, %d GET RESPONSE, %d responses above 256 bytes",
				len(rec.Transcript()), extended, chained, getResponse, longResponse)
			if tt.extended {
				if extended == 0 || chained != 0 || getResponse != 0 || longResponse == 0 {
					t.Errorf("extended link: %d extended, %d chained, %d GET RESPONSE, %d long responses; want some extended and long, no chaining or GET RESPONSE",
						extended, chained, getResponse, longResponse)
				}
			} else {
				if extended != 0 || chained == 0 || getResponse == 0 || longResponse != 0 {
					t.Errorf("short link: %d extended, %d chained, %d GET RESPONSE, %d long responses; want short APDUs only, with chaining and GET RESPONSE",
						extended, chained, getResponse, longResponse)
				}
			}
		})
	}
}
