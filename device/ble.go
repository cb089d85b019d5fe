package device

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Release 3 over Bluetooth LE (docs/protocol.md §8): the interface byte of the
// transactions, remote keyless entry, the BLE keys of owner pairing.
//
// The applet takes the methods of package transport/ble's consumer
// interfaces with standard and dkey types only (ble.InterfaceCard,
// ble.RKESigner), so it serves a BLE link without importing that package,
// which no library package may import.

// interfaces is the endpoint session of each interface the applet has
// answered on: the interface byte is bound into the key derivation of
// every transaction (docs/protocol.md §4.4), so a transaction runs in the
// session of its interface. a.sess is the session of the interface in
// use, cur.
type interfaces struct {
	cur      byte // 0: NFC, the session NewApplet made
	sessions map[byte]*transaction.EndpointSession
}

// ProcessAPDUOn answers one command APDU that arrived over the interface
// iface, as ProcessAPDU does for NFC: package transport/ble's Serve calls
// it with the interface byte of the link (ble.InterfaceBLE, C3, unless
// configured). The transaction binds iface into its key derivation
// (docs/protocol.md §4.4, §11 row 7), so a vehicle that runs the transaction
// over the same link with the same byte agrees, and one that binds
// another byte fails AUTH1 as any wrong key would. Zero means NFC (5E).
//
// One transaction runs at a time: a command from another interface than
// the previous command's ends the transaction (or pairing run) in
// progress and deselects, as a phone leaving the field does; the new
// interface starts with SELECT.
func (a *Applet) ProcessAPDUOn(iface byte, dst, apdu []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.made() || !a.useInterfaceLocked(iface) {
		// 6F00 for an Applet NewApplet did not make, as ProcessAPDU.
		return transport.AppendResponse(dst, nil, dkey.SWNoPreciseDiagnosis)
	}
	return a.processLocked(dst, apdu)
}

// useInterfaceLocked makes iface the interface of the commands that follow,
// ending the transaction of another one. It reports false when no session
// can be made for iface (never for a valid profile). a.mu is held.
func (a *Applet) useInterfaceLocked(iface byte) bool {
	if iface == 0 {
		iface = transaction.InterfaceNFC
	}
	cur := a.iface.cur
	if cur == 0 {
		cur = transaction.InterfaceNFC
	}
	if iface == cur {
		return true
	}
	s := a.iface.sessions[iface]
	if s == nil {
		var err error
		s, err = a.newSession(iface)
		if err != nil {
			return false
		}
	}
	if a.iface.sessions == nil {
		a.iface.sessions = map[byte]*transaction.EndpointSession{}
	}
	// The session in use so far keeps its place for when its interface
	// comes back.
	a.iface.sessions[cur], a.iface.sessions[iface] = a.sess, s
	a.abortLocked()
	a.sel = selNone
	a.sess, a.iface.cur = s, iface
	return true
}

// SignRKE signs the digest of a remote keyless entry request with the key
// of vehicle: arbitrary_data = SHA-256(challenge ‖ function ‖ action),
// which package transport/ble's RKEDevice computes from the vehicle's
// challenge and the request the user made (docs/protocol.md §8.6). The applet
// applies the policy of a transaction first: the key is live, lost mode
// is off, the key is not suspended, and a key without express mode needs
// a valid user authentication (AuthenticateUser); in power reserve only
// the keys marked for it, with express mode on, sign. It returns the raw
// signature r‖s. It implements transport/ble's RKESigner.
//
// A refusal wraps the dkey sentinels (ErrUnknownVehicle,
// ErrKeySuspended, ErrUserAuthenticationRequired), or ErrPowerReserve,
// and signs nothing.
func (a *Applet) SignRKE(vehicle dkey.VehicleID, digest *[sha256.Size]byte) (dkey.Signature, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return dkey.Signature{}, ErrClosed
	}
	k := a.find(vehicle)
	if err := a.policyLocked(k); err != nil {
		return dkey.Signature{}, fmt.Errorf("device: RKE for %v: %w", vehicle, err)
	}
	der, err := k.cred.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return dkey.Signature{}, fmt.Errorf("device: RKE signature: %w", err)
	}
	sig, err := dkey.SignatureFromASN1(der)
	if err != nil {
		return dkey.Signature{}, fmt.Errorf("device: RKE signature: %w", err)
	}
	return sig, nil
}

// bleKeysSize is the size of the BLE keys of owner pairing in the secure
// element: Kble_intro ‖ Kble_oob_master.
const bleKeysSize = 2 * pairing.BLEKeySize

// putBLEKeysLocked stores the BLE keys of owner pairing under the key id
// in the secure element (SecretBLE), erased with the key.
func (a *Applet) putBLEKeysLocked(id KeyID, k *pairing.BLEKeys) error {
	var b [bleKeysSize]byte
	copy(b[:], k.Intro[:])
	copy(b[pairing.BLEKeySize:], k.OOBMaster[:])
	defer clear(b[:])
	return a.se.PutSecret(SecretID{Key: id, Kind: SecretBLE}, b[:])
}

// BLEKeys returns Kble_intro and Kble_oob_master, which owner pairing
// derived with the key of vehicle (docs/protocol.md §3.3), for the first
// approach over BLE (package transport/ble's FirstApproach with
// ble.OwnerKeys(keys)). They stay in the secure element, as durable as
// the key, and go with it at its termination. The key must be live and
// usable (not suspended, lost mode off); a key that did not come from
// owner pairing has none (an error wrapping ErrNoSecret). The caller
// zeroizes the copy it gets.
func (a *Applet) BLEKeys(vehicle dkey.VehicleID) (pairing.BLEKeys, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return pairing.BLEKeys{}, err
	}
	k, err := a.live(vehicle)
	if err != nil {
		return pairing.BLEKeys{}, err
	}
	if a.lost || k.state != dkey.KeyActive {
		return pairing.BLEKeys{}, fmt.Errorf("device: %w", dkey.ErrKeySuspended)
	}
	var buf [bleKeysSize]byte
	defer clear(buf[:])
	b, err := a.se.Secret(buf[:0], SecretID{Key: k.id, Kind: SecretBLE})
	if err != nil {
		return pairing.BLEKeys{}, fmt.Errorf("device: BLE keys of %v: %w", vehicle, err)
	}
	if len(b) != bleKeysSize {
		clear(b)
		return pairing.BLEKeys{}, fmt.Errorf("device: BLE keys of %v: %w", vehicle, errors.Join(ErrStateCorrupt, fmt.Errorf("%d bytes", len(b))))
	}
	var out pairing.BLEKeys
	copy(out.Intro[:], b)
	copy(out.OOBMaster[:], b[pairing.BLEKeySize:])
	return out, nil
}

// checkBLEKeys checks, at a restart, that the BLE keys of k open when the
// secure element holds them (a key paired before they were stored has
// none).
func (a *Applet) checkBLEKeys(k *key) error {
	var buf [bleKeysSize]byte
	b, err := a.se.Secret(buf[:0], SecretID{Key: k.id, Kind: SecretBLE})
	clear(buf[:])
	switch {
	case errors.Is(err, ErrNoSecret):
		return nil
	case err != nil:
		return stateError("loading the BLE keys", err)
	case len(b) != bleKeysSize:
		return stateError("loading the BLE keys", fmt.Errorf("%w: key %d: %d bytes", seal.ErrCorrupt, k.id, len(b)))
	}
	return nil
}
