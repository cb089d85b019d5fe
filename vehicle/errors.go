package vehicle

import "errors"

// Errors of the reader, beyond those of package transaction
// (ErrAuthentication, ErrChannel, ErrVersion, ErrMalformed), package pairing
// (ErrAuthentication, ErrDeviceHasKey, ErrEndpointCertificate,
// *AttemptsError, ...), package sharing (*VehicleError, ErrRevoked,
// ErrStoreFull, ErrMismatch), the dkey sentinels (ErrUnknownKey,
// ErrKeySuspended, ErrKeyTerminated, ErrKeyExpired, ErrNotEntitled) and the
// transport failures.
var (
	// ErrNoApplet reports that the device has no Digital Key applet of the
	// vehicle's profile (SELECT failed).
	ErrNoApplet = errors.New("vehicle: no Digital Key applet on the device")
	// ErrRefused reports that the device refused the transaction (it wraps
	// the device's status word): no key for this vehicle, key suspended,
	// lost mode, user authentication required.
	ErrRefused = errors.New("vehicle: device refused the transaction")
	// ErrImmobilizer reports an immobilizer token that does not match the
	// one the vehicle provisioned.
	ErrImmobilizer = errors.New("vehicle: immobilizer token mismatch")
	// ErrEnrolled reports an enrolment of a slot or key already enrolled.
	ErrEnrolled = errors.New("vehicle: key already enrolled")
	// ErrPairingUnavailable reports a reader configured without Pairing.
	ErrPairingUnavailable = errors.New("vehicle: owner pairing is not configured")
	// ErrNoVerifier reports a vehicle not in pairing mode: the vehicle OEM
	// has installed no verifier, or the last one was used.
	ErrNoVerifier = errors.New("vehicle: not in pairing mode: no verifier installed")
	// ErrOwnerExists reports a vehicle that has an owner key already: a new
	// owner pairs only through ReplaceOwner.
	ErrOwnerExists = errors.New("vehicle: the vehicle has an owner key already")
	// ErrPairingBusy reports a second pairing while one is in progress.
	ErrPairingBusy = errors.New("vehicle: a pairing is in progress")
	// ErrClosed reports a call on a closed Reader.
	ErrClosed = errors.New("vehicle: reader closed")
	// ErrNotInitialized reports a call on a Reader that NewReader did not
	// make (the zero value, new(Reader)): it has no keys and no store,
	// and every call that would use them returns this error.
	ErrNotInitialized = errors.New("vehicle: reader not made by NewReader")
	// ErrStateKEK reports a stored state that the key-encryption key
	// does not open: the wrong key, or a file from another vehicle.
	ErrStateKEK = errors.New("vehicle: the key-encryption key does not open the stored state")
	// ErrStateVersion reports a stored state of a schema version this
	// version of the SDK does not know: it is refused, never reset.
	ErrStateVersion = errors.New("vehicle: stored state of an unknown schema version")
	// ErrStateCorrupt reports a stored state with a damaged or tampered
	// record, or a damaged file: nothing is served from it.
	ErrStateCorrupt = errors.New("vehicle: stored state is damaged")
)
