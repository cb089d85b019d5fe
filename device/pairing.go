package device

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// PairingInfo is what owner pairing left for one vehicle besides the key
// itself (docs/protocol.md §3.7): the vehicle's trust anchor and chain, which
// sharing uses to check later vehicle chains, the endpoint chain and the
// key configuration, whose mailbox mapping tells the host app where the
// attestation area is.
type PairingInfo struct {
	VehicleRoot         []byte
	VehicleCertificates [][]byte
	// Certificates is the endpoint chain, leaf first.
	Certificates [][]byte
	KeyConfig    pairing.OwnerKeyConfig
	Brand        uint16
}

// maxPairingRequests is the number of SPAKE2+ REQUESTs one pairing
// password entry answers. Each costs a password derivation with the
// vehicle's scrypt parameters (up to pairing.MaxScryptMemory): a reader in
// range, hostile or not, makes the phone derive at most this many times
// before the owner types the password again, and a phone that left the
// field before SPAKE2+ VERIFY can still pair on the next tap (project
// choice).
const maxPairingRequests = 3

// insSpakeRequest is the INS of SPAKE2+ REQUEST (docs/protocol.md §3.2).
const insSpakeRequest = 0x30

// pairingOffered reports whether the framework answers SELECT: pairing is
// configured, the profile is CCC (the endpoint certificate fixes an 8-byte
// vehicle identifier), and the applet is not in power reserve (the owner
// cannot enter a password).
func (a *Applet) pairingOffered() bool {
	return a.cfg.Pairing != nil && a.cfg.Profile == dkey.CCC && !a.power
}

// StartPairing records the pairing password the owner typed (the code from
// the vehicle OEM): the framework then reports it in SELECT (D4 02) and the
// next vehicle that selects it can pair. The password is used by one
// SPAKE2+ VERIFY, whatever its outcome, and then forgotten; a run that ends
// before (the phone left the field) keeps it for the next, up to
// maxPairingRequests SPAKE2+ REQUESTs in all. A key for a vehicle the
// applet already serves is refused when the vehicle names itself, and the
// vehicle is told so. The password is not stored: a restarted applet asks
// for it again.
func (a *Applet) StartPairing(password []byte) error {
	if len(password) == 0 {
		return errors.New("device: empty pairing password")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	if !a.pairingOffered() {
		return ErrPairingUnavailable
	}
	clear(a.pairPassword)
	a.pairPassword = bytes.Clone(password)
	a.pairRequests = maxPairingRequests
	return nil
}

// forgetPasswordLocked forgets the password entry. a.mu is held.
func (a *Applet) forgetPasswordLocked() {
	clear(a.pairPassword)
	a.pairPassword, a.pairRequests = nil, 0
}

// CancelPairing forgets the pairing password and ends the run in progress,
// deleting any key it created.
func (a *Applet) CancelPairing() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abortPairingLocked()
	a.forgetPasswordLocked()
}

// PairingReady reports whether a pairing password is waiting for a
// vehicle.
func (a *Applet) PairingReady() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pairPassword) > 0
}

// Pairing returns what owner pairing left for the live key of vehicle, and
// false if that key did not come from owner pairing.
func (a *Applet) Pairing(vehicle dkey.VehicleID) (PairingInfo, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.find(vehicle)
	if k == nil || k.pairing == nil {
		return PairingInfo{}, false
	}
	info := *k.pairing
	info.VehicleRoot = bytes.Clone(info.VehicleRoot)
	info.VehicleCertificates = cloneAll(info.VehicleCertificates)
	info.Certificates = cloneAll(info.Certificates)
	return info, true
}

func cloneAll(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = bytes.Clone(b)
	}
	return out
}

// abortPairingLocked ends the run in progress: a key it created and did not
// commit is deleted from the secure element. A run deriving outside the
// lock is closed by its own APDU when the derivation ends.
func (a *Applet) abortPairingLocked() {
	switch {
	case a.pairRun == nil:
	case a.pairBusy:
		a.pairClosed = true
	default:
		a.pairRun.Close()
	}
	a.pairRun = nil
}

// selectFramework starts a pairing run: every SELECT of the framework
// starts afresh (selectApplet has ended the previous one).
func (a *Applet) selectFramework(dst []byte) ([]byte, error) {
	cfg := *a.cfg.Pairing
	if cfg.InstanceCA == nil && a.ca != nil {
		cfg.InstanceCA, cfg.InstanceCAKey, cfg.Intermediate = a.ca.Certificate, a.ca.Key, a.ca.Intermediate
	}
	if cfg.Time == nil {
		cfg.Time = a.now
	}
	if cfg.Rand == nil {
		cfg.Rand = a.cfg.Rand
	}
	if cfg.KeyLog == nil {
		cfg.KeyLog = a.cfg.KeyLog
	}
	run, err := pairing.NewDeviceSession(&cfg, appletKeys{a}, a.pairPassword)
	if err != nil {
		return dst, dkey.SWFileNotFound
	}
	a.pairRun, a.sel = run, selFramework
	return run.AppendSelect(dst), nil
}

// dispatchFramework hands a command to the pairing run. Chaining and GET
// RESPONSE are transport.ChainingCard's, in front of the applet.
//
// A SPAKE2+ REQUEST counts against the password entry (maxPairingRequests)
// and runs outside the applet's lock: its scrypt may take a quarter of a
// second and 256 MiB, and the host's calls (lost mode first) must not
// wait for it. Meanwhile the run is busy: another command to it is
// refused, and a SELECT, a reset or a host call that ends it takes effect
// when the derivation returns.
func (a *Applet) dispatchFramework(dst []byte, cmd *transport.Command) ([]byte, error) {
	run := a.pairRun
	if run == nil || a.pairBusy {
		return dst, dkey.SWConditionsNotSatisfied
	}
	var out []byte
	var err error
	if cmd.INS == insSpakeRequest {
		if a.pairRequests <= 0 {
			a.forgetPasswordLocked()
			a.abortPairingLocked()
			return dst, pairing.StatusWordFor(pairing.ErrNotReady)
		}
		if a.pairRequests--; a.pairRequests == 0 {
			// The run holds its own copy for this last request.
			a.forgetPasswordLocked()
		}
		a.pairBusy = true
		left := a.pairRequests
		a.mu.Unlock()
		if a.testingOnlyDeriving != nil {
			a.testingOnlyDeriving()
		}
		out, err = a.processPairing(run, dst, cmd, left)
		a.mu.Lock()
		a.pairBusy = false
		if a.pairClosed || a.pairRun != run {
			// Ended while it derived.
			a.pairClosed = false
			run.Close()
			return dst, dkey.SWConditionsNotSatisfied
		}
	} else {
		out, err = a.processPairing(run, dst, cmd, 0)
	}
	if run.Attempted() {
		// One SPAKE2+ VERIFY per password entry.
		a.forgetPasswordLocked()
	}
	if err != nil {
		a.pairRun = nil
		return dst, pairing.StatusWordFor(err)
	}
	if run.Err() != nil { // aborted by the vehicle
		a.pairRun = nil
	}
	return out, nil
}

// appletKeys is the applet as the pairing run's key store. Its methods run
// inside ProcessAPDU, with a.mu held; the run in progress has at most one
// key, a.pairKey.
type appletKeys struct{ a *Applet }

func (s appletKeys) NewKey(vehicle dkey.VehicleID) (crypto.Signer, error) {
	a := s.a
	if a.find(vehicle) != nil {
		return nil, fmt.Errorf("%w: %w", pairing.ErrDeviceHasKey, ErrKeyExists)
	}
	id := a.newIDLocked()
	k, err := a.se.GenerateKey(id)
	if err != nil {
		return nil, err
	}
	a.pairKey = id
	return k, nil
}

func (s appletKeys) DeleteKey(crypto.Signer) error {
	id := s.a.pairKey
	s.a.pairKey = 0
	if id == 0 {
		return nil
	}
	return s.a.se.DeleteKey(id)
}

// Commit adds the key of a completed pairing, as CreateKey does for a key
// configured directly: owner role, express mode on, empty mailboxes of the
// sizes the vehicle wrote. The secure element stores the
// LONG_TERM_SHARED_SECRET first, then the applet the key with its pairing
// record, in one batch: a crash in between leaves the key uncommitted,
// and its ID is given out again.
func (s appletKeys) Commit(r *pairing.DeviceResult) error {
	a := s.a
	if a.find(r.VehicleID) != nil {
		return fmt.Errorf("%w: %w", pairing.ErrDeviceHasKey, ErrKeyExists)
	}
	if a.pairKey == 0 {
		return fmt.Errorf("%w: no key created", pairing.ErrSecureElement)
	}
	if err := a.se.PutSecret(SecretID{Key: a.pairKey, Kind: SecretPairing}, r.LongTermSecret[:]); err != nil {
		return fmt.Errorf("%w: %w", pairing.ErrSecureElement, err)
	}
	// The BLE keys of the first approach (ble.go) stay beside it.
	if err := a.putBLEKeysLocked(a.pairKey, &r.BLE); err != nil {
		return fmt.Errorf("%w: %w", pairing.ErrSecureElement, err)
	}
	mb := r.KeyConfig.Mailboxes
	k := &key{
		id: a.pairKey, vehicle: r.VehicleID, role: dkey.RoleOwner, state: dkey.KeyActive, express: true, mailboxes: mb,
		cred:    transaction.Credential{Slot: r.Slot, Key: r.Key, PublicKey: r.PublicKey, VehicleKey: r.VehicleKey},
		private: make([]byte, mb.PrivateSize),
		conf:    make([]byte, mb.ConfidentialSize),
		pairing: &PairingInfo{
			VehicleRoot: bytes.Clone(r.VehicleRoot), VehicleCertificates: cloneAll(r.VehicleCertificates),
			Certificates: cloneAll(r.Certificates), KeyConfig: r.KeyConfig, Brand: r.Brand,
		},
	}
	if err := a.addLocked(k); err != nil {
		return fmt.Errorf("%w: %w", pairing.ErrSecureElement, err)
	}
	a.pairKey = 0
	return nil
}
