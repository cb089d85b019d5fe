package device

import "errors"

// Errors of the applet's management API. Refusals of the device's policy
// wrap the dkey sentinels (ErrUnknownVehicle, ErrKeySuspended,
// ErrKeyTerminated, ErrUserAuthenticationRequired).
var (
	// ErrKeyExists reports that the applet already holds a key for the
	// vehicle: one applet holds at most one live key per vehicle.
	ErrKeyExists = errors.New("device: a key for this vehicle already exists")
	// ErrMailboxAccess reports an access outside a mailbox, or to the
	// confidential mailbox, which only the vehicle may read or write.
	ErrMailboxAccess = errors.New("device: mailbox access refused")
	// ErrMailboxFull reports a statement that does not fit the key's
	// private mailbox: the vehicle must consume the area first.
	ErrMailboxFull = errors.New("device: the statement area is full")
	// ErrPairingUnavailable reports an applet without the framework: Config
	// has no Pairing, or the profile is not CCC.
	ErrPairingUnavailable = errors.New("device: owner pairing is not configured (CCC profile with Config.Pairing)")
	// ErrNoInstanceCA reports an applet configured without an instance CA,
	// which sharing needs to certify the keys it creates, or a profile that
	// has no endpoint certificates (Home Key).
	ErrNoInstanceCA = errors.New("device: no instance CA to certify shared keys (CCC profile with Config.InstanceCA or Config.Pairing)")
	// ErrAwaitingImport reports a shared key whose key attestation has not
	// been imported yet (ImportSharedKey): it cannot transact or be resumed.
	ErrAwaitingImport = errors.New("device: the shared key awaits its key attestation")
	// ErrNoSecret reports a key or a secret the secure element does not
	// hold.
	ErrNoSecret = errors.New("device: no such key or secret in the secure element")
	// ErrPowerReserve reports a management call in power reserve, where
	// the host is off (EnterPowerReserve), or a key not marked for power
	// reserve at a reader then.
	ErrPowerReserve = errors.New("device: power reserve")
	// ErrClosed reports a call on a closed Applet.
	ErrClosed = errors.New("device: applet closed")
	// ErrNotInitialized reports a management call on an Applet that
	// NewApplet did not make (the zero value, new(Applet)).
	ErrNotInitialized = errors.New("device: applet not made by NewApplet")
	// ErrStateKEK reports a stored state that the key-encryption key does
	// not open: the wrong key, or a file from another device.
	ErrStateKEK = errors.New("device: the key-encryption key does not open the stored state")
	// ErrStateVersion reports a stored state of a schema version this
	// version of the SDK does not know: it is refused, never reset.
	ErrStateVersion = errors.New("device: stored state of an unknown schema version")
	// ErrStateCorrupt reports a stored state with a damaged or tampered
	// record, a damaged file, or a record whose key the secure element
	// does not hold: nothing is served from it.
	ErrStateCorrupt = errors.New("device: stored state is damaged")
)
