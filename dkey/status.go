package dkey

import "strconv"

// StatusWord is an ISO/IEC 7816-4 status word (SW1‖SW2) as the Digital Key
// applets return it. It implements error, so a response other than 9000
// travels as an error; its Is method matches classes:
//
//   - a target whose SW2 is 00 in one of the classes 61, 62, 63, 64, 65, 66,
//     68, 69, 6A and 6C matches every status word of that class (so
//     errors.Is(sw, SWBytesAvailable) matches 61xx and errors.Is(sw, SWWrongLe)
//     matches 6Cxx);
//   - [SWVerifyFailed] (63C0) matches 63C0 to 63CF, the counter forms;
//   - any other target matches only itself.
type StatusWord uint16

// Status words the Digital Key protocol uses (docs/protocol.md §2.4) and the ISO
// 7816-4 ones the transport layer handles.
const (
	SWSuccess StatusWord = 0x9000 // normal processing

	SWBytesAvailable StatusWord = 0x6100 // class 61xx: SW2 more bytes available (GET RESPONSE)
	SWWarning        StatusWord = 0x6200 // class 62xx: warning, memory unchanged
	SWWarningChanged StatusWord = 0x6300 // class 63xx: warning, memory changed
	SWVerifyFailed   StatusWord = 0x63C0 // 63Cx: verification failed, x tries left

	SWExecutionError StatusWord = 0x6400 // execution error, memory unchanged (class 64xx)
	SWNotAvailable   StatusWord = 0x6402 // DK: data not available
	SWRangingKeyFull StatusWord = 0x6484 // DK: CREATE RANGING KEY, no URSK slot left
	SWMemoryError    StatusWord = 0x6581 // memory failure (class 65xx)

	SWWrongLength                StatusWord = 0x6700 // wrong length (Lc or Le)
	SWChecking                   StatusWord = 0x6900 // command not allowed (class 69xx)
	SWSecurityNotSatisfied       StatusWord = 0x6982 // security status not satisfied
	SWAuthenticationBlocked      StatusWord = 0x6983 // authentication method blocked
	SWConditionsNotSatisfied     StatusWord = 0x6985 // conditions of use not satisfied; DK: command out of sequence
	SWSecureMessagingIncorrect   StatusWord = 0x6988 // incorrect secure messaging data objects
	SWWrongParameters            StatusWord = 0x6A00 // wrong parameters (class 6Axx)
	SWWrongData                  StatusWord = 0x6A80 // incorrect parameters in the data field
	SWFunctionNotSupported       StatusWord = 0x6A81 // function not supported
	SWFileNotFound               StatusWord = 0x6A82 // file or application not found; DK: no key for this vehicle
	SWNotEnoughMemory            StatusWord = 0x6A84 // not enough memory space
	SWIncorrectP1P2              StatusWord = 0x6A86 // incorrect parameters P1-P2
	SWReferencedDataNotFound     StatusWord = 0x6A88 // referenced data not found; DK: unknown key slot
	SWWrongP1P2                  StatusWord = 0x6B00 // wrong parameters P1-P2
	SWWrongLe                    StatusWord = 0x6C00 // class 6Cxx: wrong Le, SW2 is the exact length
	SWInstructionNotSupported    StatusWord = 0x6D00 // instruction code not supported
	SWClassNotSupported          StatusWord = 0x6E00 // class not supported
	SWNoPreciseDiagnosis         StatusWord = 0x6F00 // no precise diagnosis
	SWLogicalChannelNotSupported StatusWord = 0x6881 // logical channel not supported
	SWLastCommandOfChainExpected StatusWord = 0x6883 // last command of the chain expected
	SWChainingNotSupported       StatusWord = 0x6884 // command chaining not supported
)

// SW1 returns the first status byte.
func (sw StatusWord) SW1() byte { return byte(sw >> 8) }

// SW2 returns the second status byte.
func (sw StatusWord) SW2() byte { return byte(sw) }

// OK reports whether sw is 9000.
func (sw StatusWord) OK() bool { return sw == SWSuccess }

// Err returns nil for 9000 and sw otherwise.
func (sw StatusWord) Err() error {
	if sw == SWSuccess {
		return nil
	}
	return sw
}

// Error returns the status word and its meaning, for example
// "status word 6A82: file or application not found".
func (sw StatusWord) Error() string {
	const digits = "0123456789ABCDEF"
	b := []byte("status word ")
	b = append(b, digits[sw>>12&0xF], digits[sw>>8&0xF], digits[sw>>4&0xF], digits[sw&0xF])
	if m := sw.meaning(); m != "" {
		b = append(b, ": "...)
		b = append(b, m...)
	}
	return string(b)
}

func (sw StatusWord) meaning() string {
	switch sw {
	case SWSuccess:
		return "success"
	case SWNotAvailable:
		return "data not available"
	case SWRangingKeyFull:
		return "no ranging key slot left"
	case SWWrongLength:
		return "wrong length"
	case SWSecurityNotSatisfied:
		return "security status not satisfied"
	case SWAuthenticationBlocked:
		return "authentication method blocked"
	case SWConditionsNotSatisfied:
		return "conditions of use not satisfied"
	case SWSecureMessagingIncorrect:
		return "incorrect secure messaging data objects"
	case SWWrongData:
		return "incorrect parameters in the data field"
	case SWFunctionNotSupported:
		return "function not supported"
	case SWFileNotFound:
		return "file or application not found"
	case SWNotEnoughMemory:
		return "not enough memory space"
	case SWIncorrectP1P2:
		return "incorrect parameters P1-P2"
	case SWReferencedDataNotFound:
		return "referenced data not found"
	case SWWrongP1P2:
		return "wrong parameters P1-P2"
	case SWInstructionNotSupported:
		return "instruction not supported"
	case SWClassNotSupported:
		return "class not supported"
	case SWNoPreciseDiagnosis:
		return "no precise diagnosis"
	case SWLogicalChannelNotSupported:
		return "logical channel not supported"
	case SWLastCommandOfChainExpected:
		return "last command of the chain expected"
	case SWChainingNotSupported:
		return "command chaining not supported"
	}
	switch sw.SW1() {
	case 0x61:
		return strconv.Itoa(int(sw.SW2())) + " bytes available"
	case 0x6C:
		return "wrong Le, exact length " + strconv.Itoa(int(sw.SW2()))
	case 0x63:
		if sw&0xFFF0 == SWVerifyFailed {
			return "verification failed, " + strconv.Itoa(int(sw&0xF)) + " tries left"
		}
		return "warning, memory changed"
	case 0x62:
		return "warning, memory unchanged"
	case 0x64:
		return "execution error, memory unchanged"
	case 0x65:
		return "execution error, memory changed"
	case 0x69:
		return "command not allowed"
	case 0x6A:
		return "wrong parameters"
	}
	return ""
}

// Is reports whether sw matches target, a [StatusWord]: exactly, or by class
// as described on the type.
func (sw StatusWord) Is(target error) bool {
	t, ok := target.(StatusWord)
	if !ok {
		return false
	}
	if sw == t {
		return true
	}
	if t == SWVerifyFailed {
		return sw&0xFFF0 == SWVerifyFailed
	}
	if t.SW2() != 0 {
		return false
	}
	switch t.SW1() {
	case 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x68, 0x69, 0x6A, 0x6C:
		return sw.SW1() == t.SW1()
	}
	return false
}
