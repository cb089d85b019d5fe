package certtest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
)

// Validity of the certificates a PKI issues: from Backdate before New, so
// that a peer whose clock is a little behind accepts them, for Lifetime.
const (
	Backdate = time.Hour
	Lifetime = 10 * 365 * 24 * time.Hour
)

// PKI is a Device OEM root and a Vehicle OEM root with their keys, which
// issue the instance CAs of devices and the certificates of vehicles. The
// fields must not be modified after New. A PKI is safe for concurrent use.
type PKI struct {
	// DeviceRoot is the Device OEM root: vehicles trust it for owner keys
	// (vehicle.PairingConfig.DeviceRoots), owners' devices for friends'
	// keys (cert.Config.DeviceRoots of sharing.OwnerConfig).
	DeviceRoot    *x509.Certificate
	DeviceRootKey *dkey.SoftwareKey
	// VehicleRoot is the Vehicle OEM root that vehicles send at pairing
	// (vehicle.PairingConfig.VehicleRoot).
	VehicleRoot    *x509.Certificate
	VehicleRootKey *dkey.SoftwareKey

	notBefore, notAfter time.Time
}

// New returns a PKI with new roots named "Device OEM Root" and "Vehicle
// OEM Root".
func New() (*PKI, error) {
	now := time.Now().Truncate(time.Second)
	p := &PKI{notBefore: now.Add(-Backdate), notAfter: now.Add(Lifetime)}
	var err error
	if p.DeviceRootKey, err = dkey.GenerateSoftwareKey(); err != nil {
		return nil, fmt.Errorf("certtest: %w", err)
	}
	if p.VehicleRootKey, err = dkey.GenerateSoftwareKey(); err != nil {
		return nil, fmt.Errorf("certtest: %w", err)
	}
	if p.DeviceRoot, err = cert.NewDeviceRoot(p.template("Device OEM Root"), p.DeviceRootKey); err != nil {
		return nil, err
	}
	if p.VehicleRoot, err = cert.NewVehicleRoot(p.template("Vehicle OEM Root"), p.VehicleRootKey); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) template(commonName string) cert.Template {
	return cert.Template{Subject: pkix.Name{CommonName: commonName}, NotBefore: p.notBefore, NotAfter: p.notAfter}
}

// DeviceRoots returns a new pool holding DeviceRoot.
func (p *PKI) DeviceRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.DeviceRoot)
	return pool
}

// VehicleRoots returns a new pool holding VehicleRoot.
func (p *PKI) VehicleRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.VehicleRoot)
	return pool
}

// InstanceCA issues, under DeviceRoot, the instance CA certificate of one
// applet instance, with subject "NAME instance CA" and the extension of
// applet version 1.0.0.0, for a new key: in a phone, the key the secure
// element holds, which certifies every key the instance creates
// (device.InstanceCA).
func (p *PKI) InstanceCA(name string) (*x509.Certificate, *dkey.SoftwareKey, error) {
	key, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return nil, nil, fmt.Errorf("certtest: %w", err)
	}
	ext := &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}
	c, err := cert.NewInstanceCA(p.template(name+" instance CA"), ext, key.PublicKey(), p.DeviceRoot, p.DeviceRootKey)
	if err != nil {
		return nil, nil, err
	}
	return c, key, nil
}

// Vehicle issues, under VehicleRoot, a vehicle certificate with subject
// "Vehicle NAME" for a new key: the vehicle's long-term key
// (vehicle.Config.Key), which the certificate binds for owner pairing
// (vehicle.PairingConfig.Certificates).
func (p *PKI) Vehicle(name string) (*x509.Certificate, *dkey.SoftwareKey, error) {
	key, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return nil, nil, fmt.Errorf("certtest: %w", err)
	}
	c, err := cert.NewVehicle(p.template("Vehicle "+name), key.PublicKey(), p.VehicleRoot, p.VehicleRootKey)
	if err != nil {
		return nil, nil, err
	}
	return c, key, nil
}

// String names the two roots; the root keys are not printed.
func (p PKI) String() string {
	name := func(c *x509.Certificate) string {
		if c == nil {
			return "none"
		}
		return c.Subject.CommonName
	}
	return "certtest.PKI{" + name(p.DeviceRoot) + ", " + name(p.VehicleRoot) + "}"
}

// GoString is String.
func (p PKI) GoString() string { return p.String() }

// Format prints String for every verb.
func (p PKI) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }
