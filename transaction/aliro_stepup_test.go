package transaction

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transport"
)

// stepUpSides runs a standard transaction and one step-up request through
// package mdoc, and returns the two step-up channels, open.
func stepUpSides(t *testing.T) (*aliroTestReader, *aliroTestEndpoint, *mdoc.RequestReader, *mdoc.Device) {
	t.Helper()
	tr, te, cred := aliroPair(t)
	if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	rk, ek := tr.s.StepUpKey(), te.s.StepUpKey()
	rs, _ := mdoc.AliroStepUpKeys(rk.Bytes())
	es, _ := mdoc.AliroStepUpKeys(ek.Bytes())
	issuer, err := mdoc.NewIssuer(mdoc.Aliro)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	doc, err := issuer.Issue(&mdoc.DocumentSpec{
		DocType: mdoc.AliroAccessDocType, DeviceKey: cred.PublicKey, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour),
		Elements: []mdoc.Element{{NameSpace: mdoc.AliroAccessDocType, Identifier: mdoc.AliroDefaultElement, Value: mdoc.EncodeBytes([]byte{1})}},
	})
	if err != nil {
		t.Fatal(err)
	}
	group := tr.r.ID().Group
	stored, _ := mdoc.NewProvisioned(group[:], doc)
	dev, err := mdoc.NewStepUpDevice(es, &mdoc.DeviceConfig{Documents: []*mdoc.Provisioned{stored}, ReaderGroup: group[:]})
	if err != nil {
		t.Fatal(err)
	}
	req, err := mdoc.NewStepUpReader(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := transport.ParseResponse(dev.ProcessAPDU(nil, encode(t, req.Command())))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.Handle(resp); err != nil {
		t.Fatal(err)
	}
	return tr, te, req, dev
}

// stepUpExchange moves one step-up EXCHANGE from the reader to the
// endpoint, which answers it with reads, and back.
func stepUpExchange(t *testing.T, tr *aliroTestReader, te *aliroTestEndpoint, req *mdoc.RequestReader, dev *mdoc.Device, x *AliroExchange, reads []byte) (*AliroExchange, AliroReadResults, error) {
	t.Helper()
	cmd, err := tr.s.StepUpExchange(req, x)
	if err != nil {
		return nil, AliroReadResults{}, err
	}
	parsed, err := transport.ParseCommand(encode(t, cmd))
	if err != nil {
		t.Fatal(err)
	}
	got, err := te.s.OpenStepUpExchange(dev, &parsed)
	if err != nil {
		return nil, AliroReadResults{}, err
	}
	seen := *got
	out, err := te.s.SealStepUpExchange(dev, nil, reads)
	if err != nil {
		return &seen, AliroReadResults{}, err
	}
	res, err := tr.s.ReadStepUpExchange(req, transport.Response{Data: out, SW: dkey.SWSuccess})
	return &seen, res, err
}

// TestAliroStepUpExchange: after the step-up request, the reader reads the
// mailbox and then sends its final status under the step-up channel
// (Aliro 1.0 8.4; the reader's status comes after the step-up), which ends
// the transaction on both sides.
func TestAliroStepUpExchange(t *testing.T) {
	tr, te, req, dev := stepUpSides(t)
	got, res, err := stepUpExchange(t, tr, te, req, dev, &AliroExchange{Mailbox: true, Ops: []AliroMailboxOp{{Kind: OpRead, Offset: 2, Length: 3}}},
		AppendAliroReadResult(nil, []byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Mailbox || len(got.Ops) != 1 || got.Ops[0].Length != 3 {
		t.Errorf("device saw %+v", got)
	}
	if d, ok := res.Next(); !ok || string(d) != "abc" {
		t.Errorf("read %q", d)
	}
	got, _, err = stepUpExchange(t, tr, te, req, dev, &AliroExchange{HasStatus: true, Status: AliroStatusUnsecure}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.HasStatus || got.Status != AliroStatusUnsecure || !te.s.Ended() {
		t.Errorf("device saw %+v, ended %v", got, te.s.Ended())
	}
	// Nothing follows the status, on either channel.
	if _, err := tr.s.StepUpExchange(req, &AliroExchange{HasStatus: true}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("StepUpExchange after the status: %v", err)
	}
	if _, err := tr.s.Exchange(&AliroExchange{HasStatus: true}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Exchange after the status: %v", err)
	}
}

func TestAliroStepUpExchangeFailures(t *testing.T) {
	t.Run("device error", func(t *testing.T) {
		tr, te, req, dev := stepUpSides(t)
		cmd, err := tr.s.StepUpExchange(req, &AliroExchange{HasStatus: true, Status: AliroStatusUnsecure})
		if err != nil {
			t.Fatal(err)
		}
		parsed, _ := transport.ParseCommand(encode(t, cmd))
		if _, err := te.s.OpenStepUpExchange(dev, &parsed); err != nil {
			t.Fatal(err)
		}
		out, err := te.s.SealStepUpExchangeError(dev, nil, 0x0102)
		if err != nil || !te.s.Ended() {
			t.Fatalf("SealStepUpExchangeError = %v, ended %v", err, te.s.Ended())
		}
		var xe *AliroExchangeError
		if _, err := tr.s.ReadStepUpExchange(req, transport.Response{Data: out, SW: dkey.SWSuccess}); !errors.As(err, &xe) || xe.Code != 0x0102 {
			t.Errorf("ReadStepUpExchange = %v, want AliroExchangeError 0102", err)
		}
	})
	t.Run("altered command", func(t *testing.T) {
		tr, te, req, dev := stepUpSides(t)
		cmd, err := tr.s.StepUpExchange(req, &AliroExchange{HasStatus: true})
		if err != nil {
			t.Fatal(err)
		}
		cmd.Data[0] ^= 1
		parsed, _ := transport.ParseCommand(encode(t, cmd))
		if _, err := te.s.OpenStepUpExchange(dev, &parsed); !errors.Is(err, ErrChannel) {
			t.Errorf("altered step-up EXCHANGE: %v, want ErrChannel", err)
		}
		if k := te.s.StepUpKey(); te.s.Standard() || k.Valid() {
			t.Error("the transaction survived an altered command")
		}
	})
	t.Run("expedited channel is not the step-up one", func(t *testing.T) {
		tr, te, req, dev := stepUpSides(t)
		// An EXCHANGE under the expedited keys, sent where a step-up one is
		// expected, does not open.
		cmd, err := tr.s.Exchange(&AliroExchange{HasStatus: true})
		if err != nil {
			t.Fatal(err)
		}
		parsed, _ := transport.ParseCommand(encode(t, cmd))
		if _, err := te.s.OpenStepUpExchange(dev, &parsed); !errors.Is(err, ErrChannel) {
			t.Errorf("expedited EXCHANGE on the step-up channel: %v, want ErrChannel", err)
		}
		_ = req
	})
	t.Run("sequence", func(t *testing.T) {
		tr, te, _ := aliroPair(t)
		if err := tr.auth0(AliroPolicyUserDevice, false); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.s.StepUpExchange(nopChannel{}, &AliroExchange{HasStatus: true}); !errors.Is(err, ErrOutOfSequence) {
			t.Errorf("StepUpExchange before AUTH1: %v", err)
		}
		if _, err := tr.s.ReadStepUpExchange(nopChannel{}, transport.Response{SW: dkey.SWSuccess}); !errors.Is(err, ErrOutOfSequence) {
			t.Errorf("ReadStepUpExchange without a command: %v", err)
		}
		cmd := transport.Command{CLA: claDK, INS: insExchange, Data: []byte{1}}
		if _, err := te.s.OpenStepUpExchange(nopChannel{}, &cmd); !errors.Is(err, ErrOutOfSequence) {
			t.Errorf("OpenStepUpExchange before AUTH1: %v", err)
		}
		if _, err := te.s.SealStepUpExchange(nopChannel{}, nil, nil); !errors.Is(err, ErrOutOfSequence) {
			t.Errorf("SealStepUpExchange without a command: %v", err)
		}
	})
}

// nopChannel passes messages in clear, for sequence tests.
type nopChannel struct{}

func (nopChannel) SealMessage(dst, p []byte) ([]byte, error) { return append(dst, p...), nil }
func (nopChannel) OpenMessage(dst, c []byte) ([]byte, error) { return append(dst, c...), nil }

// TestAliroStepUpExchangeMixed: an expedited EXCHANGE answered as one
// cannot be answered under the step-up channel, nor the reverse.
func TestAliroStepUpExchangeMixed(t *testing.T) {
	tr, te, req, dev := stepUpSides(t)
	cmd, err := tr.s.Exchange(&AliroExchange{Mailbox: true, Ops: []AliroMailboxOp{{Kind: OpRead, Length: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := transport.ParseCommand(encode(t, cmd))
	if _, err := te.s.OpenExchange(&parsed); err != nil {
		t.Fatal(err)
	}
	if _, err := te.s.SealStepUpExchange(dev, nil, nil); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("step-up answer to an expedited EXCHANGE: %v", err)
	}
	out, err := te.s.SealExchange(nil, AppendAliroReadResult(nil, []byte{7}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.s.ReadStepUpExchange(req, transport.Response{Data: out, SW: dkey.SWSuccess}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("reading an expedited response as a step-up one: %v", err)
	}
	res, err := tr.s.ReadExchange(transport.Response{Data: out, SW: dkey.SWSuccess})
	if d, _ := res.Next(); err != nil || !bytes.Equal(d, []byte{7}) {
		t.Errorf("ReadExchange = %x, %v", d, err)
	}
}
