package mdoc

// Limits on what the decoders accept. ISO/IEC 18013-5 sets none of these;
// they are the project's, chosen far above what the Home Key and Aliro
// exchanges carry (a Home Key DeviceResponse is about 700 bytes, the NDEF
// handover messages about 110) and low enough that a hostile peer cannot
// make a decoder allocate or recurse without bound.
const (
	// MaxNDEFMessage bounds an NDEF message (the value of ENVELOPE tag 53 in
	// the handover).
	MaxNDEFMessage = 1024
	// MaxNDEFRecords bounds the records of one NDEF message.
	MaxNDEFRecords = 8
	// MaxEngagement bounds an encoded DeviceEngagement or ReaderEngagement.
	MaxEngagement = 256
	// MaxMessage bounds a decrypted DeviceRequest or DeviceResponse, and so
	// a SessionData (MaxMessage plus the GCM tag and the CBOR framing).
	MaxMessage = 16384
	// MaxDocuments bounds the documents of a DeviceResponse and the document
	// requests of a DeviceRequest.
	MaxDocuments = 8
	// MaxNameSpaces bounds the name spaces of a request, of an IssuerSigned
	// and of the mobile security object's value digests.
	MaxNameSpaces = 8
	// MaxElements bounds the data elements of one name space, requested or
	// returned, and the digests of one name space in the mobile security
	// object.
	MaxElements = 32
	// MaxText bounds a text string: a document type, a name space, an
	// element identifier, a version.
	MaxText = 256
	// MaxElementValue bounds one encoded data element value.
	MaxElementValue = 4096
	// MaxDepth bounds the nesting of arrays, maps and tags inside a data
	// element value.
	MaxDepth = 8
	// MaxExchanges bounds the request/response pairs of one session.
	MaxExchanges = 4
	// MinRandom and MaxRandom bound the random salt of an IssuerSignedItem;
	// ISO/IEC 18013-5 §9.1.2.5 asks for at least 16 bytes.
	MinRandom = 16
	MaxRandom = 64
)
