package testvec

import "embed"

// homeKeyFS holds the Apple Home Key vectors. testdata/homekey/README.md
// names the source, commit and licence of every file and says which values
// were copied and which were derived.
//
//go:embed testdata/homekey/*.json
var homeKeyFS embed.FS

// HomeKeyTransaction is one Apple Home Key NFC transaction (docs/protocol.md §4)
// or the part of one that a public source recorded. A field the source does
// not give is nil. Derived lists the JSON names of the fields that the
// extractor computed (with an independent script) instead of copying them;
// FromCode lists those that are not in the source data but fixed by the
// program that produced it.
type HomeKeyTransaction struct {
	Name     string   `json:"name"`
	Source   string   `json:"source"`
	Derived  []string `json:"derived"`
	FromCode []string `json:"from_code"`

	// Long-term keys and identifiers.
	ReaderPrivateKey      HexBytes `json:"reader_private_key"`      // 32-byte scalar
	ReaderPublicKey       HexBytes `json:"reader_public_key"`       // 04‖X‖Y
	ReaderGroupIdentifier HexBytes `json:"reader_group_identifier"` // SHA-256("key-identifier"‖sk)[:8]
	ReaderIdentifier      HexBytes `json:"reader_identifier"`       // AUTH0 4D, 16 bytes
	EndpointPublicKey     HexBytes `json:"endpoint_public_key"`     // 04‖X‖Y
	EndpointIdentifier    HexBytes `json:"endpoint_identifier"`     // AUTH1 4E, SHA-1(04‖X‖Y)[:6]

	// Per-transaction values.
	ReaderEphemeralPublicKey   HexBytes `json:"reader_ephemeral_public_key"`   // AUTH0 87
	ReaderEphemeralX           HexBytes `json:"reader_ephemeral_x"`            // when only X is known
	EndpointEphemeralPublicKey HexBytes `json:"endpoint_ephemeral_public_key"` // AUTH0 response 86
	EndpointEphemeralX         HexBytes `json:"endpoint_ephemeral_x"`          // when only X is known
	TransactionIdentifier      HexBytes `json:"transaction_identifier"`        // AUTH0 4C
	Flags                      HexBytes `json:"flags"`                         // AUTH0 P1‖P2
	Interface                  HexBytes `json:"interface"`                     // KDF interface byte
	ProtocolVersion            HexBytes `json:"protocol_version"`              // AUTH0 5C
	EndpointVersions           HexBytes `json:"endpoint_versions"`             // SELECT response 5C value

	// Whole APDUs; responses end with SW1 SW2.
	SelectCommand    HexBytes `json:"select_command"`
	SelectResponse   HexBytes `json:"select_response"`
	Auth0Command     HexBytes `json:"auth0_command"`
	Auth0Response    HexBytes `json:"auth0_response"`
	Auth1Command     HexBytes `json:"auth1_command"`
	Auth1Response    HexBytes `json:"auth1_response"`
	ExchangeCommand  HexBytes `json:"exchange_command"`
	ExchangeResponse HexBytes `json:"exchange_response"`

	Cryptogram             HexBytes `json:"cryptogram"` // AUTH0 response 9D
	ReaderSignature        HexBytes `json:"reader_signature"`
	ReaderSignatureInput   HexBytes `json:"reader_signature_input"`
	EndpointSignature      HexBytes `json:"endpoint_signature"`
	EndpointSignatureInput HexBytes `json:"endpoint_signature_input"`

	// Standard key schedule (docs/protocol.md §4.4).
	SharedSecret   HexBytes `json:"shared_secret"` // Z, the ECDH x-coordinate
	Kdh            HexBytes `json:"kdh"`
	InfoVolatile   HexBytes `json:"info_volatile"`
	InfoPersistent HexBytes `json:"info_persistent"`
	Volatile       HexBytes `json:"volatile"` // Kenc‖Kmac‖Krmac
	Persistent     HexBytes `json:"persistent"`
	Kenc           HexBytes `json:"kenc"`
	Kmac           HexBytes `json:"kmac"`
	Krmac          HexBytes `json:"krmac"`

	// AUTH1 response under secure messaging (docs/protocol.md §4.7).
	Auth1ResponseData      HexBytes `json:"auth1_response_data"` // ciphertext‖R-MAC, no SW
	Auth1ResponsePlaintext HexBytes `json:"auth1_response_plaintext"`
	Auth1ResponseCounter   int      `json:"auth1_response_counter"`
}

// HomeKeyTrace is an APDU log of a real Home Key transaction. It has no
// keys; it fixes APDU shapes, lengths and the presence of Le.
type HomeKeyTrace struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Source      string        `json:"source"`
	APDUs       []HomeKeyAPDU `json:"apdus"`
}

// HomeKeyAPDU is one command and the response to it (data‖SW1‖SW2).
type HomeKeyAPDU struct {
	Command  HexBytes `json:"command"`
	Response HexBytes `json:"response"`
	// Redacted is set when the author replaced data in the response with
	// repeated DEADBEEF; its lengths may still be real.
	Redacted bool   `json:"redacted"`
	Note     string `json:"note"`
}

// HomeKeyExamples holds loose example values from a research README.
type HomeKeyExamples struct {
	Name    string   `json:"name"`
	Source  string   `json:"source"`
	Derived []string `json:"derived"`

	AIDPrimary       HexBytes `json:"aid_primary"`
	AIDConfiguration HexBytes `json:"aid_configuration"`
	AIDFull          HexBytes `json:"aid_full"`

	SelectResponseData         HexBytes `json:"select_response_data"`
	EndpointEphemeralPublicKey HexBytes `json:"endpoint_ephemeral_public_key"`
	Cryptogram                 HexBytes `json:"cryptogram"`
	ReaderSignature            HexBytes `json:"reader_signature"`

	// ECPFrame is a whole Enhanced Contactless Polling frame including its
	// CRC_A; ECPFrameTemplate has a placeholder group identifier and no CRC.
	ECPFrame              HexBytes `json:"ecp_frame"`
	ECPFrameTemplate      HexBytes `json:"ecp_frame_template"`
	ReaderGroupIdentifier HexBytes `json:"reader_group_identifier"`

	// HomeKit (HAP) provisioning examples.
	HAPReaderKeyRequestBase64 string   `json:"hap_reader_key_request_base64"`
	ReaderPrivateKey          HexBytes `json:"reader_private_key"`
	ReaderUniqueIdentifier    HexBytes `json:"reader_unique_identifier"`
	EndpointPublicKeyXY       HexBytes `json:"endpoint_public_key_xy"` // X‖Y, no 04 prefix
	IssuerIdentifier          HexBytes `json:"issuer_identifier"`

	// StandardInfoSuffix is the bytes Home Key v2.0 appends to the standard
	// KDF info for an endpoint that lists versions 2.0 and 1.0.
	StandardInfoSuffix HexBytes `json:"standard_info_suffix"`
}

// HomeKeyStandard returns a synthetic Home Key v2.0 standard transaction from
// tgckpg/homekey-go: Z, both ephemeral public keys, the transaction
// identifier, Volatile and Persistent, and an AUTH1 response under secure
// messaging with its plaintext. It has no private keys.
func HomeKeyStandard() (*HomeKeyTransaction, error) {
	return loadHomeKey[HomeKeyTransaction]("homekeygo_standard.json")
}

// HomeKeyReaderAuth returns a real iPhone transaction recorded by kormax
// (FAST attempt, then STANDARD and EXCHANGE) together with the reader's
// long-term private key, so the reader's AUTH1 signature can be checked.
func HomeKeyReaderAuth() (*HomeKeyTransaction, error) {
	return loadHomeKey[HomeKeyTransaction]("kormax_km_standard.json")
}

// HomeKeyWatchStandard returns the part of a real Apple Watch standard
// transaction that a reader log posted in kormax/apple-home-key-reader
// issue #2 shows: Kenc/Kmac/Krmac, the AUTH1 plaintext and the endpoint
// signature with its input. EndpointPublicKey was recovered from the
// signature; its SHA-1 prefix matches the logged endpoint identifier.
func HomeKeyWatchStandard() (*HomeKeyTransaction, error) {
	return loadHomeKey[HomeKeyTransaction]("issue2_watch_standard.json")
}

// HomeKeyTraces returns the keyless APDU logs of kormax/apple-home-key.
func HomeKeyTraces() ([]*HomeKeyTrace, error) {
	var out []*HomeKeyTrace
	for _, name := range []string{
		"kormax_trace_df_fast.json",
		"kormax_trace_km_fast.json",
		"kormax_trace_km_fast_standard_exchange_configuration.json",
	} {
		t, err := loadHomeKey[HomeKeyTrace](name)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// HomeKeyKormaxExamples returns the example values of the
// kormax/apple-home-key README, including the HomeKit reader key that
// belongs to the reader of the km traces.
func HomeKeyKormaxExamples() (*HomeKeyExamples, error) {
	return loadHomeKey[HomeKeyExamples]("kormax_readme_examples.json")
}

// HomeKeyKupa22Examples returns the example values of the
// kupa22/apple-homekey README (ECP frame with CRC, reader group identifier).
func HomeKeyKupa22Examples() (*HomeKeyExamples, error) {
	return loadHomeKey[HomeKeyExamples]("kupa22_examples.json")
}

// loadHomeKey decodes one file of testdata/homekey strictly.
func loadHomeKey[T any](name string) (*T, error) {
	return loadStrict[T](homeKeyFS, "testdata/homekey/", name)
}
