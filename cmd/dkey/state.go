package main

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/statefile"
	"github.com/opencarkey/sdk/keyuri"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/vehicle"
)

// A state file of dkey is a state file of package internal/statefile (a
// store/bolt file and its key-encryption key file, FILE.kek by default)
// holding a vehicle's state (vehicle.Config.Store) or an applet's
// (device.Config.Store), and dkey's record of what the role is: the bench
// record, sealed in the file's own section under recordName.
const (
	recordName    = "dkey"
	recordVersion = 1
	// maxRecord bounds the bench record: a few certificates.
	maxRecord = 64 << 10
	// maxChain bounds the certificates of a record's lists.
	maxChain = 8
)

// The roles of a state file.
const (
	roleVehicle = "vehicle"
	roleDevice  = "device"
)

// benchRecord is dkey's record in a state file: the role, and what dkey
// needs to open the vehicle or the applet again. Certificates are DER;
// keys are named by URI (package keyuri; a PIN is never kept).
type benchRecord struct {
	Version int    `json:"version"`
	Role    string `json:"role"`
	// Profile is the applet profile; dkey's benches are CCC (owner
	// pairing is CCC only).
	Profile string `json:"profile"`

	// A vehicle: its identifier (hex), the URI of its long-term key, its
	// certificate chain (leaf first) and the Vehicle OEM root.
	VehicleID    string   `json:"vehicle_id,omitempty"`
	Key          string   `json:"key,omitempty"`
	Certificates [][]byte `json:"certificates,omitempty"`
	VehicleRoot  []byte   `json:"vehicle_root,omitempty"`

	// A device: its applet instance CA and the URI of that CA's key.
	InstanceCA    []byte `json:"instance_ca,omitempty"`
	InstanceCAKey string `json:"instance_ca_key,omitempty"`

	// Both: the Device OEM roots the role trusts (owner endpoint chains at
	// pairing; friends' chains when sharing).
	DeviceRoots [][]byte `json:"device_roots,omitempty"`
}

// errRecord reports a bench record that does not parse or is not
// consistent.
var errRecord = errors.New("invalid dkey record")

// parseRecord decodes a bench record strictly: one JSON object of this
// version, no unknown field, the fields of its role and no other, every
// certificate parsing, within the size limits.
func parseRecord(b []byte) (*benchRecord, error) {
	if len(b) > maxRecord {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", errRecord, len(b), maxRecord)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r benchRecord
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the record", errRecord)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// check validates a record.
func (r *benchRecord) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", errRecord, fmt.Sprintf(format, a...))
	}
	if r.Version != recordVersion {
		return bad("version %d, this dkey reads version %d", r.Version, recordVersion)
	}
	if r.Profile != dkey.CCC.String() {
		return bad("profile %q", r.Profile)
	}
	if len(r.DeviceRoots) == 0 || len(r.DeviceRoots) > maxChain || len(r.Certificates) > maxChain {
		return bad("%d device roots, %d certificates", len(r.DeviceRoots), len(r.Certificates))
	}
	if keyuri.Redact(r.Key) != r.Key || keyuri.Redact(r.InstanceCAKey) != r.InstanceCAKey {
		return bad("a key URI with a PIN")
	}
	certs := append(slicesOf(r.DeviceRoots), r.Certificates...)
	switch r.Role {
	case roleVehicle:
		if _, err := r.vehicleID(); err != nil {
			return bad("vehicle identifier %q: %v", r.VehicleID, err)
		}
		if r.Key == "" || len(r.Certificates) == 0 || len(r.VehicleRoot) == 0 || len(r.InstanceCA) != 0 || r.InstanceCAKey != "" {
			return bad("not the fields of a vehicle")
		}
		certs = append(certs, r.VehicleRoot)
	case roleDevice:
		if r.InstanceCAKey == "" || len(r.InstanceCA) == 0 || r.VehicleID != "" || r.Key != "" || len(r.Certificates) != 0 || len(r.VehicleRoot) != 0 {
			return bad("not the fields of a device")
		}
		certs = append(certs, r.InstanceCA)
	default:
		return bad("role %q", r.Role)
	}
	for _, der := range certs {
		if _, err := x509.ParseCertificate(der); err != nil {
			return bad("certificate: %v", err)
		}
	}
	return nil
}

func slicesOf(l [][]byte) [][]byte { return append([][]byte(nil), l...) }

// marshal encodes the record.
func (r *benchRecord) marshal() ([]byte, error) { return json.Marshal(r) }

// vehicleID returns the vehicle identifier of a vehicle record.
func (r *benchRecord) vehicleID() (dkey.VehicleID, error) {
	b, err := hex.DecodeString(r.VehicleID)
	if err != nil {
		return dkey.VehicleID{}, err
	}
	if len(b) != dkey.CCC.VehicleIDLen() {
		return dkey.VehicleID{}, fmt.Errorf("%w: %d bytes", dkey.ErrInvalidVehicleID, len(b))
	}
	return dkey.NewVehicleID(b)
}

// deviceRoots returns the Device OEM roots as a pool.
func (r *benchRecord) deviceRoots() (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, der := range r.DeviceRoots {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// stateFile is an open state file and its record; nil rec means a state
// file without one (a new file).
type stateFile struct {
	*statefile.File
	rec *benchRecord
}

// openState opens the state file at path (kekPath: its key file, empty
// for path.kek) and reads its record. A state file that did not exist and
// is not given a record is removed again: a mistyped name leaves nothing
// behind.
func openState(path, kekPath string) (*stateFile, error) {
	f, err := statefile.Open(path, kekPath)
	if err != nil {
		return nil, err
	}
	s := &stateFile{File: f}
	b, err := f.Get(recordName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s, nil
	case err != nil:
		s.discard()
		return nil, err
	}
	if s.rec, err = parseRecord(b); err != nil {
		s.discard()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// discard closes the file, and removes it (with its key file, when this
// run made that too) when this run created it and stored nothing of a role
// in it.
func (s *stateFile) discard() {
	s.Close()
	if s.Created && s.rec == nil {
		os.Remove(s.Path)
		if s.KEKCreated {
			os.Remove(s.KEKPath)
		}
	}
}

// setRecord stores a new file's record.
func (s *stateFile) setRecord(r *benchRecord) error {
	if err := r.check(); err != nil {
		return err
	}
	b, err := r.marshal()
	if err != nil {
		return err
	}
	if err := s.Put(recordName, b); err != nil {
		return err
	}
	s.rec = r
	return nil
}

// need checks that the file holds a role, saying how to create one when
// it does not.
func (s *stateFile) need(role, create string) error {
	switch {
	case s.rec == nil:
		return fmt.Errorf("%s holds no %s yet: create it with %s", s.Path, role, create)
	case s.rec.Role != role:
		return fmt.Errorf("%s holds a %s, not a %s", s.Path, s.rec.Role, role)
	}
	return nil
}

// pkiParts are the certificates and keys a new state takes from a test
// PKI (dkey pki init).
type pkiParts struct {
	dir         string
	manifest    *manifest
	deviceRoots [][]byte
}

// readPKI reads the PKI in dir and its Device OEM roots.
func readPKI(dir string) (*pkiParts, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	p := &pkiParts{dir: dir, manifest: m}
	for i := range m.Certificates {
		if r := &m.Certificates[i]; r.Kind == kindDeviceRoot {
			c, err := readCert(dir, r)
			if err != nil {
				return nil, err
			}
			p.deviceRoots = append(p.deviceRoots, c.Raw)
		}
	}
	if len(p.deviceRoots) == 0 {
		return nil, fmt.Errorf("%s has no %s", dir, kindDeviceRoot)
	}
	return p, nil
}

// cert returns the certificate called name, of kind, and its record.
func (p *pkiParts) cert(name, kind string) (*x509.Certificate, *certRecord, error) {
	for i := range p.manifest.Certificates {
		r := &p.manifest.Certificates[i]
		if r.Name != name {
			continue
		}
		if r.Kind != kind {
			return nil, nil, fmt.Errorf("%s in %s is a %s, not a %s", name, p.dir, r.Kind, kind)
		}
		c, err := readCert(p.dir, r)
		return c, r, err
	}
	return nil, nil, fmt.Errorf("%s has no certificate named %q (see its %s)", p.dir, name, manifestName)
}

// keyURI is the URI to open a key with: the one given, or the record's,
// which has no PIN.
func keyURI(given, recorded, what, flag string) (string, error) {
	if given != "" {
		return given, nil
	}
	if strings.Contains(recorded, "pin-value=redacted") {
		return "", usagef("the %s key's PIN is not kept: give its URI with %s", what, flag)
	}
	return recorded, nil
}

// openKey opens the key at uri and checks that it is the key of c.
func (e *env) openKey(uri string, c *x509.Certificate, what string) (*keyuri.Key, error) {
	k, err := keyuri.Open(e.ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", what, err)
	}
	if pk, err := certKey(c); err != nil || !pk.Equal(k.PublicKey()) {
		k.Close()
		return nil, fmt.Errorf("the key at %s is not the key of the %s certificate %s", keyuri.Redact(uri), what, c.Subject)
	}
	return k, nil
}

// newVehicleRecord is the record of a new vehicle: identifier id, the
// vehicle certificate called name in the PKI and its key (keyOverride, or
// the PKI's).
func (e *env) newVehicleRecord(p *pkiParts, name, id, keyOverride, flag string) (*benchRecord, error) {
	if len(id) != dkey.CCC.VehicleIDLen() {
		return nil, usagef("-vehicle-id %q: want %d characters", id, dkey.CCC.VehicleIDLen())
	}
	c, rec, err := p.cert(name, kindVehicle)
	if err != nil {
		return nil, err
	}
	root, _, err := p.cert(rec.Issuer, kindVehicleRoot)
	if err != nil {
		return nil, err
	}
	uri, err := keyURI(keyOverride, rec.Key, "vehicle", flag)
	if err != nil {
		return nil, err
	}
	k, err := e.openKey(uri, c, "vehicle")
	if err != nil {
		return nil, err
	}
	defer k.Close()
	return &benchRecord{
		Version: recordVersion, Role: roleVehicle, Profile: dkey.CCC.String(),
		VehicleID: hex.EncodeToString([]byte(id)), Key: k.URI(), Certificates: [][]byte{c.Raw}, VehicleRoot: root.Raw,
		DeviceRoots: p.deviceRoots,
	}, nil
}

// newDeviceRecord is the record of a new device whose applet instance CA
// is the certificate called name in the PKI.
func (e *env) newDeviceRecord(p *pkiParts, name, keyOverride, flag string) (*benchRecord, error) {
	c, rec, err := p.cert(name, kindInstanceCA)
	if err != nil {
		return nil, err
	}
	uri, err := keyURI(keyOverride, rec.Key, "instance CA", flag)
	if err != nil {
		return nil, err
	}
	k, err := e.openKey(uri, c, "instance CA")
	if err != nil {
		return nil, err
	}
	defer k.Close()
	return &benchRecord{
		Version: recordVersion, Role: roleDevice, Profile: dkey.CCC.String(),
		InstanceCA: c.Raw, InstanceCAKey: k.URI(), DeviceRoots: p.deviceRoots,
	}, nil
}

// stateFlags are the flags that name a state file and how to open it.
type stateFlags struct {
	path, kek string
	// key overrides the URI of the role's key kept in the record (one
	// with a PIN), given by the flag keyFlag names.
	key, keyFlag string
}

// keyFlagName is the name of the flag that overrides the key, for
// messages.
func (sf *stateFlags) keyFlagName(def string) string {
	if sf.keyFlag != "" {
		return "-" + sf.keyFlag
	}
	return def
}

// create says how to create a role a state file lacks: from a PKI.
type create struct {
	pki, name, vehicleID string
}

// openedVehicle is a vehicle opened from its state file.
type openedVehicle struct {
	*vehicle.Reader
	rec   *benchRecord
	path  string
	key   *keyuri.Key
	roots *x509.CertPool
}

// Close stores what the reader keeps and closes the state file and the
// key.
func (v *openedVehicle) Close() error {
	err := v.Reader.Close()
	return errors.Join(err, v.key.Close())
}

// vehicleOptions are what a command adds to a vehicle's configuration.
type vehicleOptions struct {
	log    *slog.Logger // nil: no hooks
	keyLog io.Writer
}

// openVehicle opens the vehicle in the state file sf, creating it from a
// PKI when the file holds none and c is not nil.
func (e *env) openVehicle(sf stateFlags, c *create, o vehicleOptions) (*openedVehicle, error) {
	s, err := openState(sf.path, sf.kek)
	if err != nil {
		return nil, err
	}
	v, err := e.vehicleFrom(s, sf, c, o)
	if err != nil {
		s.discard()
		return nil, err
	}
	return v, nil
}

// createFrom gives a state file without a record the record newRecord
// makes from the PKI of c, when c names one, and says so; c may be nil.
func (e *env) createFrom(s *stateFile, c *create, newRecord func(p *pkiParts) (*benchRecord, error), what string) error {
	if s.rec != nil || c == nil || c.pki == "" {
		return nil
	}
	p, err := readPKI(c.pki)
	if err != nil {
		return err
	}
	r, err := newRecord(p)
	if err != nil {
		return err
	}
	if err := s.setRecord(r); err != nil {
		return err
	}
	e.progress("new %s in %s, from %s in %s", what, s.Path, c.name, c.pki)
	return nil
}

func (e *env) vehicleFrom(s *stateFile, sf stateFlags, c *create, o vehicleOptions) (*openedVehicle, error) {
	if c == nil {
		c = &create{}
	}
	err := e.createFrom(s, c, func(p *pkiParts) (*benchRecord, error) {
		return e.newVehicleRecord(p, c.name, c.vehicleID, sf.key, sf.keyFlagName("-key"))
	}, fmt.Sprintf("vehicle %q", c.vehicleID))
	if err != nil {
		return nil, err
	}
	if err := s.need(roleVehicle, "dkey pair -vehicle "+s.Path+" -pki DIR"); err != nil {
		return nil, err
	}
	rec := s.rec
	vid, err := rec.vehicleID()
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(rec.Certificates[0])
	if err != nil {
		return nil, err
	}
	uri, err := keyURI(sf.key, rec.Key, "vehicle", sf.keyFlagName("-key"))
	if err != nil {
		return nil, err
	}
	k, err := e.openKey(uri, leaf, "vehicle")
	if err != nil {
		return nil, err
	}
	roots, err := rec.deviceRoots()
	if err != nil {
		k.Close()
		return nil, err
	}
	cfg := &vehicle.Config{
		VehicleID: vid, Key: k, Store: s.Store, KEK: s.KEK, KeyLog: o.keyLog,
		Pairing: &vehicle.PairingConfig{VehicleRoot: rec.VehicleRoot, Certificates: rec.Certificates, DeviceRoots: roots},
	}
	if o.log != nil {
		cfg.Hooks = vehicleHooks(o.log)
	}
	r, err := vehicle.NewReader(cfg)
	if err != nil {
		k.Close()
		return nil, err
	}
	return &openedVehicle{Reader: r, rec: rec, path: s.Path, key: k, roots: roots}, nil
}

// openedDevice is an applet opened from its state file.
type openedDevice struct {
	*device.Applet
	rec   *benchRecord
	path  string
	key   *keyuri.Key // nil when opened without its instance CA
	roots *x509.CertPool
}

// Close stores what the applet keeps and closes the state file and the
// key.
func (d *openedDevice) Close() error {
	err := d.Applet.Close()
	if d.key != nil {
		err = errors.Join(err, d.key.Close())
	}
	return err
}

// deviceOptions are what a command adds to an applet's configuration.
type deviceOptions struct {
	log    *slog.Logger // nil: no hooks
	keyLog io.Writer
	// noCA opens the applet without its instance CA (and so without
	// pairing and sharing): listing and changing keys need no key.
	noCA bool
	// adjust, when set, changes the hooks built from log.
	adjust func(*device.Hooks)
}

// openDevice opens the applet in the state file sf, creating it from a
// PKI when the file holds none and c is not nil.
func (e *env) openDevice(sf stateFlags, c *create, o deviceOptions) (*openedDevice, error) {
	s, err := openState(sf.path, sf.kek)
	if err != nil {
		return nil, err
	}
	d, err := e.deviceFrom(s, sf, c, o)
	if err != nil {
		s.discard()
		return nil, err
	}
	return d, nil
}

func (e *env) deviceFrom(s *stateFile, sf stateFlags, c *create, o deviceOptions) (*openedDevice, error) {
	err := e.createFrom(s, c, func(p *pkiParts) (*benchRecord, error) {
		return e.newDeviceRecord(p, c.name, sf.key, sf.keyFlagName("-instance-ca-key"))
	}, "phone")
	if err != nil {
		return nil, err
	}
	if err := s.need(roleDevice, "dkey pair -device "+s.Path+" -pki DIR or dkey share -to "+s.Path+" -pki DIR"); err != nil {
		return nil, err
	}
	rec := s.rec
	roots, err := rec.deviceRoots()
	if err != nil {
		return nil, err
	}
	d := &openedDevice{rec: rec, path: s.Path, roots: roots}
	cfg := &device.Config{Store: s.Store, KEK: s.KEK, KeyLog: o.keyLog}
	if o.log != nil {
		cfg.Hooks = deviceHooks(o.log)
		if o.adjust != nil {
			o.adjust(cfg.Hooks)
		}
	}
	if !o.noCA {
		ca, err := x509.ParseCertificate(rec.InstanceCA)
		if err != nil {
			return nil, err
		}
		uri, err := keyURI(sf.key, rec.InstanceCAKey, "instance CA", sf.keyFlagName("-instance-ca-key"))
		if err != nil {
			return nil, err
		}
		if d.key, err = e.openKey(uri, ca, "instance CA"); err != nil {
			return nil, err
		}
		cfg.InstanceCA = &device.InstanceCA{Certificate: ca, Key: d.key}
		cfg.Pairing = &pairing.DeviceConfig{}
	}
	a, err := device.NewApplet(cfg)
	if err != nil {
		if d.key != nil {
			d.key.Close()
		}
		return nil, err
	}
	d.Applet = a
	return d, nil
}

// certConfig is the certificate verification of sharing for a device:
// its Device OEM roots.
func (d *openedDevice) certConfig() *cert.Config { return &cert.Config{DeviceRoots: d.roots} }
