package pairing

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// TestVehicleFailures runs the vehicle against a device that misbehaves or
// a link that tampers, and checks the vehicle's error, the OP CONTROL FLOW
// abort it sends, and that the device holds no key.
func TestVehicleFailures(t *testing.T) {
	v2, _ := dkey.NewVersionList(dkey.Version2)
	v21, _ := dkey.NewVersionList(dkey.Version2, dkey.Version1)
	respOf := func(ins byte, f func([]byte) []byte) func(*fixture, *tamperCard) {
		return func(_ *fixture, c *tamperCard) {
			c.resp = func(cmd, resp []byte) []byte {
				if cmd[1] == ins {
					return f(resp)
				}
				return resp
			}
		}
	}
	for _, tt := range []struct {
		name  string
		setup func(*fixture, *tamperCard)
		want  error
		abort []byte // nil: no abort sent
	}{
		{"framework not found", respOf(insSelect, func([]byte) []byte { return []byte{0x6A, 0x82} }), ErrNoFramework, nil},
		{"malformed SELECT response", respOf(insSelect, func([]byte) []byte { return []byte{0x5A, 0x00, 0x90, 0x00} }), ErrMalformed, []byte{0x12, 0x00}},
		{"no common framework version", func(f *fixture, _ *tamperCard) { f.card.cfg.FrameworkVersions = v2 }, dkey.ErrNoCommonVersion, []byte{0x12, 0x01}},
		{"no common applet version", func(f *fixture, _ *tamperCard) { f.card.cfg.AppletVersions = v2 }, dkey.ErrNoCommonVersion, []byte{0x12, 0x02}},
		{"no password entered", func(f *fixture, _ *tamperCard) { f.card.password = nil }, ErrNotReady, []byte{0x12, 0x0C}},
		{"X off the curve", respOf(insSpakeRequest, func(r []byte) []byte { r[10] ^= 1; return r }), ErrMalformed, []byte{0x12, 0x0C}},
		{"wrong password", func(f *fixture, _ *tamperCard) { f.card.password = []byte("123457") }, ErrAuthentication, []byte{0x12, 0x09}},
		{"evidence options differ", func(f *fixture, _ *tamperCard) { f.card.cfg.Evidence = EvidencePeerShare }, ErrAuthentication, []byte{0x12, 0x09}},
		{"tampered M2", respOf(insSpakeVerify, func(r []byte) []byte { r[5] ^= 1; return r }), ErrAuthentication, []byte{0x12, 0x09}},
		{"tampered request", func(_ *fixture, c *tamperCard) {
			// The brand is not in the confirmation info, but the salt
			// changes w0 and w1: the evidence check fails.
			c.cmd = func(a []byte) {
				if a[1] == insSpakeRequest {
					a[20] ^= 1
				}
			}
		}, ErrAuthentication, []byte{0x12, 0x09}},
		{"device has a key", func(f *fixture, _ *tamperCard) { f.card.store.vehicles[f.pki.vid] = true }, ErrDeviceHasKey, []byte{0x12, 0x08}},
		{"vehicle chain expired for the device", func(f *fixture, _ *tamperCard) {
			f.card.cfg.Time = func() time.Time { return testNow.AddDate(20, 0, 0) }
		}, ErrRefused, []byte{0x12, 0x0A}},
		{"secure element failure", func(f *fixture, _ *tamperCard) { f.card.store.failNew = errors.New("full") }, ErrRefused, []byte{0x12, 0x0A}},
		{"foreign Device OEM root", func(f *fixture, _ *tamperCard) { f.vcfg.DeviceRoots = newPool(newPKI(t, false).deviceRoot) }, cert.ErrUnknownRoot, []byte{0x12, 0x0B}},
		{"downgraded SELECT response", func(f *fixture, c *tamperCard) {
			// The device speaks 2.0 and 1.0, the vehicle too; an attacker
			// strips 2.0 from the SELECT response. The device still selects
			// 2.0 from the authenticated request, so the endpoint
			// certificate does not match what the vehicle expects.
			f.card.cfg.AppletVersions, f.vcfg.AppletVersions = v21, v21
			respOf(insSelect, func([]byte) []byte { return unhex(t, "5a0201005c020100d401029000") })(f, c)
		}, ErrEndpointCertificate, []byte{0x12, 0x0B}},
		{"tampered WRITE DATA", func(_ *fixture, c *tamperCard) {
			c.cmd = func(a []byte) {
				if a[1] == insWriteData {
					a[10] ^= 1
				}
			}
		}, ErrChannel, []byte{0x12, 0x00}},
		{"tampered WRITE DATA response", respOf(insWriteData, func(r []byte) []byte { r[0] ^= 1; return r }), ErrChannel, []byte{0x12, 0x00}},
		{"tampered GET DATA response", respOf(insGetData, func(r []byte) []byte { r[3] ^= 1; return r }), ErrChannel, []byte{0x12, 0x00}},
		{"refused 10 01", func(_ *fixture, c *tamperCard) {
			c.resp = func(cmd, resp []byte) []byte {
				if cmd[1] == insOpControlFlow && cmd[2] == 0x10 {
					return []byte{0x69, 0x85}
				}
				return resp
			}
		}, ErrRefused, []byte{0x12, 0x00}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "123456", false)
			tc := f.withTamper()
			tt.setup(f, tc)
			res, err := f.pair(t)
			if !errors.Is(err, tt.want) || res != nil {
				t.Fatalf("pair = %v, %v; want %v", res, err, tt.want)
			}
			last := tc.lastCommand()
			switch {
			case tt.abort == nil && last != nil && last[1] == insOpControlFlow:
				t.Errorf("abort sent: %X", last)
			case tt.abort != nil && !bytes.Equal(last, append([]byte{claPlain, insOpControlFlow}, tt.abort...)):
				t.Errorf("last command = %X, want OP CONTROL FLOW %X", last, tt.abort)
			}
			f.checkNoKey(t)
		})
	}
}

// channelFixture runs a pairing up to the first WRITE DATA: the device
// awaits the key data under an open channel, and the vehicle core's sender
// can protect arbitrary commands.
func channelFixture(t *testing.T) (*fixture, *VehicleSession, *transport.Client) {
	t.Helper()
	f := newFixture(t, "123456", false)
	p, err := NewVehicleSession(f.vcfg, f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	c := transport.NewClient(f.link, nil)
	cmd, err := p.Start()
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := c.Do(context.Background(), &cmd, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cmd.INS == insSpakeVerify {
			// Read the VERIFY response without building the first WRITE
			// DATA, so that the sender's counter is still unused.
			if err := p.steps[p.pc].read(resp); err != nil {
				t.Fatal(err)
			}
			p.pc++
			return f, p, c
		}
		st, err := p.Next(resp)
		if err != nil {
			t.Fatal(err)
		}
		cmd = st.Command
	}
}

// secure sends plain under the channel and returns the response's status
// word.
func secure(t *testing.T, p *VehicleSession, c *transport.Client, ins byte, plain []byte) dkey.StatusWord {
	t.Helper()
	cmd, err := p.protect(ins, plain)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(context.Background(), &cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp.SW
}

func clearCmd(t *testing.T, c *transport.Client, cmd transport.Command) dkey.StatusWord {
	t.Helper()
	resp, err := c.Do(context.Background(), &cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp.SW
}

// TestDeviceChannelFailures sends WRITE DATA and GET DATA sequences that the
// device must refuse, each ending the run and leaving no key.
func TestDeviceChannelFailures(t *testing.T) {
	tlvOf := func(tag tlv.Tag, v []byte) []byte { return tlv.AppendTLV(nil, tag, v) }
	badConf := DefaultOwnerKeyConfig()
	badConf.Mailboxes.ConfidentialAuth1.Length = 100
	defMap := DefaultOwnerKeyConfig().Mapping
	type sendFunc func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord
	write := func(objs ...[]byte) sendFunc {
		return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
			for i, o := range objs {
				sw := secure(t, p, c, insWriteData, o)
				if !sw.OK() || i == len(objs)-1 {
					return sw
				}
			}
			return 0
		}
	}
	for _, tt := range []struct {
		name    string
		send    func(f *fixture) sendFunc
		wantSW  dkey.StatusWord
		wantErr error
	}{
		{"two objects in one command", func(f *fixture) sendFunc {
			return write(append(tlvOf(tagVehicleRoot, f.pki.vehicleRoot.Raw), tlvOf(tagVehicleCert, f.pki.vehicleCert.Raw)...))
		}, dkey.SWWrongData, ErrMalformed},
		{"vehicle certificate first", func(f *fixture) sendFunc {
			return write(tlvOf(tagVehicleCert, f.pki.vehicleCert.Raw))
		}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"mapping before the vehicle certificate", func(f *fixture) sendFunc {
			return write(tlvOf(tagVehicleRoot, f.pki.vehicleRoot.Raw), appendMapping(nil, &defMap))
		}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"three intermediates", func(f *fixture) sendFunc {
			r := f.pki.vehicleRoot.Raw
			return write(tlvOf(tagVehicleRoot, r), tlvOf(tagVehicleCert, r), tlvOf(tagVehicleIntermediate, r), tlvOf(tagVehicleIntermediate, r), tlvOf(tagVehicleIntermediate, r))
		}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"end before the configuration", func(f *fixture) sendFunc {
			return write(tlvOf(tagVehicleRoot, f.pki.vehicleRoot.Raw), tlvOf(tagVehicleCert, f.pki.vehicleCert.Raw), tlvOf(tagEndOfData, nil))
		}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"invalid key configuration", func(f *fixture) sendFunc {
			kc := keyConfiguration{mailboxes: badConf.Mailboxes}
			copy(kc.vehicleID[:], "VIN00001")
			return write(tlvOf(tagVehicleRoot, f.pki.vehicleRoot.Raw), tlvOf(tagVehicleCert, f.pki.vehicleCert.Raw),
				appendMapping(nil, &badConf.Mapping), kc.append(nil), tlvOf(tagEndOfData, nil))
		}, dkey.SWWrongData, ErrKeyConfig},
		{"root is not a certificate", func(f *fixture) sendFunc {
			kc := keyConfiguration{mailboxes: DefaultOwnerKeyConfig().Mailboxes}
			return write(tlvOf(tagVehicleRoot, []byte{0x30, 0x00}), tlvOf(tagVehicleCert, f.pki.vehicleCert.Raw),
				appendMapping(nil, &defMap), kc.append(nil), tlvOf(tagEndOfData, nil))
		}, dkey.SWWrongData, ErrVehicleCertificate},
		{"vehicle certificate from another root", func(f *fixture) sendFunc {
			kc := keyConfiguration{mailboxes: DefaultOwnerKeyConfig().Mailboxes}
			return write(tlvOf(tagVehicleRoot, newPKI(t, false).vehicleRoot.Raw), tlvOf(tagVehicleCert, f.pki.vehicleCert.Raw),
				appendMapping(nil, &defMap), kc.append(nil), tlvOf(tagEndOfData, nil))
		}, dkey.SWWrongData, cert.ErrUnknownRoot},
		{"GET DATA before 10 01", func(f *fixture) sendFunc {
			return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
				return secure(t, p, c, insGetData, []byte{0x7F, 0x20})
			}
		}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"WRITE DATA in clear", func(f *fixture) sendFunc {
			return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
				return clearCmd(t, c, transport.Command{CLA: claSecure, INS: insWriteData, Data: tlvOf(tagVehicleRoot, f.pki.vehicleRoot.Raw)})
			}
		}, dkey.SWSecureMessagingIncorrect, ErrChannel},
		{"WRITE DATA with CLA 80", func(f *fixture) sendFunc {
			return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
				cmd, _ := p.protect(insWriteData, tlvOf(tagVehicleRoot, f.pki.vehicleRoot.Raw))
				cmd.CLA = claPlain
				return clearCmd(t, c, cmd)
			}
		}, dkey.SWClassNotSupported, dkey.SWClassNotSupported},
		{"early 11 11", func(f *fixture) sendFunc {
			return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
				return clearCmd(t, c, opCommand(OpPairingComplete))
			}
		}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"unknown OP CONTROL FLOW", func(f *fixture) sendFunc {
			return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
				return clearCmd(t, c, transport.Command{CLA: claPlain, INS: insOpControlFlow, P1: 0x13})
			}
		}, dkey.SWWrongP1P2, dkey.SWWrongP1P2},
		{"OP CONTROL FLOW with data", func(f *fixture) sendFunc {
			return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
				return clearCmd(t, c, transport.Command{CLA: claPlain, INS: insOpControlFlow, P1: 0x10, P2: 0x01, Data: []byte{0}})
			}
		}, dkey.SWWrongLength, dkey.SWWrongLength},
		{"unknown instruction", func(f *fixture) sendFunc {
			return func(f *fixture, p *VehicleSession, c *transport.Client) dkey.StatusWord {
				return clearCmd(t, c, transport.Command{CLA: claPlain, INS: 0x20})
			}
		}, dkey.SWInstructionNotSupported, dkey.SWInstructionNotSupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, p, c := channelFixture(t)
			if sw := tt.send(f)(f, p, c); sw != tt.wantSW {
				t.Fatalf("status word = %v, want %v", sw, tt.wantSW)
			}
			d := f.card.d
			if !errors.Is(d.Err(), tt.wantErr) {
				t.Errorf("device run ended with %v, want %v", d.Err(), tt.wantErr)
			}
			// The run is over: everything is refused from now on.
			if sw := secure(t, p, c, insGetData, []byte{0x7F, 0x20}); sw != dkey.SWConditionsNotSatisfied {
				t.Errorf("command after the failure = %v, want %v", sw, dkey.SWConditionsNotSatisfied)
			}
			f.checkNoKey(t)
		})
	}
}

// TestDeviceFailures covers the commands before the channel.
func TestDeviceFailures(t *testing.T) {
	good := (&spakeRequest{framework: defaultVersions(dkey.VersionList{}), applet: defaultVersions(dkey.VersionList{}), params: fastParams}).append(nil)
	big := (&spakeRequest{framework: defaultVersions(dkey.VersionList{}), applet: defaultVersions(dkey.VersionList{}), params: ScryptParams{N: 1 << 24, R: 8, P: 1}}).append(nil)
	v2, _ := dkey.NewVersionList(dkey.Version2)
	other := (&spakeRequest{framework: v2, applet: defaultVersions(dkey.VersionList{}), params: fastParams}).append(nil)
	req := func(data []byte) transport.Command {
		return transport.Command{CLA: claPlain, INS: insSpakeRequest, Data: data, Ne: 256}
	}
	for _, tt := range []struct {
		name     string
		password string
		cmds     []transport.Command
		wantSW   dkey.StatusWord
		wantErr  error
	}{
		{"no password", "", []transport.Command{req(good)}, dkey.SWConditionsNotSatisfied, ErrNotReady},
		{"malformed request", "1", []transport.Command{req(good[:len(good)-1])}, dkey.SWWrongData, ErrMalformed},
		{"scrypt parameters too large", "1", []transport.Command{req(big)}, dkey.SWWrongData, ErrParameters},
		{"no common framework version", "1", []transport.Command{req(other)}, dkey.SWWrongData, dkey.ErrNoCommonVersion},
		{"request with CLA 84", "1", []transport.Command{{CLA: claSecure, INS: insSpakeRequest, Data: good}}, dkey.SWClassNotSupported, dkey.SWClassNotSupported},
		{"request with P1", "1", []transport.Command{{CLA: claPlain, INS: insSpakeRequest, P1: 1, Data: good}}, dkey.SWWrongP1P2, dkey.SWWrongP1P2},
		{"verify first", "1", []transport.Command{{CLA: claPlain, INS: insSpakeVerify, Data: (&verifyCommand{}).append(nil)}}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"request twice", "1", []transport.Command{req(good), req(good)}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
		{"malformed verify", "1", []transport.Command{req(good), {CLA: claPlain, INS: insSpakeVerify, Data: []byte{0x52, 0x00}}}, dkey.SWWrongData, ErrMalformed},
		{"verify with an invalid Y", "1", []transport.Command{req(good), {CLA: claPlain, INS: insSpakeVerify, Data: (&verifyCommand{}).append(nil)}}, dkey.SWSecurityNotSatisfied, ErrAuthentication},
		{"GET DATA before the channel", "1", []transport.Command{{CLA: claSecure, INS: insGetData, Data: make([]byte, 24)}}, dkey.SWConditionsNotSatisfied, ErrOutOfSequence},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pki := newPKI(t, false)
			store := newMemStore()
			d, err := NewDeviceSession(pki.deviceConfig(), store, []byte(tt.password))
			if err != nil {
				t.Fatal(err)
			}
			var sw dkey.StatusWord
			for i := range tt.cmds {
				_, err := d.Process(nil, &tt.cmds[i])
				if sw = StatusWordFor(err); sw != dkey.SWSuccess {
					break
				}
			}
			if sw != tt.wantSW || !errors.Is(d.Err(), tt.wantErr) {
				t.Errorf("status word %v, run error %v; want %v, %v", sw, d.Err(), tt.wantSW, tt.wantErr)
			}
			if _, err := d.Process(nil, &tt.cmds[0]); !errors.Is(err, ErrOutOfSequence) {
				t.Errorf("command after the failure = %v, want %v", err, ErrOutOfSequence)
			}
			if len(store.live) != 0 {
				t.Errorf("%d keys left", len(store.live))
			}
		})
	}
}

func TestDeviceAbort(t *testing.T) {
	for _, code := range []OpControlFlow{OpAbort, OpAbortEvidence, OpAbortAttemptsExhausted, 0x1205, OpAbortOther} {
		t.Run(code.String(), func(t *testing.T) {
			f, _, c := channelFixture(t)
			if sw := clearCmd(t, c, opCommand(code)); sw != dkey.SWSuccess {
				t.Errorf("abort %v = %v, want 9000", code, sw)
			}
			if err := f.card.d.Err(); !errors.Is(err, ErrAborted) {
				t.Errorf("device run ended with %v, want %v", err, ErrAborted)
			}
			f.checkNoKey(t)
		})
	}
}

func TestNewVehicleConfig(t *testing.T) {
	pki := newPKI(t, false)
	other := newPKI(t, false)
	v, err := NewVerifier([]byte("1"), make([]byte, SaltSize), fastParams)
	if err != nil {
		t.Fatal(err)
	}
	badKC := DefaultOwnerKeyConfig()
	badKC.Mapping.End = 1000
	for _, tt := range []struct {
		name   string
		change func(*VehicleConfig)
	}{
		{"Home Key vehicle identifier", func(c *VehicleConfig) { c.VehicleID, _ = dkey.NewVehicleID(make([]byte, 16)) }},
		{"no vehicle key", func(c *VehicleConfig) { c.VehicleKey = nil }},
		{"another vehicle key", func(c *VehicleConfig) { c.VehicleKey = other.vehicleKey.PublicKey() }},
		{"no device roots", func(c *VehicleConfig) { c.DeviceRoots = nil }},
		{"no certificates", func(c *VehicleConfig) { c.Certificates = nil }},
		{"chain from another root", func(c *VehicleConfig) { c.VehicleRoot = other.vehicleRoot.Raw }},
		{"root not DER", func(c *VehicleConfig) { c.VehicleRoot = []byte{1} }},
		{"key configuration", func(c *VehicleConfig) { c.KeyConfig = &badKC }},
		{"evidence", func(c *VehicleConfig) { c.Evidence = 7 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pki.vehicleConfig()
			tt.change(cfg)
			if _, err := NewVehicleSession(cfg, v); err == nil {
				t.Errorf("NewVehicleSession succeeded")
			}
			if err := cfg.Validate(); err == nil {
				t.Errorf("Validate succeeded")
			}
		})
	}
	if _, err := NewVehicleSession(pki.vehicleConfig(), nil); err == nil {
		t.Error("NewVehicleSession without verifier succeeded")
	}
}

func TestNewDeviceConfig(t *testing.T) {
	pki := newPKI(t, false)
	other := newPKI(t, false)
	for _, tt := range []struct {
		name   string
		change func(*DeviceConfig)
	}{
		{"no instance CA", func(c *DeviceConfig) { c.InstanceCA = nil }},
		{"no instance CA key", func(c *DeviceConfig) { c.InstanceCAKey = nil }},
		{"key of another instance", func(c *DeviceConfig) { c.InstanceCAKey = other.instanceKey }},
		{"evidence", func(c *DeviceConfig) { c.Evidence = 2 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pki.deviceConfig()
			tt.change(cfg)
			if _, err := NewDeviceSession(cfg, newMemStore(), nil); err == nil {
				t.Errorf("NewDevice succeeded")
			}
		})
	}
	if _, err := NewDeviceSession(pki.deviceConfig(), nil, nil); err == nil {
		t.Error("NewDevice without key store succeeded")
	}
}

// TestVehicleSequence checks the calls of the vehicle core out of order.
func TestVehicleSequence(t *testing.T) {
	pki := newPKI(t, false)
	v, err := NewVerifier([]byte("1"), make([]byte, SaltSize), fastParams)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewVehicleSession(pki.vehicleConfig(), v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(transport.Response{SW: dkey.SWSuccess}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Next before Start = %v, want %v", err, ErrOutOfSequence)
	}
	if _, ok := p.Abort(); ok {
		t.Error("Abort before SELECT has something to send")
	}
	if _, err := p.Start(); !errors.Is(err, ErrAborted) {
		t.Errorf("Start after Abort = %v, want %v", err, ErrAborted)
	}
	p, _ = NewVehicleSession(pki.vehicleConfig(), v)
	if _, err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Start(); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("second Start = %v, want %v", err, ErrOutOfSequence)
	}
	if _, err := p.Next(transport.Response{SW: dkey.SWFileNotFound}); !errors.Is(err, ErrNoFramework) {
		t.Errorf("Next(6A82) = %v, want %v", err, ErrNoFramework)
	}
	if _, err := p.Next(transport.Response{SW: dkey.SWSuccess}); !errors.Is(err, ErrNoFramework) {
		t.Errorf("Next after a failure = %v, want the sticky %v", err, ErrNoFramework)
	}
	if _, ok := p.Result(); ok {
		t.Error("failed run has a result")
	}
}
