package testvec

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
)

// aliroFS holds the Aliro vectors. testdata/aliro/README.md names the source
// and licence of every file; testdata/aliro/xcheck holds the independent
// Python implementation that checks all of them and generated
// xcheck_fixed.json.
//
//go:embed testdata/aliro/*.json
var aliroFS embed.FS

// AliroTransaction is one Aliro expedited-phase transaction (standard or
// fast), as far as its source gives it. A field the source does not give is
// nil. Keys are raw: private keys are 32-byte scalars, public keys 65-byte
// uncompressed points; APDUs and responses are whole (responses end with
// SW1 SW2).
type AliroTransaction struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// SaltUsesSubjectKey marks the Aliro 1.0 section 14.2 example, which
	// binds the reader certificate's subject key where section 8.3.1.13
	// names the reader_group_identifier_key.
	SaltUsesSubjectKey bool `json:"salt_uses_subject_key"`

	ReaderPrivateKey        HexBytes `json:"reader_private_key"`
	ReaderPublicKey         HexBytes `json:"reader_public_key"`
	ReaderGroupKey          HexBytes `json:"reader_group_key"`
	ReaderGroupPrivateKey   HexBytes `json:"reader_group_private_key"`
	ReaderCertificate       HexBytes `json:"reader_certificate"`
	DecompressedCertificate HexBytes `json:"decompressed_certificate"`
	ReaderIdentifier        HexBytes `json:"reader_identifier"`
	CredentialPrivateKey    HexBytes `json:"credential_private_key"`
	CredentialPublicKey     HexBytes `json:"credential_public_key"`
	KeySlot                 HexBytes `json:"key_slot"`

	ReaderEphemeralPrivateKey   HexBytes `json:"reader_ephemeral_private_key"`
	ReaderEphemeralPublicKey    HexBytes `json:"reader_ephemeral_public_key"`
	EndpointEphemeralPrivateKey HexBytes `json:"endpoint_ephemeral_private_key"`
	EndpointEphemeralPublicKey  HexBytes `json:"endpoint_ephemeral_public_key"`
	TransactionIdentifier       HexBytes `json:"transaction_identifier"`
	CommandParameters           HexBytes `json:"command_parameters"`
	AuthenticationPolicy        HexBytes `json:"authentication_policy"`
	ProtocolVersion             HexBytes `json:"protocol_version"`
	Interface                   HexBytes `json:"interface"`
	Auth0CommandExtension       HexBytes `json:"auth0_command_extension"`
	Auth0ResponseExtension      HexBytes `json:"auth0_response_extension"`

	SelectCommand          HexBytes `json:"select_command"`
	SelectResponse         HexBytes `json:"select_response"`
	Auth0Command           HexBytes `json:"auth0_command"`
	Auth0Response          HexBytes `json:"auth0_response"`
	LoadCertificateCommand HexBytes `json:"load_certificate_command"`
	Auth1Command           HexBytes `json:"auth1_command"`
	Auth1Response          HexBytes `json:"auth1_response"`

	ReaderSignatureInput   HexBytes `json:"reader_signature_input"`
	ReaderSignature        HexBytes `json:"reader_signature"`
	EndpointSignatureInput HexBytes `json:"endpoint_signature_input"`
	EndpointSignature      HexBytes `json:"endpoint_signature"`

	SharedSecret      HexBytes `json:"shared_secret"` // Z_AB, the ECDH x-coordinate
	Kdh               HexBytes `json:"kdh"`
	SaltVolatile      HexBytes `json:"salt_volatile"`
	SaltPersistent    HexBytes `json:"salt_persistent"`
	SaltFast          HexBytes `json:"salt_fast"`
	Info              HexBytes `json:"info"`
	ExpeditedSKReader HexBytes `json:"expedited_sk_reader"`
	ExpeditedSKDevice HexBytes `json:"expedited_sk_device"`
	StepUpSK          HexBytes `json:"step_up_sk"`
	BleSK             HexBytes `json:"ble_sk"`
	URSK              HexBytes `json:"ursk"`
	CryptogramSK      HexBytes `json:"cryptogram_sk"`
	Persistent        HexBytes `json:"persistent"`

	Auth1Plaintext      HexBytes `json:"auth1_plaintext"`
	Cryptogram          HexBytes `json:"cryptogram"`
	CryptogramPlaintext HexBytes `json:"cryptogram_plaintext"`

	Exchanges []AliroExchange `json:"exchanges"`
}

// AliroExchange is one EXCHANGE command and its response under the
// expedited-phase secure channel, with their plaintexts and the counters
// that protect them.
type AliroExchange struct {
	Command           HexBytes `json:"command"`
	Response          HexBytes `json:"response"`
	CommandPlaintext  HexBytes `json:"command_plaintext"`
	ResponsePlaintext HexBytes `json:"response_plaintext"`
	ReaderCounter     uint32   `json:"reader_counter"`
	DeviceCounter     uint32   `json:"device_counter"`
}

// AliroCertificateDemo is one reader certificate compression example: a
// reader key, the issuer (Reader System Issuer CA) key that signed its
// certificate, the X.509 certificate and its profile0000 compression.
// Private keys are PKCS #8 DER, as the source gives them.
type AliroCertificateDemo struct {
	Name             string   `json:"name"`
	ReaderPublicKey  HexBytes `json:"reader_public_key"`
	ReaderPrivateKey HexBytes `json:"reader_private_key"`
	IssuerPublicKey  HexBytes `json:"issuer_public_key"`
	IssuerPrivateKey HexBytes `json:"issuer_private_key"`
	X509             HexBytes `json:"x509"`
	Compressed       HexBytes `json:"compressed"`
}

// AliroCertificates is the file of certificate compression examples.
type AliroCertificates struct {
	Name   string                 `json:"name"`
	Source string                 `json:"source"`
	Demos  []AliroCertificateDemo `json:"demos"`
}

// AliroFixed is the project's fixed-key vector, generated and checked by the
// independent Python implementation in testdata/aliro/xcheck.
type AliroFixed struct {
	Standard AliroTransaction `json:"standard"`
	Fast     AliroTransaction `json:"fast"`
}

// AliroSpecStandardCertificate returns the Aliro 1.0 section 14.2 example:
// an expedited-standard transaction in which the reader sends its
// certificate in AUTH1.
func AliroSpecStandardCertificate() (*AliroTransaction, error) {
	return loadAliro[AliroTransaction]("spec_14_2_standard_certificate.json")
}

// AliroSpecStandard returns the Aliro 1.0 section 14.3 example: an
// expedited-standard transaction without reader certificate.
func AliroSpecStandard() (*AliroTransaction, error) {
	return loadAliro[AliroTransaction]("spec_14_3_standard.json")
}

// AliroSpecFast returns the Aliro 1.0 section 14.4 example: the
// expedited-fast transaction that follows section 14.3.
func AliroSpecFast() (*AliroTransaction, error) {
	return loadAliro[AliroTransaction]("spec_14_4_fast.json")
}

// AliroNXPFast returns the expedited-fast vector of NXP's aliro-actuator
// unit tests: another credential key and Kpersistent than section 14.4.
func AliroNXPFast() (*AliroTransaction, error) {
	return loadAliro[AliroTransaction]("nxp_fast.json")
}

// AliroSpecCertificates returns the Aliro 1.0 section 14.1 certificate
// compression examples.
func AliroSpecCertificates() (*AliroCertificates, error) {
	return loadAliro[AliroCertificates]("spec_14_1_certificates.json")
}

// AliroXCheck returns the project's fixed-key vector: a standard
// transaction with LOAD CERT, vendor extensions, a key slot and EXCHANGE,
// then a fast one over BLE.
func AliroXCheck() (*AliroFixed, error) {
	return loadAliro[AliroFixed]("xcheck_fixed.json")
}

// loadAliro decodes one file of testdata/aliro strictly.
func loadAliro[T any](name string) (*T, error) {
	return loadStrict[T](aliroFS, "testdata/aliro/", name)
}

// loadStrict decodes the JSON file dir+name of fsys strictly: an unknown
// field is an error, so a misspelt key cannot silently leave a value nil.
func loadStrict[T any](fsys embed.FS, dir, name string) (*T, error) {
	b, err := fsys.ReadFile(dir + name)
	if err != nil {
		return nil, fmt.Errorf("testvec: %w", err)
	}
	return decodeStrict[T](name, b)
}

// decodeStrict decodes b, the file name, as one JSON value of type T with
// no unknown field and nothing but white space after it.
func decodeStrict[T any](name string, b []byte) (*T, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	v := new(T)
	if err := d.Decode(v); err != nil {
		return nil, fmt.Errorf("testvec: %s: %w", name, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("testvec: %s: data after the JSON value", name)
	}
	return v, nil
}
