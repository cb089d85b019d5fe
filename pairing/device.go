package pairing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/internal/spake2plus"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// SecureElement is what the device side of pairing needs from the applet that
// runs it: a key pair created in the secure element for the new key, its
// deletion when the run fails, and the commit that makes it usable. The
// device core calls it from DeviceSession.Process only.
type SecureElement interface {
	// NewKey creates a P-256 key pair for vehicle in the secure element and
	// returns its handle. It returns an error wrapping ErrDeviceHasKey when
	// the applet already holds a key for vehicle.
	NewKey(vehicle dkey.VehicleID) (crypto.Signer, error)
	// DeleteKey destroys a key that NewKey created and that was not
	// committed.
	DeleteKey(crypto.Signer) error
	// Commit makes the key of a completed pairing usable, atomically: after
	// a nil return the applet holds it, after an error it does not (and the
	// core deletes it). It may return an error wrapping ErrDeviceHasKey.
	Commit(*DeviceResult) error
}

// DeviceResult is what a completed pairing leaves on the device (docs/protocol.md
// §3.7).
type DeviceResult struct {
	// VehicleID and VehicleKey identify the vehicle; the key signs AUTH1.
	VehicleID  dkey.VehicleID
	VehicleKey *dkey.PublicKey
	// VehicleRoot is the Vehicle OEM root (DER) the vehicle delivered, and
	// VehicleCertificates the vehicle chain, leaf first, verified up to it.
	VehicleRoot         []byte
	VehicleCertificates [][]byte
	// Brand is the vehicle brand identifier.
	Brand uint16
	// Version is the applet protocol version the key speaks.
	Version dkey.Version
	// KeyConfig is the configuration the vehicle wrote.
	KeyConfig OwnerKeyConfig
	// Slot, Key and PublicKey are the new endpoint key: its key slot
	// identifier, its handle in the secure element, its public key.
	Slot      dkey.KeySlot
	Key       crypto.Signer
	PublicKey *dkey.PublicKey
	// Certificates is the endpoint chain, leaf first: the endpoint
	// certificate, the instance CA and the Device OEM intermediate if any.
	Certificates [][]byte
	// LongTermSecret is LONG_TERM_SHARED_SECRET (docs/protocol.md §3.3).
	LongTermSecret [LongTermSecretSize]byte
	// BLE are Kble_intro and Kble_oob_master, for the first approach over
	// BLE (docs/protocol.md §3.3, §8.1).
	BLE BLEKeys
}

// dphase is where the device's run stands: which command it accepts next.
// The device answers commands, so unlike the vehicle it cannot be a linear
// program.
type dphase uint8

const (
	dSelected      dphase = iota // SPAKE2+ REQUEST expected
	dRequested                   // SPAKE2+ VERIFY expected
	dWriting                     // WRITE DATA of the vehicle chain and key configuration
	dKeyCreated                  // key created: OP CONTROL FLOW 10 01 expected
	dReading                     // GET DATA, then WRITE DATA 5F5A
	dConfirmed                   // WRITE DATA 5F5F expected
	dConfirmEnd                  // OP CONTROL FLOW 10 02 expected
	dChainReceived               // OP CONTROL FLOW 11 11 expected
	dDone                        // committed
	dFailed
)

// DeviceSession is the device's side of one owner pairing: the Digital Key
// framework answering the vehicle's commands after SELECT, sans I/O
// (docs/protocol.md §3). Process takes each command and returns the response
// data. The first failure ends the run for good: the pending key is deleted
// from the secure element and every later command is refused. A DeviceSession is
// single use and not safe for concurrent use; the applet serializes it.
//
// The WRITE DATA of the key configuration carries one data object per
// command, in the order 7F4A, 7F4B, 7F4C (0 to 2), 7F4D, 7F4E, 5F5F. At
// 5F5F the device verifies the vehicle chain up to the root of 7F4A,
// creates the key in the secure element and issues its endpoint certificate
// with the instance CA. GET DATA takes one tag per command (7F20, 7F22,
// 7F24, D3). WRITE DATA 5F5A, then 5F5F, confirms that the vehicle verified
// the endpoint chain; OP CONTROL FLOW 11 11 then commits the key, and only
// then does it become usable.
type DeviceSession struct {
	ca       *x509.Certificate
	caKey    crypto.Signer
	inter    *x509.Certificate
	fwOwn    dkey.VersionList
	apOwn    dkey.VersionList
	evidence Evidence
	now      func() time.Time
	keys     SecureElement
	password []byte
	rand     io.Reader // nil: crypto/rand
	keyLog   io.Writer
	share    [pointSize]byte // X, which names the run in the key log

	phase     dphase
	attempted bool
	err       error

	req     spakeRequest
	version dkey.Version
	prover  *spake2plus.Prover
	rx      securemsg.Receiver
	rxReady bool
	sk      systemKeys

	root     []byte
	chain    [][]byte
	mapping  MailboxMapping
	kc       keyConfiguration
	gotMap   bool
	gotConf  bool
	vehicle  *cert.VerifiedVehicle
	vid      dkey.VehicleID
	signer   crypto.Signer
	pub      *dkey.PublicKey
	slot     dkey.KeySlot
	endpoint []byte
	result   *DeviceResult

	plain []byte
}

// NewDeviceSession returns a pairing run of the device, after SELECT of the
// framework, with the applet's instance CA from cfg, keys for the secure
// element and the password the owner entered. An empty password means none
// was entered: SELECT reports D4 00 and SPAKE2+ REQUEST is refused. The run
// keeps a copy of the password until it ends. A nil cfg is an error, as
// for NewVehicleSession: the configuration carries the instance CA.
func NewDeviceSession(cfg *DeviceConfig, keys SecureElement, password []byte) (*DeviceSession, error) {
	if cfg == nil {
		return nil, errors.New("pairing: NewDeviceSession needs a DeviceConfig (its instance CA and key)")
	}
	if cfg.InstanceCA == nil || cfg.InstanceCAKey == nil {
		return nil, errors.New("pairing: no instance CA")
	}
	if keys == nil {
		return nil, errors.New("pairing: NewDeviceSession needs a SecureElement (nil)")
	}
	if !cfg.Evidence.valid() {
		return nil, fmt.Errorf("pairing: unknown evidence %v", cfg.Evidence)
	}
	caPub, err := dkey.PublicKeyOf(cfg.InstanceCAKey)
	if err != nil {
		return nil, fmt.Errorf("pairing: instance CA key: %w", err)
	}
	ecPub, ok := cfg.InstanceCA.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("pairing: the instance CA certificate has no ECDSA key")
	}
	if certPub, err := dkey.NewPublicKey(ecPub); err != nil || !certPub.Equal(caPub) {
		return nil, errors.New("pairing: the instance CA certificate does not certify the instance CA key")
	}
	now := cfg.Time
	if now == nil {
		now = time.Now
	}
	return &DeviceSession{
		now: now,
		ca:  cfg.InstanceCA, caKey: cfg.InstanceCAKey, inter: cfg.Intermediate,
		fwOwn: defaultVersions(cfg.FrameworkVersions), apOwn: defaultVersions(cfg.AppletVersions),
		evidence: cfg.Evidence, keys: keys, password: bytes.Clone(password),
		rand: cfg.Rand, keyLog: cfg.KeyLog,
	}, nil
}

// AppendSelect appends the data of the framework's SELECT response: the
// framework versions (tag 5A, as TS R3 1.0 has it), the applet versions and
// the pairing state, 02 when a password was entered, 00 otherwise.
func (d *DeviceSession) AppendSelect(dst []byte) []byte {
	m := selectResponse{frameworkTag: tagFrameworkVersionsR3, framework: d.fwOwn, applet: d.apOwn, state: stateNotReady}
	if len(d.password) > 0 && d.phase != dFailed {
		m.state = stateReady
	}
	return m.append(dst)
}

// Attempted reports whether the run has processed SPAKE2+ VERIFY, which uses
// up the entered password: the applet asks the owner for it again.
func (d *DeviceSession) Attempted() bool { return d.attempted }

// Result returns what a completed run committed, and false before.
func (d *DeviceSession) Result() (*DeviceResult, bool) { return d.result, d.result != nil }

// Err returns the error that ended the run, nil while it goes on or after
// it completed. An abort from the vehicle is an error wrapping ErrAborted.
func (d *DeviceSession) Err() error { return d.err }

// Close ends the run: a key created but not committed is deleted from the
// secure element and the secrets are erased. The applet calls it when the
// link drops or another applet is selected. Close after the run completed
// only erases.
func (d *DeviceSession) Close() {
	if d.phase != dDone && d.phase != dFailed {
		d.fail(fmt.Errorf("%w: run closed", ErrOutOfSequence))
	}
}

func (d *DeviceSession) fail(err error) error {
	if d.err == nil {
		d.err = err
	}
	d.phase = dFailed
	if d.signer != nil {
		// The key never became usable; a failure to delete it leaves an
		// orphan in the secure element, which the applet cannot reach.
		_ = d.keys.DeleteKey(d.signer)
		d.signer = nil
	}
	d.wipe()
	return d.err
}

func (d *DeviceSession) wipe() {
	clear(d.password)
	d.password = nil
	if d.prover != nil {
		_, _, _ = d.prover.Finish(nil, nil)
		d.prover = nil
	}
	if d.rxReady {
		d.rx.Close()
		d.rxReady = false
	}
	d.sk.zeroize()
	clear(d.plain)
}

// Process answers one command of the framework and appends the response
// data to dst; the caller adds the status word, 9000 on success, otherwise
// StatusWordFor the error. Any error ends the run, and so does an OP
// CONTROL FLOW abort (answered 9000). Process does not keep cmd.
func (d *DeviceSession) Process(dst []byte, cmd *transport.Command) ([]byte, error) {
	if d.phase == dFailed || d.phase == dDone {
		return dst, fmt.Errorf("%w: pairing run has ended", ErrOutOfSequence)
	}
	out, err := d.process(dst, cmd)
	if err != nil {
		return dst, d.fail(err)
	}
	return out, nil
}

func (d *DeviceSession) process(dst []byte, cmd *transport.Command) ([]byte, error) {
	switch cmd.INS {
	case insSpakeRequest, insSpakeVerify, insOpControlFlow:
		if cmd.CLA != claPlain {
			return dst, dkey.SWClassNotSupported
		}
	case insWriteData, insGetData:
		if cmd.CLA != claSecure {
			return dst, dkey.SWClassNotSupported
		}
	default:
		return dst, dkey.SWInstructionNotSupported
	}
	if cmd.INS == insOpControlFlow {
		if len(cmd.Data) != 0 {
			return dst, dkey.SWWrongLength
		}
		return dst, d.opControlFlow(OpControlFlow(cmd.P1)<<8 | OpControlFlow(cmd.P2))
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return dst, dkey.SWWrongP1P2
	}
	switch cmd.INS {
	case insSpakeRequest:
		return d.spakeRequest(dst, cmd.Data)
	case insSpakeVerify:
		return d.spakeVerify(dst, cmd.Data)
	case insWriteData:
		return d.writeData(dst, cmd.Data)
	}
	return d.getData(dst, cmd.Data)
}

func (d *DeviceSession) expect(ph dphase, what string) error {
	if d.phase != ph {
		return fmt.Errorf("%w: %s", ErrOutOfSequence, what)
	}
	return nil
}

func (d *DeviceSession) spakeRequest(dst, data []byte) ([]byte, error) {
	if err := d.expect(dSelected, "SPAKE2+ REQUEST"); err != nil {
		return dst, err
	}
	if len(d.password) == 0 {
		return dst, ErrNotReady
	}
	if !d.req.unmarshal(data) {
		return dst, malformed("SPAKE2+ REQUEST")
	}
	if _, ok := d.fwOwn.Select(d.req.framework); !ok {
		return dst, fmt.Errorf("pairing: framework: %w: vehicle offers %v", dkey.ErrNoCommonVersion, d.req.framework)
	}
	v, ok := d.apOwn.Select(d.req.applet)
	if !ok {
		return dst, fmt.Errorf("pairing: applet: %w: vehicle offers %v", dkey.ErrNoCommonVersion, d.req.applet)
	}
	d.version = v
	// The parameters come from the vehicle: validate them before scrypt
	// allocates anything.
	if err := d.req.params.Validate(); err != nil {
		return dst, err
	}
	secret, err := spake2plus.DeriveCCCSecret(d.password, d.req.salt[:], d.req.params.internal())
	if err != nil {
		return dst, fmt.Errorf("%w: %w", ErrParameters, err)
	}
	info := d.req.confirmationInfo(nil)
	d.prover, err = spake2plus.NewProverFrom(d.rand, spake2plus.CCC{ConfirmationInfo: info, Evidence: d.evidence.internal()}, secret)
	secret.Zeroize()
	if err != nil {
		return dst, fmt.Errorf("pairing: SPAKE2+: %w", err)
	}
	var m spakeResponse
	copy(m.x[:], d.prover.Share())
	d.share = m.x
	d.phase = dRequested
	return m.append(dst), nil
}

func (d *DeviceSession) spakeVerify(dst, data []byte) ([]byte, error) {
	if err := d.expect(dRequested, "SPAKE2+ VERIFY"); err != nil {
		return dst, err
	}
	d.attempted = true
	var m verifyCommand
	if !m.unmarshal(data) {
		return dst, malformed("SPAKE2+ VERIFY")
	}
	m2, sk, err := d.prover.Finish(m.y[:], m.m1[:])
	d.prover = nil
	if err != nil {
		return dst, ErrAuthentication
	}
	err = d.sk.derive(sk)
	clear(sk)
	if err != nil {
		return dst, fmt.Errorf("pairing: SystemKeys: %w", err)
	}
	d.sk.log(d.keyLog, &d.share)
	err = d.rx.Init(&d.sk.channel, securemsg.CommandFirst)
	d.sk.clearChannel()
	if err != nil {
		return dst, fmt.Errorf("pairing: secure channel: %w", err)
	}
	d.rxReady = true
	// The password has done its work.
	clear(d.password)
	d.password = nil
	var r verifyResponse
	copy(r.m2[:], m2)
	d.phase = dWriting
	return r.append(dst), nil
}

// unprotect checks a command of the pairing channel into d.plain.
func (d *DeviceSession) unprotect(data []byte) error {
	if !d.rxReady {
		return fmt.Errorf("%w: no secure channel", ErrOutOfSequence)
	}
	var err error
	if d.plain, err = d.rx.UnprotectCommand(d.plain[:0], data); err != nil {
		return fmt.Errorf("%w: %w", ErrChannel, err)
	}
	return nil
}

func (d *DeviceSession) protect(dst, plain []byte) ([]byte, error) {
	out, err := d.rx.ProtectResponse(dst, plain)
	if err != nil {
		return dst, fmt.Errorf("%w: %w", ErrChannel, err)
	}
	return out, nil
}

func (d *DeviceSession) writeData(dst, data []byte) ([]byte, error) {
	if d.phase != dWriting && d.phase != dReading && d.phase != dConfirmed {
		return dst, fmt.Errorf("%w: WRITE DATA", ErrOutOfSequence)
	}
	if err := d.unprotect(data); err != nil {
		return dst, err
	}
	t, v, rest, err := tlv.Next(d.plain)
	if err != nil || len(rest) != 0 {
		return dst, malformed("WRITE DATA: one data object per command")
	}
	switch d.phase {
	case dWriting:
		err = d.writeKeyData(t, v)
	case dReading:
		err = d.writeConfirmation(t, v)
	default: // dConfirmed
		if t != tagEndOfData || len(v) != 0 {
			err = malformed("WRITE DATA: 5F5F expected after 5F5A")
		} else {
			d.phase = dConfirmEnd
		}
	}
	if err != nil {
		return dst, err
	}
	return d.protect(dst, nil)
}

// writeKeyData takes one object of the first WRITE DATA group, in the order
// 7F4A, 7F4B, 7F4C*, 7F4D, 7F4E, 5F5F.
func (d *DeviceSession) writeKeyData(t tlv.Tag, v []byte) error {
	switch {
	case t == tagVehicleRoot && d.root == nil:
		if len(v) == 0 || len(v) > cert.MaxCertificateSize {
			return malformed("7F4A")
		}
		d.root = bytes.Clone(v)
	case t == tagVehicleCert && d.root != nil && len(d.chain) == 0,
		t == tagVehicleIntermediate && len(d.chain) > 0 && len(d.chain) <= maxIntermediates && !d.gotMap:
		if len(v) == 0 || len(v) > cert.MaxCertificateSize {
			return malformed(t.String())
		}
		d.chain = append(d.chain, bytes.Clone(v))
	case t == tagMailboxMapping && len(d.chain) > 0 && !d.gotMap:
		if !unmarshalMapping(v, &d.mapping) {
			return malformed("7F4D")
		}
		d.gotMap = true
	case t == tagKeyConfig && d.gotMap && !d.gotConf:
		if !d.kc.unmarshal(v) {
			return malformed("7F4E")
		}
		d.gotConf = true
	case t == tagEndOfData && d.gotConf:
		if len(v) != 0 {
			return malformed("5F5F")
		}
		return d.createKey()
	default:
		return fmt.Errorf("%w: WRITE DATA %v", ErrOutOfSequence, t)
	}
	return nil
}

// keyConfig returns the OwnerKeyConfig the vehicle wrote.
func (d *DeviceSession) keyConfig() OwnerKeyConfig {
	return OwnerKeyConfig{Mailboxes: d.kc.mailboxes, Mapping: d.mapping, OptionGroup1: d.kc.option1, OptionGroup2: d.kc.option2}
}

// createKey checks what the vehicle wrote, creates the endpoint key in the
// secure element and issues its certificate.
func (d *DeviceSession) createKey() error {
	kc := d.keyConfig()
	if err := kc.Validate(); err != nil {
		return err
	}
	vid, err := dkey.NewVehicleID(d.kc.vehicleID[:])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyConfig, err)
	}
	// The root came under the authenticated channel: the pairing password
	// authenticates the vehicle, and the root is the trust anchor the
	// device keeps for this vehicle (docs/protocol.md §1, trust model).
	root, err := parseCert(d.root)
	if err != nil {
		return fmt.Errorf("%w: root: %w", ErrVehicleCertificate, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	veh, err := (&cert.Config{VehicleRoots: pool, Time: d.now}).VerifyVehicle(d.chain)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrVehicleCertificate, err)
	}
	d.vehicle, d.vid = veh, vid

	signer, err := d.keys.NewKey(vid)
	if err != nil {
		if errors.Is(err, ErrDeviceHasKey) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrSecureElement, err)
	}
	d.signer = signer
	if d.pub, err = dkey.PublicKeyOf(signer); err != nil {
		return fmt.Errorf("%w: %w", ErrSecureElement, err)
	}
	var slot [dkey.MaxKeySlotLen]byte
	if err := d.read(slot[:]); err != nil {
		return fmt.Errorf("pairing: key slot: %w", err)
	}
	d.slot, _ = dkey.NewKeySlot(slot[:])
	ext := &cert.EndpointExtension{
		Version: 1, VehicleID: vid, OptionGroup1: kc.OptionGroup1, OptionGroup2: kc.OptionGroup2,
		ProtocolVersion: d.version, VehiclePublicKey: veh.Key, InitialKeySlot: d.slot,
		ConfidentialMailboxSize: kc.Mailboxes.ConfidentialSize, PrivateMailboxSize: kc.Mailboxes.PrivateSize,
	}
	// The endpoint certificate takes the instance CA's validity, so that a
	// vehicle clock behind the device's cannot find it not yet valid
	// (project choice).
	tmpl := cert.Template{Subject: pkix.Name{CommonName: "Digital Key endpoint " + d.slot.String()}, NotBefore: d.ca.NotBefore, NotAfter: d.ca.NotAfter}
	c, err := cert.NewEndpoint(tmpl, ext, d.pub, d.ca, d.caKey)
	if err != nil {
		return fmt.Errorf("%w: endpoint certificate: %w", ErrSecureElement, err)
	}
	d.endpoint = c.Raw
	d.phase = dKeyCreated
	return nil
}

// read fills b from the configured randomness source, crypto/rand by
// default.
func (d *DeviceSession) read(b []byte) error {
	if d.rand == nil {
		_, err := rand.Read(b)
		return err
	}
	_, err := io.ReadFull(d.rand, b)
	return err
}

// writeConfirmation takes WRITE DATA 5F5A: SHA-256 of the endpoint
// certificate the vehicle verified.
func (d *DeviceSession) writeConfirmation(t tlv.Tag, v []byte) error {
	want := sha256.Sum256(d.endpoint)
	if t != tagConfirmation || len(v) != confirmationSize || subtle.ConstantTimeCompare(v, want[:]) != 1 {
		return malformed("WRITE DATA: 5F5A does not confirm the endpoint certificate")
	}
	d.phase = dConfirmed
	return nil
}

func (d *DeviceSession) getData(dst, data []byte) ([]byte, error) {
	if err := d.expect(dReading, "GET DATA"); err != nil {
		return dst, err
	}
	if err := d.unprotect(data); err != nil {
		return dst, err
	}
	s := tlv.String(d.plain)
	var t tlv.Tag
	if !s.ReadTag(&t) || !s.Empty() || !getDataTag(t) {
		return dst, malformed("GET DATA: one tag of 7F20, 7F22, 7F24, D3")
	}
	var v []byte
	switch t {
	case tagEndpointCert:
		v = d.endpoint
	case tagInstanceCA:
		v = d.ca.Raw
	case tagDeviceIntermediate:
		if d.inter == nil {
			return d.protect(dst, nil)
		}
		v = d.inter.Raw
	case tagKeyCreation:
		v = d.slot.Bytes()
	}
	// The plaintext goes in d.plain, which the response may not alias.
	plain := tlv.AppendTLV(d.plain[:0], t, v)
	d.plain = plain
	return d.protect(dst, plain)
}

func (d *DeviceSession) opControlFlow(c OpControlFlow) error {
	if !c.Valid() {
		return fmt.Errorf("%w: OP CONTROL FLOW %v", dkey.SWWrongP1P2, c)
	}
	switch {
	case c.Abort():
		d.fail(fmt.Errorf("%w: %v", ErrAborted, c))
		return nil
	case c == OpKeyDataSent:
		if err := d.expect(dKeyCreated, "OP CONTROL FLOW 10 01"); err != nil {
			return err
		}
		d.phase = dReading
	case c == OpChainReceived:
		if err := d.expect(dConfirmEnd, "OP CONTROL FLOW 10 02"); err != nil {
			return err
		}
		d.phase = dChainReceived
	case c == OpPairingComplete:
		if err := d.expect(dChainReceived, "OP CONTROL FLOW 11 11"); err != nil {
			return err
		}
		return d.commit()
	}
	// 10 03 and 10 0F report the vehicle's progress and change nothing.
	return nil
}

// commit hands the key to the applet: from now on it is usable.
func (d *DeviceSession) commit() error {
	chain := [][]byte{d.endpoint, d.ca.Raw}
	if d.inter != nil {
		chain = append(chain, d.inter.Raw)
	}
	res := &DeviceResult{
		VehicleID: d.vid, VehicleKey: d.vehicle.Key, VehicleRoot: d.root, VehicleCertificates: slices.Clone(d.chain),
		Brand: d.req.brand, Version: d.version, KeyConfig: d.keyConfig(),
		Slot: d.slot, Key: d.signer, PublicKey: d.pub, Certificates: chain, LongTermSecret: d.sk.ltss, BLE: d.sk.bleKeys(),
	}
	if err := d.keys.Commit(res); err != nil {
		clear(res.LongTermSecret[:])
		res.BLE.Zeroize()
		return err
	}
	d.signer = nil // the applet owns it now
	d.result = res
	d.phase = dDone
	d.wipe()
	return nil
}
