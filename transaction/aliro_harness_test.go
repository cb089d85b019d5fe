package transaction

import (
	"crypto"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// aliroTestEndpoint is a minimal Aliro applet around an AliroEndpointSession
// for the tests of this package: credentials by reader group, Kpersistent by
// reader identifier, one mailbox, no user policy. The real applet is phase 2
// of issue 21 (device.Applet).
type aliroTestEndpoint struct {
	s       *AliroEndpointSession
	creds   map[dkey.ReaderGroupID]*AliroCredential
	persist map[dkey.ReaderID]PersistentKey
	cur     AliroCredential
	mailbox []byte
	reqs    []AliroAuth0Request
	lastCF  AliroControlFlow
	lastErr error
	status  AliroReaderStatus
	results []byte
}

func newAliroTestEndpoint(t testing.TB, cfg *AliroEndpointConfig) *aliroTestEndpoint {
	t.Helper()
	if cfg == nil {
		cfg = &AliroEndpointConfig{}
	}
	s, err := NewAliroEndpointSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &aliroTestEndpoint{
		s: s, creds: map[dkey.ReaderGroupID]*AliroCredential{}, persist: map[dkey.ReaderID]PersistentKey{},
		mailbox: make([]byte, 64), results: make([]byte, 0, MaxAliroExchangeData),
	}
}

// add binds a new credential to group, trusting readerKey (a reader key, or
// a CA key when issuer is set), and returns it.
func (e *aliroTestEndpoint) add(t testing.TB, group dkey.ReaderGroupID, readerKey *dkey.PublicKey, issuer bool) *AliroCredential {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	c := &AliroCredential{
		Key: k, PublicKey: k.PublicKey(), ReaderKey: readerKey, IssuerTrust: issuer,
		Status: AliroStatus{Signaling: AliroMailboxRead | AliroMailboxWrite},
	}
	e.creds[group] = c
	return c
}

func (e *aliroTestEndpoint) ProcessAPDU(dst, apdu []byte) []byte {
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

func (e *aliroTestEndpoint) process(dst []byte, cmd *transport.Command) ([]byte, error) {
	switch cmd.INS {
	case insSelect:
		return e.s.Select(dst, cmd)
	case insAuth0:
		req, err := e.s.ReadAuth0(cmd)
		if err != nil {
			return dst, err
		}
		e.reqs = append(e.reqs[:0], req)
		c, ok := e.creds[req.ReaderID.Group]
		if !ok {
			return e.s.Auth0(dst, nil)
		}
		e.cur = *c
		e.cur.Persistent = e.persist[req.ReaderID]
		return e.s.Auth0(dst, &e.cur)
	case insAliroLoadCert:
		return dst, e.s.LoadCertificate(cmd)
	case insAuth1:
		out, pk, err := e.s.Auth1(dst, cmd)
		if err == nil {
			e.persist[e.reqs[0].ReaderID] = pk
		}
		return out, err
	case insExchange:
		x, err := e.s.OpenExchange(cmd)
		if err != nil {
			return dst, err
		}
		if x.HasStatus {
			e.status = x.Status
		}
		res := e.results[:0]
		for i := range x.Ops {
			op := &x.Ops[i]
			right := AliroMailboxWrite
			if op.Kind == OpRead {
				right = AliroMailboxRead
			}
			if !e.cur.Status.Signaling.Has(right) || op.End() > len(e.mailbox) {
				return e.s.SealExchangeError(dst, 0x0001)
			}
		}
		for i := range x.Ops {
			op := &x.Ops[i]
			switch op.Kind {
			case OpRead:
				res = AppendAliroReadResult(res, e.mailbox[op.Offset:op.End()])
			case OpWrite:
				copy(e.mailbox[op.Offset:], op.Data)
			case OpFill:
				for j := int(op.Offset); j < op.End(); j++ {
					e.mailbox[j] = op.Value
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

// aliroTestReader runs an AliroReaderSession against a card in memory.
type aliroTestReader struct {
	r    *AliroReader
	s    *AliroReaderSession
	card transport.Card
	apdu []byte
	resp []byte
}

func newAliroTestReader(t testing.TB, cfg *AliroReaderConfig) *aliroTestReader {
	t.Helper()
	if cfg.Key == nil {
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Key = k
	}
	if cfg.ReaderID.IsZero() {
		copy(cfg.ReaderID.Group[:], "aliro test group")
		copy(cfg.ReaderID.SubGroup[:], "front door      ")
	}
	r, err := NewAliroReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &aliroTestReader{r: r, s: r.NewSession(), apdu: make([]byte, 0, 4096), resp: make([]byte, 0, 4096)}
}

func (tr *aliroTestReader) do(cmd transport.Command) (transport.Response, error) {
	apdu, err := cmd.Append(tr.apdu[:0])
	if err != nil {
		return transport.Response{}, err
	}
	tr.resp = tr.card.ProcessAPDU(tr.resp[:0], apdu)
	return transport.ParseResponse(tr.resp)
}

// auth0 runs SELECT and AUTH0.
func (tr *aliroTestReader) auth0(policy AliroPolicy, fast bool) error {
	if err := tr.s.Start(policy, fast); err != nil {
		return err
	}
	r, err := tr.do(tr.s.Select())
	if err != nil {
		return err
	}
	if err := tr.s.ReadSelect(r); err != nil {
		return err
	}
	cmd, err := tr.s.Auth0()
	if err != nil {
		return err
	}
	if r, err = tr.do(cmd); err != nil {
		return err
	}
	return tr.s.ReadAuth0(r)
}

// auth1 runs LOAD CERT when configured, AUTH1, and verifies the device with
// credential (or, when nil, with the public key the response carries).
func (tr *aliroTestReader) auth1(credential *dkey.PublicKey) (PersistentKey, AliroAuth1Result, error) {
	cmd, ok, err := tr.s.LoadCertificate()
	if err != nil {
		return PersistentKey{}, AliroAuth1Result{}, err
	}
	if ok {
		r, err := tr.do(cmd)
		if err != nil {
			return PersistentKey{}, AliroAuth1Result{}, err
		}
		if err := tr.s.ReadLoadCertificate(r); err != nil {
			return PersistentKey{}, AliroAuth1Result{}, err
		}
	}
	if cmd, err = tr.s.Auth1(); err != nil {
		return PersistentKey{}, AliroAuth1Result{}, err
	}
	r, err := tr.do(cmd)
	if err != nil {
		return PersistentKey{}, AliroAuth1Result{}, err
	}
	res, err := tr.s.ReadAuth1(r)
	if err != nil {
		return PersistentKey{}, res, err
	}
	if credential == nil {
		credential = res.PublicKey
	}
	pk, err := tr.s.VerifyEndpoint(credential)
	return pk, res, err
}

// standard runs a whole standard transaction up to VerifyEndpoint.
func (tr *aliroTestReader) standard(policy AliroPolicy, credential *dkey.PublicKey) (PersistentKey, AliroAuth1Result, error) {
	if err := tr.auth0(policy, false); err != nil {
		return PersistentKey{}, AliroAuth1Result{}, err
	}
	return tr.auth1(credential)
}

// fast runs SELECT, AUTH0 with a fast request and FindFast.
func (tr *aliroTestReader) fast(policy AliroPolicy, keys []FastKey) (int, error) {
	if err := tr.auth0(policy, true); err != nil {
		return -1, err
	}
	return tr.s.FindFast(keys), nil
}

func (tr *aliroTestReader) exchange(x *AliroExchange) (AliroReadResults, error) {
	cmd, err := tr.s.Exchange(x)
	if err != nil {
		return AliroReadResults{}, err
	}
	r, err := tr.do(cmd)
	if err != nil {
		return AliroReadResults{}, err
	}
	return tr.s.ReadExchange(r)
}

// finish sends the final reader status.
func (tr *aliroTestReader) finish(status AliroReaderStatus) error {
	_, err := tr.exchange(&AliroExchange{HasStatus: true, Status: status})
	return err
}

func (tr *aliroTestReader) controlFlow(s2 byte) error {
	cmd, err := tr.s.ControlFlow(&AliroControlFlow{S1: AliroS1Failure, S2: s2})
	if err != nil {
		return err
	}
	r, err := tr.do(cmd)
	if err != nil {
		return err
	}
	return r.SW.Err()
}

// aliroPair returns a reader and a device holding a credential bound to the
// reader's group with the reader's key: the no-certificate installation.
func aliroPair(t testing.TB) (*aliroTestReader, *aliroTestEndpoint, *AliroCredential) {
	t.Helper()
	tr := newAliroTestReader(t, &AliroReaderConfig{})
	te := newAliroTestEndpoint(t, nil)
	c := te.add(t, tr.r.ID().Group, tr.r.PublicKey(), false)
	tr.card = te
	return tr, te, c
}

// aliroCertPair returns a reader whose key a CA certified, sending the
// certificate in LOAD CERT or in AUTH1, and a device that trusts the CA for
// the reader's group.
func aliroCertPair(t testing.TB, inAuth1 bool) (*aliroTestReader, *aliroTestEndpoint, *AliroCredential) {
	t.Helper()
	ca, _ := dkey.GenerateSoftwareKey()
	rk, _ := dkey.GenerateSoftwareKey()
	cert, err := IssueAliroCertificate(ca, &AliroCertificate{PublicKey: rk.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	tr := newAliroTestReader(t, &AliroReaderConfig{Key: rk, GroupKey: ca.PublicKey(), Certificate: cert.Append(nil), CertificateInAuth1: inAuth1})
	te := newAliroTestEndpoint(t, nil)
	c := te.add(t, tr.r.ID().Group, ca.PublicKey(), true)
	tr.card = te
	return tr, te, c
}

// fixedSigner is a crypto.Signer that returns one known signature, for
// reproducing published transcripts: it checks that the digest is the one
// that signature covers and fails otherwise.
type fixedSigner struct {
	pub    crypto.PublicKey
	digest [sha256.Size]byte
	der    []byte
}

func newFixedSigner(t testing.TB, pub *dkey.PublicKey, signed, raw []byte) *fixedSigner {
	t.Helper()
	sig, err := dkey.ParseSignature(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(signed, &sig); err != nil {
		t.Fatalf("the fixed signature does not verify: %v", err)
	}
	return &fixedSigner{pub: pub.ECDSA(), digest: sha256.Sum256(signed), der: sig.AppendASN1(nil)}
}

func (f *fixedSigner) Public() crypto.PublicKey { return f.pub }

func (f *fixedSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	if string(digest) != string(f.digest[:]) {
		return nil, errors.New("fixedSigner: asked to sign other data")
	}
	return f.der, nil
}
