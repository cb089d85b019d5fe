package device

import (
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Instructions of the Aliro applets besides the Digital Key ones
// (apdu.go): LOAD CERT (Aliro 1.0 Table 8-8), and ENVELOPE, which package
// mdoc answers on the step-up applet.
const (
	insAliroLoadCert = 0xD1
	insEnvelope      = 0xC3
)

// EXCHANGE error codes of the applet (B1 B2 of the 00 02 B1 B2 status
// block; Aliro 1.0 8.3.3.5.5 leaves them to the implementation): the
// project's choice.
const (
	// AliroErrorNoRight answers a mailbox request the credential does not
	// offer (signaling bits 4 and 5), or any in the step-up phase (bit 10
	// is 0 in Aliro 1.0).
	AliroErrorNoRight uint16 = 0x0001
	// AliroErrorOutOfBounds answers a request outside the mailbox.
	AliroErrorOutOfBounds uint16 = 0x0002
	// AliroErrorUnsupported answers what the applet does not offer: an
	// update_doc (81) or a URSK request (98) over NFC.
	AliroErrorUnsupported uint16 = 0x0003
	// AliroErrorStorage answers a command whose changes could not be
	// stored: nothing of it applies.
	AliroErrorStorage uint16 = 0x0004
)

// ProcessAPDU answers one command APDU and appends the response to dst. It
// never fails: a malformed or refused command gets a status word, and
// changes nothing it could not change legitimately.
func (a *AliroApplet) ProcessAPDU(dst, apdu []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil {
		// An AliroApplet not made by NewAliroApplet (the zero value) has
		// no session: 6F00, as Applet answers in that case.
		return transport.AppendResponse(dst, nil, dkey.SWNoPreciseDiagnosis)
	}
	if a.closed {
		return transport.AppendResponse(dst, nil, dkey.SWConditionsNotSatisfied)
	}
	cmd, err := transport.ParseCommand(apdu)
	if err != nil {
		a.abortLocked()
		return transport.AppendResponse(dst, nil, dkey.SWWrongLength)
	}
	if a.sel == aliroSelStepUp && a.dev != nil && cmd.INS == insEnvelope && cmd.CLA == 0x00 {
		// The step-up session answers ENVELOPE, its own status words
		// included; a long response comes whole, for the ChainingCard in
		// front of the applet to serve with GET RESPONSE.
		return a.dev.ProcessAPDU(dst, apdu)
	}
	if cmd.IsChained() {
		return transport.AppendResponse(dst, nil, dkey.SWChainingNotSupported)
	}
	if cmd.Channel() != 0 {
		return transport.AppendResponse(dst, nil, dkey.SWLogicalChannelNotSupported)
	}
	start := len(dst)
	out, err := a.dispatchAliro(dst, &cmd)
	if err != nil {
		return transport.AppendResponse(dst[:start], nil, transaction.StatusWordFor(err))
	}
	return transport.AppendResponse(out, nil, dkey.SWSuccess)
}

func (a *AliroApplet) dispatchAliro(dst []byte, cmd *transport.Command) ([]byte, error) {
	if cmd.CLA == 0x00 && cmd.INS == insSelect {
		return a.selectAliro(dst, cmd)
	}
	known := cmd.INS == insAuth0 || cmd.INS == insAuth1 || cmd.INS == insAliroLoadCert || cmd.INS == insExchange || cmd.INS == insControl
	switch {
	case a.sel == aliroSelNone:
		return dst, dkey.SWConditionsNotSatisfied
	case !known:
		return dst, dkey.SWInstructionNotSupported
	case cmd.CLA != 0x80:
		a.abortLocked()
		return dst, dkey.SWClassNotSupported
	case a.sel == aliroSelStepUp:
		if cmd.INS != insExchange {
			return dst, dkey.SWConditionsNotSatisfied
		}
		return a.stepUpExchange(dst, cmd)
	}
	switch cmd.INS {
	case insAuth0:
		return a.aliroAuth0(dst, cmd)
	case insAliroLoadCert:
		return dst, a.failOn(a.sess.LoadCertificate(cmd))
	case insAuth1:
		return a.aliroAuth1(dst, cmd)
	case insExchange:
		return a.aliroExchange(dst, cmd)
	}
	// CONTROL FLOW: the reader reports a failure without a secure
	// channel; the transaction ends.
	cf, err := a.sess.ReadControlFlow(cmd)
	a.resetTxLocked()
	if err == nil {
		a.lastCF = cf
	}
	return dst, err
}

// failOn forgets the transaction when err ended the session's.
func (a *AliroApplet) failOn(err error) error {
	if err != nil {
		a.resetTxLocked()
	}
	return err
}

// selectAliro answers SELECT: the expedited applet starts a new
// transaction; the step-up applet answers only after a standard
// transaction of a credential with documents (its SELECT keeps that
// transaction, whose keys the step-up phase uses); anything else ends the
// transaction and is 6A82.
func (a *AliroApplet) selectAliro(dst []byte, cmd *transport.Command) ([]byte, error) {
	if cmd.P1 == 0x04 && cmd.P2 == 0x00 && dkey.AIDAliroStepUp.Equal(cmd.Data) {
		return a.selectStepUp(dst)
	}
	a.abortLocked()
	out, err := a.sess.Select(dst, cmd)
	if err != nil {
		return dst, err
	}
	a.sel = aliroSelExpedited
	return out, nil
}

// selectStepUp opens the step-up session with the transaction's step-up
// key and the credential's documents for its group (Aliro 1.0 8.4). The
// reply is 9000 with no data, as package mdoc's reader expects; a step-up
// applet with nothing to serve is 6A82.
func (a *AliroApplet) selectStepUp(dst []byte) ([]byte, error) {
	c := a.cur
	if a.sel != aliroSelExpedited || !a.sess.Standard() || c == nil || !a.stepUpKey.Valid() || c.access == nil && c.rev == nil {
		a.abortLocked()
		return dst, dkey.SWFileNotFound
	}
	key := a.stepUpKey.Bytes()
	keys, err := mdoc.AliroStepUpKeys(key)
	clear(key)
	if err != nil {
		a.abortLocked()
		return dst, fmt.Errorf("device: %w: %w", dkey.SWFileNotFound, err)
	}
	var docs []*mdoc.Provisioned
	for _, p := range []*mdoc.Provisioned{c.access, c.rev} {
		if p != nil {
			docs = append(docs, p)
		}
	}
	dev, err := mdoc.NewStepUpDevice(keys, &mdoc.DeviceConfig{Documents: docs, ReaderGroup: c.group[:]})
	keys.Zeroize()
	if err != nil {
		a.abortLocked()
		return dst, fmt.Errorf("device: %w: %w", dkey.SWFileNotFound, err)
	}
	a.endStepUpLocked()
	a.dev, a.sel = dev, aliroSelStepUp
	return dst, nil
}

// aliroAuth0 reads AUTH0, applies the device's policy and answers with the
// credential of the reader's group, or with a decoy of the same shape when
// the applet holds none (Aliro 1.0 8.3.3.2.6).
func (a *AliroApplet) aliroAuth0(dst []byte, cmd *transport.Command) ([]byte, error) {
	a.resetTxLocked()
	req, err := a.sess.ReadAuth0(cmd)
	if err != nil {
		return dst, a.failOn(err)
	}
	c := a.findLocked(req.ReaderID.Group)
	if c == nil {
		return a.sess.Auth0(dst, nil)
	}
	if err := a.aliroPolicyLocked(c, req.Policy); err != nil {
		a.sess.Deselect()
		return dst, fmt.Errorf("device: %w", err)
	}
	a.cur, a.reader = c, req.ReaderID
	a.work = transaction.AliroCredential{Key: c.key, PublicKey: c.pub, ReaderKey: c.readerKey, IssuerTrust: c.issuer, Status: c.status()}
	if i := c.reader(req.ReaderID.SubGroup); i >= 0 {
		a.work.Persistent = c.readers[i].persistent
	}
	out, err := a.sess.Auth0(dst, &a.work)
	if err != nil {
		return dst, a.failOn(err)
	}
	return out, nil
}

// aliroPolicyLocked is the device's policy for c at a reader asking for
// policy (Aliro 1.0 8.3.1.14): a reader that forces user authentication,
// or a credential without express mode, needs a valid user
// authentication.
func (a *AliroApplet) aliroPolicyLocked(c *aliroCred, policy transaction.AliroPolicy) error {
	if (policy == transaction.AliroPolicyForceUserAuthentication || !c.express) && !a.now().Before(a.authTil) {
		return dkey.ErrUserAuthenticationRequired
	}
	return nil
}

// reader returns the index of the reader sub, or -1.
func (c *aliroCred) reader(sub dkey.ReaderSubGroupID) int {
	return slices.IndexFunc(c.readers, func(r aliroReaderKey) bool { return r.sub == sub })
}

// aliroAuth1 runs AUTH1 and stages the new Kpersistent, committed at the
// reader's first authenticated EXCHANGE.
func (a *AliroApplet) aliroAuth1(dst []byte, cmd *transport.Command) ([]byte, error) {
	out, pk, err := a.sess.Auth1(dst, cmd)
	if err != nil {
		return dst, a.failOn(err)
	}
	a.pending = pk
	a.stepUpKey = a.sess.StepUpKey()
	return out, nil
}

// aliroExchange answers an EXCHANGE of the expedited phase.
func (a *AliroApplet) aliroExchange(dst []byte, cmd *transport.Command) ([]byte, error) {
	x, err := a.sess.OpenExchange(cmd)
	if err != nil {
		return dst, a.failOn(err)
	}
	res, code := a.applyExchangeLocked(x, false)
	var out []byte
	if code != 0 {
		out, err = a.sess.SealExchangeError(dst, code)
	} else {
		out, err = a.sess.SealExchange(dst, res)
	}
	clear(res)
	a.afterExchangeLocked(err)
	return out, err
}

// stepUpExchange answers an EXCHANGE of the step-up phase, under the
// step-up channel (transaction.AliroEndpointSession.OpenStepUpExchange).
func (a *AliroApplet) stepUpExchange(dst []byte, cmd *transport.Command) ([]byte, error) {
	if a.dev == nil {
		return dst, dkey.SWConditionsNotSatisfied
	}
	x, err := a.sess.OpenStepUpExchange(a.dev, cmd)
	if err != nil {
		return dst, a.failOn(err)
	}
	res, code := a.applyExchangeLocked(x, true)
	var out []byte
	if code != 0 {
		out, err = a.sess.SealStepUpExchangeError(a.dev, dst, code)
	} else {
		out, err = a.sess.SealStepUpExchange(a.dev, dst, res)
	}
	clear(res)
	a.afterExchangeLocked(err)
	return out, err
}

// afterExchangeLocked ends the transaction state once the session has
// ended (the reader status, an error code, a failure).
func (a *AliroApplet) afterExchangeLocked(err error) {
	if err != nil || a.sess.Ended() {
		a.resetTxLocked()
	}
}

// applyExchangeLocked applies an authenticated EXCHANGE: it first commits
// the Kpersistent of the transaction's AUTH1 (the reader, having keys to
// send it, derived its copy), then checks every mailbox request before it
// applies any, so that a command applies whole or not at all, and stores
// the mailbox's new content (or stages it in an atomic session, Aliro 1.0
// 8.3.3.5) before the answer. It returns the read results, or an error
// code.
func (a *AliroApplet) applyExchangeLocked(x *transaction.AliroExchange, stepUp bool) ([]byte, uint16) {
	c := a.cur
	if c == nil {
		return nil, AliroErrorNoRight
	}
	if a.pending.Valid() {
		err := a.commitAliroPersistentLocked(c, &a.pending)
		a.pending.Zeroize()
		if err != nil {
			return nil, AliroErrorStorage
		}
	}
	if x.UpdateDocument != nil || x.URSK {
		return nil, AliroErrorUnsupported
	}
	if !x.Mailbox {
		return a.results[:0], 0
	}
	if stepUp && len(x.Ops) > 0 {
		return nil, AliroErrorNoRight
	}
	st := c.status()
	for i := range x.Ops {
		op := &x.Ops[i]
		right := transaction.AliroMailboxWrite
		if op.Kind == transaction.OpRead {
			right = transaction.AliroMailboxRead
		}
		switch {
		case !st.Signaling.Has(right):
			return nil, AliroErrorNoRight
		case op.End() > len(c.mailbox):
			return nil, AliroErrorOutOfBounds
		}
	}
	mb := a.staged
	if mb == nil {
		mb = slices.Clone(c.mailbox)
	}
	res := a.results[:0]
	writes := false
	for i := range x.Ops {
		op := &x.Ops[i]
		switch op.Kind {
		case transaction.OpRead:
			res = transaction.AppendAliroReadResult(res, mb[op.Offset:op.End()])
		case transaction.OpWrite:
			copy(mb[op.Offset:], op.Data)
			writes = true
		case transaction.OpFill:
			for j := int(op.Offset); j < op.End(); j++ {
				mb[j] = op.Value
			}
			writes = true
		}
	}
	if x.Atomic {
		// The writes wait for the command that closes the session.
		a.staged = mb
		return res, 0
	}
	if writes || a.staged != nil {
		old := c.mailbox
		if err := a.saveCredLocked(c, func(n *aliroCred) error { n.mailbox = mb; return nil }); err != nil {
			clear(mb)
			a.staged = nil
			clear(res)
			return nil, AliroErrorStorage
		}
		clear(old)
		a.staged = nil
		return res, 0
	}
	clear(mb)
	return res, 0
}

// commitAliroPersistentLocked commits the Kpersistent of a standard
// transaction of c with the reader a.reader: in the secure element under
// the reader's number (a new reader takes the lowest free number, or that
// of the reader committed least recently when MaxAliroReaders are taken),
// then in c's record. The element is written first: a crash in between
// leaves at worst a reader whose Kpersistent no longer matches, whose next
// transaction is a standard one.
func (a *AliroApplet) commitAliroPersistentLocked(c *aliroCred, pk *transaction.PersistentKey) error {
	b := pk.Bytes()
	defer clear(b)
	sub := a.reader.SubGroup
	return a.saveCredLocked(c, func(n *aliroCred) error {
		i := n.reader(sub)
		var num uint32
		switch {
		case i >= 0:
			num = n.readers[i].n
			n.readers = slices.Delete(n.readers, i, i+1)
		case len(n.readers) >= MaxAliroReaders:
			num = n.readers[0].n
			n.readers = slices.Delete(n.readers, 0, 1)
		default:
			for num = 1; slices.ContainsFunc(n.readers, func(r aliroReaderKey) bool { return r.n == num }); num++ {
			}
		}
		if err := a.se.PutSecret(SecretID{Key: n.id, Kind: SecretPersistent, Session: num}, b); err != nil {
			return err
		}
		n.readers = append(n.readers, aliroReaderKey{sub: sub, n: num, persistent: *pk})
		return nil
	})
}
