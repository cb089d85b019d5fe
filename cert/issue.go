package cert

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// serialSize is the size of the random serial numbers this package issues:
// 126 random bits, positive, 16 bytes encoded (RFC 5280 allows 20).
const serialSize = 16

// Template is what varies between the certificates of one kind. The
// functions of this file fill in the rest from the profile: version 3,
// a random serial number, ecdsa-with-SHA256, basic constraints, key usage,
// subject and authority key identifiers on CA certificates and their
// children, and the critical CCC extension.
type Template struct {
	// Subject is the subject name; it must not be empty, since chain
	// building matches it with the issuer name of the children.
	Subject pkix.Name
	// NotBefore and NotAfter bound the validity; both are required.
	NotBefore, NotAfter time.Time
	// ExtensionVersion is extension_version of the simple CCC extension of
	// [NewDeviceIntermediate], [NewVehicleOEMCA], [NewVehicleIntermediate]
	// and [NewVehicle]. Zero means 1.
	ExtensionVersion uint8
}

// NewDeviceRoot returns a self-signed Device OEM root certificate for key,
// which must hold a P-256 key. The root carries no CCC extension and allows
// two intermediates below it ([F] and [E]).
func NewDeviceRoot(t Template, key crypto.Signer) (*x509.Certificate, error) {
	return issueRoot(&t, key)
}

// NewVehicleRoot returns a self-signed Vehicle OEM root certificate for key,
// which must hold a P-256 key. The root carries no CCC extension and allows
// two intermediates below it ([J]/[M] and [8]).
func NewVehicleRoot(t Template, key crypto.Signer) (*x509.Certificate, error) {
	return issueRoot(&t, key)
}

// NewDeviceIntermediate returns a Device OEM intermediate certificate [F]
// for subject, issued by parent, whose key issuer holds. It allows one
// intermediate (the instance CA) below it.
func NewDeviceIntermediate(t Template, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	return issueSimple(&t, KindDeviceIntermediate, 1, subject, parent, issuer)
}

// NewInstanceCA returns an instance CA certificate [E] carrying ext for
// subject, the instance CA key of one applet instance, issued by parent
// (a Device OEM root or intermediate) whose key issuer holds. It allows no
// intermediate below it.
func NewInstanceCA(t Template, ext *InstanceCAExtension, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	if ext == nil {
		return nil, errors.New("cert: nil InstanceCAExtension")
	}
	val, err := ext.Marshal()
	if err != nil {
		return nil, err
	}
	return issue(&t, KindInstanceCA, val, 0, subject, parent, issuer)
}

// NewEndpoint returns an endpoint certificate [H] carrying ext for subject,
// the endpoint key, issued by parent (an instance CA) whose key issuer
// holds, typically the instance CA key in the secure element.
func NewEndpoint(t Template, ext *EndpointExtension, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	if ext == nil {
		return nil, errors.New("cert: nil EndpointExtension")
	}
	val, err := ext.Marshal()
	if err != nil {
		return nil, err
	}
	return issue(&t, KindEndpoint, val, -1, subject, parent, issuer)
}

// NewVehicleOEMCA returns a Vehicle OEM CA certificate of type [J] for
// subject, issued by parent (a Vehicle OEM root) whose key issuer holds. It
// allows one intermediate (a vehicle intermediate) below it. Verification
// accepts type [M] at the same position; this package does not issue it,
// since the public sources do not say how [J] and [M] differ.
func NewVehicleOEMCA(t Template, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	return issueSimple(&t, KindVehicleOEMCA, 1, subject, parent, issuer)
}

// NewVehicleIntermediate returns a vehicle intermediate certificate [8] for
// subject, issued by parent whose key issuer holds. It allows no
// intermediate below it.
func NewVehicleIntermediate(t Template, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	return issueSimple(&t, KindVehicleIntermediate, 0, subject, parent, issuer)
}

// NewVehicle returns a vehicle public-key certificate [K] for subject,
// the vehicle key (vehicle.PK), issued by parent whose key issuer holds.
func NewVehicle(t Template, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	return issueSimple(&t, KindVehicle, -1, subject, parent, issuer)
}

func issueRoot(t *Template, key crypto.Signer) (*x509.Certificate, error) {
	if key == nil {
		return nil, errors.New("cert: nil root key")
	}
	pub, err := dkey.PublicKeyOf(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrongAlgorithm, err)
	}
	return issue(t, 0, nil, MaxIntermediates, pub, nil, key)
}

func issueSimple(t *Template, k Kind, pathLen int, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	ext := SimpleExtension{Version: t.ExtensionVersion}
	if ext.Version == 0 {
		ext.Version = 1
	}
	val, err := ext.Marshal()
	if err != nil {
		return nil, err
	}
	return issue(t, k, val, pathLen, subject, parent, issuer)
}

// issue creates a certificate. pathLen is -1 for a leaf, otherwise the path
// length constraint of a CA. A nil parent makes a self-signed root.
func issue(t *Template, k Kind, extValue []byte, pathLen int, subject *dkey.PublicKey, parent *x509.Certificate, issuer crypto.Signer) (*x509.Certificate, error) {
	switch {
	case subject == nil || issuer == nil:
		return nil, errors.New("cert: nil subject key or issuer")
	case len(t.Subject.ToRDNSequence()) == 0:
		return nil, errors.New("cert: empty subject name")
	case t.NotBefore.IsZero() || !t.NotAfter.After(t.NotBefore):
		return nil, errors.New("cert: validity must have NotBefore before NotAfter")
	case !isP256(issuer.Public()):
		return nil, fmt.Errorf("%w: issuer key is not P-256", ErrWrongAlgorithm)
	}
	var serial [serialSize]byte
	_, _ = rand.Read(serial[:]) // never fails (crypto/rand)
	serial[0] = serial[0]&0x3f | 0x40
	tmpl := &x509.Certificate{
		SerialNumber:       new(big.Int).SetBytes(serial[:]),
		Subject:            t.Subject,
		NotBefore:          t.NotBefore,
		NotAfter:           t.NotAfter,
		SignatureAlgorithm: x509.ECDSAWithSHA256,
		KeyUsage:           x509.KeyUsageDigitalSignature,
	}
	if pathLen >= 0 {
		tmpl.KeyUsage = x509.KeyUsageCertSign
		tmpl.BasicConstraintsValid = true
		tmpl.IsCA = true
		tmpl.MaxPathLen = pathLen
		tmpl.MaxPathLenZero = pathLen == 0
	}
	if k != 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: k.OID(), Critical: true, Value: extValue}}
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(nil, tmpl, parent, subject.ECDSA(), issuer)
	if err != nil {
		name := "root"
		if k != 0 {
			name = k.String()
		}
		return nil, fmt.Errorf("cert: issuing %s certificate: %w", name, err)
	}
	return x509.ParseCertificate(der)
}
