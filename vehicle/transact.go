package vehicle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Result is the outcome of one transaction: which key, which action, fast
// or standard, and why it failed. The vehicle acts on it: opens the doors,
// arms the immobilizer, applies the speed limit of the key's profile.
type Result struct {
	Action dkey.Action
	// Slot is the key that transacted, set only once the key proved itself
	// (cryptogram or AUTH1 signature); zero when it is unknown or did not.
	Slot dkey.KeySlot
	// Role is the key's role.
	Role dkey.KeyRole
	// Profile is the key's access profile; a non-zero MaxSpeed is a limit
	// the vehicle enforces while this key drives.
	Profile dkey.AccessProfile
	// Fast reports a fast transaction (cryptogram), Standard one with AUTH1.
	Fast bool
	// Version is the protocol version selected.
	Version dkey.Version
	// ControlFlow is the outcome reported to the device.
	ControlFlow transaction.ControlFlow
	// ControlFlowDelivered reports whether the device acknowledged CONTROL
	// FLOW. A transaction can succeed without it (the phone left the field
	// after authenticating): the vehicle acts on it, and both sides keep
	// their old Kpersistent.
	ControlFlowDelivered bool
	// FirstFriend reports a first friend transaction (docs/protocol.md §6.4):
	// the key was unknown, its key attestation admitted it, and it is now
	// enrolled (Slot, Role and Profile are its), whether or not the action
	// itself was allowed.
	FirstFriend bool
	// Statements lists what the vehicle did with each statement of the
	// key's statement area (Enrollment.StatementArea): friend keys
	// admitted, keys terminated, receipts checked. When the area was
	// consumed the transaction ends with CONTROL FLOW 4082 instead of 0100.
	Statements []StatementResult
	// Attested reports a Home Key transaction that ran the attestation
	// flow (homekey.go): the key was unknown and its document enrolled it
	// (Slot, Role and Profile are its), whether or not the action itself
	// was allowed, or, with AttestAlways, the enrolled key's document was
	// confirmed. Its CONTROL FLOW is 40A0, which sent the device to the
	// configuration applet.
	Attested bool
	// HasRangingKey reports that the transaction derived the UWB ranging
	// key (URSK) of a standard CCC transaction, which RangingKey returns.
	HasRangingKey bool
	// RangingKeyStored reports that both sides keep the URSK for UWB
	// ranging under RangingSession, the UWB session ID (the last four
	// bytes of the transaction identifier, docs/protocol.md §8.4): a
	// ranging-key transaction (dkey.ActionRangingKey, P2 10) whose CREATE
	// RANGING KEY the device accepted, and whose success it acknowledged.
	// The reader is the vehicle's ranging.KeyStore (RangingKey).
	RangingKeyStored bool
	RangingSession   ranging.SessionID
	// Err is why the transaction failed, nil on success; Transact returns
	// it too.
	Err error

	rangingKey transaction.RangingKey
}

// OK reports whether the transaction succeeded.
func (r *Result) OK() bool { return r.Err == nil }

// RangingKey returns the UWB ranging key (URSK) of a standard CCC
// transaction, and false when the transaction derived none. It is a
// secret: the ranging setup uses it, and it redacts itself when printed.
func (r *Result) RangingKey() (transaction.RangingKey, bool) {
	return r.rangingKey, r.HasRangingKey
}

// String describes the result without the ranging key.
func (r Result) String() string {
	return fmt.Sprintf("{Action:%v Slot:%v Role:%v Profile:%+v Fast:%v Version:%v ControlFlow:%v ControlFlowDelivered:%v FirstFriend:%v Statements:%v Attested:%v HasRangingKey:%v RangingKey:[redacted] RangingKeyStored:%v RangingSession:%v Err:%v}",
		r.Action, r.Slot, r.Role, r.Profile, r.Fast, r.Version, r.ControlFlow, r.ControlFlowDelivered, r.FirstFriend, r.Statements, r.Attested, r.HasRangingKey, r.RangingKeyStored, r.RangingSession, r.Err)
}

// GoString is String: the ranging key is never printed.
func (r Result) GoString() string { return "vehicle.Result" + r.String() }

// Format prints String for every verb (GoString for %#v).
func (r Result) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, r.GoString())
		return
	}
	fmt.Fprint(f, r.String())
}

// fastAllowed is the vehicle's policy: unlock and lock may take a fast
// transaction; everything else, engine start first, takes a standard one
// (docs/protocol.md §4.1, §9).
func fastAllowed(a dkey.Action) bool { return a == dkey.ActionUnlock || a == dkey.ActionLock }

// pooled is what a Reader reuses from one transaction to the next: the
// session, the APDU client and the response buffer with what they have
// grown, and the run itself, so that the Result and the client do not
// each cost an allocation per transaction (the escape analysis would move
// a Result whose address a run holds to the heap).
type pooled struct {
	s   *transaction.VehicleSession
	c   transport.Client
	x   run
	buf []byte
}

// run is one transaction in progress.
type run struct {
	r   *Reader
	s   *transaction.VehicleSession
	c   *transport.Client
	ctx context.Context
	res Result
	buf []byte
	// key is the enrolled key that proved itself, nil until then.
	key *enrolled
	// pending is the new Kpersistent of a standard transaction, committed
	// when the transaction succeeds and the device acknowledged it.
	pending transaction.PersistentKey
	// admitted is the key attestation a first friend transaction admitted
	// the key with (sharing.go).
	admitted []byte
	// wrote reports that the transaction wrote the key's immobilizer
	// token, which the reader stores with the outcome.
	wrote bool
	// ursk is the vehicle's copy of the URSK the device agreed to keep
	// (ranging.go), stored with the outcome.
	ursk stagedURSK
	// cfSent reports that the transaction sent its CONTROL FLOW already
	// (40A0 of the Home Key attestation flow, homekey.go), and
	// cfDelivered that the device acknowledged it.
	cfSent, cfDelivered bool
	// fastMiss reports a fast cryptogram that matched no key (hooks.go).
	fastMiss bool
}

func (x *run) do(cmd transport.Command) (transport.Response, error) {
	r, err := x.c.Do(x.ctx, &cmd, x.buf[:0])
	if cap(r.Data) > cap(x.buf) {
		x.buf = r.Data[:0]
	}
	return r, err
}

// Transact runs one transaction for action with the device behind t: fast
// first when the action allows it, standard otherwise or on a miss. It
// always ends with CONTROL FLOW telling the device the outcome (when the
// link still works). The returned Result says what happened; its Err is the
// returned error.
func (r *Reader) Transact(ctx context.Context, t transport.Transceiver, action dkey.Action) (Result, error) {
	start := r.hooks.transactionStart(action)
	if r.v == nil {
		return r.refuse(action, ErrNotInitialized, start)
	}
	// The interface of t (ble.go) picks the sessions, whose key
	// derivation binds its byte, and how APDUs are framed.
	pool, err := r.sessionPool(t)
	if err != nil {
		return r.refuse(action, err, start)
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return r.refuse(action, ErrClosed, start)
	}
	p := pool.Get().(*pooled)
	r.resetClient(&p.c, t)
	p.x = run{r: r, s: p.s, c: &p.c, ctx: ctx, buf: p.buf}
	x := &p.x
	defer func() {
		x.pending.Zeroize()
		x.ursk.clear()
		p.s.Close()
		p.buf = x.buf[:0]
		// The pooled run keeps nothing of this transaction: the Result
		// returned owns its Statements, the transceiver and the context
		// are the caller's.
		p.x = run{}
		p.c.Reset(nil, nil)
		pool.Put(p)
	}()
	res := &x.res
	res.Action = action
	cf, err := x.transact(action)
	if err == nil && cf == transaction.CFSuccess && action == dkey.ActionOwnerPairingFirst {
		// End of owner pairing phase 3, owner immobilizer token
		// provisioned (docs/protocol.md §3.1 phase 4).
		cf = transaction.CFPairingComplete
	}
	res.ControlFlow = cf
	if x.cfSent {
		// The device is on the configuration applet: the transaction's
		// CONTROL FLOW was 40A0.
		res.ControlFlowDelivered = x.cfDelivered
	} else {
		res.ControlFlowDelivered = x.controlFlow(cf) == nil
	}
	// Both sides replace Kpersistent only when a standard transaction
	// succeeded and the device acknowledged CONTROL FLOW: a transaction
	// that fails anywhere leaves both with the old key, and the URSK
	// the device agreed to keep goes with the new Kpersistent or not at
	// all.
	commit := err == nil && res.ControlFlowDelivered && x.pending.Valid()
	if commit || x.wrote {
		if serr := x.record(commit); serr != nil {
			err = serr
		}
	}
	res.Err = err
	r.hooks.transactionDone(res, x.fastMiss, start)
	return *res, err
}

// refuse ends a transaction that did not start: its Result says err, and
// the hooks see it end.
func (r *Reader) refuse(action dkey.Action, err error, start time.Time) (Result, error) {
	res := Result{Action: action, Err: err}
	r.hooks.transactionDone(&res, false, start)
	return res, err
}

// record stores what the transaction changed, in one batch: the new
// Kpersistent when commit is set, the immobilizer token written. A fast
// transaction records nothing: when the key was used last is written with
// the next batch (and at Close).
func (x *run) record(commit bool) error {
	r := x.r
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.indexOf(x.key)
	if i < 0 {
		return nil
	}
	c := *x.key
	if x.wrote {
		c.provisioned = true
	}
	if commit {
		c.persistent = x.pending
	}
	ops, err := r.keyOps(nil, &c)
	var apply func()
	if err == nil && commit && x.ursk.ok {
		// The URSK the device keeps, in the same batch (ranging.go).
		ops, apply, err = r.rangingOps(ops, c.info.Slot, &x.ursk)
	}
	if err == nil {
		err = r.commitLocked(ops, nil)
	}
	if err != nil {
		return fmt.Errorf("vehicle: recording the transaction: %w", err)
	}
	*x.key = c
	if commit {
		r.fast[i] = transaction.NewFastKey(x.key.info.PublicKey, &x.pending)
	}
	if apply != nil {
		apply()
		x.res.RangingKeyStored, x.res.RangingSession = true, x.ursk.session
	}
	return nil
}

// controlFlow sends CONTROL FLOW and reports whether the device
// acknowledged it.
func (x *run) controlFlow(cf transaction.ControlFlow) error {
	r, err := x.do(x.s.ControlFlow(cf))
	if err != nil {
		return fmt.Errorf("vehicle: CONTROL FLOW: %w", err)
	}
	if !r.SW.OK() {
		return fmt.Errorf("vehicle: CONTROL FLOW: %w", r.SW)
	}
	return nil
}

// transact runs the steps and returns the CONTROL FLOW code to send.
func (x *run) transact(action dkey.Action) (transaction.ControlFlow, error) {
	s := x.s
	var flags transaction.Flags
	if fastAllowed(action) {
		flags |= transaction.FlagFast
	}
	if action.StartsDrive() || action == dkey.ActionOwnerPairingFirst {
		flags |= transaction.FlagExchange
	}
	if err := s.Start(action, flags); err != nil {
		return transaction.CFFailure, err
	}
	resp, err := x.do(s.Select())
	if err != nil {
		return transaction.CFFailure, err
	}
	if !resp.SW.OK() {
		return transaction.CFFailure, fmt.Errorf("%w: %w", ErrNoApplet, resp.SW)
	}
	if err := s.ReadSelect(resp); err != nil {
		return transaction.CFInvalidDataFormat, err
	}
	x.res.Version = s.Version()
	cmd, err := s.Auth0()
	if err != nil {
		return transaction.CFFailure, err
	}
	if resp, err = x.do(cmd); err != nil {
		return transaction.CFFailure, err
	}
	if !resp.SW.OK() {
		return transaction.CFFailure, fmt.Errorf("%w: %w", ErrRefused, resp.SW)
	}
	if err := s.ReadAuth0(resp); err != nil {
		return transaction.CFInvalidDataFormat, err
	}
	if s.HasCryptogram() {
		if cf, matched, err := x.fast(action); matched {
			return cf, err
		}
		x.fastMiss = true
		x.r.hooks.fastMiss(&x.res)
	}
	return x.standard(action)
}

// fast tries the cryptogram against the enrolled keys. matched is false on
// a miss: the caller falls back to a standard transaction.
func (x *run) fast(action dkey.Action) (cf transaction.ControlFlow, matched bool, err error) {
	r := x.r
	r.mu.Lock()
	defer r.mu.Unlock()
	i := x.s.FindFast(r.fast)
	if i < 0 {
		return 0, false, nil
	}
	k := r.keys[i]
	x.key = k
	x.res.Slot, x.res.Role, x.res.Profile, x.res.Fast = k.info.Slot, k.info.Role, k.info.Profile, true
	if cf, err := check(k, action, r.now()); err != nil {
		return cf, true, err
	}
	k.info.LastUse = r.now()
	r.touch(i)
	return transaction.CFSuccess, true, nil
}

// standard runs AUTH1 and what follows: the endpoint's signature, the
// policy, mailbox access for the immobilizer token. The reader's lock is
// never held across I/O or public-key operations; the key is re-checked
// under the lock at the end, so a key removed or suspended meanwhile does
// not succeed.
func (x *run) standard(action dkey.Action) (transaction.ControlFlow, error) {
	s, r := x.s, x.r
	cmd, err := s.Auth1()
	if err != nil {
		return transaction.CFFailure, err
	}
	resp, err := x.do(cmd)
	if err != nil {
		return transaction.CFFailure, err
	}
	if !resp.SW.OK() {
		return transaction.CFFailure, fmt.Errorf("%w: %w", ErrRefused, resp.SW)
	}
	a1, err := s.ReadAuth1(resp)
	if err != nil {
		if errors.Is(err, transaction.ErrChannel) {
			return transaction.CFInvalidChannel, err
		}
		return transaction.CFInvalidDataFormat, err
	}

	r.mu.Lock()
	k := r.lookup(a1.Slot)
	var pub *dkey.PublicKey
	var header []byte
	if k != nil {
		pub = k.info.PublicKey
		if k.statements {
			header = statementHeader(k.mailboxes.PrivateAuth1, a1.Private)
		}
	}
	attest := k == nil && r.attestsUnknownLocked(a1.Slot)
	r.mu.Unlock()
	if attest {
		// Home Key: a lock that does not know the key learns it from its
		// attestation document (homekey.go).
		return x.attest(action, &a1, nil)
	}
	// area is the key's statement area once read; statements says whether
	// to read it.
	var area []byte
	// The first transaction of a paired key finds its mailboxes empty.
	statements := k != nil && k.statements && action != dkey.ActionOwnerPairingFirst
	if k == nil {
		nk, a, cf, err := x.unknownSlot(a1)
		if err != nil {
			return cf, err
		}
		k, area, statements = nk, a, true
		x.key = k
	} else {
		pk, err := s.VerifyEndpoint(pub)
		if err != nil {
			return transaction.CFInvalidSignature, err
		}
		x.pending = pk
		pk.Zeroize()
		x.key = k
		if r.attestsKnown() {
			return x.attest(action, &a1, k)
		}
	}

	r.mu.Lock()
	x.res.Slot, x.res.Role, x.res.Profile = k.info.Slot, k.info.Role, k.info.Profile
	cf, err := check(k, action, r.now())
	token, tokenOff, provisioned, inAuth1 := k.token, k.tokenOff, k.provisioned, k.mailboxes.ConfidentialAuth1
	r.mu.Unlock()
	if err != nil {
		return cf, err
	}

	wrote := false
	if len(token) > 0 && !provisioned {
		if err := x.writeToken(token, tokenOff); err != nil {
			return exchangeFailure(err), err
		}
		wrote = true
	} else if action.StartsDrive() && len(token) > 0 {
		if err := x.checkToken(token, tokenOff, inAuth1, a1.Confidential); err != nil {
			return exchangeFailure(err), err
		}
	}
	consumed := false
	if statements {
		if area == nil {
			var bad error
			if area, bad, err = x.readArea(header); err != nil {
				if errors.Is(err, transaction.ErrChannel) {
					return transaction.CFInvalidChannel, err
				}
				// The device refused the read: the transaction stands.
				bad = err
			}
			if bad != nil {
				x.res.Statements = append(x.res.Statements, StatementResult{Err: bad})
			}
		}
		if area != nil {
			consumed = x.consume(k, area)
		}
		if consumed {
			if err := x.acknowledgeArea(area[sharing.SignalOffset]); err != nil {
				if errors.Is(err, transaction.ErrChannel) {
					return transaction.CFInvalidChannel, err
				}
				// The device kept the area (its host wrote to it since
				// AUTH1): the statements come again, and are applied
				// again without effect.
				consumed = false
				x.res.Statements = append(x.res.Statements, StatementResult{Err: err})
			}
		}
	}
	if wantsRangingKey(action) {
		// The device keeps the URSK of this transaction (ranging.go).
		if err := x.createRangingKey(); err != nil {
			return transaction.CFFailure, err
		}
	}
	x.res.rangingKey = s.RangingKey()
	x.res.HasRangingKey = x.res.rangingKey.Valid()

	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.indexOf(k)
	if i < 0 {
		return transaction.CFFailure, fmt.Errorf("vehicle: %w: slot %v was removed during the transaction", dkey.ErrKeyTerminated, k.info.Slot)
	}
	if cf, err := check(k, action, r.now()); err != nil {
		return cf, err
	}
	x.wrote = wrote
	k.info.LastUse = r.now()
	r.touch(i)
	if consumed {
		// The vehicle consumed the statement area: the device clears it.
		return transaction.CFDeleteAttestation, nil
	}
	return transaction.CFSuccess, nil
}

// unknownSlot handles an AUTH1 from a slot that is not enrolled. A key
// whose AUTH1 private subset carries a key attestation may be a friend's
// at its first transaction (firstFriend): the attestation decides, and a
// revoked key is refused there with 00A0. Otherwise a removed key that
// proves itself is told to delete itself (00A0), and any other key is
// unknown (0001).
func (x *run) unknownSlot(a1 transaction.Auth1Result) (*enrolled, []byte, transaction.ControlFlow, error) {
	slot := a1.Slot
	area, stmt, areaErr := attestationIn(a1.Private)
	if stmt != nil {
		return x.firstFriend(slot, area, stmt)
	}
	x.r.mu.Lock()
	var removed *KeyInfo
	for i := range x.r.removed {
		if x.r.removed[i].Slot == slot {
			ki := x.r.removed[i]
			removed = &ki
			break
		}
	}
	x.r.mu.Unlock()
	if removed == nil {
		if areaErr != nil {
			return nil, nil, transaction.CFKeyNotFound, fmt.Errorf("vehicle: %w: slot %v (statement area: %w)", dkey.ErrUnknownKey, slot, areaErr)
		}
		return nil, nil, transaction.CFKeyNotFound, fmt.Errorf("vehicle: %w: slot %v", dkey.ErrUnknownKey, slot)
	}
	if _, err := x.s.VerifyEndpoint(removed.PublicKey); err != nil {
		return nil, nil, transaction.CFInvalidSignature, err
	}
	x.res.Slot, x.res.Role, x.res.Profile = slot, removed.Role, removed.Profile
	return nil, nil, transaction.CFKeyDeleted, fmt.Errorf("vehicle: %w: slot %v was removed", dkey.ErrKeyTerminated, slot)
}

// exchangeFailure is the CONTROL FLOW code for a failed mailbox access:
// invalid channel when a response did not verify, invalid data content when
// the token does not match or a response does not parse, failure when the
// device refused with a status word or the link failed.
func exchangeFailure(err error) transaction.ControlFlow {
	switch {
	case errors.Is(err, transaction.ErrChannel):
		return transaction.CFInvalidChannel
	case errors.Is(err, ErrImmobilizer), errors.Is(err, transaction.ErrMalformed):
		return transaction.CFInvalidDataContent
	}
	return transaction.CFFailure
}

func (x *run) exchange(ops []transaction.MailboxOp) ([]byte, error) {
	cmd, err := x.s.Exchange(ops)
	if err != nil {
		return nil, err
	}
	resp, err := x.do(cmd)
	if err != nil {
		return nil, err
	}
	return x.s.ReadExchange(resp)
}

// writeToken provisions the immobilizer token in the key's confidential
// mailbox (docs/protocol.md §3.1 phase 4, §5.2).
func (x *run) writeToken(token []byte, off uint16) error {
	_, err := x.exchange([]transaction.MailboxOp{{Kind: transaction.OpWrite, Mailbox: dkey.ConfidentialMailbox, Offset: off, Data: token}})
	if err != nil {
		return fmt.Errorf("vehicle: provisioning the immobilizer token: %w", err)
	}
	return nil
}

// checkToken reads the immobilizer token, from the AUTH1 subset when the
// key's configuration returns the token there (docs/protocol.md §5.1),
// otherwise by EXCHANGE, and compares it with the provisioned one.
func (x *run) checkToken(token []byte, off uint16, subset dkey.MailboxRange, subsetData []byte) error {
	var got []byte
	if end := int(off) + len(token); off >= subset.Offset && end <= subset.End() && len(subsetData) == int(subset.Length) {
		got = subsetData[off-subset.Offset : end-int(subset.Offset)]
	} else {
		plain, err := x.exchange([]transaction.MailboxOp{{Kind: transaction.OpRead, Mailbox: dkey.ConfidentialMailbox, Offset: off, Length: uint16(len(token))}})
		if err != nil {
			return fmt.Errorf("vehicle: reading the immobilizer token: %w", err)
		}
		rr := transaction.NewReadResults(plain)
		var ok bool
		if got, ok = rr.Next(); !ok || !rr.Done() {
			return fmt.Errorf("vehicle: reading the immobilizer token: %w", transaction.ErrMalformed)
		}
	}
	if !tokenMatches(got, token) {
		return ErrImmobilizer
	}
	return nil
}
