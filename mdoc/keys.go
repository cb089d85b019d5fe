package mdoc

// The map keys of each structure in each dialect, in the order of the field
// indexes the decoders use. Home Key uses the names of ISO/IEC 18013-5 (I+
// [AHKR] reads "documents", "issuerSigned", "issuerAuth", "deviceKeyInfo",
// "deviceKey"). Aliro replaces each name with the decimal number of the
// field as a text string: the public Aliro readers, which work with Apple,
// Google and Samsung wallets, send "1", "2" and "5" (I [ALIRO]
// python-aliro-reader document.py, proxmark3 cmdhfaliro.c) and read the
// response with the numbers of document.py's schemas. Those readers also
// accept integer keys in responses; which of the two the Aliro
// specification writes is not public, and the SDK writes and accepts the
// text form of the requests only (doc.go, "Where the project chose").
var (
	keysDeviceRequest    = [2][]string{{"version", "docRequests"}, {"1", "2"}}
	keysDocRequest       = [2][]string{{"itemsRequest"}, {"1"}}
	keysItemsRequest     = [2][]string{{"docType", "nameSpaces"}, {"5", "1"}}
	keysDeviceResponse   = [2][]string{{"version", "documents", "status"}, {"1", "2", "3"}}
	keysDocument         = [2][]string{{"docType", "issuerSigned"}, {"5", "1"}}
	keysIssuerSigned     = [2][]string{{"nameSpaces", "issuerAuth"}, {"1", "2"}}
	keysIssuerSignedItem = [2][]string{{"digestID", "random", "elementIdentifier", "elementValue"}, {"1", "2", "3", "4"}}
	keysMSO              = [2][]string{
		{"version", "digestAlgorithm", "valueDigests", "deviceKeyInfo", "docType", "validityInfo"},
		{"1", "2", "3", "4", "5", "6", "7"}, // 7: timeVerificationRequired, Aliro only
	}
	keysDeviceKeyInfo = [2][]string{{"deviceKey"}, {"1"}}
	keysValidityInfo  = [2][]string{{"signed", "validFrom", "validUntil", "expectedUpdate"}, {"1", "2", "3", "4"}}
	// SessionData has the 18013-5 names in both dialects (I [ALIRO]: the
	// readers send and read "data").
	keysSessionData = []string{"data", "status"}
)

// names returns the keys of a structure in dialect d.
func (d Dialect) names(t *[2][]string) []string { return t[d-1] }

// all returns the set of every field index below n.
func all(n int) fieldSet { return 1<<n - 1 }
