package transaction

import (
	"crypto"
	"fmt"
	"io"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/transport"
)

// EndpointConfig configures the endpoint (device applet) side of
// transactions.
type EndpointConfig struct {
	// Profile selects the CCC applet or Home Key. The zero value is CCC.
	Profile dkey.Profile
	// Versions are the applet protocol versions offered in the SELECT
	// response, highest first. The zero value means the profile's versions.
	Versions dkey.VersionList
	// Interface is the interface byte bound into the key derivation; 0 means
	// InterfaceNFC.
	Interface byte
	// Rand, when not nil, replaces crypto/rand as the source of the
	// endpoint's ephemeral keys (see "Deterministic randomness" in the
	// package documentation). It is for tests and conformance vectors
	// only: a predictable source gives away every session key. Nil, the
	// default, means crypto/rand.
	Rand io.Reader
	// KeyLog, when not nil, receives the session keys of every transaction
	// in the key log format of the package documentation, once per
	// session.
	//
	// WARNING: anyone who reads the key log can decrypt the recorded
	// sessions, read the mailboxes they carried and, with Kpersistent,
	// answer the next fast transaction in the endpoint's place. Use it on
	// test benches only, never in a device. Nil, the default, logs nothing.
	KeyLog io.Writer
	// Ephemeral, when not nil, is the pool the session takes its
	// ephemeral keys from (see EphemeralPool); the caller closes it. It
	// excludes Rand: NewEndpointSession refuses both. Nil, the default,
	// means the session generates its key at Auth0.
	Ephemeral *EphemeralPool
}

// Credential is what the endpoint holds for the vehicle that AUTH0 named:
// the key in the secure element and what pairing or sharing bound to it.
// The device looks it up from the vehicle identifier that
// [EndpointSession.ReadAuth0] returns.
type Credential struct {
	// Slot is the key slot identifier returned in AUTH1 (tag 4E).
	Slot dkey.KeySlot
	// Key is the endpoint's long-term private key; it signs AUTH1 and never
	// leaves the secure element.
	Key crypto.Signer
	// PublicKey is the public half of Key.
	PublicKey *dkey.PublicKey
	// VehicleKey is the vehicle's long-term public key, which signs AUTH1.
	VehicleKey *dkey.PublicKey
	// Persistent is Kpersistent from the last standard transaction; the zero
	// value (none yet) means no fast transaction is possible.
	Persistent PersistentKey
}

// EndpointSession is the endpoint side of one transaction at a time, sans
// I/O: the device's applet parses each command APDU, looks up keys and
// applies its policy, and calls the session for the protocol work. It is
// reusable (Select starts over) and allocates nothing on the fast path. It
// is not safe for concurrent use.
//
// The order of calls follows the commands: Select; ReadAuth0 then Auth0;
// Auth1 (standard) or nothing (fast); OpenExchange then SealExchange for
// each EXCHANGE; ReadControlFlow at the end.
type EndpointSession struct {
	core
	profile  dkey.Profile
	versions dkey.VersionList
	iface    byte

	fastKeys bool // the AUTH0 response carried a cryptogram; fast keys are ready
	// fastProof is set when an EXCHANGE command verified under the fast keys:
	// the vehicle proved it knows Kpersistent.
	fastProof bool
	cred      *Credential
	req       auth0
	resp      auth0Response
	sm        securemsg.Receiver
	smReady   bool
	ops       [MaxExchangeOps]MailboxOp
}

// NewEndpointSession returns an idle endpoint session. A nil cfg means
// the zero EndpointConfig: the CCC profile over NFC, crypto/rand, no key
// log and no pool.
func NewEndpointSession(cfg *EndpointConfig) (*EndpointSession, error) {
	if cfg == nil {
		cfg = &EndpointConfig{} // the defaults: the CCC profile over NFC
	}
	if !cfg.Profile.Valid() {
		return nil, fmt.Errorf("transaction: unknown profile %v", cfg.Profile)
	}
	if cfg.Profile == dkey.Aliro {
		return nil, fmt.Errorf("transaction: profile %v runs through NewAliroEndpointSession", cfg.Profile)
	}
	if cfg.Rand != nil && cfg.Ephemeral != nil {
		return nil, errRandAndPool
	}
	s := &EndpointSession{profile: cfg.Profile, versions: cfg.Versions, iface: cfg.Interface}
	s.rand, s.keyLog, s.pool.pool = cfg.Rand, cfg.KeyLog, cfg.Ephemeral
	if s.versions.Len() == 0 {
		s.versions = cfg.Profile.Versions()
	}
	if s.iface == 0 {
		s.iface = InterfaceNFC
	}
	s.ks.init()
	return s, nil
}

// Profile returns the session's profile.
func (s *EndpointSession) Profile() dkey.Profile { return s.profile }

func (s *EndpointSession) fail(err error) error {
	s.wipe()
	s.stage = stageFailed
	return err
}

func (s *EndpointSession) wipe() {
	s.wipeCore()
	if s.smReady {
		s.sm.Close()
		s.smReady = false
	}
	s.fastKeys, s.fastProof = false, false
	s.cred = nil
}

// Select starts a new transaction (the applet was selected) and appends the
// SELECT response data, the offered versions (tag 5C), to dst.
func (s *EndpointSession) Select(dst []byte) []byte {
	s.wipe()
	s.stage = stageSelected
	return appendSelectResponse(dst, s.versions)
}

// Deselect ends the transaction, as when another applet is selected or the
// field drops, and erases its secrets.
func (s *EndpointSession) Deselect() {
	s.wipe()
	s.stage = stageIdle
}

// ReadAuth0 parses the AUTH0 command and returns the vehicle identifier, for
// the device to look up its credential and apply its policy. It checks that
// the selected version is one the endpoint offered (a downgrade is refused
// with ErrVersion), the flags and transaction code (ErrWrongParameters), and
// the vehicle's ephemeral key (ErrMalformed).
func (s *EndpointSession) ReadAuth0(cmd *transport.Command) (dkey.VehicleID, error) {
	if err := s.expect(stageSelected); err != nil {
		return dkey.VehicleID{}, s.fail(err)
	}
	if cmd.CLA != claDK {
		return dkey.VehicleID{}, s.fail(dkey.SWClassNotSupported)
	}
	flags, action := Flags(cmd.P1), dkey.Action(cmd.P2)
	if flags&^knownFlags != 0 || !action.Valid() {
		return dkey.VehicleID{}, s.fail(fmt.Errorf("%w: P1 %02X P2 %02X", ErrWrongParameters, cmd.P1, cmd.P2))
	}
	if !s.req.unmarshal(cmd.Data, s.profile.VehicleIDLen()) {
		return dkey.VehicleID{}, s.fail(malformed("AUTH0 command"))
	}
	if !s.versions.Contains(s.req.version) {
		return dkey.VehicleID{}, s.fail(fmt.Errorf("%w: %v, offered %v", ErrVersion, s.req.version, s.versions))
	}
	if err := s.peer.SetBytes(s.req.vehicleEPK[:]); err != nil {
		return dkey.VehicleID{}, s.fail(fmt.Errorf("%w: vehicle ephemeral key: %w", ErrMalformed, err))
	}
	s.t = transcript{
		profile: s.profile, iface: s.iface, flags: flags, action: action, version: s.req.version,
		endpointVersions: s.versions, vehicleID: s.req.vehicleID, txID: s.req.txID,
	}
	copy(s.t.vehicleEPKX[:], s.peer.X())
	s.stage = stageAuth0Req
	return s.req.vehicleID, nil
}

// Action returns the transaction code (P2) of the AUTH0 command read.
func (s *EndpointSession) Action() dkey.Action { return s.t.action }

// Flags returns the flags (P1) of the AUTH0 command read.
func (s *EndpointSession) Flags() Flags { return s.t.flags }

// Auth0 answers the AUTH0 command read by ReadAuth0 with cred, the
// credential the device holds for the vehicle, and appends the response
// data to dst: the endpoint's ephemeral key and, when fast was asked for and
// cred holds Kpersistent, the fast cryptogram. cred must stay unchanged
// until the transaction ends.
func (s *EndpointSession) Auth0(dst []byte, cred *Credential) ([]byte, error) {
	if err := s.expect(stageAuth0Req); err != nil {
		return dst, s.fail(err)
	}
	if cred == nil || cred.Key == nil || cred.PublicKey == nil || cred.VehicleKey == nil || cred.Slot.IsZero() {
		return dst, s.fail(fmt.Errorf("transaction: incomplete credential"))
	}
	if err := s.newEphemeral(); err != nil {
		return dst, s.fail(fmt.Errorf("transaction: ephemeral key: %w", err))
	}
	return s.answerAuth0(dst, cred)
}

func (s *EndpointSession) answerAuth0(dst []byte, cred *Credential) ([]byte, error) {
	s.cred = cred
	copy(s.t.endpointEPKX[:], s.eph.Public().X())
	copy(s.resp.endpointEPK[:], s.eph.Public().Bytes())
	s.resp.hasCryptogram = false
	if s.t.flags&FlagFast != 0 && cred.Persistent.valid {
		vx, ex := cred.VehicleKey.X(), cred.PublicKey.X()
		info := s.t.appendFastInfo(s.ks.info[:0], vx[:], ex[:])
		s.ks.deriveFast(&cred.Persistent, info)
		copy(s.resp.cryptogram[:], s.ks.okm[:cryptogramSize])
		s.ks.fastKeys(&s.smKeys)
		s.logFastKeys()
		s.resp.hasCryptogram = true
		s.fastKeys = true
	}
	s.stage = stageAuth0
	return s.resp.append(dst), nil
}

// Auth1 runs the standard transaction (docs/protocol.md §4.3, §4.4): it verifies
// the vehicle's signature with the credential's vehicle key, derives the
// session keys, signs the transaction with the endpoint key, and appends the
// protected AUTH1 response to dst. confidential and private are the mailbox
// subsets the key's configuration returns in AUTH1 (nil for none). It
// returns the new Kpersistent, which the device stores in place of the old
// one. A vehicle signature that does not verify returns ErrAuthentication.
func (s *EndpointSession) Auth1(dst []byte, cmd *transport.Command, confidential, private []byte) ([]byte, PersistentKey, error) {
	if err := s.expect(stageAuth0); err != nil {
		return dst, PersistentKey{}, s.fail(err)
	}
	if cmd.CLA != claDK {
		return dst, PersistentKey{}, s.fail(dkey.SWClassNotSupported)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("%w: AUTH1 P1 %02X P2 %02X", ErrWrongParameters, cmd.P1, cmd.P2))
	}
	if len(confidential) > dkey.MaxAuth1Subset || len(private) > dkey.MaxAuth1Subset {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("transaction: AUTH1 mailbox subset longer than %d bytes", dkey.MaxAuth1Subset))
	}
	d := cmd.Data
	if len(d) != 2+dkey.SignatureSize || d[0] != byte(tagSignature) || d[1] != dkey.SignatureSize {
		return dst, PersistentKey{}, s.fail(malformed("AUTH1 command"))
	}
	sig, err := dkey.ParseSignature(d[2:])
	if err != nil {
		return dst, PersistentKey{}, s.fail(ErrAuthentication)
	}
	cred := s.cred
	if cred.VehicleKey.Verify(s.signedData(&usageVehicle), &sig) != nil {
		return dst, PersistentKey{}, s.fail(ErrAuthentication)
	}
	if err := s.deriveSessionKeys(); err != nil {
		return dst, PersistentKey{}, s.fail(err)
	}
	s.logStandardKeys()
	if s.smReady {
		s.sm.Close()
	}
	if err := s.sm.Init(&s.smKeys, securemsg.InitialResponse); err != nil {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("transaction: secure channel: %w", err))
	}
	s.smReady, s.fastKeys = true, false
	esig, err := dkey.Sign(cred.Key, s.signedData(&usageEndpoint))
	if err != nil {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("transaction: signing AUTH1 response: %w", err))
	}
	m := auth1Response{slot: cred.Slot, sig: esig, confidential: confidential, private: private}
	plain := m.append(s.plain[:0])
	out, err := s.sm.ProtectResponse(dst, plain)
	if err != nil {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("%w: %w", ErrChannel, err))
	}
	var pk PersistentKey
	pk.set(s.ks.persist[:], s.ks.mac)
	s.stage = stageStandard
	return out, pk, nil
}

// RangingKey returns the UWB ranging secret key URSK of a standard
// transaction in the CCC profile (Volatile[48:80], docs/protocol.md §4.4), and
// the zero RangingKey (not Valid) otherwise. The applet keeps it for
// CREATE RANGING KEY.
func (s *EndpointSession) RangingKey() RangingKey { return s.rangingKey() }

// OpenExchange verifies and decrypts an EXCHANGE command and returns its
// mailbox operations, for the device to check and apply. The operations
// alias the session and are valid until the next call. EXCHANGE needs a
// standard transaction, or a fast one in which this endpoint sent a
// cryptogram. A command that does not verify returns ErrChannel and ends
// the transaction. It is OpenExchangeData then ParseExchange.
func (s *EndpointSession) OpenExchange(cmd *transport.Command) ([]MailboxOp, error) {
	plain, err := s.OpenExchangeData(cmd)
	if err != nil {
		return nil, err
	}
	return s.ParseExchange(plain)
}

// SealExchange protects plaintext (read results built with
// AppendReadResult, or nothing) as the response to the last EXCHANGE and
// appends it to dst.
func (s *EndpointSession) SealExchange(dst, plaintext []byte) ([]byte, error) {
	if !s.smReady {
		return dst, fmt.Errorf("%w: no EXCHANGE to answer", ErrOutOfSequence)
	}
	if len(plaintext) > MaxExchangeData {
		return dst, fmt.Errorf("%w: %d bytes of read results exceed %d", ErrInvalidOp, len(plaintext), MaxExchangeData)
	}
	out, err := s.sm.ProtectResponse(dst, plaintext)
	if err != nil {
		return dst, s.fail(fmt.Errorf("%w: %w", ErrChannel, err))
	}
	return out, nil
}

// Authenticated reports whether the vehicle has authenticated itself to the
// endpoint in this transaction: by its AUTH1 signature, or, in a fast
// transaction, by an EXCHANGE command that verified under the keys derived
// from Kpersistent. A fast transaction without EXCHANGE authenticates the
// endpoint to the vehicle only: anyone can replay an AUTH0 and read a
// cryptogram.
func (s *EndpointSession) Authenticated() bool {
	return s.stage == stageStandard || (s.stage == stageAuth0 && s.fastProof)
}

// Standard reports whether a standard transaction completed.
func (s *EndpointSession) Standard() bool { return s.stage == stageStandard }

// ReadControlFlow parses the CONTROL FLOW command (80 3C P1 P2, no data) and
// returns its code. The transaction ends: its secrets are erased.
func (s *EndpointSession) ReadControlFlow(cmd *transport.Command) (ControlFlow, error) {
	if cmd.CLA != claDK || len(cmd.Data) != 0 {
		return 0, fmt.Errorf("%w: CONTROL FLOW with CLA %02X and %d data bytes", ErrMalformed, cmd.CLA, len(cmd.Data))
	}
	c := ControlFlow(uint16(cmd.P1)<<8 | uint16(cmd.P2))
	s.wipe()
	s.stage = stageIdle
	return c, nil
}
