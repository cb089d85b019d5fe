package transaction

import (
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// testEndpoint is a minimal applet around an EndpointSession for the tests of
// this package: one credential, mailboxes as byte slices, no policy. The
// real applet with policy is device.Applet.
type testEndpoint struct {
	s       *EndpointSession
	aid     dkey.AID
	vehicle dkey.VehicleID
	cred    Credential
	conf    []byte // confidential mailbox
	priv    []byte // private mailbox
	subsets [2]dkey.MailboxRange
	lastCF  ControlFlow
	lastErr error
	results []byte
}

func newTestEndpoint(t testing.TB, p dkey.Profile, vehicle dkey.VehicleID, vehicleKey *dkey.PublicKey) *testEndpoint {
	t.Helper()
	s, err := NewEndpointSession(&EndpointConfig{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	slot, _ := dkey.NewKeySlot([]byte{1, 2, 3, 4, 5, 6, 7, 8}[:p.KeySlotLen()])
	return &testEndpoint{
		s: s, aid: p.AppletAID(), vehicle: vehicle,
		cred:    Credential{Slot: slot, Key: k, PublicKey: k.PublicKey(), VehicleKey: vehicleKey},
		conf:    make([]byte, 64),
		priv:    make([]byte, 128),
		results: make([]byte, 0, MaxExchangeData),
	}
}

func (e *testEndpoint) ProcessAPDU(dst, apdu []byte) []byte {
	cmd, err := transport.ParseCommand(apdu)
	if err != nil {
		return transport.AppendResponse(dst, nil, dkey.SWWrongLength)
	}
	start := len(dst)
	out, err := e.process(dst, &cmd)
	e.lastErr = err
	if err != nil {
		return transport.AppendResponse(dst[:start], nil, StatusWordFor(err))
	}
	return transport.AppendResponse(out, nil, dkey.SWSuccess)
}

func (e *testEndpoint) process(dst []byte, cmd *transport.Command) ([]byte, error) {
	switch cmd.INS {
	case insSelect:
		if !e.aid.Selects(cmd.Data) {
			e.s.Deselect()
			return dst, dkey.SWFileNotFound
		}
		return e.s.Select(dst), nil
	case insAuth0:
		vid, err := e.s.ReadAuth0(cmd)
		if err != nil {
			return dst, err
		}
		if vid != e.vehicle {
			e.s.Deselect()
			return dst, dkey.ErrUnknownVehicle
		}
		return e.s.Auth0(dst, &e.cred)
	case insAuth1:
		conf := e.conf[e.subsets[0].Offset:e.subsets[0].End()]
		priv := e.priv[e.subsets[1].Offset:e.subsets[1].End()]
		out, pk, err := e.s.Auth1(dst, cmd, conf, priv)
		if err == nil {
			e.cred.Persistent = pk
		}
		return out, err
	case insExchange:
		ops, err := e.s.OpenExchange(cmd)
		if err != nil {
			return dst, err
		}
		res := e.results[:0]
		for i := range ops {
			op := &ops[i]
			mb := e.priv
			if op.Mailbox == dkey.ConfidentialMailbox {
				mb = e.conf
			}
			if err := op.Check(len(mb)); err != nil {
				return dst, err
			}
		}
		for i := range ops {
			op := &ops[i]
			mb := e.priv
			if op.Mailbox == dkey.ConfidentialMailbox {
				mb = e.conf
			}
			switch op.Kind {
			case OpRead:
				res = AppendReadResult(res, mb[op.Offset:op.End()])
			case OpWrite:
				copy(mb[op.Offset:], op.Data)
			case OpFill:
				for j := op.Offset; int(j) < op.End(); j++ {
					mb[j] = op.Value
				}
			}
		}
		return e.s.SealExchange(dst, res)
	case insControl:
		cf, err := e.s.ReadControlFlow(cmd)
		e.lastCF = cf
		return dst, err
	}
	return dst, dkey.SWInstructionNotSupported
}

// testVehicle runs a VehicleSession against a card in memory.
type testVehicle struct {
	v    *VehicleParams
	s    *VehicleSession
	card transport.Card
	apdu []byte
	resp []byte
}

func newTestVehicle(t testing.TB, p dkey.Profile) *testVehicle {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := dkey.NewVehicleID([]byte("vehicle-identity")[:p.VehicleIDLen()])
	v, err := NewVehicleParams(&VehicleConfig{Profile: p, VehicleID: id, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	return &testVehicle{v: v, s: v.NewSession(), apdu: make([]byte, 0, 4096), resp: make([]byte, 0, 4096)}
}

// do sends cmd to the card, encoding and decoding as a reader would.
func (tv *testVehicle) do(cmd transport.Command) (transport.Response, error) {
	apdu, err := cmd.Append(tv.apdu[:0])
	if err != nil {
		return transport.Response{}, err
	}
	tv.resp = tv.card.ProcessAPDU(tv.resp[:0], apdu)
	return transport.ParseResponse(tv.resp)
}

// auth0 runs SELECT and AUTH0.
func (tv *testVehicle) auth0(action dkey.Action, flags Flags) error {
	if err := tv.s.Start(action, flags); err != nil {
		return err
	}
	r, err := tv.do(tv.s.Select())
	if err != nil {
		return err
	}
	if err := tv.s.ReadSelect(r); err != nil {
		return err
	}
	cmd, err := tv.s.Auth0()
	if err != nil {
		return err
	}
	if r, err = tv.do(cmd); err != nil {
		return err
	}
	return tv.s.ReadAuth0(r)
}

// standard runs a whole standard transaction and returns the new Kpersistent
// and the slot the endpoint named.
func (tv *testVehicle) standard(action dkey.Action, flags Flags, endpointKey *dkey.PublicKey) (PersistentKey, Auth1Result, error) {
	if err := tv.auth0(action, flags); err != nil {
		return PersistentKey{}, Auth1Result{}, err
	}
	return tv.auth1(endpointKey)
}

func (tv *testVehicle) auth1(endpointKey *dkey.PublicKey) (PersistentKey, Auth1Result, error) {
	cmd, err := tv.s.Auth1()
	if err != nil {
		return PersistentKey{}, Auth1Result{}, err
	}
	r, err := tv.do(cmd)
	if err != nil {
		return PersistentKey{}, Auth1Result{}, err
	}
	res, err := tv.s.ReadAuth1(r)
	if err != nil {
		return PersistentKey{}, res, err
	}
	pk, err := tv.s.VerifyEndpoint(endpointKey)
	return pk, res, err
}

func (tv *testVehicle) controlFlow(c ControlFlow) error {
	r, err := tv.do(tv.s.ControlFlow(c))
	if err != nil {
		return err
	}
	return r.SW.Err()
}

func (tv *testVehicle) exchange(ops ...MailboxOp) ([]byte, error) {
	cmd, err := tv.s.Exchange(ops)
	if err != nil {
		return nil, err
	}
	r, err := tv.do(cmd)
	if err != nil {
		return nil, err
	}
	return tv.s.ReadExchange(r)
}

// pair returns a vehicle and an endpoint that know each other.
func pair(t testing.TB, p dkey.Profile) (*testVehicle, *testEndpoint) {
	t.Helper()
	tv := newTestVehicle(t, p)
	te := newTestEndpoint(t, p, tv.v.ID(), tv.v.PublicKey())
	tv.card = te
	return tv, te
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}
