package device

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// PairingInfo is what owner pairing left for one vehicle besides the key
// itself (PROTOCOL.md §3.7): the vehicle's trust anchor and chain, which
// sharing uses to check later vehicle chains, the endpoint chain and the
// key configuration, whose mailbox mapping tells the host app where the
// attestation area is.
type PairingInfo struct {
	VehicleRoot         []byte
	VehicleCertificates [][]byte
	// Certificates is the endpoint chain, leaf first.
	Certificates [][]byte
	KeyConfig    pairing.KeyConfig
	Brand        uint16
}

// pairedKey is the pairing record of one key the applet created by owner
// pairing. LONG_TERM_SHARED_SECRET stays inside the applet.
type pairedKey struct {
	k    *key
	info PairingInfo
	ltss [pairing.LongTermSecretSize]byte
}

// pairingOffered reports whether the framework answers SELECT: pairing is
// configured, and the profile is CCC (the endpoint certificate fixes an
// 8-byte vehicle identifier).
func (a *Applet) pairingOffered() bool {
	return a.cfg.Pairing != nil && a.cfg.Profile == dkey.CCC
}

// StartPairing records the pairing password the owner typed (the code from
// the vehicle OEM): the framework then reports it in SELECT (D4 02) and the
// next vehicle that selects it can pair. The password is used by one
// SPAKE2+ VERIFY, whatever its outcome, and then forgotten; a run that ends
// before (the phone left the field) keeps it for the next. A key for a
// vehicle the applet already serves is refused when the vehicle names
// itself, and the vehicle is told so.
func (a *Applet) StartPairing(password []byte) error {
	if !a.pairingOffered() {
		return ErrPairingUnavailable
	}
	if len(password) == 0 {
		return errors.New("device: empty pairing password")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.pairPassword)
	a.pairPassword = bytes.Clone(password)
	return nil
}

// CancelPairing forgets the pairing password and ends the run in progress,
// deleting any key it created.
func (a *Applet) CancelPairing() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abortPairingLocked()
	clear(a.pairPassword)
	a.pairPassword = nil
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
	for _, p := range a.paired {
		if p.k == k && k != nil {
			info := p.info
			info.VehicleRoot = bytes.Clone(info.VehicleRoot)
			info.VehicleCertificates = cloneAll(info.VehicleCertificates)
			info.Certificates = cloneAll(info.Certificates)
			return info, true
		}
	}
	return PairingInfo{}, false
}

func cloneAll(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = bytes.Clone(b)
	}
	return out
}

// abortPairingLocked ends the run in progress: a key it created and did not
// commit is deleted from the secure element.
func (a *Applet) abortPairingLocked() {
	if a.pairRun != nil {
		a.pairRun.Close()
		a.pairRun = nil
	}
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
	run, err := pairing.NewDevice(&cfg, appletKeys{a}, a.pairPassword)
	if err != nil {
		return dst, dkey.SWFileNotFound
	}
	a.pairRun, a.sel = run, selFramework
	return run.AppendSelect(dst), nil
}

// dispatchFramework hands a command to the pairing run. Chaining and GET
// RESPONSE are transport.ChainingCard's, in front of the applet.
func (a *Applet) dispatchFramework(dst []byte, cmd *transport.Command) ([]byte, error) {
	run := a.pairRun
	if run == nil {
		return dst, dkey.SWConditionsNotSatisfied
	}
	out, err := run.Process(dst, cmd)
	if run.Attempted() {
		// One SPAKE2+ VERIFY per password entry.
		clear(a.pairPassword)
		a.pairPassword = nil
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
// inside ProcessAPDU, with a.mu held.
type appletKeys struct{ a *Applet }

func (s appletKeys) NewKey(vehicle dkey.VehicleID) (crypto.Signer, error) {
	if s.a.find(vehicle) != nil {
		return nil, fmt.Errorf("%w: %w", pairing.ErrDeviceHasKey, ErrKeyExists)
	}
	return s.a.se.GenerateKey()
}

func (s appletKeys) DeleteKey(k crypto.Signer) error { return s.a.se.DeleteKey(k) }

// Commit adds the key of a completed pairing, as CreateKey does for a key
// configured directly: owner role, express mode on, empty mailboxes of the
// sizes the vehicle wrote.
func (s appletKeys) Commit(r *pairing.DeviceResult) error {
	a := s.a
	if a.find(r.VehicleID) != nil {
		return fmt.Errorf("%w: %w", pairing.ErrDeviceHasKey, ErrKeyExists)
	}
	mb := r.KeyConfig.Mailboxes
	k := &key{
		vehicle: r.VehicleID, role: dkey.RoleOwner, state: dkey.KeyActive, express: true, mailboxes: mb,
		cred:    transaction.Credential{Slot: r.Slot, Key: r.Key, PublicKey: r.PublicKey, VehicleKey: r.VehicleKey},
		private: make([]byte, mb.PrivateSize),
		conf:    make([]byte, mb.ConfidentialSize),
	}
	a.keys = append(a.keys, k)
	// Records of keys terminated since are dropped, their secret erased.
	a.paired = slices.DeleteFunc(a.paired, func(p *pairedKey) bool {
		if p.k.state == dkey.KeyTerminated {
			clear(p.ltss[:])
			return true
		}
		return false
	})
	a.paired = append(a.paired, &pairedKey{k: k, ltss: r.LongTermSecret, info: PairingInfo{
		VehicleRoot: r.VehicleRoot, VehicleCertificates: slices.Clone(r.VehicleCertificates),
		Certificates: slices.Clone(r.Certificates), KeyConfig: r.KeyConfig, Brand: r.Brand,
	}})
	return nil
}
