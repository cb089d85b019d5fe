package keyservice

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// Who the client is, from its TLS client certificate chain (doc.go,
// "Authentication").

// Role is the kind of a client.
type Role uint8

// Roles.
const (
	RoleVehicle Role = 1 // a vehicle certificate chain [K] to a Vehicle OEM root
	RoleDevice  Role = 2 // an endpoint chain [H] → [E] (→ [F]) to a Device OEM root
)

// Identity is an authenticated client.
type Identity struct {
	Role Role
	// Vehicle is the vehicle's identifier, or for a device the vehicle its
	// endpoint certificate binds.
	Vehicle dkey.VehicleID
	// Key is the key the leaf certifies: the vehicle's key, or the
	// device's endpoint key.
	Key *dkey.PublicKey
	// Slot is the endpoint's initial_key_slot; zero for a vehicle.
	Slot dkey.KeySlot
	// Device is the device, by its instance CA (sharing.DeviceIDOf);
	// zero for a vehicle.
	Device sharing.DeviceID
}

// String names the client for logs: "vehicle <id>" or
// "device <id prefix> key <slot> of <vehicle>".
func (id *Identity) String() string {
	if id == nil {
		return "anonymous"
	}
	if id.Role == RoleVehicle {
		return "vehicle " + id.Vehicle.String()
	}
	return fmt.Sprintf("device %x key %v of %v", id.Device[:8], id.Slot, id.Vehicle)
}

// VehicleName returns the subject name of a vehicle certificate [K] that
// the service recognizes: the vehicle identifier in the serialNumber
// attribute (X.520, OID 2.5.4.5), in lowercase hexadecimal, and cn as the
// common name. The Vehicle OEM CA that issues the certificate is the
// automaker's, who also runs this service.
func VehicleName(id dkey.VehicleID, cn string) pkix.Name {
	return pkix.Name{CommonName: cn, SerialNumber: id.String()}
}

// errNoCertificate is the authentication error of a client that presented
// no certificate.
var errNoCertificate = errors.New("keyservice: no client certificate")

// authenticate verifies a client chain, leaf first, with package cert: an
// endpoint chain (the leaf carries the endpoint extension) or a vehicle
// chain. crypto/x509 alone would refuse both: CCC certificates carry
// critical private extensions it does not know.
func authenticate(certs *cert.Config, chain [][]byte) (*Identity, error) {
	if len(chain) == 0 {
		return nil, errNoCertificate
	}
	if len(chain) > 1+cert.MaxIntermediates {
		return nil, fmt.Errorf("keyservice: client chain of %d certificates", len(chain))
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("keyservice: client certificate: %w", err)
	}
	endpointOID, vehicleOID := cert.KindEndpoint.OID(), cert.KindVehicle.OID()
	for _, e := range leaf.Extensions {
		switch {
		case e.Id.Equal(endpointOID):
			// Bind the chain to the vehicle the endpoint certificate names:
			// VerifyEndpoint checks it against the extension itself, after
			// it verified the chain.
			ext, err := cert.ParseEndpointExtension(e.Value)
			if err != nil {
				return nil, fmt.Errorf("keyservice: client certificate: %w", err)
			}
			ep, err := certs.VerifyEndpoint(chain, ext.VehicleID, ext.VehiclePublicKey)
			if err != nil {
				return nil, err
			}
			ica, ok := ep.Chain[1].PublicKey.(*ecdsa.PublicKey)
			if !ok {
				return nil, errors.New("keyservice: instance CA key")
			}
			ik, err := dkey.NewPublicKey(ica)
			if err != nil {
				return nil, err
			}
			return &Identity{Role: RoleDevice, Vehicle: ep.Extension.VehicleID, Key: ep.Key, Slot: ep.Extension.InitialKeySlot, Device: sharing.DeviceIDOf(ik)}, nil
		case e.Id.Equal(vehicleOID):
			v, err := certs.VerifyVehicle(chain)
			if err != nil {
				return nil, err
			}
			b, err := hex.DecodeString(v.Chain[0].Subject.SerialNumber)
			if err != nil || v.Chain[0].Subject.SerialNumber != hex.EncodeToString(b) {
				return nil, errors.New("keyservice: vehicle certificate without the vehicle identifier in its serialNumber")
			}
			id, err := dkey.NewVehicleID(b)
			if err != nil {
				return nil, fmt.Errorf("keyservice: vehicle certificate: %w", err)
			}
			return &Identity{Role: RoleVehicle, Vehicle: id, Key: v.Key}, nil
		}
	}
	return nil, errors.New("keyservice: the client certificate is neither an endpoint nor a vehicle certificate")
}

// connAuth is the outcome of the TLS handshake of one connection, which the
// TLS verification callback records and the handlers read.
type connAuth struct {
	mu  sync.Mutex
	id  *Identity
	err error
}

func (a *connAuth) set(id *Identity, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.id, a.err = id, err
}

func (a *connAuth) get() (*Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id, a.err
}

type connAuthKey struct{}

// connContext gives each connection the place its authentication goes.
func connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connAuthKey{}, &connAuth{err: errNoCertificate})
}

// TLSConfig returns the TLS configuration of the service: base (which holds
// the server's certificate) with client certificates requested but not
// verified by crypto/x509, and a verification callback per connection that
// verifies the client chain with package cert and records the outcome for
// the handlers. A chain that does not verify does not fail the handshake:
// the handler refuses the request with a typed error body (401
// unauthenticated), and the service logs the refusal. A client without a
// certificate reaches the endpoints that need none (the relay's token
// endpoints, terminations, health). base must not be modified after use.
func (s *Server) TLSConfig(base *tls.Config) *tls.Config {
	c := base.Clone()
	if c == nil {
		c = new(tls.Config)
	}
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	// RequestClientCert: the client proves it holds the leaf's key
	// (CertificateVerify), and the chain is ours to verify.
	c.ClientAuth = tls.RequestClientCert
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		auth, _ := hello.Context().Value(connAuthKey{}).(*connAuth)
		if auth == nil {
			return nil, errors.New("keyservice: connection without its context")
		}
		per := c.Clone()
		per.GetConfigForClient = nil
		per.VerifyConnection = func(cs tls.ConnectionState) error {
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, pc := range cs.PeerCertificates {
				raw[i] = pc.Raw
			}
			auth.set(authenticate(s.certs, raw))
			return nil
		}
		return per, nil
	}
	return c
}

// identity returns the client of r, or the reason it is not authenticated.
func identity(ctx context.Context) (*Identity, error) {
	auth, _ := ctx.Value(connAuthKey{}).(*connAuth)
	if auth == nil {
		return nil, errNoCertificate
	}
	return auth.get()
}
