package vehicle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// AliroAction is what a holder asks of the lock.
type AliroAction uint8

// Actions.
const (
	// AliroActionUnlock unsecures the lock: authentication policy "user device
	// setting", final status 0101.
	AliroActionUnlock AliroAction = iota + 1
	// AliroActionLock secures it: policy "secure action", final status 0100.
	AliroActionLock
)

// String returns the action's name.
func (a AliroAction) String() string {
	switch a {
	case AliroActionUnlock:
		return "unlock"
	case AliroActionLock:
		return "lock"
	}
	return fmt.Sprintf("AliroAction(%d)", uint8(a))
}

// capabilities returns the access rule capabilities that allow a: any
// unsecuring one for an unlock (the lock's unlock is momentary or not at
// its own discretion), secure for a lock, toggle for both.
func (a AliroAction) capabilities() mdoc.AccessCapability {
	if a == AliroActionLock {
		return mdoc.CapabilitySecure | mdoc.CapabilityToggle
	}
	return mdoc.CapabilityUnsecure | mdoc.CapabilityMomentaryUnsecure | mdoc.CapabilityExtendedMomentaryUnsecure | mdoc.CapabilityToggle
}

func (a AliroAction) policy() transaction.AliroPolicy {
	if a == AliroActionLock {
		return transaction.AliroPolicySecureAction
	}
	return transaction.AliroPolicyUserDevice
}

func (a AliroAction) status() transaction.AliroReaderStatus {
	if a == AliroActionLock {
		return transaction.AliroStatusSecure
	}
	return transaction.AliroStatusUnsecure
}

// AliroResult is what a transaction did.
type AliroResult struct {
	Action AliroAction
	// Granted says the lock carries out the action.
	Granted bool
	// Fast says the device was authenticated by its cryptogram alone.
	Fast bool
	// StepUp says the step-up phase ran.
	StepUp bool
	// Credential is the endpoint key credential that transacted, zero for
	// an unknown key; User its user.
	Credential AliroCredential
	User       uint16
	// PublicKey is the device's credential key, when known.
	PublicKey *dkey.PublicKey
	// Learned says the transaction added the key as an evictable endpoint
	// key from an issuer's access document.
	Learned bool
	// Revocations counts the revocation entries a revocation document
	// changed.
	Revocations int
	// Status is the reader status of the final EXCHANGE.
	Status transaction.AliroReaderStatus
}

// Transact runs one transaction for action over t, whatever carries it (an
// NFC reader, a test card): SELECT and AUTH0 asking for a cryptogram; the
// fast phase when it matches a key with Kpersistent and no newer document
// waits; otherwise the standard phase, with LOAD CERT when the lock has a
// certificate, AUTH1 asking for the credential's public key, and its
// verification; the step-up phase when the device offers an access
// document the lock needs (a key it does not know and issuer keys to
// check it, or a newer one for a key it learned) or a revocation document
// newer than any it applied; the access decision; and the final EXCHANGE
// with the reader status, under the step-up channel after a step-up
// phase. The lock stores the new Kpersistent, what it learned and the
// revocations once the device has answered that EXCHANGE (revocations
// also when it has not).
//
// It returns the result and nil when access is granted; an error wrapping
// ErrAliroDenied with the result when the decision was no; another error
// when the transaction failed.
func (l *AliroLock) Transact(ctx context.Context, t transport.Transceiver, action AliroAction) (AliroResult, error) {
	res := AliroResult{Action: action}
	if action != AliroActionUnlock && action != AliroActionLock {
		return res, fmt.Errorf("vehicle: unknown Aliro action %v", action)
	}
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return res, err
	}
	if l.reader == nil {
		l.mu.Unlock()
		return res, ErrAliroNotConfigured
	}
	tx := &aliroTx{l: l, ctx: ctx, action: action, res: &res, s: l.reader.NewSession(), c: transport.NewClient(t, l.link)}
	for _, e := range l.endpoints {
		if e.persistent.Valid() {
			tx.fastKeys = append(tx.fastKeys, transaction.NewFastKey(e.pub, &e.persistent))
			tx.fastEPs, tx.fastPubs = append(tx.fastEPs, e), append(tx.fastPubs, e.pub)
		}
	}
	l.mu.Unlock()
	defer tx.s.Close()
	defer func() {
		for i := range tx.fastKeys {
			tx.fastKeys[i].Zeroize()
		}
	}()
	err := tx.run()
	return res, err
}

// aliroTx is one transaction of the lock.
type aliroTx struct {
	l        *AliroLock
	ctx      context.Context
	action   AliroAction
	res      *AliroResult
	s        *transaction.AliroReaderSession
	c        *transport.Client
	fastKeys []transaction.FastKey
	fastEPs  []*aliroEndpoint
	fastPubs []*dkey.PublicKey

	ep      *aliroEndpoint // the known credential, nil for none
	pub     *dkey.PublicKey
	status  transaction.AliroStatus
	pk      transaction.PersistentKey // a standard phase's new Kpersistent
	stepUp  *mdoc.RequestReader
	learned *learnedAccess
	revs    []revocationUpdate
}

// learnedAccess is what a verified access document said of the key.
type learnedAccess struct {
	issuer             *aliroIssuer
	access             *mdoc.AccessData
	signed, validUntil time.Time
}

// revocationUpdate is the revocation list an issuer's verified document
// leaves.
type revocationUpdate struct {
	issuer  *aliroIssuer
	signed  time.Time
	entries []mdoc.RevocationEntry
	changed int
}

// do sends cmd and returns the response.
func (tx *aliroTx) do(cmd transport.Command) (transport.Response, error) {
	r, err := tx.c.Do(tx.ctx, &cmd, nil)
	if err != nil {
		return transport.Response{}, fmt.Errorf("vehicle: %w", err)
	}
	return r, nil
}

// abort tells the device the transaction failed, when no secure channel
// exists (CONTROL FLOW, Aliro 1.0 10.2.2), and returns err.
func (tx *aliroTx) abort(s2 byte, err error) error {
	if cmd, cerr := tx.s.ControlFlow(&transaction.AliroControlFlow{S1: transaction.AliroS1Failure, S2: s2}); cerr == nil {
		_, _ = tx.do(cmd)
	}
	return err
}

func (tx *aliroTx) run() error {
	s := tx.s
	if err := s.Start(tx.action.policy(), true); err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	r, err := tx.do(s.Select())
	if err != nil {
		return err
	}
	if r.SW != dkey.SWSuccess {
		return fmt.Errorf("%w: SELECT answered %v", ErrNoApplet, r.SW)
	}
	if err := s.ReadSelect(r); err != nil {
		if errors.Is(err, transaction.ErrVersion) {
			return tx.abort(transaction.AliroS2VersionUnsupported, fmt.Errorf("vehicle: %w", err))
		}
		return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("vehicle: %w", err))
	}
	cmd, err := s.Auth0()
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if r, err = tx.do(cmd); err != nil {
		return err
	}
	if r.SW != dkey.SWSuccess {
		return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("%w: AUTH0 answered %v", ErrRefused, r.SW))
	}
	if err := s.ReadAuth0(r); err != nil {
		return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("vehicle: %w", err))
	}
	if i := s.FindFast(tx.fastKeys); i >= 0 {
		tx.ep, tx.pub, tx.status = tx.fastEPs[i], tx.fastPubs[i], s.FastStatus()
		tx.res.Fast = true
	}
	if tx.ep == nil || tx.needsStepUp() {
		if err := tx.standard(); err != nil {
			return err
		}
		tx.res.Fast = false
	}
	var docErr error
	if tx.needsStepUp() {
		if err := tx.runStepUp(); err != nil {
			var de *docError
			if !errors.As(err, &de) {
				return err
			}
			// A refused document refuses access; the device hears why
			// in the final EXCHANGE.
			docErr = err
		}
	}
	return tx.finish(docErr)
}

// standard runs LOAD CERT, AUTH1 and the verification of the device.
func (tx *aliroTx) standard() error {
	s := tx.s
	cmd, ok, err := s.LoadCertificate()
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if ok {
		r, err := tx.do(cmd)
		if err != nil {
			return err
		}
		if err := s.ReadLoadCertificate(r); err != nil {
			return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("vehicle: %w", err))
		}
	}
	if cmd, err = s.Auth1(); err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	r, err := tx.do(cmd)
	if err != nil {
		return err
	}
	if r.SW != dkey.SWSuccess {
		// The device refused the reader: unknown group, untrusted key.
		return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("%w: AUTH1 answered %v", ErrRefused, r.SW))
	}
	a, err := s.ReadAuth1(r)
	if err != nil {
		return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("vehicle: %w", err))
	}
	if tx.pub != nil && !tx.pub.Equal(a.PublicKey) {
		return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("vehicle: %w: the AUTH1 response names another key than the cryptogram's", transaction.ErrAuthentication))
	}
	// The signature proves the device holds the key the response names;
	// whether the lock trusts that key is decided below.
	pk, err := s.VerifyEndpoint(a.PublicKey)
	if err != nil {
		return tx.abort(transaction.AliroS2NoInformation, fmt.Errorf("vehicle: %w", err))
	}
	tx.pk, tx.pub, tx.status = pk, a.PublicKey, a.Status
	tx.l.mu.Lock()
	tx.ep = tx.l.findEndpointLocked(a.PublicKey)
	tx.l.mu.Unlock()
	return nil
}

// needsStepUp reports whether the device offers a document the lock wants:
// an access document for a key it does not know (with issuer keys to
// check it) or newer than the one a learned key came with, or a
// revocation document newer than any the lock applied.
func (tx *aliroTx) needsStepUp() bool {
	if tx.stepUp != nil || tx.pub == nil {
		return false
	}
	l := tx.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.issuers) == 0 {
		return false
	}
	sig := tx.status.Signaling
	wantAccess := sig.Has(transaction.AliroAccessDocument) &&
		(tx.ep == nil || tx.ep.issuer != 0 && (newer(tx.status.CredentialSigned, tx.ep.signed) || l.now().After(tx.ep.validUntil)))
	wantRev := sig.Has(transaction.AliroRevocationDocument) && newer(tx.status.RevocationSigned, l.revSeen)
	return wantAccess || wantRev
}

// newer reports whether the timestamp ts is later than t.
func newer(ts transaction.AliroTimestamp, t time.Time) bool {
	v, err := ts.Time()
	return err == nil && v.After(t)
}

// runStepUp runs the step-up phase (Aliro 1.0 8.4): SELECT of the step-up
// applet when the device asks for it, the ENVELOPE with the request for
// the access document's element and, when wanted, the revocation
// document's, and the verification of what comes back.
func (tx *aliroTx) runStepUp() error {
	key := tx.s.StepUpKey()
	b := key.Bytes()
	keys, err := mdoc.AliroStepUpKeys(b)
	clear(b)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	el := []mdoc.RequestedElement{{Identifier: tx.l.element, IntentToRetain: true}}
	reqs := []mdoc.DocRequest{{DocType: mdoc.AliroAccessDocType, NameSpaces: []mdoc.RequestedNameSpace{{Name: mdoc.AliroAccessDocType, Elements: el}}}}
	if tx.status.Signaling.Has(transaction.AliroRevocationDocument) {
		reqs = append(reqs, mdoc.DocRequest{DocType: mdoc.AliroRevocationDocType, NameSpaces: []mdoc.RequestedNameSpace{{Name: mdoc.AliroRevocationDocType, Elements: el}}})
	}
	req, err := mdoc.NewStepUpReader(keys, &mdoc.ReaderConfig{Requests: reqs})
	keys.Zeroize()
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if tx.status.Signaling.Has(transaction.AliroStepUpSelect) {
		r, err := tx.do(transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDAliroStepUp), Ne: transport.MaxShortNe})
		if err != nil {
			return err
		}
		if r.SW != dkey.SWSuccess {
			return fmt.Errorf("%w: step-up SELECT answered %v", ErrRefused, r.SW)
		}
	}
	r, err := tx.do(req.Command())
	if err != nil {
		return err
	}
	dr, err := req.Handle(r)
	if err != nil {
		return fmt.Errorf("vehicle: step-up: %w", err)
	}
	tx.stepUp, tx.res.StepUp = req, true
	return tx.verifyDocuments(dr)
}

// docStatus maps a document verification failure to the reader status
// that reports it (Aliro 1.0 Table 8-18).
func docStatus(err error) transaction.AliroReaderStatus {
	switch {
	case errors.Is(err, mdoc.ErrUnknownIssuer):
		return transaction.AliroStatusKeyNotTrusted
	case errors.Is(err, mdoc.ErrBadSignature), errors.Is(err, mdoc.ErrDigestMismatch):
		return transaction.AliroStatusInvalidSignature
	case errors.Is(err, mdoc.ErrExpired), errors.Is(err, mdoc.ErrNotYetValid):
		return transaction.AliroStatusKeyExpired
	case errors.Is(err, mdoc.ErrReaderRule):
		return transaction.AliroStatusInvalidRights
	}
	return transaction.AliroStatusInvalidContent
}

// docError is a refused document: the status to report and why.
type docError struct {
	status transaction.AliroReaderStatus
	err    error
}

func (e *docError) Error() string { return fmt.Sprintf("vehicle: Aliro document refused: %v", e.err) }
func (e *docError) Unwrap() error { return e.err }

// verifyDocuments checks every document of the step-up response against
// the lock's issuer keys, bound to the key the device proved in AUTH1, at
// the lock's time, and keeps what they say; nothing is stored yet. A
// document that fails refuses the transaction.
func (tx *aliroTx) verifyDocuments(dr *mdoc.DeviceResponse) error {
	l := tx.l
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]*mdoc.IssuerKey, len(l.issuers))
	for i, is := range l.issuers {
		keys[i] = is.key
	}
	opts := &mdoc.VerifyOptions{Issuers: keys, DeviceKey: tx.pub, Time: l.now}
	for _, doc := range dr.Documents {
		v, err := doc.Verify(opts)
		if err != nil {
			return &docError{docStatus(err), err}
		}
		is := l.issuerOfLocked(v.Issuer)
		switch v.DocType {
		case mdoc.AliroAccessDocType:
			val, ok := v.Element(mdoc.AliroAccessDocType, l.element)
			if !ok {
				return &docError{transaction.AliroStatusInvalidContent, fmt.Errorf("%w: no %q element", mdoc.ErrNoDocument, l.element)}
			}
			a, err := mdoc.ParseAccessData(val)
			if err == nil {
				err = a.Check(l.readerRules)
			}
			if err != nil {
				return &docError{docStatus(err), err}
			}
			if tx.ep != nil && tx.ep.issuer == is.index && v.Signed.Before(tx.ep.signed) {
				return &docError{transaction.AliroStatusInvalidContent, fmt.Errorf("%w: an access document older than the one the lock holds", mdoc.ErrExpired)}
			}
			tx.learned = &learnedAccess{issuer: is, access: a, signed: v.Signed, validUntil: v.ValidUntil}
		case mdoc.AliroRevocationDocType:
			val, ok := v.Element(mdoc.AliroRevocationDocType, l.element)
			if !ok {
				return &docError{transaction.AliroStatusInvalidContent, fmt.Errorf("%w: no %q element", mdoc.ErrNoDocument, l.element)}
			}
			rd, err := mdoc.ParseRevocationData(val)
			if err != nil {
				return &docError{transaction.AliroStatusInvalidContent, err}
			}
			if !v.Signed.After(is.revSigned) {
				// Applied already, or older than what was: a replay
				// changes nothing.
				continue
			}
			tx.revs = append(tx.revs, applyRevocations(is, rd, v.Signed, l.now()))
		}
	}
	return nil
}

// issuerOfLocked returns the issuer credential of a verified key.
func (l *AliroLock) issuerOfLocked(k *mdoc.IssuerKey) *aliroIssuer {
	for _, is := range l.issuers {
		if is.key.Equal(k) {
			return is
		}
	}
	return nil
}

// applyRevocations returns the list the revocation data rd, signed at
// signed, leaves for is (Aliro 1.0 §7.6): an overwrite replaces it, an
// append adds the entries and drops those to remove; entries expired at
// now are dropped.
func applyRevocations(is *aliroIssuer, rd *mdoc.RevocationData, signed, now time.Time) revocationUpdate {
	var list []mdoc.RevocationEntry
	changed := len(rd.Entries) + len(rd.Remove)
	if rd.Mode == mdoc.RevocationAppend {
		list = slices.Clone(is.revoked)
		list = slices.DeleteFunc(list, func(e mdoc.RevocationEntry) bool {
			return slices.ContainsFunc(rd.Remove, func(r mdoc.RevocationEntry) bool { return r.Same(&e) })
		})
	} else {
		changed += len(is.revoked)
	}
	for _, e := range rd.Entries {
		if !slices.ContainsFunc(list, func(o mdoc.RevocationEntry) bool { return o.Same(&e) }) {
			list = append(list, e)
		}
	}
	list = slices.DeleteFunc(list, func(e mdoc.RevocationEntry) bool { return !e.Expiry.IsZero() && !now.Before(e.Expiry) })
	return revocationUpdate{issuer: is, signed: signed, entries: list, changed: changed}
}

// decide returns the status of the access decision, why access is refused
// (nil when granted), and whether the credential is trusted: a key the
// lock holds or one a verified access document admits, not revoked. A
// trusted credential keeps its new Kpersistent, and a learned one is
// kept, whatever its schedule says now (Matter §5.2.6.9.1: the key is
// added when the document validates).
func (tx *aliroTx) decide(docErr error) (transaction.AliroReaderStatus, bool, error) {
	l := tx.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if docErr != nil {
		var de *docError
		errors.As(docErr, &de)
		return de.status, false, fmt.Errorf("%w: %w", ErrAliroDenied, docErr)
	}
	ep := tx.ep
	var accessID []byte
	if tx.learned != nil {
		accessID = tx.learned.access.ID
	} else if ep != nil && ep.access != nil {
		accessID = ep.access.ID
	}
	if tx.pub != nil && tx.revokedAfterUpdate(tx.pub, accessID, now) {
		return transaction.AliroStatusKeyNotTrusted, false, fmt.Errorf("%w: the key is revoked", ErrAliroDenied)
	}
	switch {
	case ep != nil && ep.issuer == 0:
		// A key a controller set (SetCredential) opens the lock.
		return tx.action.status(), true, nil
	case tx.learned != nil:
		st, err := tx.checkAccess(tx.learned.access, tx.learned.validUntil, now)
		return st, true, err
	case ep != nil:
		st, err := tx.checkAccess(ep.access, ep.validUntil, now)
		return st, true, err
	}
	return transaction.AliroStatusKeyNotFound, false, fmt.Errorf("%w: unknown key", ErrAliroDenied)
}

// checkAccess applies a learned key's access data at now.
func (tx *aliroTx) checkAccess(a *mdoc.AccessData, validUntil, now time.Time) (transaction.AliroReaderStatus, error) {
	if now.After(validUntil) {
		return transaction.AliroStatusKeyExpired, fmt.Errorf("%w: %w", ErrAliroDenied, mdoc.ErrExpired)
	}
	if err := a.Allows(tx.action.capabilities(), now, tx.l.loc); err != nil {
		return transaction.AliroStatusInvalidRights, fmt.Errorf("%w: %w", ErrAliroDenied, err)
	}
	return tx.action.status(), nil
}

// revokedAfterUpdate reports whether an issuer's revocation list names pub
// or the access data identifier id at now, with the transaction's
// revocation updates in place of the lists they replace. l.mu is held.
func (tx *aliroTx) revokedAfterUpdate(pub *dkey.PublicKey, id []byte, now time.Time) bool {
	for _, is := range tx.l.issuers {
		list := is.revoked
		for _, u := range tx.revs {
			if u.issuer == is {
				list = u.entries
			}
		}
		if revokedBy(list, pub, id, now) {
			return true
		}
	}
	return false
}

// finish decides, sends the final EXCHANGE with the reader status and
// stores what the transaction leaves.
func (tx *aliroTx) finish(docErr error) error {
	status, trusted, denied := tx.decide(docErr)
	tx.res.Status = status
	tx.res.Granted = denied == nil
	x := &transaction.AliroExchange{HasStatus: true, Status: status}
	var cmd transport.Command
	var r transport.Response
	var err error
	if tx.stepUp != nil {
		if cmd, err = tx.s.StepUpExchange(tx.stepUp, x); err == nil {
			if r, err = tx.do(cmd); err == nil {
				_, err = tx.s.ReadStepUpExchange(tx.stepUp, r)
			}
		}
		tx.stepUp.Close()
	} else if cmd, err = tx.s.Exchange(x); err == nil {
		if r, err = tx.do(cmd); err == nil {
			_, err = tx.s.ReadExchange(r)
		}
	}
	if err != nil {
		tx.res.Granted = false
		if serr := tx.commit(false); serr != nil {
			err = errors.Join(err, serr)
		}
		tx.identify()
		return fmt.Errorf("vehicle: final EXCHANGE: %w", err)
	}
	if err := tx.commit(trusted); err != nil {
		tx.res.Granted = false
		tx.identify()
		return err
	}
	tx.identify()
	return denied
}

// identify fills in the result which credential transacted, and its user.
func (tx *aliroTx) identify() {
	tx.l.mu.Lock()
	defer tx.l.mu.Unlock()
	tx.res.PublicKey = tx.pub
	if tx.res.Credential.Index == 0 && tx.ep != nil {
		tx.res.Credential = AliroCredential{Type: tx.ep.typ, Index: tx.ep.index}
	}
	if e := tx.l.endpointAtLocked(tx.res.Credential); e != nil {
		tx.res.User = e.user
	}
}

// commit stores, in one batch, what the transaction leaves: always the
// revocation lists of verified revocation documents (with the learned
// keys they revoke); for a trusted credential, the new Kpersistent, a key
// learned from its access document (evicting another evictable key of the
// issuer's user when the lock is full, Matter §5.2.6.9.1) or a newer
// document of a learned key, and the key's last use. A fast transaction
// that changes no record writes nothing: the order of use waits for the
// next batch.
func (tx *aliroTx) commit(trusted bool) error {
	l := tx.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	now := l.now()
	var issuers []*aliroIssuer // replacements
	revSeen := l.revSeen
	for _, u := range tx.revs {
		if !slices.Contains(l.issuers, u.issuer) {
			continue // removed meanwhile
		}
		n := *u.issuer
		n.revSigned, n.revoked = u.signed, u.entries
		issuers = append(issuers, &n)
		tx.res.Revocations += u.changed
		if u.signed.After(revSeen) {
			revSeen = u.signed
		}
	}
	listOf := func(is *aliroIssuer) []mdoc.RevocationEntry {
		for _, n := range issuers {
			if n.index == is.index {
				return n.revoked
			}
		}
		return is.revoked
	}
	var gone []*aliroEndpoint
	for _, e := range l.endpoints {
		if is := l.issuerLocked(e.issuer); e.issuer != 0 && is != nil {
			var id []byte
			if e.access != nil {
				id = e.access.ID
			}
			if revokedBy(listOf(is), e.pub, id, now) {
				gone = append(gone, e)
			}
		}
	}
	eps := withoutEndpoints(l.endpoints, gone)
	var target, replaced *aliroEndpoint // the key's new record, and the one it replaces
	if trusted {
		ep := tx.ep
		if ep != nil && !slices.Contains(eps, ep) {
			ep = nil
		}
		switch {
		case ep != nil:
			n := *ep
			if tx.pk.Valid() {
				n.persistent = tx.pk
			}
			if tx.learned != nil && ep.issuer != 0 {
				n.issuer, n.access, n.signed, n.validUntil = tx.learned.issuer.index, tx.learned.access, tx.learned.signed, tx.learned.validUntil
			}
			n.lastUse = now
			target, replaced = &n, ep
		case tx.learned != nil && slices.Contains(l.issuers, tx.learned.issuer):
			if n, evicted := l.learnLocked(eps, tx.learned, tx.pub, now); n != nil {
				n.persistent = tx.pk
				target = n
				if evicted != nil {
					gone = append(gone, evicted)
					eps = withoutEndpoints(eps, []*aliroEndpoint{evicted})
				}
				tx.res.Learned = true
			}
		}
	}
	if target != nil {
		tx.res.Credential = AliroCredential{Type: target.typ, Index: target.index}
		// The key moves to the front: the fast lookup tries it first.
		eps = slices.DeleteFunc(eps, func(e *aliroEndpoint) bool { return e == replaced })
		eps = append([]*aliroEndpoint{target}, eps...)
	}
	stored := len(issuers) > 0 || len(gone) > 0 || target != nil && (replaced == nil || tx.pk.Valid() || tx.learned != nil)
	if stored {
		saved := l.revSeen
		l.revSeen = revSeen
		err := l.writeLocked(eps, func(ops *aliroOps) error {
			for _, is := range issuers {
				if err := ops.issuer(is); err != nil {
					return err
				}
			}
			for _, e := range gone {
				ops.deleteEndpoint(e)
			}
			if target != nil {
				return ops.endpoint(target)
			}
			return nil
		})
		if err != nil {
			l.revSeen = saved
			return err
		}
	}
	for _, n := range issuers {
		*l.issuerLocked(n.index) = *n
	}
	l.revSeen = revSeen
	for _, g := range gone {
		g.persistent.Zeroize()
	}
	if replaced != nil {
		*replaced = *target
		eps[0] = replaced
	}
	l.endpoints = eps
	return nil
}

// learnLocked makes the endpoint key credential of a key learned from an
// access document: an AliroEvictableEndpointKey of the issuer's user at the
// lowest free index; when the lock is full, another evictable key of that
// user, the one used least recently, gives up its place; when it has none,
// no key is learned (Matter §5.2.6.9.1). eps is the list as the batch
// leaves it. l.mu is held.
func (l *AliroLock) learnLocked(eps []*aliroEndpoint, la *learnedAccess, pub *dkey.PublicKey, now time.Time) (n, evicted *aliroEndpoint) {
	user := la.issuer.user
	if len(eps) >= l.maxKeys {
		for i := len(eps) - 1; i >= 0; i-- {
			if e := eps[i]; e.typ == AliroEvictableEndpointKey && e.user == user {
				evicted = e
				break
			}
		}
		if evicted == nil {
			return nil, nil
		}
	}
	index := uint16(0)
	for i := 1; i <= l.maxKeys; i++ {
		if evicted != nil && evicted.index == uint16(i) || !slices.ContainsFunc(eps, func(e *aliroEndpoint) bool {
			return e.typ == AliroEvictableEndpointKey && e.index == uint16(i)
		}) {
			index = uint16(i)
			break
		}
	}
	if index == 0 {
		return nil, nil
	}
	return &aliroEndpoint{
		typ: AliroEvictableEndpointKey, index: index, user: user, pub: pub, issuer: la.issuer.index,
		access: la.access, signed: la.signed, validUntil: la.validUntil, lastUse: now,
	}, evicted
}
