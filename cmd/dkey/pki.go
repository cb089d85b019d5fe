package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyuri"
)

// The kinds of certificate a test PKI holds.
const (
	kindDeviceRoot  = "device-root"
	kindInstanceCA  = "instance-ca"
	kindVehicleRoot = "vehicle-root"
	kindVehicle     = "vehicle"
)

// manifestName is the file that describes a PKI directory.
const manifestName = "pki.json"

// manifestVersion is the version of pki.json this program writes and reads.
const manifestVersion = 1

// maxManifest bounds pki.json and the certificate files read back.
const maxManifest = 1 << 20

// manifest is pki.json: the certificates of the PKI and their keys.
type manifest struct {
	Version      int          `json:"version"`
	Certificates []certRecord `json:"certificates"`
}

// certRecord is one certificate of the PKI.
type certRecord struct {
	Name   string `json:"name"`             // file stem, unique
	Kind   string `json:"kind"`             // device-root, instance-ca, vehicle-root, vehicle
	File   string `json:"file"`             // NAME.crt, in the directory
	Key    string `json:"key"`              // the key's URI, without a pin-value
	Issuer string `json:"issuer,omitempty"` // the issuer's name; empty for a root
}

// validity is what -days and -start give.
type validity struct {
	days  int
	start string
}

func (v *validity) flags(fs interface {
	IntVar(*int, string, int, string)
	StringVar(*string, string, string, string)
}) {
	fs.IntVar(&v.days, "days", 3650, "validity in `days`")
	fs.StringVar(&v.start, "start", "", "`date` the validity starts, YYYY-MM-DD (default: an hour ago)")
}

func (v *validity) template(cn string) (cert.Template, error) {
	if v.days <= 0 || v.days > 36500 {
		return cert.Template{}, usagef("-days %d: want 1 to 36500", v.days)
	}
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	if v.start != "" {
		var err error
		if start, err = time.Parse(time.DateOnly, v.start); err != nil {
			return cert.Template{}, usagef("-start %q: want YYYY-MM-DD", v.start)
		}
	}
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: start, NotAfter: start.AddDate(0, 0, v.days)}, nil
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)

// openOrCreate creates the key at uri, or opens the key already there.
func openOrCreate(e *env, name, uri string) (*keyuri.Key, error) {
	k, err := keyuri.Create(e.ctx, uri)
	switch {
	case err == nil:
		e.progress("created the %s key at %s", name, keyuri.Redact(uri))
		return k, nil
	case errors.Is(err, keyuri.ErrExists):
		if k, err = keyuri.Open(e.ctx, uri); err != nil {
			return nil, err
		}
		e.progress("using the existing %s key at %s", name, keyuri.Redact(uri))
		return k, nil
	}
	return nil, err
}

// defaultKeyURI is where a key goes when no URI is given: NAME.key in the
// directory, a PEM file.
func defaultKeyURI(dir, name string) (string, error) {
	abs, err := filepath.Abs(filepath.Join(dir, name+".key"))
	if err != nil {
		return "", err
	}
	return "softkms:path=" + abs, nil
}

func writeCert(e *env, dir, name string, c *x509.Certificate) error {
	path := filepath.Join(dir, name+".crt")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	if err := writeNew(path, b, 0o644); err != nil {
		return err
	}
	e.progress("issued %s: %s, issuer %s, until %s", path, c.Subject, c.Issuer, c.NotAfter.Format(time.DateOnly))
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeManifest replaces pki.json atomically.
func writeManifest(dir string, m *manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".pki.json.*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, manifestName))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, manifestName)
	b, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("%w (is %s a PKI made by dkey pki init?)", err, dir)
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("%s: version %d, this dkey reads version %d", path, m.Version, manifestVersion)
	}
	for _, r := range m.Certificates {
		if !nameRE.MatchString(r.Name) || r.File != r.Name+".crt" {
			return nil, fmt.Errorf("%s: invalid certificate entry %q", path, r.Name)
		}
	}
	return &m, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err == nil && len(b) > maxManifest {
		err = fmt.Errorf("%s: larger than %d bytes", path, maxManifest)
	}
	return b, err
}

func readCert(dir string, r *certRecord) (*x509.Certificate, error) {
	b, err := readLimited(filepath.Join(dir, r.File))
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%s: not one PEM certificate", r.File)
	}
	return x509.ParseCertificate(block.Bytes)
}

// pkiInit is dkey pki init.
func pkiInit(e *env, args []string) error {
	fs := newFlags(e, "pki init")
	dir := fs.String("dir", "pki", "`directory` of the PKI, created if missing")
	var v validity
	v.flags(fs)
	keyFlags := map[string]*string{}
	for _, k := range []struct{ name, what string }{
		{kindDeviceRoot, "the Device OEM root"}, {kindInstanceCA, "the instance CA"},
		{kindVehicleRoot, "the Vehicle OEM root"}, {kindVehicle, "the vehicle"},
	} {
		keyFlags[k.name] = fs.String(k.name+"-key", "", "key `URI` of "+k.what+" (default softkms:path=DIR/"+k.name+".key)")
	}
	if err := parse(e, fs, "pki init", args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("pki init: unexpected arguments %q (see dkey pki init -h)", fs.Args())
	}
	templates := map[string]cert.Template{}
	for kind, cn := range map[string]string{kindDeviceRoot: "Device OEM Root", kindInstanceCA: "Instance CA", kindVehicleRoot: "Vehicle OEM Root", kindVehicle: "Vehicle"} {
		t, err := v.template(cn)
		if err != nil {
			return err
		}
		templates[kind] = t
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*dir, manifestName)); err == nil {
		return fmt.Errorf("%s already holds a PKI (%s); use dkey pki issue, or another -dir", *dir, manifestName)
	}
	m := &manifest{Version: manifestVersion}
	keys := map[string]*keyuri.Key{}
	defer func() {
		for _, k := range keys {
			k.Close()
		}
	}()
	for _, kind := range []string{kindDeviceRoot, kindInstanceCA, kindVehicleRoot, kindVehicle} {
		uri := *keyFlags[kind]
		if uri == "" {
			var err error
			if uri, err = defaultKeyURI(*dir, kind); err != nil {
				return err
			}
		}
		k, err := openOrCreate(e, kind, uri)
		if err != nil {
			return fmt.Errorf("%s key: %w", kind, err)
		}
		keys[kind] = k
	}
	certs := map[string]*x509.Certificate{}
	var err error
	if certs[kindDeviceRoot], err = cert.NewDeviceRoot(templates[kindDeviceRoot], keys[kindDeviceRoot]); err != nil {
		return err
	}
	if certs[kindVehicleRoot], err = cert.NewVehicleRoot(templates[kindVehicleRoot], keys[kindVehicleRoot]); err != nil {
		return err
	}
	if certs[kindInstanceCA], err = issueInstanceCA(templates[kindInstanceCA], keys[kindInstanceCA].PublicKey(), certs[kindDeviceRoot], keys[kindDeviceRoot]); err != nil {
		return err
	}
	if certs[kindVehicle], err = cert.NewVehicle(templates[kindVehicle], keys[kindVehicle].PublicKey(), certs[kindVehicleRoot], keys[kindVehicleRoot]); err != nil {
		return err
	}
	for _, r := range []struct{ kind, issuer string }{
		{kindDeviceRoot, ""}, {kindInstanceCA, kindDeviceRoot}, {kindVehicleRoot, ""}, {kindVehicle, kindVehicleRoot},
	} {
		if err := writeCert(e, *dir, r.kind, certs[r.kind]); err != nil {
			return err
		}
		m.Certificates = append(m.Certificates, certRecord{Name: r.kind, Kind: r.kind, File: r.kind + ".crt", Key: keys[r.kind].URI(), Issuer: r.issuer})
	}
	if err := writeManifest(*dir, m); err != nil {
		return err
	}
	e.progress("test PKI written to %s", *dir)
	return nil
}

func issueInstanceCA(t cert.Template, subject *dkey.PublicKey, parent *x509.Certificate, issuer *keyuri.Key) (*x509.Certificate, error) {
	ext := &cert.InstanceCAExtension{Version: 1, AppletVersion: [cert.AppletVersionSize]byte{1, 0, 0, 0}}
	return cert.NewInstanceCA(t, ext, subject, parent, issuer)
}

// pkiIssue is dkey pki issue.
func pkiIssue(e *env, args []string) error {
	fs := newFlags(e, "pki issue")
	dir := fs.String("dir", "pki", "`directory` of the PKI")
	kind := fs.String("kind", "", "what to issue: instance-ca (under the Device OEM root) or vehicle (under the Vehicle OEM root)")
	name := fs.String("name", "", "`name` of the certificate: NAME.crt, and NAME.key by default")
	keyURI := fs.String("key", "", "key `URI` of the new certificate's key (default softkms:path=DIR/NAME.key)")
	issuerURI := fs.String("issuer-key", "", "key `URI` of the issuer (default: the one in pki.json, which has no pin-value)")
	var v validity
	v.flags(fs)
	if err := parse(e, fs, "pki issue", args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usagef("pki issue: unexpected arguments %q (see dkey pki issue -h)", fs.Args())
	case *kind != kindInstanceCA && *kind != kindVehicle:
		return usagef("pki issue: -kind %q: want instance-ca or vehicle", *kind)
	case !nameRE.MatchString(*name):
		return usagef("pki issue: -name %q: want letters, digits, '.', '_' and '-'", *name)
	}
	cn := "Instance CA " + *name
	issuerKind := kindDeviceRoot
	if *kind == kindVehicle {
		cn, issuerKind = "Vehicle "+*name, kindVehicleRoot
	}
	tmpl, err := v.template(cn)
	if err != nil {
		return err
	}
	m, err := readManifest(*dir)
	if err != nil {
		return err
	}
	var issuer *certRecord
	for i := range m.Certificates {
		r := &m.Certificates[i]
		if r.Name == *name {
			return fmt.Errorf("%s already has a certificate named %q", *dir, *name)
		}
		if r.Kind == issuerKind && issuer == nil {
			issuer = r
		}
	}
	if issuer == nil {
		return fmt.Errorf("%s has no %s", *dir, issuerKind)
	}
	parent, err := readCert(*dir, issuer)
	if err != nil {
		return err
	}
	iu := *issuerURI
	if iu == "" {
		iu = issuer.Key
		if strings.Contains(iu, "pin-value=redacted") {
			return usagef("pki issue: the %s key's PIN is not kept in %s: give its URI with -issuer-key", issuerKind, manifestName)
		}
	}
	ik, err := keyuri.Open(e.ctx, iu)
	if err != nil {
		return fmt.Errorf("%s key: %w", issuerKind, err)
	}
	defer ik.Close()
	if pk, err := certKey(parent); err != nil || !pk.Equal(ik.PublicKey()) {
		return fmt.Errorf("the key at %s is not the key of %s", keyuri.Redact(iu), issuer.File)
	}
	ku := *keyURI
	if ku == "" {
		if ku, err = defaultKeyURI(*dir, *name); err != nil {
			return err
		}
	}
	k, err := openOrCreate(e, *name, ku)
	if err != nil {
		return fmt.Errorf("%s key: %w", *name, err)
	}
	defer k.Close()
	var c *x509.Certificate
	if *kind == kindInstanceCA {
		c, err = issueInstanceCA(tmpl, k.PublicKey(), parent, ik)
	} else {
		c, err = cert.NewVehicle(tmpl, k.PublicKey(), parent, ik)
	}
	if err != nil {
		return err
	}
	if err := writeCert(e, *dir, *name, c); err != nil {
		return err
	}
	m.Certificates = append(m.Certificates, certRecord{Name: *name, Kind: *kind, File: *name + ".crt", Key: k.URI(), Issuer: issuer.Name})
	return writeManifest(*dir, m)
}

// certKey returns the P-256 public key a certificate certifies.
func certKey(c *x509.Certificate) (*dkey.PublicKey, error) {
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("certificate %s has no ECDSA key", c.Subject)
	}
	return dkey.NewPublicKey(pub)
}
