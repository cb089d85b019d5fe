package dkey

import "errors"

// Sentinel errors shared by the packages of the SDK. Callers branch on them
// with errors.Is; the packages wrap them with detail.
var (
	// ErrInvalidVehicleID reports a vehicle identifier of the wrong length.
	ErrInvalidVehicleID = errors.New("dkey: invalid vehicle identifier")
	// ErrInvalidReaderID reports an Aliro reader identifier of the wrong
	// length.
	ErrInvalidReaderID = errors.New("dkey: invalid reader identifier")
	// ErrInvalidKeySlot reports a key slot identifier of the wrong length.
	ErrInvalidKeySlot = errors.New("dkey: invalid key slot identifier")
	// ErrInvalidVersionList reports a malformed protocol version list.
	ErrInvalidVersionList = errors.New("dkey: invalid version list")
	// ErrInvalidPublicKey reports bytes that are not a valid P-256 public key.
	ErrInvalidPublicKey = errors.New("dkey: invalid P-256 public key")
	// ErrInvalidSignature reports bytes that are not a well-formed signature.
	ErrInvalidSignature = errors.New("dkey: malformed signature")
	// ErrVerification is the one opaque error of a signature that does not
	// verify.
	ErrVerification = errors.New("dkey: signature verification failed")
	// ErrInvalidMailboxConfig reports an inconsistent mailbox configuration.
	ErrInvalidMailboxConfig = errors.New("dkey: invalid mailbox configuration")

	// ErrNoCommonVersion reports that the two sides share no protocol version.
	ErrNoCommonVersion = errors.New("dkey: no common protocol version")
	// ErrUnknownVehicle reports that the endpoint holds no key for the vehicle.
	ErrUnknownVehicle = errors.New("dkey: no key for this vehicle")
	// ErrUnknownKey reports a key (slot or public key) that is not enrolled.
	ErrUnknownKey = errors.New("dkey: unknown key")
	// ErrKeySuspended reports a suspended key (lost mode).
	ErrKeySuspended = errors.New("dkey: key suspended")
	// ErrKeyTerminated reports a terminated key; it never transacts again.
	ErrKeyTerminated = errors.New("dkey: key terminated")
	// ErrUserAuthenticationRequired reports a key with express mode off and no
	// valid user authentication recorded.
	ErrUserAuthenticationRequired = errors.New("dkey: user authentication required")
	// ErrNotEntitled reports an action the key's access profile does not allow.
	ErrNotEntitled = errors.New("dkey: action not allowed by the access profile")
	// ErrKeyExpired reports a key outside its validity window.
	ErrKeyExpired = errors.New("dkey: key outside its validity window")
)
