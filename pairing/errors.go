package pairing

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
)

// Errors of a pairing run. The device answers each with the status word
// StatusWordFor gives; the vehicle ends its run with the OP CONTROL FLOW
// abort code documented on VehicleSession.Abort.
var (
	// ErrNoFramework reports that the device did not select the Digital
	// Key framework (SELECT failed): it does not pair over this link.
	ErrNoFramework = errors.New("pairing: no Digital Key framework on the device")
	// ErrNotReady reports a device that has no pairing password entered
	// (SELECT tag D4 is not 02). Status word 6985.
	ErrNotReady = errors.New("pairing: device not ready: no pairing password entered")
	// ErrAuthentication is the one opaque error of a SPAKE2+ exchange
	// that fails: a wrong password, a tampered share or a tampered
	// evidence. Neither side can tell which. Status word 6982.
	ErrAuthentication = errors.New("pairing: wrong pairing password or tampered exchange")
	// ErrChannel reports a protected command or response that does not
	// verify under the pairing secure channel; the run ends. Status word
	// 6988.
	ErrChannel = errors.New("pairing: secure channel failure")
	// ErrMalformed reports a message that does not parse: wrong tags,
	// lengths or order, or values out of range. Status word 6A80.
	ErrMalformed = errors.New("pairing: malformed message")
	// ErrOutOfSequence reports a command that does not fit the state of
	// the run, or a call on a run that has ended. Status word 6985.
	ErrOutOfSequence = errors.New("pairing: command out of sequence")
	// ErrParameters reports scrypt parameters or a salt outside the limits
	// (see ScryptParams). Status word 6A80.
	ErrParameters = errors.New("pairing: scrypt parameters out of range")
	// ErrRefused reports a status word other than 9000 from the device
	// where no more specific error applies; the error wraps the status
	// word.
	ErrRefused = errors.New("pairing: device refused the command")
	// ErrDeviceHasKey reports a device that already holds a key for the
	// vehicle: one device holds at most one owner key per vehicle. The
	// device answers 6A89 ("file already exists") to the WRITE DATA that
	// completes the key configuration.
	ErrDeviceHasKey = errors.New("pairing: the device already holds a key for this vehicle")
	// ErrVehicleCertificate reports a vehicle certificate chain that the
	// device rejects (it wraps the *cert.ChainError). Status word 6A80.
	ErrVehicleCertificate = errors.New("pairing: vehicle certificate chain rejected")
	// ErrEndpointCertificate reports an endpoint certificate chain that the
	// vehicle rejects: it does not verify up to a Device OEM root, is not
	// bound to this vehicle, or does not certify the key configuration the
	// vehicle wrote.
	ErrEndpointCertificate = errors.New("pairing: endpoint certificate chain rejected")
	// ErrKeyConfig reports a key configuration (7F4D, 7F4E) whose values are
	// inconsistent: a mailbox range outside its mailbox, a wrong vehicle
	// identifier length. Status word 6A80.
	ErrKeyConfig = errors.New("pairing: invalid key configuration")
	// ErrAborted reports an OP CONTROL FLOW abort (P1 12) from the vehicle;
	// the device's error wraps the code as an OpControlFlow.
	ErrAborted = errors.New("pairing: aborted by the vehicle")
	// ErrAttemptsExhausted reports a vehicle that has refused too many wrong
	// pairing passwords: it pairs again only after the vehicle OEM installs
	// a new verifier. It comes inside an *AttemptsError.
	ErrAttemptsExhausted = errors.New("pairing: no pairing attempt left")
	// ErrSecureElement reports a failure of the device's [SecureElement] to
	// create, certify or keep a key. Status word 6F00.
	ErrSecureElement = errors.New("pairing: secure element failure")

	errZeroizedVerifier = errors.New("pairing: verifier was zeroized")
)

// AttemptsError reports a failed password attempt, or a refusal because
// none is left, with the number of attempts the vehicle still allows. The
// vehicle counts an attempt when it sends SPAKE2+ VERIFY (docs/protocol.md §3.2:
// at most 7), so every failure from then on carries this error: Err says
// why (ErrAuthentication for a wrong password, a transport error when the
// device left the field) and ErrAttemptsExhausted when Remaining is 0.
type AttemptsError struct {
	// Remaining is the number of attempts left; 0 means the vehicle refuses
	// to pair until a new verifier is installed.
	Remaining int
	// Err is the reason of the failure.
	Err error
}

func (e *AttemptsError) Error() string {
	if e.Remaining == 0 {
		if errors.Is(e.Err, ErrAttemptsExhausted) {
			return e.Err.Error()
		}
		return fmt.Sprintf("%v (no attempt left)", e.Err)
	}
	if e.Remaining == 1 {
		return fmt.Sprintf("%v (1 attempt left)", e.Err)
	}
	return fmt.Sprintf("%v (%d attempts left)", e.Err, e.Remaining)
}

// Unwrap returns Err, and ErrAttemptsExhausted when no attempt is left.
func (e *AttemptsError) Unwrap() []error {
	if e.Remaining == 0 && !errors.Is(e.Err, ErrAttemptsExhausted) {
		return []error{e.Err, ErrAttemptsExhausted}
	}
	return []error{e.Err}
}

// swKeyExists is ISO/IEC 7816-4 "file already exists", the device's answer
// when it already holds a key for the vehicle (project choice; §2.4 lists
// no status word for it).
const swKeyExists dkey.StatusWord = 0x6A89

// StatusWordFor returns the status word the device answers for err: the one
// err wraps, if any, otherwise the one documented for the sentinel it wraps,
// otherwise 6F00 (no precise diagnosis).
func StatusWordFor(err error) dkey.StatusWord {
	var sw dkey.StatusWord
	switch {
	case err == nil:
		return dkey.SWSuccess
	case errors.As(err, &sw):
		return sw
	case errors.Is(err, ErrOutOfSequence), errors.Is(err, ErrNotReady), errors.Is(err, ErrAborted):
		return dkey.SWConditionsNotSatisfied
	case errors.Is(err, ErrAuthentication):
		return dkey.SWSecurityNotSatisfied
	case errors.Is(err, ErrChannel):
		return dkey.SWSecureMessagingIncorrect
	case errors.Is(err, ErrDeviceHasKey):
		return swKeyExists
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrParameters), errors.Is(err, ErrKeyConfig),
		errors.Is(err, ErrVehicleCertificate), errors.Is(err, dkey.ErrNoCommonVersion):
		return dkey.SWWrongData
	}
	return dkey.SWNoPreciseDiagnosis
}

// malformed wraps ErrMalformed with what was being parsed.
func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }
