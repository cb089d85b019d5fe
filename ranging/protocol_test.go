package ranging

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/dkey"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var testSession = SessionID{0x0B, 0xAD, 0xCA, 0xFE}

// bench is a vehicle and a device that share a session's URSK through their
// own key stores.
type bench struct {
	clk   *clock
	vkeys *MemoryKeyStore
	dkeys *MemoryKeyStore
	v     *Vehicle
	d     *Device
	time0 uint64
	ursk  URSK
}

func newBench(t *testing.T, vcaps, dcaps Capabilities, responders uint8) *bench {
	t.Helper()
	b := &bench{clk: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, time0: 1_000_000}
	for i := range b.ursk {
		b.ursk[i] = byte(i * 7)
	}
	var err error
	if b.vkeys, err = NewMemoryKeyStore(4, time.Hour, b.clk.now); err != nil {
		t.Fatal(err)
	}
	if b.dkeys, err = NewMemoryKeyStore(4, time.Hour, b.clk.now); err != nil {
		t.Fatal(err)
	}
	if err := b.vkeys.Put(testSession, &b.ursk); err != nil {
		t.Fatal(err)
	}
	if err := b.dkeys.Put(testSession, &b.ursk); err != nil {
		t.Fatal(err)
	}
	if b.v, err = NewVehicle(&VehicleConfig{Capabilities: vcaps, Responders: responders, Keys: b.vkeys}); err != nil {
		t.Fatal(err)
	}
	if b.d, err = NewDevice(&DeviceConfig{Capabilities: dcaps, Keys: b.dkeys, UWBTime0: func() (uint64, error) {
		b.time0 += 500_000
		return b.time0, nil
	}}); err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange carries one message from one side to the other and returns the
// answer.
func deliver(t *testing.T, to interface {
	Handle([]byte, MessageID, []byte) (MessageID, []byte, error)
}, id MessageID, payload []byte) (MessageID, []byte, error) {
	t.Helper()
	return to.Handle(nil, id, payload)
}

// setup runs the whole setup in memory and returns the first error.
func (b *bench) setup(t *testing.T) error {
	t.Helper()
	id, msg, err := b.v.Start(nil, testSession)
	for err == nil && id != 0 {
		var rid MessageID
		var rsp []byte
		if rid, rsp, err = deliver(t, b.d, id, msg); err != nil {
			return err
		}
		id, msg, err = deliver(t, b.v, rid, rsp)
	}
	return err
}

func TestSetupBothRoles(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{MinRANMultiplier: 3}, 4)
	if err := b.setup(t); err != nil {
		t.Fatal(err)
	}
	vs, ds := b.v.Session(), b.d.Session()
	if vs == nil || ds == nil {
		t.Fatal("a side has no session")
	}
	if diff := cmp.Diff(vs.Params(), ds.Params()); diff != "" {
		t.Fatalf("the two sides disagree (-vehicle +device):\n%s", diff)
	}
	p := vs.Params()
	want := SessionParams{
		Version: dkey.Version1, ConfigID: ConfigID0, SessionID: testSession, PulseShape: 0x01, Channel: Channel9,
		RANMultiplier: 3, ChapsPerSlot: 3, Responders: 4, SlotsPerRound: 8, Hopping: HoppingContinuousDefault,
		SyncCode: 9, STSIndex0: p.STSIndex0, UWBTime0: b.time0, HopModeKey: p.HopModeKey,
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("negotiated parameters (-want +got):\n%s", diff)
	}
	if p.STSIndex0 > MaxSTSIndex0 {
		t.Errorf("STS_Index0 %#x above %#x", p.STSIndex0, MaxSTSIndex0)
	}
	if p.BlockDuration() != 288*time.Millisecond {
		t.Errorf("BlockDuration = %v, want 288ms", p.BlockDuration())
	}
	if vs.State() != StateEstablished || ds.State() != StateEstablished {
		t.Errorf("states %v / %v, want established", vs.State(), ds.State())
	}
	checkSameKeys(t, vs, ds)
}

// checkSameKeys checks that both sides derive the same UAD and round keys.
func checkSameKeys(t *testing.T, a, b *Session) {
	t.Helper()
	ua, _ := a.UAD()
	ub, _ := b.UAD()
	if ua != ub {
		t.Errorf("UAD differs between the sides")
	}
	sts := a.Params().STSIndex0
	for s := sts; s < sts+3; s++ {
		var ra, rb RoundKeys
		if err := a.RoundKeys(s, &ra); err != nil {
			t.Fatal(err)
		}
		if err := b.RoundKeys(s, &rb); err != nil {
			t.Fatal(err)
		}
		if !ra.DURSK.Equal(&rb.DURSK) || !ra.DUDSK.Equal(&rb.DUDSK) {
			t.Errorf("round %d: the sides derive different keys", s)
		}
	}
}

// TestNegotiationPriorities checks that each side picks from the
// intersection with the priorities of docs/protocol.md §8.4 and the project's
// documented ones.
func TestNegotiationPriorities(t *testing.T) {
	for _, tc := range []struct {
		name         string
		vcaps, dcaps Capabilities
		responders   uint8
		check        func(p SessionParams) bool
	}{
		{"highest common version", Capabilities{Versions: mustVersions(0x0300, 0x0200, 0x0100)}, Capabilities{Versions: mustVersions(0x0200, 0x0100)}, 1,
			func(p SessionParams) bool { return p.Version == 0x0200 }},
		{"device's configuration preference", Capabilities{ConfigIDs: mustConfigs(ConfigID0, ConfigID1)}, Capabilities{ConfigIDs: mustConfigs(ConfigID1, ConfigID0)}, 1,
			func(p SessionParams) bool { return p.ConfigID == ConfigID1 }},
		{"unknown configuration skipped", Capabilities{ConfigIDs: mustConfigs(0x0002, ConfigID1)}, Capabilities{ConfigIDs: mustConfigs(0x0002, ConfigID1)}, 1,
			func(p SessionParams) bool { return p.ConfigID == 0x0002 }},
		{"device's pulse-shape preference", Capabilities{PulseShapes: mustShapes(0x01, 0x12)}, Capabilities{PulseShapes: mustShapes(0x12, 0x01)}, 1,
			func(p SessionParams) bool { return p.PulseShape == 0x12 }},
		{"channel 5 when 9 is not common", Capabilities{Channels: ChannelsOf(Channel5)}, Capabilities{}, 1,
			func(p SessionParams) bool { return p.Channel == Channel5 }},
		{"smallest common slot", Capabilities{Slots: SlotsOf(6, 8, 12)}, Capabilities{Slots: SlotsOf(3, 8, 12)}, 1,
			func(p SessionParams) bool { return p.ChapsPerSlot == 8 }},
		{"lowest common SYNC code", Capabilities{SyncCodes: SyncCodesOf(10, 11, 12)}, Capabilities{SyncCodes: SyncCodesOf(9, 11)}, 1,
			func(p SessionParams) bool { return p.SyncCode == 11 }},
		{"continuous+AES when default is not common", Capabilities{Hopping: HopContinuous | HopAdaptive | HopSeqAES | HopSeqDefault}, Capabilities{Hopping: HopContinuous | HopAdaptive | HopSeqAES}, 1,
			func(p SessionParams) bool { return p.Hopping == HoppingContinuousAES }},
		{"adaptive before none", Capabilities{Hopping: HopNone | HopAdaptive | HopSeqDefault}, Capabilities{}, 1,
			func(p SessionParams) bool { return p.Hopping == HoppingAdaptiveDefault }},
		{"no hopping last", Capabilities{Hopping: HopNone}, Capabilities{}, 1,
			func(p SessionParams) bool { return p.Hopping == HoppingNone }},
		{"RAN multiplier at least the device's minimum", Capabilities{MinRANMultiplier: 2}, Capabilities{MinRANMultiplier: 5}, 1,
			func(p SessionParams) bool { return p.RANMultiplier == 5 }},
		{"RAN multiplier at least the vehicle's minimum", Capabilities{MinRANMultiplier: 6}, Capabilities{MinRANMultiplier: 5}, 1,
			func(p SessionParams) bool { return p.RANMultiplier == 6 }},
		{"slots per round at least responders + 4", Capabilities{}, Capabilities{}, 6,
			func(p SessionParams) bool { return p.SlotsPerRound == 12 && p.Responders == 6 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, tc.vcaps, tc.dcaps, tc.responders)
			if err := b.setup(t); err != nil {
				t.Fatal(err)
			}
			if p := b.v.Session().Params(); !tc.check(p) {
				t.Errorf("negotiated %+v", p)
			}
			checkSameKeys(t, b.v.Session(), b.d.Session())
		})
	}
}

// TestNoCommonParameter checks the typed error for every parameter the two
// sides may fail to share.
func TestNoCommonParameter(t *testing.T) {
	for _, tc := range []struct {
		name         string
		vcaps, dcaps Capabilities
		param        Parameter
	}{
		{"version", Capabilities{Versions: mustVersions(0x0200)}, Capabilities{}, ParamVersion},
		{"configuration", Capabilities{ConfigIDs: mustConfigs(ConfigID1)}, Capabilities{ConfigIDs: mustConfigs(ConfigID0)}, ParamConfigID},
		{"unknown configuration only", Capabilities{ConfigIDs: mustConfigs(0x0007)}, Capabilities{}, ParamConfigID},
		{"pulse shape", Capabilities{PulseShapes: mustShapes(0x01)}, Capabilities{PulseShapes: mustShapes(0x10)}, ParamPulseShape},
		{"channel", Capabilities{Channels: ChannelsOf(Channel5)}, Capabilities{Channels: ChannelsOf(Channel9)}, ParamChannel},
		{"slot length", Capabilities{Slots: SlotsOf(3)}, Capabilities{Slots: SlotsOf(4, 6)}, ParamSlotLength},
		{"SYNC code", Capabilities{SyncCodes: SyncCodesOf(9)}, Capabilities{SyncCodes: SyncCodesOf(10)}, ParamSyncCode},
		{"hopping", Capabilities{Hopping: HopNone}, Capabilities{Hopping: HopContinuous | HopSeqDefault}, ParamHopping},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, tc.vcaps, tc.dcaps, 2)
			err := b.setup(t)
			var ne *NegotiationError
			if !errors.As(err, &ne) || ne.Param != tc.param || !errors.Is(err, ErrNoCommonParameter) {
				t.Fatalf("setup = %v, want a NegotiationError for %v", err, tc.param)
			}
			if b.v.Session() != nil || b.d.Session() != nil {
				t.Errorf("a session exists after a failed negotiation")
			}
		})
	}
}

func TestURSKErrors(t *testing.T) {
	t.Run("vehicle has no URSK", func(t *testing.T) {
		b := newBench(t, Capabilities{}, Capabilities{}, 1)
		b.vkeys.Revoke(testSession)
		b.vkeys.RevokeAll()
		if _, _, err := b.v.Start(nil, SessionID{1, 2, 3, 4}); !errors.Is(err, ErrNoRangingKey) {
			t.Errorf("Start(unknown session) = %v, want ErrNoRangingKey", err)
		}
		if _, _, err := b.v.Start(nil, testSession); !errors.Is(err, ErrRangingKeyRevoked) {
			t.Errorf("Start(revoked session) = %v, want ErrRangingKeyRevoked", err)
		}
	})
	t.Run("device has no URSK", func(t *testing.T) {
		b := newBench(t, Capabilities{}, Capabilities{}, 1)
		b.dkeys.Revoke(testSession)
		if err := b.setup(t); !errors.Is(err, ErrRangingKeyRevoked) {
			t.Errorf("setup = %v, want ErrRangingKeyRevoked", err)
		}
	})
	t.Run("device's session ID matches no URSK", func(t *testing.T) {
		b := newBench(t, Capabilities{}, Capabilities{}, 1)
		dkeys, _ := NewMemoryKeyStore(1, time.Hour, b.clk.now)
		other := SessionID{9, 9, 9, 9}
		_ = dkeys.Put(other, &b.ursk)
		b.d.cfg.Keys = dkeys
		if err := b.setup(t); !errors.Is(err, ErrNoRangingKey) {
			t.Errorf("setup = %v, want ErrNoRangingKey", err)
		}
	})
	t.Run("expired URSK", func(t *testing.T) {
		b := newBench(t, Capabilities{}, Capabilities{}, 1)
		b.clk.t = b.clk.t.Add(time.Hour)
		if err := b.setup(t); !errors.Is(err, ErrRangingKeyExpired) {
			t.Errorf("setup = %v, want ErrRangingKeyExpired", err)
		}
	})
	t.Run("mismatching URSK", func(t *testing.T) {
		b := newBench(t, Capabilities{}, Capabilities{}, 1)
		other := b.ursk
		other[0] ^= 1
		_ = b.dkeys.Put(testSession, &other)
		if err := b.setup(t); err != nil {
			t.Fatal(err)
		}
		var rv, rd RoundKeys
		sts := b.v.Session().Params().STSIndex0
		_ = b.v.Session().RoundKeys(sts, &rv)
		_ = b.d.Session().RoundKeys(sts, &rd)
		if rv.DURSK.Equal(&rd.DURSK) {
			t.Errorf("different URSKs gave the same dURSK")
		}
	})
}

func TestSuspendAndRecovery(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{MinRANMultiplier: 2}, 2)
	if err := b.setup(t); err != nil {
		t.Fatal(err)
	}
	vs, ds := b.v.Session(), b.d.Session()
	before := vs.Params()
	uadBefore, _ := vs.UAD()

	// The vehicle suspends.
	id, msg, err := b.v.Suspend(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.v.Suspend(nil); !errors.Is(err, ErrSessionState) {
		t.Errorf("a second Suspend before the answer = %v, want ErrSessionState", err)
	}
	rid, rsp, err := deliver(t, b.d, id, msg)
	if err != nil || rid != MsgSuspendRS {
		t.Fatalf("device answered %v, %v", rid, err)
	}
	if _, _, err := deliver(t, b.v, rid, rsp); err != nil {
		t.Fatal(err)
	}
	if vs.State() != StateSuspended || ds.State() != StateSuspended {
		t.Fatalf("states %v / %v, want suspended", vs.State(), ds.State())
	}
	var rk RoundKeys
	if err := vs.RoundKeys(1, &rk); !errors.Is(err, ErrSessionState) {
		t.Errorf("RoundKeys while suspended = %v, want ErrSessionState", err)
	}

	// The vehicle recovers.
	if id, msg, err = b.v.Recover(nil); err != nil {
		t.Fatal(err)
	}
	if rid, rsp, err = deliver(t, b.d, id, msg); err != nil || rid != MsgRecoveryRS {
		t.Fatalf("device answered %v, %v", rid, err)
	}
	if _, _, err := deliver(t, b.v, rid, rsp); err != nil {
		t.Fatal(err)
	}
	if vs.State() != StateRecovered || ds.State() != StateRecovered {
		t.Fatalf("states %v / %v, want recovered", vs.State(), ds.State())
	}
	after := vs.Params()
	if diff := cmp.Diff(after, ds.Params()); diff != "" {
		t.Fatalf("the sides disagree after recovery (-vehicle +device):\n%s", diff)
	}
	if after.UWBTime0 == before.UWBTime0 {
		t.Errorf("recovery kept UWB_Time0")
	}
	if uadAfter, _ := vs.UAD(); after.STSIndex0 != before.STSIndex0 && uadAfter == uadBefore {
		t.Errorf("recovery with a new STS_Index0 kept the UAD")
	}
	checkSameKeys(t, vs, ds)

	// A configurable recovery changes the RAN multiplier; below the
	// device's minimum it is refused on both sides.
	if _, _, err := b.v.RecoverWith(nil, 1); !errors.Is(err, ErrNotOffered) {
		t.Errorf("RecoverWith(1) = %v, want ErrNotOffered", err)
	}
	bad := ConfigurableRecoveryRequest{SessionID: testSession, RANMultiplier: 1}
	if _, _, err := deliver(t, b.d, MsgConfigurableRecoveryRQ, bad.Append(nil)); !errors.Is(err, ErrNotOffered) {
		t.Errorf("device took RAN 1 below its minimum 2: %v", err)
	}
	if id, msg, err = b.v.RecoverWith(nil, 4); err != nil {
		t.Fatal(err)
	}
	if rid, rsp, err = deliver(t, b.d, id, msg); err != nil || rid != MsgConfigurableRecoveryRS {
		t.Fatalf("device answered %v, %v", rid, err)
	}
	if _, _, err := deliver(t, b.v, rid, rsp); err != nil {
		t.Fatal(err)
	}
	if vs.Params().RANMultiplier != 4 || ds.Params().RANMultiplier != 4 {
		t.Errorf("RAN multipliers %d / %d after configurable recovery, want 4", vs.Params().RANMultiplier, ds.Params().RANMultiplier)
	}
	checkSameKeys(t, vs, ds)

	// The device suspends; the vehicle accepts.
	if id, msg, err = b.d.Suspend(nil); err != nil {
		t.Fatal(err)
	}
	if rid, rsp, err = deliver(t, b.v, id, msg); err != nil || rid != MsgSuspendRS {
		t.Fatalf("vehicle answered %v, %v", rid, err)
	}
	if _, _, err := deliver(t, b.d, rid, rsp); err != nil {
		t.Fatal(err)
	}
	if vs.State() != StateSuspended || ds.State() != StateSuspended {
		t.Fatalf("states %v / %v, want suspended", vs.State(), ds.State())
	}
}

func TestSuspendDelayed(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{}, 1)
	if err := b.setup(t); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.v.Suspend(nil); err != nil {
		t.Fatal(err)
	}
	rs := SuspendResponse{Status: SuspendDelayed}
	if _, _, err := deliver(t, b.v, MsgSuspendRS, rs.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if s := b.v.Session().State(); s != StateEstablished {
		t.Errorf("state %v after a delayed suspend, want established", s)
	}
}

// TestURSKGoneDuringSession checks that a recovery after the URSK expired or
// was revoked (key terminated, lost mode) moves the session to
// StateURSKRefreshNeeded on the side that notices.
func TestURSKGoneDuringSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		gone func(b *bench)
		want error
	}{
		{"expired", func(b *bench) { b.clk.t = b.clk.t.Add(2 * time.Hour) }, ErrRangingKeyExpired},
		{"terminated", func(b *bench) { b.dkeys.Revoke(testSession); b.vkeys.Revoke(testSession) }, ErrRangingKeyRevoked},
		{"lost mode", func(b *bench) { b.dkeys.RevokeAll(); b.vkeys.RevokeAll() }, ErrRangingKeyRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, Capabilities{}, Capabilities{}, 1)
			if err := b.setup(t); err != nil {
				t.Fatal(err)
			}
			tc.gone(b)
			if _, _, err := b.v.Recover(nil); !errors.Is(err, tc.want) {
				t.Errorf("vehicle Recover = %v, want %v", err, tc.want)
			}
			if s := b.v.Session().State(); s != StateURSKRefreshNeeded {
				t.Errorf("vehicle state %v, want URSK refresh needed", s)
			}
			rq := RecoveryRequest{SessionID: testSession}
			if _, _, err := deliver(t, b.d, MsgRecoveryRQ, rq.Append(nil)); !errors.Is(err, tc.want) {
				t.Errorf("device recovery = %v, want %v", err, tc.want)
			}
			if s := b.d.Session().State(); s != StateURSKRefreshNeeded {
				t.Errorf("device state %v, want URSK refresh needed", s)
			}
			var rk RoundKeys
			if err := b.d.Session().RoundKeys(1, &rk); !errors.Is(err, ErrSessionState) {
				t.Errorf("RoundKeys after the URSK went = %v, want ErrSessionState", err)
			}
			if _, _, err := b.v.Suspend(nil); err == nil {
				t.Errorf("vehicle suspended a session whose URSK is gone")
			}
		})
	}
}

// TestBadInputChangesNothing sends malformed and out-of-place messages to
// both sides of an established session and checks that nothing changes.
func TestBadInputChangesNothing(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{}, 1)
	if err := b.setup(t); err != nil {
		t.Fatal(err)
	}
	vp, dp := b.v.Session().Params(), b.d.Session().Params()
	other := SuspendRequest{SessionID: SessionID{1, 1, 1, 1}}
	for _, tc := range []struct {
		name    string
		id      MessageID
		payload []byte
		want    error
	}{
		{"truncated recovery", MsgRecoveryRQ, []byte{1, 2, 3}, ErrMalformed},
		{"suspend of another session", MsgSuspendRQ, other.Append(nil), ErrWrongSession},
		{"recovery of another session", MsgRecoveryRQ, other.Append(nil), ErrWrongSession},
		{"setup without session", MsgSetupRQ, (&SetupRequest{RANMultiplier: 1, ChapsPerSlot: 3, Responders: 1, SlotsPerRound: 6, SyncCodes: 1 << 8, Hopping: HoppingNone}).Append(nil), ErrUnexpectedMessage},
		{"unanswered suspend response", MsgSuspendRS, []byte{0}, ErrUnexpectedMessage},
	} {
		if _, _, err := deliver(t, b.d, tc.id, tc.payload); !errors.Is(err, tc.want) {
			t.Errorf("device, %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name    string
		id      MessageID
		payload []byte
		want    error
	}{
		{"recovery response without request", MsgRecoveryRS, make([]byte, 12), ErrUnexpectedMessage},
		{"capability response", MsgCapabilityRS, []byte{1, 0, 0, 0, 0x01}, ErrUnexpectedMessage},
		{"suspend of another session", MsgSuspendRQ, other.Append(nil), ErrWrongSession},
		{"malformed suspend", MsgSuspendRQ, []byte{1}, ErrMalformed},
	} {
		if _, _, err := deliver(t, b.v, tc.id, tc.payload); !errors.Is(err, tc.want) {
			t.Errorf("vehicle, %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if diff := cmp.Diff(vp, b.v.Session().Params()); diff != "" || b.v.Session().State() != StateEstablished {
		t.Errorf("vehicle session changed (state %v):\n%s", b.v.Session().State(), diff)
	}
	if diff := cmp.Diff(dp, b.d.Session().Params()); diff != "" || b.d.Session().State() != StateEstablished {
		t.Errorf("device session changed (state %v):\n%s", b.d.Session().State(), diff)
	}
}

// TestPeerViolations plays a misbehaving peer against each side.
func TestPeerViolations(t *testing.T) {
	start := func(t *testing.T, vcaps Capabilities) *bench {
		b := newBench(t, vcaps, Capabilities{}, 1)
		if _, _, err := b.v.Start(nil, testSession); err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("device selects an unoffered version", func(t *testing.T) {
		b := start(t, Capabilities{})
		rs := CapabilityResponse{Version: 0x0200, ConfigID: ConfigID0, PulseShape: 0x01}
		if _, _, err := deliver(t, b.v, MsgCapabilityRS, rs.Append(nil)); !errors.Is(err, ErrNotOffered) {
			t.Fatalf("err = %v, want ErrNotOffered", err)
		}
		// The failure is sticky.
		rs.Version = dkey.Version1
		if _, _, err := deliver(t, b.v, MsgCapabilityRS, rs.Append(nil)); !errors.Is(err, ErrNotOffered) {
			t.Errorf("after a failure: %v, want the same error", err)
		}
	})
	t.Run("device selects an unoffered channel", func(t *testing.T) {
		b := start(t, Capabilities{Channels: ChannelsOf(Channel5)})
		rs := CapabilityResponse{Version: dkey.Version1, ConfigID: ConfigID0, PulseShape: 0x01}
		if _, _, err := deliver(t, b.v, MsgCapabilityRS, rs.Append(nil)); err != nil {
			t.Fatal(err)
		}
		srs := SessionResponse{MinRANMultiplier: 1, Slots: 1, SyncCodes: 1 << 8, Channel: Channel9, Hopping: HopNone}
		if _, _, err := deliver(t, b.v, MsgSessionRS, srs.Append(nil)); !errors.Is(err, ErrNotOffered) {
			t.Fatalf("err = %v, want ErrNotOffered", err)
		}
	})
	t.Run("device picks an unoffered SYNC code", func(t *testing.T) {
		b := start(t, Capabilities{})
		rs := CapabilityResponse{Version: dkey.Version1, ConfigID: ConfigID0, PulseShape: 0x01}
		_, _, _ = deliver(t, b.v, MsgCapabilityRS, rs.Append(nil))
		srs := SessionResponse{MinRANMultiplier: 1, Slots: 1, SyncCodes: 1 << 8, Channel: Channel9, Hopping: HopNone}
		if _, _, err := deliver(t, b.v, MsgSessionRS, srs.Append(nil)); err != nil {
			t.Fatal(err)
		}
		setup := SetupResponse{SyncCode: 12}
		if _, _, err := deliver(t, b.v, MsgSetupRS, setup.Append(nil)); !errors.Is(err, ErrNotOffered) {
			t.Fatalf("err = %v, want ErrNotOffered", err)
		}
	})
	t.Run("wrong message", func(t *testing.T) {
		b := start(t, Capabilities{})
		_, _, err := deliver(t, b.v, MsgSetupRS, make([]byte, SetupResponseSize))
		var ue *UnexpectedMessageError
		if !errors.As(err, &ue) || ue.Want != MsgCapabilityRS || ue.Got != MsgSetupRS {
			t.Fatalf("err = %v, want an UnexpectedMessageError(want %v, got %v)", err, MsgCapabilityRS, MsgSetupRS)
		}
	})
	t.Run("vehicle's RAN multiplier below the device's minimum", func(t *testing.T) {
		b := newBench(t, Capabilities{}, Capabilities{MinRANMultiplier: 4}, 1)
		id, msg, _ := b.v.Start(nil, testSession)
		id, msg, _ = deliver(t, b.d, id, msg)
		id, msg, _ = deliver(t, b.v, id, msg)
		id, msg, _ = deliver(t, b.d, id, msg)
		_, _, err := deliver(t, b.v, id, msg)
		if err != nil {
			t.Fatal(err)
		}
		// Replay the setup with RAN 2 to a fresh device.
		b2 := newBench(t, Capabilities{}, Capabilities{MinRANMultiplier: 4}, 1)
		id, msg, _ = b2.v.Start(nil, testSession)
		id, msg, _ = deliver(t, b2.d, id, msg)
		id, msg, _ = deliver(t, b2.v, id, msg)
		if _, _, err := deliver(t, b2.d, id, msg); err != nil {
			t.Fatal(err)
		}
		rq := SetupRequest{RANMultiplier: 2, ChapsPerSlot: 3, Responders: 1, SlotsPerRound: 6, SyncCodes: 1 << 8, Hopping: HoppingContinuousDefault}
		if _, _, err := deliver(t, b2.d, MsgSetupRQ, rq.Append(nil)); !errors.Is(err, ErrNotOffered) {
			t.Fatalf("err = %v, want ErrNotOffered", err)
		}
		if b2.d.Session() != nil {
			t.Errorf("the device set up a session below its minimum RAN multiplier")
		}
	})
	t.Run("session request differs from the capability answer", func(t *testing.T) {
		b := newBench(t, Capabilities{}, Capabilities{}, 1)
		id, msg, _ := b.v.Start(nil, testSession)
		_, _, _ = deliver(t, b.d, id, msg)
		rq := SessionRequest{Version: dkey.Version1, ConfigID: ConfigID1, SessionID: testSession, PulseShape: 0x01, Channels: 3}
		if _, _, err := deliver(t, b.d, MsgSessionRQ, rq.Append(nil)); !errors.Is(err, ErrNotOffered) {
			t.Fatalf("err = %v, want ErrNotOffered", err)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	keys, _ := NewMemoryKeyStore(1, time.Hour, nil)
	for _, tc := range []struct {
		name string
		cfg  VehicleConfig
	}{
		{"no keys", VehicleConfig{Responders: 1}},
		{"no responders", VehicleConfig{Keys: keys}},
		{"93 responders", VehicleConfig{Keys: keys, Responders: 93}},
		{"too few slots", VehicleConfig{Keys: keys, Responders: 4, SlotsPerRound: 6}},
		{"slots not allowed", VehicleConfig{Keys: keys, Responders: 1, SlotsPerRound: 7}},
		{"reserved channel bit", VehicleConfig{Keys: keys, Responders: 1, Capabilities: Capabilities{Channels: 0x04}}},
		{"bad pulse shape", VehicleConfig{Keys: keys, Responders: 1, Capabilities: Capabilities{PulseShapes: mustShapes(0x22)}}},
		{"hopping without sequence", VehicleConfig{Keys: keys, Responders: 1, Capabilities: Capabilities{Hopping: HopContinuous}}},
		{"unknown salt profile", VehicleConfig{Keys: keys, Responders: 1, Salt: 3}},
	} {
		if _, err := NewVehicle(&tc.cfg); err == nil {
			t.Errorf("NewVehicle(%s) succeeded", tc.name)
		}
	}
	if _, err := NewDevice(&DeviceConfig{}); err == nil {
		t.Errorf("NewDevice without keys succeeded")
	}
	if _, err := NewDevice(&DeviceConfig{Keys: keys, Capabilities: Capabilities{Slots: 0x80}}); err == nil {
		t.Errorf("NewDevice with a reserved slot bit succeeded")
	}
	v, err := NewVehicle(&VehicleConfig{Keys: keys, Responders: 2, SlotsPerRound: 16})
	if err != nil || v.slots != 16 {
		t.Errorf("NewVehicle(16 slots) = %v, slots %d", err, v.slots)
	}
}

func TestMemoryKeyStore(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	m, err := NewMemoryKeyStore(2, time.Minute, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := SessionID{1}, SessionID{2}, SessionID{3}
	ka, kb := URSK{0xAA}, URSK{0xBB}
	if err := m.Put(a, &ka); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(b, &kb); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(c, &ka); !errors.Is(err, ErrKeySlotsFull) {
		t.Errorf("Put into a full store = %v, want ErrKeySlotsFull", err)
	}
	if err := m.Put(a, &kb); err != nil {
		t.Errorf("replacing a URSK in a full store = %v", err)
	}
	var got URSK
	if err := m.RangingKey(a, &got); err != nil || !got.Equal(&kb) {
		t.Errorf("RangingKey(a) = %v, wrong key", err)
	}
	// Expiry frees the slots.
	clk.t = clk.t.Add(time.Minute)
	if err := m.RangingKey(b, &got); !errors.Is(err, ErrRangingKeyExpired) {
		t.Errorf("RangingKey after the lifetime = %v, want ErrRangingKeyExpired", err)
	}
	if err := m.Put(c, &ka); err != nil {
		t.Errorf("Put after expiry = %v", err)
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d after expired URSKs were dropped, want 1", m.Len())
	}
	if !m.Revoke(c) || m.Revoke(c) {
		t.Errorf("Revoke reported the wrong presence")
	}
	if err := m.RangingKey(c, &got); !errors.Is(err, ErrRangingKeyRevoked) {
		t.Errorf("RangingKey after Revoke = %v, want ErrRangingKeyRevoked", err)
	}
	if err := m.RangingKey(SessionID{9}, &got); !errors.Is(err, ErrNoRangingKey) {
		t.Errorf("RangingKey(unknown) = %v, want ErrNoRangingKey", err)
	}
	if err := m.Put(c, &ka); err != nil || m.RangingKey(c, &got) != nil {
		t.Errorf("a new URSK after a revocation does not work: %v", err)
	}
	for i := range 10 { // the revocation memory stays bounded
		m.Revoke(SessionID{0x40, byte(i)})
	}
	if len(m.revoked) > 2 {
		t.Errorf("%d revocations remembered, want at most the slot count", len(m.revoked))
	}
	if _, err := NewMemoryKeyStore(0, time.Minute, nil); err == nil {
		t.Errorf("NewMemoryKeyStore(0 slots) succeeded")
	}
}
