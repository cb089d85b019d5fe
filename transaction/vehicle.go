package transaction

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/transport"
)

// VehicleConfig configures the vehicle (reader) side of transactions.
type VehicleConfig struct {
	// Profile selects the CCC applet or Home Key. The zero value is CCC.
	Profile dkey.Profile
	// VehicleID identifies the vehicle to endpoints (AUTH0 tag 4D): 8 bytes
	// for CCC, 16 for Home Key (reader group identifier ‖ reader identifier).
	VehicleID dkey.VehicleID
	// Key is the vehicle's long-term P-256 key, which signs AUTH1. It may sit
	// in a secure element or HSM.
	Key crypto.Signer
	// Versions are the applet protocol versions the vehicle speaks, highest
	// first; the session selects the highest one the endpoint offers. The
	// zero value means Profile.VehicleVersions(): 1.0 for CCC, 2.0 alone for
	// Home Key. A Home Key vehicle that must also serve 1.0 endpoints lists
	// 2.0 and 1.0 here, an explicit opt-in: 1.0 binds no version list into
	// the key derivation, so a relay that strips 2.0 from the SELECT response
	// makes such a vehicle settle for 1.0 unnoticed.
	Versions dkey.VersionList
	// Interface is the interface byte bound into the key derivation; 0 means
	// InterfaceNFC. The byte for BLE is not public (docs/protocol.md §4.4, §11
	// item 7).
	Interface byte
	// Rand, when not nil, replaces crypto/rand as the source of the
	// vehicle's random values: the ephemeral key and the transaction
	// identifier of each transaction (see "Deterministic randomness" in
	// the package documentation). It is for tests and conformance vectors
	// only: a predictable source gives away every session key. Nil, the
	// default, means crypto/rand. Sessions running at once read it
	// concurrently.
	Rand io.Reader
	// KeyLog, when not nil, receives the session keys of every transaction
	// in the key log format of the package documentation, once per
	// session.
	//
	// WARNING: anyone who reads the key log can decrypt the recorded
	// sessions, read the mailboxes they carried and, with Kpersistent,
	// answer the next fast transaction in the endpoint's place. Use it on
	// test benches only, never in a vehicle. Nil, the default, logs
	// nothing.
	KeyLog io.Writer
	// Ephemeral, when not nil, is the pool the sessions take their
	// ephemeral keys from (see EphemeralPool); the caller closes it. It
	// excludes Rand: NewVehicleParams refuses both. Nil, the default, means
	// each session generates its key at Start.
	Ephemeral *EphemeralPool
}

// VehicleParams is the validated, immutable vehicle configuration that sessions
// share. It is safe for concurrent use.
type VehicleParams struct {
	profile  dkey.Profile
	id       dkey.VehicleID
	key      crypto.Signer
	pub      *dkey.PublicKey
	pubX     [coordSize]byte
	versions dkey.VersionList
	iface    byte
	rand     io.Reader
	keyLog   io.Writer
	pool     *EphemeralPool
}

// NewVehicleParams validates cfg and returns the vehicle side. A nil cfg
// is an error: the configuration carries the vehicle identity and key.
func NewVehicleParams(cfg *VehicleConfig) (*VehicleParams, error) {
	if cfg == nil {
		return nil, errors.New("transaction: NewVehicleParams needs a VehicleConfig (its profile, vehicle identifier and key)")
	}
	if !cfg.Profile.Valid() {
		return nil, fmt.Errorf("transaction: unknown profile %v", cfg.Profile)
	}
	if cfg.Profile == dkey.Aliro {
		return nil, fmt.Errorf("transaction: profile %v runs through NewAliroReader", cfg.Profile)
	}
	if cfg.VehicleID.Len() != cfg.Profile.VehicleIDLen() {
		return nil, fmt.Errorf("transaction: %w: %d bytes for profile %v, want %d", dkey.ErrInvalidVehicleID, cfg.VehicleID.Len(), cfg.Profile, cfg.Profile.VehicleIDLen())
	}
	if cfg.Key == nil {
		return nil, errors.New("transaction: vehicle key is nil")
	}
	if cfg.Rand != nil && cfg.Ephemeral != nil {
		return nil, errRandAndPool
	}
	pub, err := dkey.PublicKeyOf(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("transaction: vehicle key: %w", err)
	}
	v := &VehicleParams{
		profile: cfg.Profile, id: cfg.VehicleID, key: cfg.Key, pub: pub, versions: cfg.Versions, iface: cfg.Interface,
		rand: cfg.Rand, keyLog: cfg.KeyLog, pool: cfg.Ephemeral,
	}
	v.pubX = pub.X()
	if v.versions.Len() == 0 {
		// Home Key: 2.0 only unless the configuration opts in to 1.0, so
		// that a stripped SELECT response is refused (the project's
		// choice; see dkey.Profile.VehicleVersions).
		v.versions = cfg.Profile.VehicleVersions()
	}
	if v.iface == 0 {
		v.iface = InterfaceNFC
	}
	return v, nil
}

// PublicKey returns the vehicle's long-term public key.
func (v *VehicleParams) PublicKey() *dkey.PublicKey { return v.pub }

// ID returns the vehicle identifier.
func (v *VehicleParams) ID() dkey.VehicleID { return v.id }

// Profile returns the profile.
func (v *VehicleParams) Profile() dkey.Profile { return v.profile }

// FastKey is what the vehicle keeps per enrolled key to recognise its fast
// cryptogram: the X coordinate of the endpoint's long-term public key and
// Kpersistent. The vehicle passes them to [VehicleSession.FindFast] most
// recently used first.
type FastKey struct {
	endpointX  [coordSize]byte
	persistent PersistentKey
}

// NewFastKey returns the fast-transaction entry of an enrolled key. Both
// arguments must be non-nil; when either is nil the entry is inert: Valid
// reports false and FindFast never matches it.
func NewFastKey(endpoint *dkey.PublicKey, k *PersistentKey) FastKey {
	if endpoint == nil || k == nil {
		return FastKey{} // no Kpersistent: FindFast skips it
	}
	return FastKey{endpointX: endpoint.X(), persistent: *k}
}

// Valid reports whether the entry holds a Kpersistent.
func (k *FastKey) Valid() bool { return k.persistent.valid }

// Zeroize erases the entry's Kpersistent.
func (k *FastKey) Zeroize() { k.persistent.Zeroize() }

// VehicleSession is the vehicle side of one transaction at a time, sans I/O:
// its methods build command APDUs and read responses, and the caller moves
// them (see package vehicle for the driver). A session is reusable: Start
// begins the next transaction and reuses every buffer, so a fast transaction
// allocates nothing. It is not safe for concurrent use.
//
// The order of calls is
//
//	Start, Select, ReadSelect, Auth0, ReadAuth0,
//	then FindFast (fast) or Auth1, ReadAuth1, VerifyEndpoint (standard),
//	then any number of Exchange, ReadExchange,
//	then ControlFlow, and Close when done with the session.
//
// A call out of order returns an error wrapping ErrOutOfSequence; a failure
// ends the transaction (later calls fail until the next Start), except
// ControlFlow, which is sent in every case.
type VehicleSession struct {
	core
	v         *VehicleParams
	resp      auth0Response
	auth1     auth1Response
	sm        securemsg.Sender
	smReady   bool
	persist   PersistentKey
	cmd       [maxMessage]byte
	opsBuf    [MaxExchangeData]byte
	selectAID [16]byte
}

// NewSession returns a new, idle session.
func (v *VehicleParams) NewSession() *VehicleSession {
	s := &VehicleSession{v: v}
	s.rand, s.keyLog, s.pool.pool = v.rand, v.keyLog, v.pool
	s.ks.init()
	return s
}

// fail ends the transaction: its secrets are erased, and err is returned.
func (s *VehicleSession) fail(err error) error {
	s.stage = stageFailed
	s.wipe()
	return err
}

func (s *VehicleSession) wipe() {
	s.wipeCore()
	if s.smReady {
		s.sm.Close()
		s.smReady = false
	}
	clear(s.opsBuf[:])
	s.persist.Zeroize()
}

// Start begins a transaction for action. flags are P1 of AUTH0: FlagFast
// asks the endpoint for a cryptogram. It draws the ephemeral key and the
// transaction identifier.
func (s *VehicleSession) Start(action dkey.Action, flags Flags) error {
	s.wipe()
	s.stage = stageIdle
	if !action.Valid() {
		return fmt.Errorf("%w: transaction code %#x", ErrWrongParameters, uint8(action))
	}
	if flags&^knownFlags != 0 {
		return fmt.Errorf("%w: flags %#x", ErrWrongParameters, uint8(flags))
	}
	if err := s.newEphemeral(); err != nil {
		return fmt.Errorf("transaction: ephemeral key: %w", err)
	}
	s.t = transcript{profile: s.v.profile, iface: s.v.iface, flags: flags, action: action, vehicleID: s.v.id}
	if err := s.newTxID(); err != nil {
		return fmt.Errorf("transaction: transaction identifier: %w", err)
	}
	copy(s.t.vehicleEPKX[:], s.eph.Public().X())
	s.stage = stageStarted
	return nil
}

// newTxID draws the transaction identifier.
func (s *VehicleSession) newTxID() error {
	switch {
	case s.testingOnlyTxID != nil:
		s.t.txID = *s.testingOnlyTxID
		return nil
	case s.rand != nil:
		_, err := io.ReadFull(s.rand, s.t.txID[:])
		return err
	}
	_, err := rand.Read(s.t.txID[:])
	return err
}

// Select returns the SELECT command of the profile's applet.
func (s *VehicleSession) Select() transport.Command {
	aid := s.v.profile.AppletAID()
	n := copy(s.selectAID[:], aid)
	return transport.Command{CLA: claISO, INS: insSelect, P1: p1SelectName, P2: 0x00, Data: s.selectAID[:n], Ne: selectNe}
}

// ReadSelect reads the SELECT response and selects the highest protocol
// version both sides speak.
func (s *VehicleSession) ReadSelect(r transport.Response) error {
	if err := s.expect(stageStarted); err != nil {
		return err
	}
	if err := responseError("SELECT", &r); err != nil {
		return s.fail(err)
	}
	offered, err := parseSelectResponse(r.Data)
	if err != nil {
		return s.fail(err)
	}
	v, ok := s.v.versions.Select(offered)
	if !ok {
		return s.fail(fmt.Errorf("%w: endpoint offers %v, vehicle speaks %v", ErrVersion, offered, s.v.versions))
	}
	s.t.version, s.t.endpointVersions = v, offered
	s.stage = stageSelected
	return nil
}

// Version returns the protocol version selected by ReadSelect.
func (s *VehicleSession) Version() dkey.Version { return s.t.version }

// Auth0 returns the AUTH0 command.
func (s *VehicleSession) Auth0() (transport.Command, error) {
	if err := s.expect(stageSelected); err != nil {
		return transport.Command{}, err
	}
	m := auth0{version: s.t.version, txID: s.t.txID, vehicleID: s.v.id}
	copy(m.vehicleEPK[:], s.eph.Public().Bytes())
	data := m.append(s.cmd[:0])
	return transport.Command{CLA: claDK, INS: insAuth0, P1: byte(s.t.flags), P2: byte(s.t.action), Data: data, Ne: responseNe}, nil
}

// ReadAuth0 reads the AUTH0 response: the endpoint's ephemeral key and, if
// fast was asked for and the endpoint holds Kpersistent, its cryptogram.
func (s *VehicleSession) ReadAuth0(r transport.Response) error {
	if err := s.expect(stageSelected); err != nil {
		return err
	}
	if err := responseError("AUTH0", &r); err != nil {
		return s.fail(err)
	}
	if !s.resp.unmarshal(r.Data) {
		return s.fail(malformed("AUTH0 response"))
	}
	if s.resp.hasCryptogram && s.t.flags&FlagFast == 0 {
		return s.fail(malformed("AUTH0 response: cryptogram without a fast request"))
	}
	if err := s.peer.SetBytes(s.resp.endpointEPK[:]); err != nil {
		return s.fail(fmt.Errorf("%w: endpoint ephemeral key: %w", ErrMalformed, err))
	}
	copy(s.t.endpointEPKX[:], s.peer.X())
	s.stage = stageAuth0
	return nil
}

// HasCryptogram reports whether the endpoint answered AUTH0 with a fast
// cryptogram.
func (s *VehicleSession) HasCryptogram() bool { return s.stage == stageAuth0 && s.resp.hasCryptogram }

// FindFast looks for the enrolled key whose Kpersistent produced the
// endpoint's cryptogram, trying keys in order (the caller passes them most
// recently used first, docs/protocol.md §4.5). It returns the index of the match,
// or -1 when no key matches or there is no cryptogram. On a match the
// transaction is authenticated and the fast secure-messaging keys are ready
// for Exchange. Each candidate costs one HMAC-SHA256; the comparison is
// constant time.
func (s *VehicleSession) FindFast(keys []FastKey) int {
	if !s.HasCryptogram() {
		return -1
	}
	info := s.t.appendFastInfo(s.ks.info[:0], s.v.pubX[:], nil)
	off := s.t.fastInfoEndpointOffset()
	for i := range keys {
		k := &keys[i]
		if !k.persistent.valid {
			continue
		}
		copy(info[off:off+coordSize], k.endpointX[:])
		if s.ks.fastCryptogramMatches(&k.persistent, info, &s.resp.cryptogram) {
			s.ks.deriveFast(&k.persistent, info)
			s.ks.fastKeys(&s.smKeys)
			s.logFastKeys()
			s.stage = stageFast
			return i
		}
	}
	return -1
}

// Auth1 returns the AUTH1 command: the vehicle's signature over the
// transaction (docs/protocol.md §4.3). It may follow a fast match, when the
// action needs a standard transaction anyway.
func (s *VehicleSession) Auth1() (transport.Command, error) {
	if err := s.expect(stageAuth0, stageFast); err != nil {
		return transport.Command{}, err
	}
	sig, err := dkey.Sign(s.v.key, s.signedData(&usageVehicle))
	if err != nil {
		return transport.Command{}, s.fail(fmt.Errorf("transaction: signing AUTH1: %w", err))
	}
	data := append(s.cmd[:0], byte(tagSignature), dkey.SignatureSize)
	data = append(data, sig[:]...)
	s.stage = stageAuth0
	return transport.Command{CLA: claDK, INS: insAuth1, Data: data, Ne: responseNe}, nil
}

// Auth1Result is what the AUTH1 response says before the vehicle has checked
// the endpoint's signature: which key slot claims to answer, and the mailbox
// subsets it returned. The subsets alias the session and are valid until
// the next call.
type Auth1Result struct {
	Slot         dkey.KeySlot
	Confidential []byte // confidential-mailbox subset (tag 4A), if any
	Private      []byte // private-mailbox subset (tag 4B), if any
}

// ReadAuth1 derives the session keys (ECDH, X9.63, HKDF, docs/protocol.md §4.4),
// verifies and decrypts the AUTH1 response and returns the key slot it
// names. The caller looks the slot up and calls VerifyEndpoint with that
// key's public key. A response that does not verify returns ErrChannel.
func (s *VehicleSession) ReadAuth1(r transport.Response) (Auth1Result, error) {
	if err := s.expect(stageAuth0); err != nil {
		return Auth1Result{}, err
	}
	if err := responseError("AUTH1", &r); err != nil {
		return Auth1Result{}, s.fail(err)
	}
	if err := s.deriveSessionKeys(); err != nil {
		return Auth1Result{}, s.fail(err)
	}
	s.logStandardKeys()
	if err := s.sm.Init(&s.smKeys, securemsg.InitialResponse); err != nil {
		return Auth1Result{}, s.fail(fmt.Errorf("transaction: secure channel: %w", err))
	}
	s.smReady = true
	plain, err := s.sm.UnprotectResponse(s.plain[:0], r.Data)
	if err != nil {
		return Auth1Result{}, s.fail(fmt.Errorf("%w: AUTH1 response: %w", ErrChannel, err))
	}
	if !s.auth1.unmarshal(plain) {
		return Auth1Result{}, s.fail(malformed("AUTH1 response"))
	}
	s.stage = stageAuth1
	return Auth1Result{Slot: s.auth1.slot, Confidential: s.auth1.confidential, Private: s.auth1.private}, nil
}

// VerifyEndpoint checks the endpoint's AUTH1 signature with the public key
// of the slot ReadAuth1 returned. On success the transaction is
// authenticated and the new Kpersistent is returned, to replace the stored
// one (docs/protocol.md §4.5: it changes after every standard transaction). A
// signature that does not verify returns ErrAuthentication.
func (s *VehicleSession) VerifyEndpoint(endpoint *dkey.PublicKey) (PersistentKey, error) {
	if err := s.expect(stageAuth1); err != nil {
		return PersistentKey{}, err
	}
	if endpoint == nil || endpoint.Verify(s.signedData(&usageEndpoint), &s.auth1.sig) != nil {
		return PersistentKey{}, s.fail(ErrAuthentication)
	}
	s.persist.set(s.ks.persist[:], s.ks.mac)
	s.stage = stageStandard
	return s.persist, nil
}

// RangingKey returns the UWB ranging secret key URSK of an authenticated
// standard transaction in the CCC profile (Volatile[48:80], docs/protocol.md
// §4.4), and the zero RangingKey (not Valid) otherwise.
func (s *VehicleSession) RangingKey() RangingKey { return s.rangingKey() }

// Fast reports whether the transaction was authenticated by a fast
// cryptogram (and not by AUTH1).
func (s *VehicleSession) Fast() bool { return s.stage == stageFast }

// Authenticated reports whether the transaction is authenticated, fast or
// standard.
func (s *VehicleSession) Authenticated() bool {
	return s.stage == stageFast || s.stage == stageStandard
}

// Exchange returns an EXCHANGE command carrying ops under secure messaging
// (docs/protocol.md §4.8). It needs an authenticated transaction; after a fast
// one it uses the fast keys (see package securemsg for that choice).
func (s *VehicleSession) Exchange(ops []MailboxOp) (transport.Command, error) {
	if !s.Authenticated() {
		return transport.Command{}, fmt.Errorf("%w: EXCHANGE before authentication", ErrOutOfSequence)
	}
	plain, err := appendOps(s.opsBuf[:0], ops)
	if err != nil {
		return transport.Command{}, err
	}
	return s.protectExchange(plain)
}

// ReadExchange verifies and decrypts an EXCHANGE response (to Exchange or
// AttestationExchange) and returns its plaintext (read results, see
// NewReadResults). It aliases the session and
// is valid until the next call. A status word other than 9000 returns an
// error wrapping it and leaves the channel usable; a response that does not
// verify returns ErrChannel and ends the transaction.
func (s *VehicleSession) ReadExchange(r transport.Response) ([]byte, error) {
	if !(s.Authenticated() || s.attestable()) || !s.smReady {
		return nil, fmt.Errorf("%w: EXCHANGE response without EXCHANGE", ErrOutOfSequence)
	}
	if err := responseError("EXCHANGE", &r); err != nil {
		return nil, err
	}
	plain, err := s.sm.UnprotectResponse(s.plain[:0], r.Data)
	if err != nil {
		return nil, s.fail(fmt.Errorf("%w: EXCHANGE response: %w", ErrChannel, err))
	}
	return plain, nil
}

// ControlFlow returns the CONTROL FLOW command that reports the outcome to
// the device (docs/protocol.md §4.9). It is sent in clear, in every case, and may
// be sent at any point after Start.
func (s *VehicleSession) ControlFlow(c ControlFlow) transport.Command {
	return transport.Command{CLA: claDK, INS: insControl, P1: c.P1(), P2: c.P2()}
}

// Close erases the session's secrets. The session can be started again.
func (s *VehicleSession) Close() {
	s.wipe()
	s.stage = stageIdle
}
