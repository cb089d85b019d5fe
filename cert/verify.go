package cert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// Limits of chain verification.
const (
	// MaxCertificateSize bounds one DER certificate. CCC certificates are
	// sized for secure-element storage, typically 400 to 600 bytes
	// (docs/protocol.md §10.3).
	MaxCertificateSize = 2048
	// MaxIntermediates is the largest number of intermediate certificates
	// a presented chain may carry: the instance CA [E] and the Device OEM
	// intermediate [F] of a device chain; the vehicle intermediate [8] and
	// the Vehicle OEM CA [J]/[M] of a vehicle chain.
	MaxIntermediates = 2
)

// Config holds the trust anchors and the clock of chain verification. Its
// zero value trusts nothing. A Config must not be modified after it has been
// used; it is safe for concurrent use.
type Config struct {
	// DeviceRoots are the Device OEM root certificates, the trust anchors of
	// endpoint chains. A nil pool trusts no device; the system roots are
	// never used.
	DeviceRoots *x509.CertPool
	// VehicleRoots are the Vehicle OEM root certificates, the trust anchors
	// of vehicle chains. A nil pool trusts no vehicle.
	VehicleRoots *x509.CertPool
	// Time returns the current time for the validity checks. Nil means
	// time.Now.
	Time func() time.Time
}

// Clone returns a shallow copy of c; the pools are shared. Clone of nil is
// nil.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	return &Config{DeviceRoots: c.DeviceRoots, VehicleRoots: c.VehicleRoots, Time: c.Time}
}

func (c *Config) now() time.Time {
	if c == nil || c.Time == nil {
		return time.Now()
	}
	return c.Time()
}

// VerifiedEndpoint is a verified endpoint certificate chain.
type VerifiedEndpoint struct {
	// Key is the endpoint public key, certified by the chain.
	Key *dkey.PublicKey
	// Extension is the endpoint extension of the leaf: vehicle binding,
	// initial key slot, mailbox sizes, option groups, authorized keys.
	Extension EndpointExtension
	// InstanceCA is the extension of the instance CA certificate.
	InstanceCA InstanceCAExtension
	// Chain is the verified chain, leaf first and root last. The
	// certificates are copies whose UnhandledCriticalExtensions no longer
	// list the CCC extensions this package handled.
	Chain []*x509.Certificate
}

// VerifiedVehicle is a verified vehicle certificate chain.
type VerifiedVehicle struct {
	// Key is the vehicle public key (vehicle.PK), certified by the chain.
	Key *dkey.PublicKey
	// Extension is the extension of the vehicle certificate.
	Extension SimpleExtension
	// Chain is the verified chain, leaf first and root last, as in
	// [VerifiedEndpoint].
	Chain []*x509.Certificate
}

// kindSet is a set of kinds, bit k for Kind k.
type kindSet uint16

func kinds(ks ...Kind) kindSet {
	var s kindSet
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s kindSet) has(k Kind) bool { return k.Valid() && s&(1<<k) != 0 }

// chainProfile says which CCC extension each position of a chain carries.
type chainProfile struct {
	roots func(*Config) *x509.CertPool
	leaf  Kind
	// inter[n] lists, leaf side first, the kinds allowed at each
	// intermediate position of a chain with n intermediates; nil when n
	// intermediates are not allowed.
	inter [MaxIntermediates + 1][]kindSet
}

// Device chain (docs/protocol.md §10.1): Device OEM root → [F] → E → H.
var deviceProfile = chainProfile{
	roots: func(c *Config) *x509.CertPool { return c.DeviceRoots },
	leaf:  KindEndpoint,
	inter: [MaxIntermediates + 1][]kindSet{
		1: {kinds(KindInstanceCA)},
		2: {kinds(KindInstanceCA), kinds(KindDeviceIntermediate)},
	},
}

// Vehicle chain (docs/protocol.md §10.1): Vehicle OEM root → [J/M] → [8] → K.
var vehicleProfile = chainProfile{
	roots: func(c *Config) *x509.CertPool { return c.VehicleRoots },
	leaf:  KindVehicle,
	inter: [MaxIntermediates + 1][]kindSet{
		0: {},
		1: {kinds(KindVehicleIntermediate, KindVehicleOEMCA, KindVehicleOEMCAAlternative)},
		2: {kinds(KindVehicleIntermediate), kinds(KindVehicleOEMCA, KindVehicleOEMCAAlternative)},
	},
}

// VerifyEndpoint verifies an endpoint certificate chain, leaf first: the
// endpoint certificate [H], the instance CA [E] and, optionally, the Device
// OEM intermediate [F], as DER. The root comes from c.DeviceRoots. It checks,
// in order:
//
//  1. the chain holds 2 to 1+MaxIntermediates certificates of at most
//     MaxCertificateSize bytes that parse;
//  2. every certificate has an ECDSA P-256 key and an ecdsa-with-SHA256
//     signature, the leaf is not a CA and has digitalSignature, the others
//     are CAs with keyCertSign (docs/protocol.md §10.3);
//  3. every critical extension is one crypto/x509 or this package handles;
//  4. every certificate is valid at c.Time;
//  5. crypto/x509 builds a path to a root of c.DeviceRoots (signatures,
//     names, basic constraints, path length constraints); extended key
//     usages are not checked, since CCC certificates carry none;
//  6. each position of the built chain carries exactly its CCC extension,
//     critical and well formed; the root carries none and has a P-256 key;
//  7. the endpoint extension binds the vehicle: vehicle_identifier equals
//     vehicle and vehicle_PK equals vehicleKey.
//
// It returns a [*ChainError] whose Reason names the failed check.
func (c *Config) VerifyEndpoint(chain [][]byte, vehicle dkey.VehicleID, vehicleKey *dkey.PublicKey) (*VerifiedEndpoint, error) {
	if vehicle.IsZero() || vehicleKey == nil {
		return nil, &ChainError{Reason: ErrWrongVehicle, Depth: -1, Err: errNoVehicle}
	}
	verified, err := c.verify(chain, &deviceProfile)
	if err != nil {
		return nil, err
	}
	ep, err := ParseEndpointExtension(verified.ext[0])
	if err != nil {
		return nil, &ChainError{Reason: ErrMalformedExtension, Depth: 0, Err: err}
	}
	// The endpoint certificate binds the key to the vehicle identifier and
	// the vehicle public key (docs/protocol.md §10.2, APSG).
	if !ep.VehicleID.Equal(vehicle) || !ep.VehiclePublicKey.Equal(vehicleKey) {
		return nil, &ChainError{Reason: ErrWrongVehicle, Depth: 0}
	}
	ica, err := ParseInstanceCAExtension(verified.ext[1])
	if err != nil {
		return nil, &ChainError{Reason: ErrMalformedExtension, Depth: 1, Err: err}
	}
	return &VerifiedEndpoint{Key: verified.key, Extension: *ep, InstanceCA: *ica, Chain: verified.chain}, nil
}

// VerifyVehicle verifies a vehicle certificate chain, leaf first: the
// vehicle certificate [K] and, optionally, the vehicle intermediate [8] and
// the Vehicle OEM CA [J] or [M], as DER. The root comes from c.VehicleRoots.
// It runs checks 1 to 6 of [Config.VerifyEndpoint] with the vehicle profile
// and returns a [*ChainError] whose Reason names the failed check.
func (c *Config) VerifyVehicle(chain [][]byte) (*VerifiedVehicle, error) {
	verified, err := c.verify(chain, &vehicleProfile)
	if err != nil {
		return nil, err
	}
	ext, err := ParseSimpleExtension(verified.ext[0])
	if err != nil {
		return nil, &ChainError{Reason: ErrMalformedExtension, Depth: 0, Err: err}
	}
	return &VerifiedVehicle{Key: verified.key, Extension: *ext, Chain: verified.chain}, nil
}

// verifiedChain is the outcome of the profile-independent checks.
type verifiedChain struct {
	chain []*x509.Certificate
	ext   [][]byte // the value of the CCC extension at each non-root position
	key   *dkey.PublicKey
}

func (c *Config) verify(der [][]byte, p *chainProfile) (*verifiedChain, error) {
	// 1. Shape and parsing.
	switch {
	case len(der) == 0:
		return nil, &ChainError{Reason: ErrMalformedCertificate, Depth: -1, Err: errEmptyChain}
	case len(der) > 1+MaxIntermediates:
		return nil, &ChainError{Reason: ErrPathTooLong, Depth: -1}
	}
	var roots *x509.CertPool
	if c != nil {
		roots = p.roots(c)
	}
	if roots == nil {
		// A nil pool would make crypto/x509 use the system roots.
		return nil, &ChainError{Reason: ErrUnknownRoot, Depth: -1, Err: errNoRoots}
	}
	now := c.now()
	certs := make([]*x509.Certificate, len(der))
	for i, b := range der {
		if len(b) > MaxCertificateSize {
			return nil, &ChainError{Reason: ErrMalformedCertificate, Depth: i, Err: errTooLarge}
		}
		parsed, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, &ChainError{Reason: ErrMalformedCertificate, Depth: i, Err: err}
		}
		// 2. Algorithms.
		if parsed.SignatureAlgorithm != x509.ECDSAWithSHA256 || !isP256(parsed.PublicKey) {
			return nil, &ChainError{Reason: ErrWrongAlgorithm, Depth: i}
		}
		// Basic constraints and key usage (docs/protocol.md §10.3): the first
		// certificate is the leaf, the others are CAs. crypto/x509 would
		// report a CA without keyCertSign as an unknown authority.
		if err := checkUsage(parsed, i == 0, false); err != nil {
			err.Depth = i
			return nil, err
		}
		// 3. Critical extensions: drop the CCC ones, which step 6 parses,
		// from a copy; anything else unhandled is fatal.
		handled := *parsed
		handled.UnhandledCriticalExtensions = nil
		for _, oid := range parsed.UnhandledCriticalExtensions {
			if k, ok := isCCCOID(oid); !ok || !k.Valid() {
				return nil, &ChainError{Reason: ErrUnknownCriticalExtension, Depth: i, Err: errors.New("cert: extension " + oid.String())}
			}
		}
		// 4. Validity, checked here so that the two cases stay apart
		// (crypto/x509 reports both as Expired).
		if now.Before(parsed.NotBefore) {
			return nil, &ChainError{Reason: ErrNotYetValid, Depth: i}
		}
		if now.After(parsed.NotAfter) {
			return nil, &ChainError{Reason: ErrExpired, Depth: i}
		}
		certs[i] = &handled
	}

	// 5. Path validation by crypto/x509.
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, mapX509Error(err, now, certs)
	}

	// 6. Positions; the first chain that fits the profile wins.
	var first error
	for _, ch := range chains {
		v, err := p.check(ch)
		if err == nil {
			return v, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// check runs step 6 on a chain built by crypto/x509.
func (p *chainProfile) check(chain []*x509.Certificate) (*verifiedChain, error) {
	n := len(chain) - 2 // intermediates
	switch {
	case n < 0:
		// The leaf itself is a trust anchor.
		return nil, &ChainError{Reason: ErrInvalidChain, Depth: 0, Err: errLeafIsRoot}
	case n > MaxIntermediates:
		return nil, &ChainError{Reason: ErrPathTooLong, Depth: -1}
	}
	want := p.inter[n]
	if want == nil {
		// Too few intermediates: the certificate at the position of the
		// first missing one (the root) lacks the extension.
		return nil, &ChainError{Reason: ErrMissingExtension, Depth: n + 1, Err: errMissingCA}
	}
	v := &verifiedChain{chain: chain, ext: make([][]byte, n+1)}
	root := len(chain) - 1
	for i, c := range chain {
		var allowed kindSet
		switch {
		case i == 0:
			allowed = kinds(p.leaf)
		case i < root:
			allowed = want[i-1]
		}
		val, err := cccExtension(c, allowed)
		if err != nil {
			err.Depth = i
			return nil, err
		}
		if err := checkUsage(c, i == 0, i == root); err != nil {
			err.Depth = i
			return nil, err
		}
		if i < root {
			v.ext[i] = val
		}
	}
	if !isP256(chain[root].PublicKey) {
		return nil, &ChainError{Reason: ErrWrongAlgorithm, Depth: root}
	}
	key, err := dkey.NewPublicKey(chain[0].PublicKey.(*ecdsa.PublicKey))
	if err != nil {
		return nil, &ChainError{Reason: ErrWrongAlgorithm, Depth: 0, Err: err}
	}
	v.key = key
	return v, nil
}

// cccExtension returns the value of the one CCC extension of c, which must be
// of a kind in allowed, critical, and parse. An empty allowed set (the root)
// means c must carry none.
func cccExtension(c *x509.Certificate, allowed kindSet) ([]byte, *ChainError) {
	var val []byte
	found := false
	for _, e := range c.Extensions {
		k, ok := isCCCOID(e.Id)
		if !ok || !k.Valid() {
			continue // unknown critical extensions were rejected in step 3
		}
		if !allowed.has(k) || found {
			return nil, &ChainError{Reason: ErrMisplacedExtension, Err: errors.New("cert: " + k.String() + " extension")}
		}
		if !e.Critical {
			return nil, &ChainError{Reason: ErrMalformedExtension, Err: errNotCritical}
		}
		var err error
		switch k {
		case KindEndpoint:
			_, err = ParseEndpointExtension(e.Value)
		case KindInstanceCA:
			_, err = ParseInstanceCAExtension(e.Value)
		default:
			_, err = ParseSimpleExtension(e.Value)
		}
		if err != nil {
			return nil, &ChainError{Reason: ErrMalformedExtension, Err: err}
		}
		val, found = e.Value, true
	}
	if !found && allowed != 0 {
		return nil, &ChainError{Reason: ErrMissingExtension}
	}
	return val, nil
}

// checkUsage checks basic constraints and key usage (docs/protocol.md §10.3): CA
// certificates are CAs with keyCertSign; the leaf is not a CA and has
// digitalSignature. Roots are trust anchors and are not checked.
func checkUsage(c *x509.Certificate, leaf, root bool) *ChainError {
	switch {
	case root:
		return nil
	case leaf:
		if c.IsCA || c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			return &ChainError{Reason: ErrKeyUsage}
		}
	default:
		if !c.BasicConstraintsValid || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return &ChainError{Reason: ErrKeyUsage}
		}
	}
	return nil
}

// mapX509Error turns a crypto/x509 verification error into a ChainError.
func mapX509Error(err error, now time.Time, certs []*x509.Certificate) *ChainError {
	ce := &ChainError{Reason: ErrInvalidChain, Depth: -1, Err: err}
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var critical x509.UnhandledCriticalExtension
	switch {
	case errors.As(err, &unknown):
		ce.Reason = ErrUnknownRoot
	case errors.As(err, &critical):
		ce.Reason = ErrUnknownCriticalExtension
	case errors.As(err, &invalid):
		for i, c := range certs {
			if c == invalid.Cert {
				ce.Depth = i
			}
		}
		switch invalid.Reason {
		case x509.Expired:
			ce.Reason = ErrExpired
			if invalid.Cert != nil && now.Before(invalid.Cert.NotBefore) {
				ce.Reason = ErrNotYetValid
			}
		case x509.TooManyIntermediates:
			ce.Reason = ErrPathTooLong
		case x509.NotAuthorizedToSign:
			ce.Reason = ErrKeyUsage
		}
	}
	return ce
}

// isP256 reports whether pub is an ECDSA P-256 public key.
func isP256(pub any) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P256()
}
