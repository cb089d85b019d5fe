package vehicle

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

// StatementResult is what the vehicle did with one statement it found in a
// key's statement area (docs/protocol.md §5.3, package sharing).
type StatementResult struct {
	// Kind is the statement's kind; zero when the area itself did not
	// parse.
	Kind sharing.StatementKind
	// Slot is the key the statement concerns: the key admitted, the key
	// terminated, the key tracked. Zero when the statement was refused
	// before the vehicle learnt it.
	Slot dkey.KeySlot
	// Err is why the statement was refused, nil when it was applied. A
	// refused statement is consumed all the same: it would be refused
	// again.
	Err error
}

// Revocations returns the vehicle's revocation store. A reader with a
// Store stores it itself; without one, the caller persists it after each
// change (sharing.RevocationStore.MarshalBinary). It is nil for a Reader
// NewReader did not make.
func (r *Reader) Revocations() *sharing.RevocationStore {
	if r.share == nil {
		return nil
	}
	return r.share.Revocations()
}

// ApplyCommand carries out a key-management command of the automaker's
// server (sharing.KeyCommand, received over the vehicle's authenticated
// telematics link): suspend or resume a key (lost mode), or verify the
// termination attestation it carries, record the revocation and remove the
// key for good (sharing.VehicleIntake.Apply). A command for another vehicle, or
// whose termination names another slot, is refused with sharing.ErrMismatch.
func (r *Reader) ApplyCommand(cmd *sharing.KeyCommand) error {
	if r.share == nil {
		return ErrNotInitialized
	}
	if cmd == nil {
		return errors.New("vehicle: no key command")
	}
	err := r.share.Apply(cmd, r.terminationSigners(), r)
	// A termination of a key that is not enrolled is recorded all the
	// same: store it.
	r.mu.Lock()
	if r.share.Revocations().Len() > r.revSaved {
		err = errors.Join(err, r.commitLocked(nil, nil))
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	return nil
}

// acknowledgeArea tells the device, inside the secure channel, that the
// vehicle consumed the statement area it read in this transaction: one
// EXCHANGE writing the empty area header (signal, the statement bits of
// package sharing cleared, and a zero length) at offset 0 of the private
// mailbox, on which the device clears the area (package device). It is
// sent once every statement is applied and stored: a statement is never
// cleared before the vehicle has recorded it, and a relay, which cannot
// forge an EXCHANGE, cannot clear it (CONTROL FLOW 4082, which follows, is
// in clear and clears nothing). An error from the device means it kept
// the area.
func (x *run) acknowledgeArea(signal byte) error {
	hdr := [sharing.AreaHeaderSize]byte{sharing.SignalOffset: signal &^ (sharing.SignalKeyAttestation | sharing.SignalTermination | sharing.SignalTrackingReceipt)}
	_, err := x.exchange([]transaction.MailboxOp{{Kind: transaction.OpWrite, Mailbox: dkey.PrivateMailbox, Offset: sharing.SignalOffset, Data: hdr[:]}})
	if err != nil {
		return fmt.Errorf("vehicle: acknowledging the statement area: %w", err)
	}
	return nil
}

// valid reports whether k is active and within its validity window at now.
// r.mu is held.
func valid(k *enrolled, now time.Time) bool {
	return k.info.State == dkey.KeyActive && inWindow(k, now)
}

// signers returns the keys whose key attestations the vehicle accepts: the
// enrolled keys that are active and within their validity window, with the
// profiles they hold and their windows (package attest checks that the
// signer may share and grants no more than it holds, for no longer).
func (r *Reader) signers() []attest.Signer {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make([]attest.Signer, 0, len(r.keys))
	for _, k := range r.keys {
		if valid(k, now) {
			s := attest.Signer{Key: k.info.PublicKey, Slot: k.info.Slot, Grant: k.info.Profile, NotBefore: k.info.NotBefore}
			if !k.info.NotAfter.IsZero() {
				s.NotAfter = k.info.NotAfter.Add(-time.Second) // first invalid instant → last valid second
			}
			out = append(out, s)
		}
	}
	return out
}

// terminationSigners returns the keys whose termination attestations the
// vehicle accepts: the signers, and every other enrolled key with no
// entitlement, so that a suspended or expired key may still attest its own
// deletion (package attest accepts a key's own termination whatever it
// holds) but terminate no other key.
func (r *Reader) terminationSigners() []attest.Signer {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make([]attest.Signer, 0, len(r.keys))
	for _, k := range r.keys {
		s := attest.Signer{Key: k.info.PublicKey, Slot: k.info.Slot}
		if valid(k, now) {
			s.Grant = k.info.Profile
		}
		out = append(out, s)
	}
	return out
}

// friendEnrollment is the enrolment of an admitted friend key. The
// attestation's NotAfter is the last valid second; the reader's bound is
// the first invalid instant.
func friendEnrollment(f *sharing.Friend, mb dkey.MailboxConfig) Enrollment {
	e := Enrollment{
		PublicKey: f.PublicKey, Slot: f.Slot, Role: dkey.RoleFriend, Profile: f.Profile,
		NotBefore: f.NotBefore, Mailboxes: mb, StatementArea: true,
		AttestationID: f.AttestationID, SharedBy: f.SignerSlot,
	}
	if !f.NotAfter.IsZero() {
		e.NotAfter = f.NotAfter.Add(time.Second)
	}
	return e
}

// enrollFriend enrolls an admitted key. A key already enrolled in the
// same slot stays as it is (admitted by a concurrent transaction, or at
// an earlier one whose 4082 was lost); another key in the slot is
// refused with ErrEnrolled.
func (r *Reader) enrollFriend(f *sharing.Friend, mb dkey.MailboxConfig) (*enrolled, error) {
	err := r.Enroll(friendEnrollment(f, mb))
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.lookup(f.Slot)
	switch {
	case err == nil && k != nil:
		return k, nil
	case errors.Is(err, ErrEnrolled) && k != nil && k.info.PublicKey.Equal(f.PublicKey):
		return k, nil
	case err == nil:
		return nil, fmt.Errorf("vehicle: %w: slot %v was removed during the transaction", dkey.ErrKeyTerminated, f.Slot)
	}
	return nil, err
}

// attestationIn returns a copy of the statement area an AUTH1 private
// subset holds and the first key attestation in it; nil when there is
// none, with the parse error when the subset is not an area.
func attestationIn(private []byte) (area, stmt []byte, err error) {
	if len(private) < sharing.AreaHeaderSize {
		return nil, nil, nil
	}
	// The subset aliases the session: keep a copy.
	area = bytes.Clone(private)
	entries, err := sharing.ParseMailbox(area)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if e.Kind == sharing.KindKeyAttestation {
			return area, e.Statement, nil
		}
	}
	return nil, nil, nil
}

// firstFriend is the first friend transaction (docs/protocol.md §6.4): AUTH1
// named a slot the vehicle does not know, and its private subset carries
// the key's statement area with a key attestation, stmt. The vehicle
// admits the key (sharing.VehicleIntake.AdmitFriend with the AUTH1 slot),
// verifies the AUTH1 signature with the attested key, and enrolls the key
// with its profile and validity. It returns the key and the area, which
// the caller consumes like any statement area (CONTROL FLOW 4082). A
// refused attestation ends the transaction with the CONTROL FLOW of its
// *sharing.VehicleError, and changes nothing.
func (x *run) firstFriend(slot dkey.KeySlot, area, stmt []byte) (*enrolled, []byte, transaction.ControlFlow, error) {
	r := x.r
	f, err := r.share.AdmitFriend(stmt, slot, r.signers())
	if err != nil {
		cf := transaction.CFKeyNotTrusted
		if ve := (*sharing.VehicleError)(nil); errors.As(err, &ve) {
			cf = transaction.ControlFlow(ve.ControlFlow())
		}
		return nil, nil, cf, fmt.Errorf("vehicle: first friend transaction: %w", err)
	}
	pk, err := x.s.VerifyEndpoint(f.PublicKey)
	if err != nil {
		return nil, nil, transaction.CFInvalidSignature, err
	}
	x.pending = pk
	pk.Zeroize()
	// The vehicle knows of the friend's mailboxes what AUTH1 returned: the
	// private subset at offset 0, holding the statement area.
	n := uint16(len(area))
	k, err := r.enrollFriend(f, dkey.MailboxConfig{PrivateSize: n, PrivateAuth1: dkey.MailboxRange{Length: n}})
	if err != nil {
		return nil, nil, transaction.CFFailure, err
	}
	x.res.FirstFriend = true
	x.admitted = stmt
	return k, area, 0, nil
}

// statementHeader returns the statement area header of a key from the
// AUTH1 private subset when the key's configuration returns it there.
func statementHeader(subset dkey.MailboxRange, private []byte) []byte {
	if subset.Offset == 0 && int(subset.Length) >= sharing.AreaHeaderSize && len(private) == int(subset.Length) {
		return bytes.Clone(private)
	}
	return nil
}

// readArea reads the statement area of the key of a standard transaction:
// the header from have (the AUTH1 private subset from offset 0) or by
// EXCHANGE, then what have lacks of the area by EXCHANGE, in reads of at
// most transaction.MaxReadLength bytes. It returns nil when no statement
// is signaled. A failure of the secure channel is returned as err; an
// area that does not parse or cannot be read is reported in bad, and the
// transaction goes on.
func (x *run) readArea(have []byte) (area []byte, bad, err error) {
	if len(have) < sharing.AreaHeaderSize {
		h, err := x.readPrivate(0, sharing.AreaHeaderSize)
		if err != nil {
			return nil, nil, err
		}
		have = h
	}
	n, perr := sharing.ParseAreaHeader(have[:sharing.AreaHeaderSize])
	if perr != nil || n == 0 {
		return nil, perr, nil
	}
	total := sharing.AreaHeaderSize + n
	area = make([]byte, 0, total)
	area = append(area, have[:min(len(have), total)]...)
	for len(area) < total {
		chunk, err := x.readPrivate(len(area), min(total-len(area), transaction.MaxReadLength))
		if err != nil {
			return nil, nil, err
		}
		area = append(area, chunk...)
	}
	return area, nil, nil
}

// readPrivate reads n bytes at off of the private mailbox by EXCHANGE. A
// status word from the device is not a channel failure: the caller
// reports it.
func (x *run) readPrivate(off, n int) ([]byte, error) {
	plain, err := x.exchange([]transaction.MailboxOp{{Kind: transaction.OpRead, Mailbox: dkey.PrivateMailbox, Offset: uint16(off), Length: uint16(n)}})
	if err != nil {
		return nil, fmt.Errorf("vehicle: reading the statement area: %w", err)
	}
	rr := transaction.NewReadResults(plain)
	got, ok := rr.Next()
	if !ok || !rr.Done() || len(got) != n {
		return nil, fmt.Errorf("vehicle: reading the statement area: %w", transaction.ErrMalformed)
	}
	return bytes.Clone(got), nil
}

// consume processes every statement of a key's statement area, in order,
// on behalf of the key k that delivered it, and reports whether the area
// is consumed (it parsed and held statements: the transaction ends with
// CONTROL FLOW 4082). Statements are verified outside the reader's lock;
// each enrolment or removal takes it.
func (x *run) consume(k *enrolled, area []byte) bool {
	r := x.r
	entries, err := sharing.ParseMailbox(area)
	if err != nil {
		x.res.Statements = append(x.res.Statements, StatementResult{Err: fmt.Errorf("vehicle: statement area: %w", err)})
		return false
	}
	for _, e := range entries {
		res := StatementResult{Kind: e.Kind}
		switch {
		case e.Kind == sharing.KindKeyAttestation && x.admitted != nil && bytes.Equal(e.Statement, x.admitted):
			// The attestation that admitted k in this transaction.
			res.Slot = k.info.Slot
		case e.Kind == sharing.KindKeyAttestation:
			// A re-issued attestation (device change), or a friend's own
			// attestation still in its area: the key is enrolled ahead of
			// its first transaction, or stays as it is.
			var f *sharing.Friend
			if f, res.Err = r.share.AdmitFriend(e.Statement, dkey.KeySlot{}, r.signers()); res.Err == nil {
				res.Slot = f.Slot
				_, res.Err = r.enrollFriend(f, sharing.FriendMailboxes())
			}
		case e.Kind == sharing.KindTermination:
			var rev *sharing.Revocation
			if rev, res.Err = r.share.ProcessTermination(e.Statement, r.terminationSigners()); res.Err == nil {
				res.Slot = rev.Slot
				// The revocation is stored with the removal, or alone
				// when the key is not enrolled.
				if err := r.Remove(rev.Slot); err != nil && !errors.Is(err, dkey.ErrUnknownKey) {
					res.Err = err
				}
			}
		case e.Kind == sharing.KindTrackingReceipt:
			res.Slot = k.info.Slot
			if _, res.Err = r.share.CheckReceipt(e.Statement, r.trackingKeys, k.info.Slot, k.info.PublicKey); res.Err == nil {
				r.mu.Lock()
				if r.indexOf(k) >= 0 {
					res.Err = r.updateLocked(k, func(k *enrolled) { k.info.Tracked = true })
				}
				r.mu.Unlock()
			}
		}
		x.res.Statements = append(x.res.Statements, res)
	}
	return len(entries) > 0
}
