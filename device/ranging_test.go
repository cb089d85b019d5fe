package device

import (
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// r3Bench is an applet with one key and a transaction.VehicleSession that
// drives it command by command, for the applet's side of Release 3:
// CREATE RANGING KEY and the interface byte.
type r3Bench struct {
	a     *Applet
	v     *transaction.VehicleParams
	s     *transaction.VehicleSession
	key   KeyInfo
	now   time.Time
	iface byte
}

func newR3Bench(t *testing.T, p dkey.Profile, opt func(*Config)) *r3Bench {
	t.Helper()
	b := &r3Bench{now: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	vk := mustSoftwareKey(t)
	vid, _ := dkey.NewVehicleID([]byte("VIN-DEVICE-R3-16")[:p.VehicleIDLen()])
	var err error
	if b.v, err = transaction.NewVehicleParams(&transaction.VehicleConfig{Profile: p, VehicleID: vid, Key: vk}); err != nil {
		t.Fatal(err)
	}
	b.s = b.v.NewSession()
	cfg := &Config{Profile: p, Time: func() time.Time { return b.now }}
	if opt != nil {
		opt(cfg)
	}
	if b.a, err = NewApplet(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.a.Close() })
	if b.key, err = b.a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	return b
}

// do sends cmd to the applet on the bench's interface.
func (b *r3Bench) do(t *testing.T, cmd transport.Command) transport.Response {
	t.Helper()
	raw, err := cmd.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	if b.iface == 0 {
		out = b.a.ProcessAPDU(nil, raw)
	} else {
		out = b.a.ProcessAPDUOn(b.iface, nil, raw)
	}
	r, err := transport.ParseResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// auth0 runs SELECT and AUTH0 for action.
func (b *r3Bench) auth0(t *testing.T, action dkey.Action, flags transaction.Flags) error {
	t.Helper()
	if err := b.s.Start(action, flags); err != nil {
		t.Fatal(err)
	}
	if err := b.s.ReadSelect(b.do(t, b.s.Select())); err != nil {
		return err
	}
	cmd, err := b.s.Auth0()
	if err != nil {
		t.Fatal(err)
	}
	return b.s.ReadAuth0(b.do(t, cmd))
}

// standard runs a standard transaction up to the endpoint's signature.
func (b *r3Bench) standard(t *testing.T, action dkey.Action) error {
	t.Helper()
	if err := b.auth0(t, action, 0); err != nil {
		return err
	}
	cmd, err := b.s.Auth1()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.ReadAuth1(b.do(t, cmd)); err != nil {
		return err
	}
	_, err = b.s.VerifyEndpoint(b.key.PublicKey)
	return err
}

func (b *r3Bench) session(t *testing.T) ranging.SessionID {
	t.Helper()
	txid, ok := b.s.TransactionID()
	if !ok {
		t.Fatal("no transaction identifier")
	}
	id, _ := ranging.SessionIDFromTransaction(txid[:])
	return id
}

var createRangingKey = transport.Command{CLA: 0x80, INS: 0x71}

// TestCreateRangingKey checks the applet's CREATE RANGING KEY (docs/protocol.md
// §2.3, §2.4): accepted after the AUTH1 of a standard CCC transaction,
// with up to 127 bytes of data; the URSK kept under the session ID only
// once CONTROL FLOW reports success; and the refusals.
func TestCreateRangingKey(t *testing.T) {
	t.Run("kept at success", func(t *testing.T) {
		b := newR3Bench(t, dkey.CCC, nil)
		if err := b.standard(t, dkey.ActionRangingKey); err != nil {
			t.Fatal(err)
		}
		if r := b.do(t, transport.Command{CLA: 0x80, INS: 0x71, Data: make([]byte, maxRangingData)}); r.SW != dkey.SWSuccess || len(r.Data) != 0 {
			t.Fatalf("CREATE RANGING KEY = %v %X", r.SW, r.Data)
		}
		id := b.session(t)
		var k ranging.URSK
		if err := b.a.RangingKey(id, &k); !errors.Is(err, ranging.ErrNoRangingKey) {
			t.Errorf("before CONTROL FLOW: %v, want ErrNoRangingKey (staged only)", err)
		}
		if r := b.do(t, b.s.ControlFlow(transaction.CFSuccess)); r.SW != dkey.SWSuccess {
			t.Fatal(r.SW)
		}
		if err := b.a.RangingKey(id, &k); err != nil {
			t.Fatal(err)
		}
		want := b.s.RangingKey()
		if [32]byte(k) != [32]byte(want.Bytes()) {
			t.Errorf("the applet keeps another URSK than the vehicle derived")
		}
	})

	for _, tc := range []struct {
		name    string
		profile dkey.Profile
		// run brings the applet where the command is sent.
		run  func(t *testing.T, b *r3Bench)
		cmd  transport.Command
		want dkey.StatusWord
	}{
		{"no transaction", dkey.CCC, func(t *testing.T, b *r3Bench) { b.do(t, b.s.Select()) }, createRangingKey, dkey.SWConditionsNotSatisfied},
		{"after AUTH0", dkey.CCC, func(t *testing.T, b *r3Bench) { must(t, b.auth0(t, dkey.ActionRangingKey, 0)) }, createRangingKey, dkey.SWConditionsNotSatisfied},
		{"fast transaction", dkey.CCC, func(t *testing.T, b *r3Bench) {
			must(t, b.standard(t, dkey.ActionUnlock))
			b.do(t, b.s.ControlFlow(transaction.CFSuccess))
			must(t, b.auth0(t, dkey.ActionUnlock, transaction.FlagFast))
		}, createRangingKey, dkey.SWConditionsNotSatisfied},
		{"Home Key derives no URSK", dkey.HomeKey, func(t *testing.T, b *r3Bench) { must(t, b.standard(t, dkey.ActionUnlock)) }, createRangingKey, dkey.SWConditionsNotSatisfied},
		{"P1-P2", dkey.CCC, func(t *testing.T, b *r3Bench) { must(t, b.standard(t, dkey.ActionRangingKey)) }, transport.Command{CLA: 0x80, INS: 0x71, P2: 1}, dkey.SWWrongP1P2},
		{"128 bytes of data", dkey.CCC, func(t *testing.T, b *r3Bench) { must(t, b.standard(t, dkey.ActionRangingKey)) }, transport.Command{CLA: 0x80, INS: 0x71, Data: make([]byte, maxRangingData+1)}, dkey.SWWrongLength},
		{"CLA 84", dkey.CCC, func(t *testing.T, b *r3Bench) { must(t, b.standard(t, dkey.ActionRangingKey)) }, transport.Command{CLA: 0x84, INS: 0x71}, dkey.SWClassNotSupported},
		{"power reserve", dkey.CCC, func(t *testing.T, b *r3Bench) {
			must(t, b.a.SetPowerReserve(b.key.VehicleID, true))
			must(t, b.a.EnterPowerReserve())
			must(t, b.standard(t, dkey.ActionRangingKey))
		}, createRangingKey, dkey.SWConditionsNotSatisfied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newR3Bench(t, tc.profile, nil)
			tc.run(t, b)
			if r := b.do(t, tc.cmd); r.SW != tc.want {
				t.Errorf("CREATE RANGING KEY = %v, want %v", r.SW, tc.want)
			}
			if n := len(b.a.RangingKeys()); n != 0 {
				t.Errorf("%d URSKs after a refusal", n)
			}
		})
	}

	t.Run("not kept when the transaction fails", func(t *testing.T) {
		for _, end := range []func(t *testing.T, b *r3Bench){
			func(t *testing.T, b *r3Bench) { b.do(t, b.s.ControlFlow(transaction.CFFailure)) },
			func(t *testing.T, b *r3Bench) { b.a.Reset() },
			func(t *testing.T, b *r3Bench) { b.do(t, b.s.Select()) },
			func(t *testing.T, b *r3Bench) { must(t, b.a.Suspend(b.key.VehicleID)) },
		} {
			b := newR3Bench(t, dkey.CCC, nil)
			must(t, b.standard(t, dkey.ActionRangingKey))
			if r := b.do(t, createRangingKey); r.SW != dkey.SWSuccess {
				t.Fatal(r.SW)
			}
			end(t, b)
			b.do(t, b.s.ControlFlow(transaction.CFSuccess))
			if n := len(b.a.RangingKeys()); n != 0 {
				t.Errorf("%d URSKs kept after a failed transaction", n)
			}
			b.a.mu.Lock()
			staged := b.a.rng.staged.ursk.Valid()
			b.a.mu.Unlock()
			if staged {
				t.Errorf("the staged URSK was not erased")
			}
		}
	})

	t.Run("slots", func(t *testing.T) {
		b := newR3Bench(t, dkey.CCC, func(c *Config) { c.Ranging = RangingConfig{Slots: 2, TTL: time.Hour} })
		var ids []ranging.SessionID
		for i := range 3 {
			must(t, b.standard(t, dkey.ActionRangingKey))
			r := b.do(t, createRangingKey)
			if i == 2 {
				if r.SW != dkey.SWRangingKeyFull {
					t.Errorf("third CREATE RANGING KEY with 2 slots = %v, want 6484", r.SW)
				}
				break
			}
			if r.SW != dkey.SWSuccess {
				t.Fatal(r.SW)
			}
			b.do(t, b.s.ControlFlow(transaction.CFSuccess))
			ids = append(ids, b.session(t))
		}
		// One expires: room again, and the expired one goes with the
		// next URSK.
		b.now = b.now.Add(time.Hour)
		var k ranging.URSK
		if err := b.a.RangingKey(ids[0], &k); !errors.Is(err, ranging.ErrRangingKeyExpired) {
			t.Errorf("after the TTL: %v, want ErrRangingKeyExpired", err)
		}
		must(t, b.standard(t, dkey.ActionRangingKey))
		if r := b.do(t, createRangingKey); r.SW != dkey.SWSuccess {
			t.Fatalf("CREATE RANGING KEY after the TTL = %v", r.SW)
		}
		b.do(t, b.s.ControlFlow(transaction.CFSuccess))
		if n := len(b.a.RangingKeys()); n != 1 {
			t.Errorf("%d URSKs, want the new one only", n)
		}
		if err := b.a.RangingKey(ids[0], &k); !errors.Is(err, ranging.ErrNoRangingKey) {
			t.Errorf("the expired URSK: %v, want ErrNoRangingKey", err)
		}
		// DeleteRangingKey.
		id := b.session(t)
		must(t, b.a.DeleteRangingKey(id))
		if err := b.a.RangingKey(id, &k); !errors.Is(err, ranging.ErrNoRangingKey) {
			t.Errorf("after DeleteRangingKey: %v", err)
		}
	})

	if _, err := NewApplet(&Config{Ranging: RangingConfig{Slots: -1}}); err == nil {
		t.Errorf("NewApplet accepted -1 ranging slots")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRangingKeyStored checks that the URSKs are kept in the secure
// element and the applet's stored state, survive a restart within their
// TTL, and that a restart drops the expired ones and those of a key
// terminated.
func TestRangingKeyStored(t *testing.T) {
	m, kek := store.NewMemory(), testKEK(t, 7)
	var b *r3Bench
	open := func(c *Config) { c.Store, c.KEK = m.Reopen(), kek }
	b = newR3Bench(t, dkey.CCC, open)
	must(t, b.standard(t, dkey.ActionRangingKey))
	b.do(t, createRangingKey)
	b.do(t, b.s.ControlFlow(transaction.CFSuccess))
	id := b.session(t)
	var before ranging.URSK
	must(t, b.a.RangingKey(id, &before))
	if names := recordNames(t, m, "device/u/"); len(names) != 1 {
		t.Errorf("URSK records %v", names)
	}

	reopen := func() *Applet {
		t.Helper()
		must(t, b.a.Close())
		a, err := NewApplet(&Config{Time: func() time.Time { return b.now }, Store: m.Reopen(), KEK: kek})
		if err != nil {
			t.Fatal(err)
		}
		b.a = a
		return a
	}
	a := reopen()
	var after ranging.URSK
	if err := a.RangingKey(id, &after); err != nil || !after.Equal(&before) {
		t.Fatalf("after a restart: %v", err)
	}
	b.now = b.now.Add(DefaultURSKTTL)
	a = reopen()
	if err := a.RangingKey(id, &after); !errors.Is(err, ranging.ErrNoRangingKey) {
		t.Errorf("after the TTL and a restart: %v", err)
	}
	if names := recordNames(t, m, "device/u/"); len(names) != 0 {
		t.Errorf("URSK records left: %v", names)
	}
}
