package pairing

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
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

// Step is what the vehicle does next: send Command, or stop when Done.
type Step struct {
	// Command is the next command to send; its data aliases the run's
	// buffers and is valid until the next call on the run.
	Command transport.Command
	// Attempt reports that Command is SPAKE2+ VERIFY, which spends one
	// password attempt (docs/protocol.md §3.2): a caller that limits attempts
	// records it before sending, so that a device that leaves the field
	// after seeing the vehicle's evidence has still spent it.
	Attempt bool
	// Done reports that the run has completed: the device answered
	// OP CONTROL FLOW 11 11, and Result holds the owner key.
	Done bool
}

// VehicleResult is what a completed pairing gives the vehicle: the owner
// key to enroll and the secret to keep.
type VehicleResult struct {
	// Endpoint is the verified endpoint certificate chain.
	Endpoint *cert.VerifiedEndpoint
	// PublicKey and Slot are the owner key and its key slot identifier.
	PublicKey *dkey.PublicKey
	Slot      dkey.KeySlot
	// Version is the applet protocol version the key speaks.
	Version dkey.Version
	// KeyConfig is the configuration the vehicle wrote and the endpoint
	// certificate certifies.
	KeyConfig OwnerKeyConfig
	// LongTermSecret is LONG_TERM_SHARED_SECRET (docs/protocol.md §3.3), which
	// the device holds too; its later use is not public (R3 BLE).
	LongTermSecret [LongTermSecretSize]byte
	// BLE are Kble_intro and Kble_oob_master, for the first approach over
	// BLE (docs/protocol.md §3.3, §8.1).
	BLE BLEKeys
}

// vstep is one command-response pair of the vehicle's run.
type vstep struct {
	build   func() (transport.Command, error)
	read    func(transport.Response) error
	attempt bool
}

// VehicleSession is the vehicle's side of one owner pairing (docs/protocol.md §3.1
// phases 1 to 3), sans I/O: Start gives the first command and Next takes
// each response and gives the next command, until Done. The caller moves
// the APDUs (package vehicle does, with the attempt counter and the
// enrolment). A VehicleSession is single use and not safe for concurrent use.
//
//	SELECT framework                    → 5A|5B versions, 5C versions, D4 02
//	SPAKE2+ REQUEST 5B 5C 7F50 D6        → 50 X
//	SPAKE2+ VERIFY 52 Y 57 M1            → 58 M2        (Step.Attempt)
//	WRITE DATA (CLA 84) 7F4A; 7F4B; 7F4C*; 7F4D; 7F4E; 5F5F, one data object each
//	OP CONTROL FLOW 10 01
//	GET DATA (CLA 84) 7F20; 7F22; 7F24; D3, one tag each
//	WRITE DATA (CLA 84) 5F5A; 5F5F
//	OP CONTROL FLOW 10 02
//	OP CONTROL FLOW 11 11                → Done
//
// Any failure ends the run: Next returns the error, and Abort gives the
// OP CONTROL FLOW abort to send, with the code of §3.6 for the failure.
type VehicleSession struct {
	id       dkey.VehicleID
	key      *dkey.PublicKey
	root     []byte
	chain    [][]byte
	roots    *x509.CertPool
	now      func() time.Time
	brand    uint16
	fwOwn    dkey.VersionList
	apOwn    dkey.VersionList
	kc       OwnerKeyConfig
	evidence Evidence
	verifier *Verifier
	rand     io.Reader // nil: crypto/rand
	keyLog   io.Writer
	share    [pointSize]byte // the device's X, which names the run in the key log

	steps    []vstep
	pc       int
	started  bool
	done     bool
	err      error
	code     OpControlFlow
	selected bool

	version dkey.Version
	spake   *spake2plus.Verifier
	sm      securemsg.Sender
	smReady bool
	keys    systemKeys

	endpointCert []byte
	instanceCA   []byte
	intermediate []byte
	slot         dkey.KeySlot
	confirmation [confirmationSize]byte
	pending      *VehicleResult // verified, until OP CONTROL FLOW 11 11 succeeds
	result       *VehicleResult

	cmd   []byte
	plain []byte
}

// Validate checks the configuration: an 8-byte vehicle identifier, a
// vehicle chain that verifies up to VehicleRoot and certifies VehicleKey,
// Device OEM roots, a valid key configuration and evidence option. A nil
// cfg is an error.
func (cfg *VehicleConfig) Validate() error {
	_, err := cfg.check()
	return err
}

// check validates cfg and returns the key configuration and clock to use.
func (cfg *VehicleConfig) check() (OwnerKeyConfig, error) {
	kc := DefaultOwnerKeyConfig()
	if cfg == nil {
		return kc, errors.New("pairing: NewVehicleSession needs a VehicleConfig (its vehicle identifier, key and chain)")
	}
	if cfg.VehicleID.Len() != dkey.VehicleIDLenCCC {
		return kc, fmt.Errorf("pairing: %w: %d bytes, pairing needs %d", dkey.ErrInvalidVehicleID, cfg.VehicleID.Len(), dkey.VehicleIDLenCCC)
	}
	if cfg.VehicleKey == nil {
		return kc, errors.New("pairing: vehicle key is nil")
	}
	if cfg.DeviceRoots == nil {
		return kc, errors.New("pairing: no Device OEM roots")
	}
	if !cfg.Evidence.valid() {
		return kc, fmt.Errorf("pairing: unknown evidence %v", cfg.Evidence)
	}
	if n := len(cfg.Certificates); n < 1 || n > 1+maxIntermediates {
		return kc, fmt.Errorf("pairing: vehicle chain of %d certificates, want 1 to %d", n, 1+maxIntermediates)
	}
	root, err := parseCert(cfg.VehicleRoot)
	if err != nil {
		return kc, fmt.Errorf("pairing: vehicle root: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	own, err := (&cert.Config{VehicleRoots: pool, Time: cfg.Time}).VerifyVehicle(cfg.Certificates)
	if err != nil {
		return kc, fmt.Errorf("pairing: the vehicle's own chain: %w", err)
	}
	if !own.Key.Equal(cfg.VehicleKey) {
		return kc, errors.New("pairing: the vehicle certificate does not certify the vehicle key")
	}
	if cfg.KeyConfig != nil {
		kc = *cfg.KeyConfig
	}
	return kc, kc.Validate()
}

// NewVehicleSession returns a pairing run of the vehicle configured by cfg, with
// the verifier the vehicle OEM installed. It validates cfg as
// VehicleConfig.Validate does.
func NewVehicleSession(cfg *VehicleConfig, v *Verifier) (*VehicleSession, error) {
	if v == nil || v.record == nil {
		return nil, errors.New("pairing: no verifier")
	}
	kc, err := cfg.check()
	if err != nil {
		return nil, err
	}
	now := cfg.Time
	if now == nil {
		now = time.Now
	}
	p := &VehicleSession{
		id: cfg.VehicleID, key: cfg.VehicleKey, root: slices.Clone(cfg.VehicleRoot), roots: cfg.DeviceRoots, now: now,
		brand: cfg.Brand, fwOwn: defaultVersions(cfg.FrameworkVersions), apOwn: defaultVersions(cfg.AppletVersions),
		kc: kc, evidence: cfg.Evidence, verifier: v, rand: cfg.Rand, keyLog: cfg.KeyLog,
	}
	for _, c := range cfg.Certificates {
		p.chain = append(p.chain, slices.Clone(c))
	}
	p.steps = []vstep{
		{build: p.buildSelect, read: p.readSelect},
		{build: p.buildRequest, read: p.readRequest},
		{build: p.buildVerify, read: p.readVerify, attempt: true},
	}
	writes := [][]byte{tlv.AppendTLV(nil, tagVehicleRoot, p.root), tlv.AppendTLV(nil, tagVehicleCert, p.chain[0])}
	for _, c := range p.chain[1:] {
		writes = append(writes, tlv.AppendTLV(nil, tagVehicleIntermediate, c))
	}
	kcm := keyConfiguration{mailboxes: kc.Mailboxes, option1: kc.OptionGroup1, option2: kc.OptionGroup2}
	copy(kcm.vehicleID[:], p.id.Bytes())
	writes = append(writes, appendMapping(nil, &kc.Mapping), kcm.append(nil), tlv.AppendTLV(nil, tagEndOfData, nil))
	for _, w := range writes {
		p.steps = append(p.steps, vstep{build: p.buildWrite(w), read: p.readWrite(OpAbortKeyConfiguration)})
	}
	p.steps = append(p.steps, vstep{build: p.buildOp(OpKeyDataSent), read: p.readOp})
	for _, t := range []tlv.Tag{tagEndpointCert, tagInstanceCA, tagDeviceIntermediate, tagKeyCreation} {
		p.steps = append(p.steps, vstep{build: p.buildGet(t), read: p.readGet(t)})
	}
	p.steps = append(p.steps,
		vstep{build: p.buildConfirmation, read: p.readWrite(OpAbort)},
		vstep{build: p.buildWrite(tlv.AppendTLV(nil, tagEndOfData, nil)), read: p.readWrite(OpAbort)},
		vstep{build: p.buildOp(OpChainReceived), read: p.readOp},
		vstep{build: p.buildOp(OpPairingComplete), read: p.readComplete},
	)
	return p, nil
}

func parseCert(der []byte) (*x509.Certificate, error) {
	if len(der) > cert.MaxCertificateSize {
		return nil, fmt.Errorf("%w: %d bytes", cert.ErrMalformedCertificate, len(der))
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", cert.ErrMalformedCertificate, err)
	}
	return c, nil
}

// Start returns the first command, SELECT of the framework. It may be
// called once.
func (p *VehicleSession) Start() (transport.Command, error) {
	switch {
	case p.err != nil:
		return transport.Command{}, p.err
	case p.started:
		return transport.Command{}, fmt.Errorf("%w: run already started", ErrOutOfSequence)
	}
	p.started = true
	cmd, err := p.steps[0].build()
	if err != nil {
		return transport.Command{}, p.fail(OpAbort, err)
	}
	return cmd, nil
}

// Next reads the device's response to the last command and returns the next
// step. An error ends the run; it is also returned by every later call.
func (p *VehicleSession) Next(resp transport.Response) (Step, error) {
	switch {
	case p.err != nil:
		return Step{}, p.err
	case !p.started || p.done:
		return Step{}, fmt.Errorf("%w: no command awaits a response", ErrOutOfSequence)
	}
	if err := p.steps[p.pc].read(resp); err != nil {
		return Step{}, p.failed(err)
	}
	p.pc++
	if p.pc == len(p.steps) {
		p.done = true
		p.wipe()
		return Step{Done: true}, nil
	}
	cmd, err := p.steps[p.pc].build()
	if err != nil {
		return Step{}, p.fail(OpAbort, err)
	}
	return Step{Command: cmd, Attempt: p.steps[p.pc].attempt}, nil
}

// Result returns the owner key of a completed run, and false before.
func (p *VehicleSession) Result() (*VehicleResult, bool) { return p.result, p.result != nil }

// Abort ends the run, if it has not ended, and returns the OP CONTROL FLOW
// command that tells the device, with the abort code for the failure that
// ended it (OpAbort when none did). It returns false when there is nothing
// to tell: the framework was never selected, or the run completed. The codes
// are those of docs/protocol.md §3.6: 12 01 and 12 02 for no common version,
// 12 0C for a device without password or an invalid X, 12 09 for a failed
// SPAKE2+ VERIFY (wrong password or tampered evidence), 12 08 for a device
// that already holds a key for the vehicle, 12 0A for a refused key
// configuration, 12 0B for an endpoint chain the vehicle rejects, and 12 00
// for the rest.
func (p *VehicleSession) Abort() (transport.Command, bool) {
	code := p.code
	if p.err == nil {
		code = OpAbort
	}
	return p.AbortWith(code)
}

// AbortWith is Abort with the given code, for failures the caller finds
// (12 0D when no attempt is left). A code that is not a valid abort code
// (OpControlFlow.Abort and Valid) is refused: AbortWith returns false and
// leaves the run as it was.
func (p *VehicleSession) AbortWith(code OpControlFlow) (transport.Command, bool) {
	if !code.Abort() || !code.Valid() {
		return transport.Command{}, false
	}
	if p.done {
		return transport.Command{}, false
	}
	if p.err == nil {
		p.fail(code, fmt.Errorf("%w: %v", ErrAborted, code))
	}
	if !p.selected {
		return transport.Command{}, false
	}
	p.selected = false // one abort per run
	return opCommand(code), true
}

// fail ends the run with err and the abort code for it.
func (p *VehicleSession) fail(code OpControlFlow, err error) error {
	if p.err == nil {
		p.err, p.code = err, code
	}
	p.wipe()
	return p.err
}

// failed is fail for the errors of the read steps, which carry their code.
func (p *VehicleSession) failed(err error) error {
	var ce *codedError
	if errors.As(err, &ce) {
		return p.fail(ce.code, ce.err)
	}
	return p.fail(OpAbort, err)
}

// codedError carries the abort code of a read step's failure until fail
// records it; it never leaves the package.
type codedError struct {
	code OpControlFlow
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }

func abortWith(code OpControlFlow, err error) error { return &codedError{code, err} }

func (p *VehicleSession) wipe() {
	if p.spake != nil {
		// Finish erases the run's secrets; its error is moot here.
		_, _ = p.spake.Finish(nil)
		p.spake = nil
	}
	if p.smReady {
		p.sm.Close()
		p.smReady = false
	}
	p.keys.zeroize()
	clear(p.plain)
	clear(p.cmd)
}

func opCommand(code OpControlFlow) transport.Command {
	return transport.Command{CLA: claPlain, INS: insOpControlFlow, P1: code.P1(), P2: code.P2()}
}

func (p *VehicleSession) buildSelect() (transport.Command, error) {
	p.cmd = append(p.cmd[:0], dkey.AIDFramework...)
	return transport.Command{CLA: claISO, INS: insSelect, P1: p1SelectName, Data: p.cmd, Ne: transport.MaxShortNe}, nil
}

func (p *VehicleSession) readSelect(r transport.Response) error {
	if !r.SW.OK() {
		return fmt.Errorf("%w: %w", ErrNoFramework, r.SW)
	}
	p.selected = true
	var m selectResponse
	if !m.unmarshal(r.Data) {
		return abortWith(OpAbort, malformed("SELECT response"))
	}
	if _, ok := p.fwOwn.Select(m.framework); !ok {
		return abortWith(OpAbortFrameworkVersion, fmt.Errorf("pairing: framework: %w: device offers %v", dkey.ErrNoCommonVersion, m.framework))
	}
	v, ok := p.apOwn.Select(m.applet)
	if !ok {
		return abortWith(OpAbortAppletVersion, fmt.Errorf("pairing: applet: %w: device offers %v", dkey.ErrNoCommonVersion, m.applet))
	}
	p.version = v
	// [YB] and [CNDK]: the vehicle aborts with 12 0C when the password has
	// not been entered.
	if m.state != stateReady {
		return abortWith(OpAbortInvalidPoint, ErrNotReady)
	}
	return nil
}

func (p *VehicleSession) request() spakeRequest {
	return spakeRequest{framework: p.fwOwn, applet: p.apOwn, salt: p.verifier.salt, params: p.verifier.params, brand: p.brand}
}

func (p *VehicleSession) buildRequest() (transport.Command, error) {
	req := p.request()
	p.cmd = req.append(p.cmd[:0])
	return transport.Command{CLA: claPlain, INS: insSpakeRequest, Data: p.cmd, Ne: transport.MaxShortNe}, nil
}

func (p *VehicleSession) readRequest(r transport.Response) error {
	switch {
	case r.SW == dkey.SWConditionsNotSatisfied:
		return abortWith(OpAbortInvalidPoint, fmt.Errorf("%w: %w", ErrNotReady, r.SW))
	case !r.SW.OK():
		return abortWith(OpAbort, fmt.Errorf("%w: SPAKE2+ REQUEST: %w", ErrRefused, r.SW))
	}
	var m spakeResponse
	if !m.unmarshal(r.Data) {
		return abortWith(OpAbort, malformed("SPAKE2+ REQUEST response"))
	}
	// 12 0C: X is not a point of the curve (docs/protocol.md §3.2). Its validity
	// alone is public, so the check may be distinct.
	if _, err := dkey.ParsePublicKey(m.x[:]); err != nil {
		return abortWith(OpAbortInvalidPoint, fmt.Errorf("%w: share X: %w", ErrMalformed, err))
	}
	req := p.request()
	info := req.confirmationInfo(nil)
	v, err := spake2plus.NewVerifierFrom(p.rand, spake2plus.CCC{ConfirmationInfo: info, Evidence: p.evidence.internal()}, p.verifier.record, m.x[:])
	switch {
	case errors.Is(err, spake2plus.ErrRandom):
		return fmt.Errorf("pairing: SPAKE2+: %w", err)
	case err != nil:
		return abortWith(OpAbortInvalidPoint, ErrAuthentication)
	}
	p.share = m.x
	p.spake = v
	return nil
}

func (p *VehicleSession) buildVerify() (transport.Command, error) {
	var m verifyCommand
	copy(m.y[:], p.spake.Share())
	copy(m.m1[:], p.spake.Confirmation())
	p.cmd = m.append(p.cmd[:0])
	return transport.Command{CLA: claPlain, INS: insSpakeVerify, Data: p.cmd, Ne: transport.MaxShortNe}, nil
}

func (p *VehicleSession) readVerify(r transport.Response) error {
	// A device that rejects M1 answers with an error status word: the
	// password was wrong, or Y or M1 was tampered with. Both are the one
	// opaque failure.
	var m verifyResponse
	if !r.SW.OK() || !m.unmarshal(r.Data) {
		return abortWith(OpAbortEvidence, ErrAuthentication)
	}
	sk, err := p.spake.Finish(m.m2[:])
	p.spake = nil
	if err != nil {
		return abortWith(OpAbortEvidence, ErrAuthentication)
	}
	err = p.keys.derive(sk)
	clear(sk)
	if err != nil {
		return fmt.Errorf("pairing: SystemKeys: %w", err)
	}
	p.keys.log(p.keyLog, &p.share)
	err = p.sm.Init(&p.keys.channel, securemsg.CommandFirst)
	p.keys.clearChannel()
	if err != nil {
		return fmt.Errorf("pairing: secure channel: %w", err)
	}
	p.smReady = true
	return nil
}

// protect builds a command of the pairing channel.
func (p *VehicleSession) protect(ins byte, plain []byte) (transport.Command, error) {
	var err error
	if p.cmd, err = p.sm.ProtectCommand(p.cmd[:0], plain); err != nil {
		return transport.Command{}, fmt.Errorf("%w: %w", ErrChannel, err)
	}
	return transport.Command{CLA: claSecure, INS: ins, Data: p.cmd, Ne: transport.MaxShortNe}, nil
}

// unprotect checks a response of the pairing channel into p.plain.
func (p *VehicleSession) unprotect(r transport.Response, what string, code OpControlFlow) error {
	switch {
	case r.SW == swKeyExists:
		return abortWith(OpAbortPreconditions, fmt.Errorf("%w: %w", ErrDeviceHasKey, r.SW))
	case r.SW == dkey.SWSecureMessagingIncorrect:
		// The device found a protected command that does not verify.
		return abortWith(OpAbort, fmt.Errorf("%w: %s refused by the device: %w", ErrChannel, what, r.SW))
	case !r.SW.OK():
		return abortWith(code, fmt.Errorf("%w: %s: %w", ErrRefused, what, r.SW))
	}
	var err error
	if p.plain, err = p.sm.UnprotectResponse(p.plain[:0], r.Data); err != nil {
		return abortWith(OpAbort, fmt.Errorf("%w: %s: %w", ErrChannel, what, err))
	}
	return nil
}

func (p *VehicleSession) buildWrite(plain []byte) func() (transport.Command, error) {
	return func() (transport.Command, error) { return p.protect(insWriteData, plain) }
}

func (p *VehicleSession) readWrite(code OpControlFlow) func(transport.Response) error {
	return func(r transport.Response) error {
		if err := p.unprotect(r, "WRITE DATA", code); err != nil {
			return err
		}
		if len(p.plain) != 0 {
			return abortWith(OpAbort, malformed("WRITE DATA response"))
		}
		return nil
	}
}

func (p *VehicleSession) buildOp(code OpControlFlow) func() (transport.Command, error) {
	return func() (transport.Command, error) { return opCommand(code), nil }
}

func (p *VehicleSession) readOp(r transport.Response) error {
	if !r.SW.OK() || len(r.Data) != 0 {
		return abortWith(OpAbort, fmt.Errorf("%w: OP CONTROL FLOW: %w", ErrRefused, r.SW))
	}
	return nil
}

func (p *VehicleSession) buildGet(t tlv.Tag) func() (transport.Command, error) {
	return func() (transport.Command, error) {
		var b [tlv.MaxTagLen]byte
		return p.protect(insGetData, t.Append(b[:0]))
	}
}

func (p *VehicleSession) readGet(t tlv.Tag) func(transport.Response) error {
	return func(r transport.Response) error {
		if err := p.unprotect(r, "GET DATA", OpAbort); err != nil {
			return err
		}
		if len(p.plain) == 0 && t == tagDeviceIntermediate {
			return nil // no Device OEM intermediate
		}
		v, err := tlv.Single(p.plain, t)
		if err != nil {
			return abortWith(OpAbort, fmt.Errorf("%w: GET DATA %v: %w", ErrMalformed, t, err))
		}
		switch t {
		case tagEndpointCert:
			p.endpointCert = bytes.Clone(v)
		case tagInstanceCA:
			p.instanceCA = bytes.Clone(v)
		case tagDeviceIntermediate:
			p.intermediate = bytes.Clone(v)
		case tagKeyCreation:
			if p.slot, err = dkey.NewKeySlot(v); err != nil {
				return abortWith(OpAbort, fmt.Errorf("%w: key creation data: %w", ErrMalformed, err))
			}
			return p.verifyEndpoint()
		}
		return nil
	}
}

// verifyEndpoint checks the endpoint chain up to a Device OEM root, its
// binding to this vehicle, and that it certifies what the vehicle wrote:
// key slot (D3), protocol version, option groups and mailbox sizes.
func (p *VehicleSession) verifyEndpoint() error {
	chain := [][]byte{p.endpointCert, p.instanceCA}
	if p.intermediate != nil {
		chain = append(chain, p.intermediate)
	}
	ep, err := (&cert.Config{DeviceRoots: p.roots, Time: p.now}).VerifyEndpoint(chain, p.id, p.key)
	if err != nil {
		return abortWith(OpAbortCertificate, fmt.Errorf("%w: %w", ErrEndpointCertificate, err))
	}
	e := &ep.Extension
	mb := &p.kc.Mailboxes
	switch {
	case e.InitialKeySlot != p.slot:
		err = fmt.Errorf("initial_key_slot %v, key creation data %v", e.InitialKeySlot, p.slot)
	case e.ProtocolVersion != p.version:
		err = fmt.Errorf("protocol_version %v, want %v", e.ProtocolVersion, p.version)
	case e.OptionGroup1 != p.kc.OptionGroup1 || e.OptionGroup2 != p.kc.OptionGroup2:
		err = fmt.Errorf("option groups %02x %02x, want %02x %02x", e.OptionGroup1, e.OptionGroup2, p.kc.OptionGroup1, p.kc.OptionGroup2)
	case e.ConfidentialMailboxSize != mb.ConfidentialSize || e.PrivateMailboxSize != mb.PrivateSize:
		err = fmt.Errorf("mailbox sizes %d %d, want %d %d", e.ConfidentialMailboxSize, e.PrivateMailboxSize, mb.ConfidentialSize, mb.PrivateSize)
	}
	if err != nil {
		return abortWith(OpAbortCertificate, fmt.Errorf("%w: %w", ErrEndpointCertificate, err))
	}
	p.confirmation = sha256.Sum256(p.endpointCert)
	p.pending = &VehicleResult{Endpoint: ep, PublicKey: ep.Key, Slot: p.slot, Version: p.version, KeyConfig: p.kc}
	return nil
}

// buildConfirmation builds the WRITE DATA 5F5A that tells the device, under
// the channel, that the vehicle verified the endpoint chain: the value is
// SHA-256 of the endpoint certificate it verified (project choice; [CNDK]
// shows an optional 5F5A here, its content is not public). The device
// makes the key usable only after it, at OP CONTROL FLOW 11 11.
func (p *VehicleSession) buildConfirmation() (transport.Command, error) {
	var b [8 + confirmationSize]byte
	return p.protect(insWriteData, tlv.AppendTLV(b[:0], tagConfirmation, p.confirmation[:]))
}

func (p *VehicleSession) readComplete(r transport.Response) error {
	if err := p.readOp(r); err != nil {
		return err
	}
	p.pending.LongTermSecret = p.keys.ltss
	p.pending.BLE = p.keys.bleKeys()
	p.result, p.pending = p.pending, nil
	return nil
}
