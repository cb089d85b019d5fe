package device

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// InstanceCA is the applet instance's certificate authority [E]
// (docs/protocol.md §10.1): it certifies every endpoint key the applet creates,
// at owner pairing and for shared keys. Its key is typically in the secure
// element.
type InstanceCA struct {
	// Certificate is the instance CA certificate and Key its private key.
	Certificate *x509.Certificate
	Key         crypto.Signer
	// Intermediate is the Device OEM intermediate [F] that issued
	// Certificate, nil when a Device OEM root issued it directly.
	Intermediate *x509.Certificate
}

// resolveInstanceCA returns the applet's instance CA: Config.InstanceCA, or
// the one of Config.Pairing, checked once.
func resolveInstanceCA(cfg *Config) (*InstanceCA, error) {
	ca := cfg.InstanceCA
	if p := cfg.Pairing; p != nil && p.InstanceCA != nil {
		if ca != nil && !bytes.Equal(ca.Certificate.Raw, p.InstanceCA.Raw) {
			return nil, errors.New("device: Config.InstanceCA and Config.Pairing name different instance CAs")
		}
		if ca == nil {
			ca = &InstanceCA{Certificate: p.InstanceCA, Key: p.InstanceCAKey, Intermediate: p.Intermediate}
		}
	}
	if ca == nil {
		return nil, nil
	}
	if ca.Certificate == nil || ca.Key == nil {
		return nil, errors.New("device: the instance CA needs a certificate and a key")
	}
	certKey, _ := ca.Certificate.PublicKey.(*ecdsa.PublicKey)
	pub, err := dkey.PublicKeyOf(ca.Key)
	if certKey == nil || err != nil || !pub.ECDSA().Equal(certKey) {
		return nil, errors.New("device: the instance CA key is not the certificate's")
	}
	c := *ca
	return &c, nil
}

// DeviceID returns the identifier of the applet instance that the
// automaker's key tracking and lost mode use (sharing.DeviceIDOf its
// instance CA key), and false when the applet has no instance CA.
func (a *Applet) DeviceID() (sharing.DeviceID, bool) {
	if a.ca == nil {
		return sharing.DeviceID{}, false
	}
	k, err := dkey.NewPublicKey(a.ca.Certificate.PublicKey.(*ecdsa.PublicKey))
	if err != nil {
		return sharing.DeviceID{}, false
	}
	return sharing.DeviceIDOf(k), true
}

var _ sharing.KeyCreator = (*Applet)(nil)

// CreateSharedKey creates the key a friend's invitation asks for
// (docs/protocol.md §6.1 step 3): a new friend key for req.Vehicle in the secure
// element, in slot req.Slot when the owner assigned one, with req.Mailboxes,
// and its endpoint certificate issued by the applet's instance CA, which
// binds the vehicle and lists req.Owner as the key that will attest it.
// The chain returned is the endpoint certificate, the instance CA and the
// Device OEM intermediate, if any. It implements sharing.KeyCreator.
//
// The key is suspended, and KeyInfo.AwaitingImport set, until
// ImportSharedKey stores its key attestation: the vehicle admits a friend
// key only from its attestation, so the key has nothing to present before,
// and a suspended key can neither transact nor be resumed by mistake. When
// the exchange does not complete, the host app deletes it with Terminate.
//
// It returns ErrNoInstanceCA without an instance CA or in the Home Key
// profile, and ErrKeyExists when the applet has a live key for the
// vehicle. When the certificate cannot be issued, the key is deleted and no
// trace of it is kept.
func (a *Applet) CreateSharedKey(req *sharing.KeyRequest) (*sharing.CreatedKey, error) {
	ca := a.ca
	switch {
	case !a.made():
		return nil, ErrNotInitialized
	case req == nil:
		return nil, errors.New("device: no key request")
	case ca == nil || a.cfg.Profile != dkey.CCC:
		// The endpoint certificate binds an 8-byte vehicle identifier:
		// sharing is CCC only.
		return nil, ErrNoInstanceCA
	}
	k, err := a.createKey(KeyConfig{VehicleID: req.Vehicle, VehicleKey: req.VehicleKey, Slot: req.Slot, Role: dkey.RoleFriend, Mailboxes: req.Mailboxes}, true)
	if err != nil {
		return nil, err
	}
	ext := &cert.EndpointExtension{
		Version: 1, VehicleID: req.Vehicle, ProtocolVersion: dkey.Version1, VehiclePublicKey: req.VehicleKey,
		InitialKeySlot:          k.cred.Slot,
		ConfidentialMailboxSize: req.Mailboxes.ConfidentialSize, PrivateMailboxSize: req.Mailboxes.PrivateSize,
	}
	if req.Owner != nil {
		ext.AuthorizedKeys = []*dkey.PublicKey{req.Owner}
	}
	// The endpoint certificate takes the instance CA's validity, as at
	// owner pairing (package pairing): the owner verifies the chain now,
	// and a share valid from tomorrow must verify today. The key's own
	// validity is the attestation's.
	tmpl := cert.Template{Subject: pkix.Name{CommonName: "Digital Key endpoint " + k.cred.Slot.String()}, NotBefore: ca.Certificate.NotBefore, NotAfter: ca.Certificate.NotAfter}
	leaf, err := cert.NewEndpoint(tmpl, ext, k.cred.PublicKey, ca.Certificate, ca.Key)
	if err != nil {
		a.mu.Lock()
		a.discardLocked(k)
		a.mu.Unlock()
		return nil, fmt.Errorf("device: endpoint certificate: %w", err)
	}
	chain := [][]byte{leaf.Raw, slices.Clone(ca.Certificate.Raw)}
	if ca.Intermediate != nil {
		chain = append(chain, slices.Clone(ca.Intermediate.Raw))
	}
	return &sharing.CreatedKey{PublicKey: k.cred.PublicKey, Slot: k.cred.Slot, Chain: chain}, nil
}

// discardLocked deletes a key that never became usable and forgets it:
// its record goes, then its key in the secure element.
func (a *Applet) discardLocked(k *key) {
	if a.current == k {
		a.abortLocked()
	}
	if a.sec != nil {
		if err := a.commitLocked(a.sec.Delete(nil, keyName(k.id))); err != nil {
			// The record stays: terminate the key instead.
			_ = a.terminateLocked(k)
			return
		}
	}
	_ = a.se.DeleteKey(k.id)
	k.cred.Key = nil
	a.keys = slices.DeleteFunc(a.keys, func(o *key) bool { return o == k })
}

// ImportSharedKey stores an accepted share (sharing.FriendSession.Import):
// imp.Mailbox, the statement area holding the key attestation, at offset 0
// of the private mailbox of the key CreateSharedKey created for the
// attestation's vehicle, and makes the key active, in one step. The
// vehicle reads the attestation from the AUTH1 response of the key's first
// transaction and clears it with CONTROL FLOW 4082.
//
// It returns an error wrapping sharing.ErrMismatch when the attestation is
// for another key or slot, ErrMailboxAccess when the area does not fit the
// private mailbox, and an error when the key awaits no import.
func (a *Applet) ImportSharedKey(imp *sharing.Imported) error {
	if imp == nil || imp.Attestation == nil || imp.Attestation.FriendKey == nil {
		return errors.New("device: no imported share")
	}
	entries, err := sharing.ParseMailbox(imp.Mailbox)
	if err != nil || len(entries) == 0 {
		return fmt.Errorf("device: the imported statement area: %w", errors.Join(err, sharing.ErrMalformed))
	}
	att := imp.Attestation
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	k, err := a.live(att.VehicleID)
	switch {
	case err != nil:
		return err
	case !k.awaitingImport:
		return fmt.Errorf("device: the key for %v awaits no key attestation", att.VehicleID)
	case !att.FriendKey.Equal(k.cred.PublicKey) || att.FriendSlot != k.cred.Slot:
		return fmt.Errorf("device: %w: the attestation is for another key", sharing.ErrMismatch)
	case len(imp.Mailbox) > len(k.private):
		return fmt.Errorf("%w: statement area of %d bytes in a private mailbox of %d", ErrMailboxAccess, len(imp.Mailbox), len(k.private))
	}
	old := k.private
	err = a.saveKeyLocked(k, func(c *key) {
		c.private = slices.Clone(c.private)
		copy(c.private, imp.Mailbox)
		c.privGen++
		c.awaitingImport = false
		c.state = dkey.KeyActive
	})
	if err == nil {
		clear(old)
	}
	return err
}

// AppendStatement queues a signed statement for the vehicle in the
// statement area of the private mailbox of the key of vehicle
// (sharing.AppendMailboxEntry): a termination attestation of a key this
// key shared, or the key attestations a device change re-issued. The
// vehicle reads the area at the key's next standard transaction, processes
// every statement and sends CONTROL FLOW 4082, on which the applet clears
// the area. It returns ErrMailboxFull when the area would not fit the
// mailbox, and an error wrapping sharing.ErrMalformed when the area or the
// entry is not well formed; nothing is written then.
func (a *Applet) AppendStatement(vehicle dkey.VehicleID, e sharing.MailboxEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	return a.appendStatementLocked(k, e)
}

// signalBits are the bits of the signaling bitmap that package sharing
// owns; the others belong to others and are kept.
const signalBits = sharing.SignalKeyAttestation | sharing.SignalTermination | sharing.SignalTrackingReceipt

func (a *Applet) appendStatementLocked(k *key, e sharing.MailboxEntry) error {
	mb := k.private
	if len(mb) < sharing.AreaHeaderSize {
		return fmt.Errorf("%w: a private mailbox of %d bytes has no statement area", ErrMailboxFull, len(mb))
	}
	n, err := sharing.ParseAreaHeader(mb[:sharing.AreaHeaderSize])
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	if sharing.AreaHeaderSize+n > len(mb) {
		return fmt.Errorf("device: %w: area of %d bytes in a mailbox of %d", sharing.ErrMalformed, n, len(mb))
	}
	area, err := sharing.AppendMailboxEntry(mb[:sharing.AreaHeaderSize+n], e)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	if len(area) > len(mb) {
		return fmt.Errorf("%w: %d bytes in a private mailbox of %d", ErrMailboxFull, len(area), len(mb))
	}
	area[sharing.SignalOffset] |= mb[sharing.SignalOffset] &^ signalBits
	return a.writePrivateLocked(k, func(mb []byte) { copy(mb, area) })
}

// areaConsumed reports whether the vehicle read the whole statement area of
// private: its header and the length it announces.
func areaConsumed(private []byte, seen int) bool {
	if len(private) < sharing.AreaHeaderSize {
		return false
	}
	return seen >= sharing.AreaHeaderSize+int(binary.BigEndian.Uint16(private[sharing.AreaLengthOffset:]))
}

// SharingSigner returns the key of vehicle as the signer of the sharing
// statements it makes (sharing.OwnerConfig.Key, sharing.Termination.Sign,
// sharing.PlanDeviceChange), and its slot. It refuses, now and at every
// Sign, a key that is not active, lost mode, and a missing or expired user
// authentication (AuthenticateUser), whatever the key's express mode:
// express mode waives user authentication for transactions at the reader;
// a signature that grants or withdraws access is a management action.
// The secure element signs while the applet's lock is held, so a key
// suspended or terminated meanwhile never signs again.
func (a *Applet) SharingSigner(vehicle dkey.VehicleID) (crypto.Signer, dkey.KeySlot, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.live(vehicle)
	if err != nil {
		return nil, dkey.KeySlot{}, err
	}
	if err := a.mayManageLocked(k); err != nil {
		return nil, dkey.KeySlot{}, err
	}
	return &keySigner{a: a, k: k, pub: k.cred.PublicKey.ECDSA()}, k.cred.Slot, nil
}

// mayManageLocked applies the policy of SharingSigner to k.
func (a *Applet) mayManageLocked(k *key) error {
	if err := a.usableLocked(); err != nil {
		return err
	}
	switch {
	case k.state == dkey.KeyTerminated:
		return fmt.Errorf("device: %w", dkey.ErrKeyTerminated)
	case k.awaitingImport:
		return ErrAwaitingImport
	case a.lost, k.state == dkey.KeySuspended:
		return fmt.Errorf("device: %w", dkey.ErrKeySuspended)
	case !a.now().Before(a.authTil):
		return fmt.Errorf("device: %w", dkey.ErrUserAuthenticationRequired)
	}
	return nil
}

// keySigner is a key of the applet as a crypto.Signer for sharing.
type keySigner struct {
	a   *Applet
	k   *key
	pub *ecdsa.PublicKey
}

func (s *keySigner) Public() crypto.PublicKey { return s.pub }

func (s *keySigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	if err := s.a.mayManageLocked(s.k); err != nil {
		return nil, err
	}
	return s.k.cred.Key.Sign(rand, digest, opts)
}

// TerminateAttested deletes the key of vehicle for good, as Terminate does,
// and returns the termination attestation the key signed of itself just
// before the secure element destroyed it (docs/protocol.md §7), in one step
// under the applet's lock. The host app sends it to the vehicle through the
// automaker's server (sharing.KeyCommand) or the owner's device; the
// vehicle then removes the key for good. When the signature fails the key
// is left as it was.
func (a *Applet) TerminateAttested(vehicle dkey.VehicleID) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return nil, err
	}
	k, err := a.live(vehicle)
	if err != nil {
		return nil, err
	}
	t := sharing.Termination{Vehicle: vehicle, Slot: k.cred.Slot, Key: k.cred.PublicKey, At: a.now()}
	stmt, _, err := t.Sign(k.cred.Key, k.cred.Slot)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if err := a.terminateLocked(k); err != nil {
		// Not terminated: the statement must not leave.
		if k.state != dkey.KeyTerminated {
			return nil, err
		}
		return stmt, err
	}
	return stmt, nil
}

// TerminateShared signs t, the termination of another key at t.Vehicle (a
// friend key this key shared, or an old key of the owner), with the key of
// t.Vehicle, under the policy of SharingSigner, and queues it in that key's
// statement area (AppendStatement), in one step: the vehicle removes the
// terminated key for good at this key's next standard transaction. It
// returns the statement, which the host app may also send through the
// automaker's server. A zero t.At means now. Nothing is queued when it
// fails (ErrMailboxFull when the area is full).
func (a *Applet) TerminateShared(t *sharing.Termination) ([]byte, error) {
	if t == nil {
		return nil, errors.New("device: no termination")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.live(t.Vehicle)
	if err != nil {
		return nil, err
	}
	if t.Slot == k.cred.Slot {
		return nil, errors.New("device: a key terminating itself uses TerminateAttested")
	}
	if err := a.mayManageLocked(k); err != nil {
		return nil, err
	}
	tt := *t
	if tt.At.IsZero() {
		tt.At = a.now()
	}
	stmt, _, err := tt.Sign(k.cred.Key, k.cred.Slot)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if err := a.appendStatementLocked(k, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: stmt}); err != nil {
		return nil, err
	}
	return stmt, nil
}
