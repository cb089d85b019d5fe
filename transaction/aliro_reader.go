package transaction

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/ecdhe"
	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/transport"
)

// AliroReaderConfig configures the reader side of Aliro transactions (a
// door lock or an access-control reader).
type AliroReaderConfig struct {
	// ReaderID is the reader_identifier sent in AUTH0: the group identifier
	// the devices look their credential up by, and this reader's random
	// sub-group identifier (Aliro 1.0 6.2).
	ReaderID dkey.ReaderID
	// Key is the reader's long-term P-256 key, which signs AUTH1. It may sit
	// in a secure element or HSM. A Matter Door Lock receives it as the
	// signingKey of SetAliroReaderConfig.
	Key crypto.Signer
	// GroupKey is the reader_group_identifier_key, bound into every key
	// derivation: the public half of Key when the reader has no
	// certificate (nil means that), the Reader System Issuer CA key when
	// Certificate is set (Aliro 1.0 6.2, 8.3.1.13).
	GroupKey *dkey.PublicKey
	// Certificate is the compressed reader_Cert (profile0000) of Key,
	// issued by the CA whose key is GroupKey; nil for none.
	Certificate []byte
	// CertificateInAuth1 sends Certificate in AUTH1 (tag 90) instead of a
	// LOAD CERT command (Aliro 1.0 8.3.3.3: either is allowed).
	CertificateInAuth1 bool
	// Versions are the expedited-phase protocol versions the reader speaks,
	// highest first; the session selects the highest one the device offers.
	// The zero value means 1.0 alone (dkey.Aliro.VehicleVersions()). Listing
	// dkey.VersionAliro09 is an explicit opt-in for pre-1.0 devices.
	Versions dkey.VersionList
	// Interface is the interface byte bound into the key derivation: 0 means
	// InterfaceNFC (5E); InterfaceBLE (C3) over Bluetooth LE.
	Interface byte
	// RequestKeySlot makes AUTH1 ask for the 8-byte key_slot (4E) instead of
	// the 65-byte public key (5A); a reader that stores the enrolled keys can
	// look them up by slot.
	RequestKeySlot bool
	// Auth0Extension is the value of the AUTH0 vendor extension (B1, up to
	// 127 bytes; Aliro 1.0 Table 8-7: one or more SEQUENCEs, each starting
	// with a 3-byte OUI or CID); nil for none. Both sides bind it into the
	// key derivation.
	Auth0Extension []byte
	// Rand, when not nil, replaces crypto/rand as the source of the
	// reader's random values: per transaction, the ephemeral key and then
	// the transaction identifier (see "Deterministic randomness" in the
	// package documentation). It is for tests and conformance vectors
	// only: a predictable source gives away every session key. Nil, the
	// default, means crypto/rand. Sessions running at once read it
	// concurrently.
	Rand io.Reader
	// KeyLog, when not nil, receives the session keys of every
	// transaction in the key log format of the package documentation.
	//
	// WARNING: anyone who reads the key log can decrypt the recorded
	// sessions and, with Kpersistent, answer the next fast transaction in
	// the credential's place. Use it on test benches only, never in a
	// lock. Nil, the default, logs nothing.
	KeyLog io.Writer
}

// AliroReader is the validated, immutable reader configuration that
// sessions share. It is safe for concurrent use.
type AliroReader struct {
	id        dkey.ReaderID
	key       crypto.Signer
	pub       *dkey.PublicKey
	groupKey  *dkey.PublicKey
	groupX    [coordSize]byte
	cert      []byte
	certAuth1 bool
	versions  dkey.VersionList
	iface     byte
	keySlot   bool
	ext       []byte
	rand      io.Reader
	keyLog    io.Writer
}

// NewAliroReader validates cfg and returns the reader side. A certificate
// must parse, name Key's public key as subject and verify with GroupKey
// (its validity is the device's to judge). A nil cfg is an error: the
// configuration carries the reader identifier and key.
func NewAliroReader(cfg *AliroReaderConfig) (*AliroReader, error) {
	if cfg == nil {
		return nil, errors.New("transaction: NewAliroReader needs an AliroReaderConfig (its reader identifier and key)")
	}
	if cfg.Key == nil {
		return nil, errors.New("transaction: Aliro reader key is nil")
	}
	pub, err := dkey.PublicKeyOf(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("transaction: Aliro reader key: %w", err)
	}
	if cfg.ReaderID.IsZero() {
		return nil, fmt.Errorf("transaction: %w: all zero", dkey.ErrInvalidReaderID)
	}
	r := &AliroReader{
		id: cfg.ReaderID, key: cfg.Key, pub: pub, groupKey: cfg.GroupKey, certAuth1: cfg.CertificateInAuth1,
		versions: cfg.Versions, iface: cfg.Interface, keySlot: cfg.RequestKeySlot, rand: cfg.Rand, keyLog: cfg.KeyLog,
	}
	if cfg.Certificate != nil {
		if cfg.GroupKey == nil {
			return nil, fmt.Errorf("%w: a certificate needs the issuer key as GroupKey", ErrCertificate)
		}
		c, err := ParseAliroCertificate(cfg.Certificate)
		if err != nil {
			return nil, err
		}
		if !c.PublicKey.Equal(pub) {
			return nil, fmt.Errorf("%w: its subject is not the reader key", ErrCertificate)
		}
		sig, err := dkey.SignatureFromASN1(c.Signature)
		if err != nil || cfg.GroupKey.Verify(c.tbs(cfg.GroupKey), &sig) != nil {
			return nil, fmt.Errorf("%w: does not verify with GroupKey", ErrCertificate)
		}
		r.cert = append([]byte(nil), cfg.Certificate...)
	} else if r.groupKey == nil {
		r.groupKey = pub
	}
	r.groupX = r.groupKey.X()
	if r.versions.Len() == 0 {
		r.versions = dkey.Aliro.VehicleVersions()
	}
	if r.iface == 0 {
		r.iface = InterfaceNFC
	}
	if cfg.Auth0Extension != nil {
		if len(cfg.Auth0Extension) == 0 || len(cfg.Auth0Extension) > MaxAliroExtension || !tlvList(cfg.Auth0Extension) {
			return nil, fmt.Errorf("transaction: AUTH0 vendor extension of %d bytes is not 1 to %d bytes of data objects", len(cfg.Auth0Extension), MaxAliroExtension)
		}
		r.ext = append([]byte(nil), cfg.Auth0Extension...)
	}
	return r, nil
}

// PublicKey returns the reader's signing public key.
func (r *AliroReader) PublicKey() *dkey.PublicKey { return r.pub }

// GroupKey returns the reader_group_identifier_key.
func (r *AliroReader) GroupKey() *dkey.PublicKey { return r.groupKey }

// ID returns the reader identifier.
func (r *AliroReader) ID() dkey.ReaderID { return r.id }

// aliroStage is how far an Aliro session has come.
type aliroStage uint8

const (
	aliroStIdle     aliroStage = iota // nothing yet, or closed
	aliroStStarted                    // reader: Start called
	aliroStSelected                   // SELECT done
	aliroStAuth0Req                   // endpoint: AUTH0 read, not answered
	aliroStAuth0                      // AUTH0 done (LOAD CERT may have followed)
	aliroStFast                       // fast: cryptogram matched (reader) or sent with fast keys (endpoint)
	aliroStAuth1                      // reader: AUTH1 response decrypted, signature not yet verified
	aliroStStandard                   // standard transaction authenticated
	aliroStEnded                      // reader status sent or answered; only CONTROL FLOW remains
	aliroStFailed                     // a failure ended the transaction
)

// String returns the stage name, for error messages.
func (st aliroStage) String() string {
	names := [...]string{"idle", "started", "selected", "AUTH0 read", "AUTH0 done", "fast", "AUTH1 read", "standard", "ended", "failed"}
	if int(st) < len(names) {
		return names[st]
	}
	return fmt.Sprintf("aliroStage(%d)", uint8(st))
}

// Buffer sizes of the Aliro sessions.
const (
	maxAliroPlain   = MaxAliroExchangeData
	maxAliroCommand = MaxAliroExchangeData + gcmchannel.TagSize
	maxAliroSigned  = 2 + dkey.ReaderIDLen + 2*(2+coordSize) + 2 + txIDSize + 2 + 4
)

// aliroCore is the state both roles keep for one Aliro transaction.
type aliroCore struct {
	stage  aliroStage
	t      aliroTranscript
	eph    ecdhe.PrivateKey
	peer   ecdhe.PublicKey
	z      [32]byte
	mac    *hmacSHA256
	keys   aliroKeys
	crypt  aliroCryptogram
	ch     gcmchannel.Channel
	signed [maxAliroSigned]byte
	plain  [maxAliroPlain]byte

	// rand and keyLog are the configuration's Rand and KeyLog: nil means
	// crypto/rand and no key log.
	rand   io.Reader
	keyLog io.Writer

	// testingOnlyScalar, when set by a test, replaces the random ephemeral
	// scalar, and testingOnlyTxID the reader's transaction identifier, so
	// that tests can reproduce published transcripts.
	testingOnlyScalar []byte
	testingOnlyTxID   *[txIDSize]byte
}

func (c *aliroCore) newEphemeral() error {
	switch {
	case c.testingOnlyScalar != nil:
		return c.eph.SetScalar(c.testingOnlyScalar)
	case c.rand != nil:
		return c.eph.GenerateFrom(c.rand)
	}
	return c.eph.Generate()
}

// randomBytes fills b from the configuration's Rand, or crypto/rand.
func (c *aliroCore) randomBytes(b []byte) error {
	if c.rand != nil {
		_, err := io.ReadFull(c.rand, b)
		return err
	}
	_, err := rand.Read(b)
	return err
}

func (c *aliroCore) expect(st ...aliroStage) error {
	for _, x := range st {
		if c.stage == x {
			return nil
		}
	}
	return fmt.Errorf("%w: Aliro session is at stage %v", ErrOutOfSequence, c.stage)
}

func (c *aliroCore) wipeCore() {
	c.eph.Zeroize()
	c.keys.zeroize()
	clear(c.z[:])
	clear(c.plain[:])
	c.ch.Close()
	if c.mac != nil {
		c.mac.zeroize()
	}
}

// authData returns the data an AUTH1 signature with usage covers.
func (c *aliroCore) authData(usage *[4]byte) []byte {
	return appendAliroAuthData(c.signed[:0], c.t.readerID, c.t.endpointEPKX[:], c.t.readerEPKX[:], &c.t.txID, usage)
}

// deriveStandard runs ECDH on the ephemeral keys and the standard key
// schedule, and keys the channel for role with the expedited keys.
func (c *aliroCore) deriveStandard(role gcmchannel.Role) error {
	if err := c.eph.ECDH(&c.z, &c.peer); err != nil {
		return fmt.Errorf("transaction: ECDH: %w", err)
	}
	c.keys.deriveStandard(c.mac, &c.t, &c.z)
	c.logStandardKeys()
	r, d := c.keys.channelKeys()
	if err := c.ch.Init(role, r, d, aliroLastCounter); err != nil {
		return fmt.Errorf("transaction: secure channel: %w", err)
	}
	return nil
}

// openFastChannel keys the channel with the fast keys, on the first EXCHANGE
// after a fast transaction: a fast transaction without EXCHANGE then costs
// no AES key schedule beyond the cryptogram's.
func (c *aliroCore) openFastChannel(role gcmchannel.Role) error {
	if c.ch.Ready() {
		return nil
	}
	r, d := c.keys.channelKeys()
	if err := c.ch.Init(role, r, d, aliroLastCounter); err != nil {
		return fmt.Errorf("transaction: secure channel: %w", err)
	}
	return nil
}

// AliroReaderSession is the reader side of one Aliro transaction at a time,
// sans I/O: its methods build command APDUs and read responses, and the
// caller moves them (package vehicle drives it). A session is reusable:
// Start begins the next transaction and reuses every buffer. It is not safe
// for concurrent use.
//
// The order of calls is
//
//	Start, Select, ReadSelect, Auth0, ReadAuth0,
//	then FindFast (fast) and/or
//	     [LoadCertificate, ReadLoadCertificate], Auth1, ReadAuth1, VerifyEndpoint (standard),
//	then any number of Exchange, ReadExchange (the last one with the reader status),
//	or ControlFlow when no secure channel exists; Close when done.
//
// A call out of order returns an error wrapping ErrOutOfSequence; a failure
// ends the transaction (later calls fail until the next Start), except
// ControlFlow.
type AliroReaderSession struct {
	aliroCore
	r         *AliroReader
	fci       aliroFCI
	resp      aliroAuth0Response
	auth1     aliroAuth1Response
	wantKey   bool // AUTH1 asked for the public key
	status    AliroStatus
	cmd       [maxAliroCommand]byte
	ops       [maxAliroPlain]byte
	selectAID [16]byte
	certSent  bool
	stepUp    bool // the last EXCHANGE sent was a step-up one (aliro_stepup.go)
}

// NewSession returns a new, idle session.
func (r *AliroReader) NewSession() *AliroReaderSession {
	return &AliroReaderSession{r: r, aliroCore: aliroCore{mac: newHMAC(), rand: r.rand, keyLog: r.keyLog}}
}

func (s *AliroReaderSession) fail(err error) error {
	s.wipeCore()
	s.stage = aliroStFailed
	return err
}

// Start begins a transaction with authentication policy policy; fast asks
// the device for a cryptogram (expedited-fast). It draws the ephemeral key
// and the transaction identifier. A reader must not send
// AliroPolicySecureAction over Bluetooth LE (Aliro 1.0 Table 8-1).
func (s *AliroReaderSession) Start(policy AliroPolicy, fast bool) error {
	s.wipeCore()
	s.stage = aliroStIdle
	if !policy.Valid() || policy == AliroPolicySecureAction && s.r.iface == InterfaceBLE {
		return fmt.Errorf("%w: authentication policy %v over interface %02X", ErrWrongParameters, policy, s.r.iface)
	}
	if err := s.newEphemeral(); err != nil {
		return fmt.Errorf("transaction: ephemeral key: %w", err)
	}
	s.t = aliroTranscript{groupKeyX: s.r.groupX, readerID: s.r.id, iface: s.r.iface, policy: policy}
	if fast {
		s.t.params = aliroParamFast
	}
	s.t.setCmdExt(s.r.ext)
	if s.testingOnlyTxID != nil {
		s.t.txID = *s.testingOnlyTxID
	} else if err := s.randomBytes(s.t.txID[:]); err != nil {
		return fmt.Errorf("transaction: transaction identifier: %w", err)
	}
	copy(s.t.readerEPKX[:], s.eph.Public().X())
	s.wantKey, s.certSent, s.stepUp, s.status = !s.r.keySlot, false, false, AliroStatus{}
	s.stage = aliroStStarted
	return nil
}

// Select returns the SELECT command of the expedited applet, with Le 00.
func (s *AliroReaderSession) Select() transport.Command {
	n := copy(s.selectAID[:], dkey.AIDAliro)
	return transport.Command{CLA: claISO, INS: insSelect, P1: p1SelectName, P2: 0x00, Data: s.selectAID[:n], Ne: selectNe}
}

// ReadSelect reads the SELECT response (an FCI template) and selects the
// highest protocol version both sides speak. A device that offers none of
// the reader's versions fails with ErrVersion; the reader then reports it in
// CONTROL FLOW with AliroS2VersionUnsupported.
func (s *AliroReaderSession) ReadSelect(r transport.Response) error {
	if err := s.expect(aliroStStarted); err != nil {
		return err
	}
	if err := responseError("SELECT", &r); err != nil {
		return s.fail(err)
	}
	if !s.fci.unmarshal(r.Data) || !s.t.setA5(s.fci.a5) {
		return s.fail(malformed("Aliro SELECT response"))
	}
	v, ok := s.r.versions.Select(s.fci.versions)
	if !ok {
		return s.fail(fmt.Errorf("%w: device offers %v, reader speaks %v", ErrVersion, s.fci.versions, s.r.versions))
	}
	s.t.version = v
	s.stage = aliroStSelected
	return nil
}

// Version returns the protocol version selected by ReadSelect.
func (s *AliroReaderSession) Version() dkey.Version { return s.t.version }

// DeviceAPDULimits returns the largest command and response APDUs the
// device announced (SELECT tag 7F66), or zeros when it announced none:
// short APDUs with chaining only.
func (s *AliroReaderSession) DeviceAPDULimits() (command, response uint16) {
	return s.fci.maxCommand, s.fci.maxResponse
}

// Auth0 returns the AUTH0 command (CLA 80, P1 P2 00 00, Le 00).
func (s *AliroReaderSession) Auth0() (transport.Command, error) {
	if err := s.expect(aliroStSelected); err != nil {
		return transport.Command{}, err
	}
	m := aliroAuth0{params: s.t.params, policy: s.t.policy, version: s.t.version, txID: s.t.txID, readerID: s.t.readerID}
	copy(m.readerEPK[:], s.eph.Public().Bytes())
	if s.t.cmdExtN > 0 {
		m.ext = s.t.cmdExt[:s.t.cmdExtN]
	}
	return transport.Command{CLA: claDK, INS: insAuth0, Data: m.append(s.cmd[:0]), Ne: responseNe}, nil
}

// ReadAuth0 reads the AUTH0 response: the device's ephemeral key and, when
// fast was asked for, its cryptogram. A cryptogram must come exactly when
// one was asked for (Aliro 1.0 8.3.3.2.8); the device sends random bytes
// when it holds no Kpersistent for this reader, so that a reader cannot tell.
func (s *AliroReaderSession) ReadAuth0(r transport.Response) error {
	if err := s.expect(aliroStSelected); err != nil {
		return err
	}
	if err := responseError("AUTH0", &r); err != nil {
		return s.fail(err)
	}
	if !s.resp.unmarshal(r.Data) {
		return s.fail(malformed("Aliro AUTH0 response"))
	}
	if s.resp.hasCryptogram != (s.t.params&aliroParamFast != 0) {
		return s.fail(malformed("Aliro AUTH0 response: cryptogram present without a fast request, or missing with one"))
	}
	if err := s.peer.SetBytes(s.resp.endpointEPK[:]); err != nil {
		return s.fail(fmt.Errorf("%w: credential ephemeral key: %w", ErrMalformed, err))
	}
	copy(s.t.endpointEPKX[:], s.peer.X())
	s.t.setRespExt(s.resp.ext)
	s.stage = aliroStAuth0
	return nil
}

// HasCryptogram reports whether the device answered AUTH0 with a cryptogram.
func (s *AliroReaderSession) HasCryptogram() bool {
	return s.stage == aliroStAuth0 && s.resp.hasCryptogram
}

// FindFast looks for the enrolled credential whose Kpersistent produced the
// device's cryptogram, trying keys in order (most recently used first is a
// good order; Aliro 1.0 8.3.3.2.8 lets a reader bound the search). It
// returns the index of the match, or -1 when no key matches or there is no
// cryptogram; the reader may then continue with the standard phase. On a
// match the device is authenticated, its status (FastStatus) is known and
// the fast channel keys are ready for Exchange. Each candidate costs one
// HKDF extraction and expansion and one AES-256-GCM decryption of 48 bytes,
// whose key setup allocates (see doc.go, "Allocation").
func (s *AliroReaderSession) FindFast(keys []FastKey) int {
	if !s.HasCryptogram() {
		return -1
	}
	var zero [coordSize]byte
	salt, off := s.keys.fastSalt(&s.t, zero[:])
	info := s.t.appendInfo(s.keys.info[:0])
	for i := range keys {
		k := &keys[i]
		if !k.persistent.valid {
			continue
		}
		copy(salt[off:off+coordSize], k.endpointX[:])
		s.keys.deriveFastFirst(s.mac, &k.persistent, salt, info)
		pt, ok := s.crypt.open(s.plain[:0], s.keys.okm[:aliroKeySize], s.resp.cryptogram[:])
		var st AliroStatus
		if !ok || len(pt) != aliroPayloadSize || !parseAliroPayload(pt, &st) {
			continue
		}
		s.keys.deriveFast(s.mac, &k.persistent, salt, info)
		s.logFastKeys()
		s.status = st
		s.stage = aliroStFast
		return i
	}
	return -1
}

// FastStatus returns the device's status from a matched cryptogram: its
// signaling bitmap and document timestamps.
func (s *AliroReaderSession) FastStatus() AliroStatus {
	if s.stage != aliroStFast {
		return AliroStatus{}
	}
	return s.status
}

// LoadCertificate returns the LOAD CERT command with the reader certificate
// (CLA 80, INS D1, no Le) and true, or false when the reader has no
// certificate or sends it in AUTH1. It must follow AUTH0 (a fast match
// included, when the reader continues with the standard phase).
func (s *AliroReaderSession) LoadCertificate() (transport.Command, bool, error) {
	if err := s.expect(aliroStAuth0, aliroStFast); err != nil {
		return transport.Command{}, false, err
	}
	if s.r.cert == nil || s.r.certAuth1 || s.certSent {
		return transport.Command{}, false, nil
	}
	s.certSent = true
	return transport.Command{CLA: claDK, INS: insAliroLoadCert, Data: s.r.cert}, true, nil
}

// ReadLoadCertificate reads the LOAD CERT response, which must be empty.
func (s *AliroReaderSession) ReadLoadCertificate(r transport.Response) error {
	if err := s.expect(aliroStAuth0, aliroStFast); err != nil {
		return err
	}
	if !s.certSent {
		return fmt.Errorf("%w: LOAD CERT response without LOAD CERT", ErrOutOfSequence)
	}
	if err := responseError("LOAD CERT", &r); err != nil {
		return s.fail(err)
	}
	if len(r.Data) != 0 {
		return s.fail(malformed("Aliro LOAD CERT response with data"))
	}
	return nil
}

// Auth1 returns the AUTH1 command: the reader's signature over the
// transaction (Aliro 1.0 Table 8-12) and, when configured so, the
// certificate. It follows AUTH0, a LOAD CERT, or a fast match when the
// reader continues with the standard phase (for the step-up phase, whose
// keys only the standard phase derives).
func (s *AliroReaderSession) Auth1() (transport.Command, error) {
	if err := s.expect(aliroStAuth0, aliroStFast); err != nil {
		return transport.Command{}, err
	}
	if s.ch.Ready() {
		return transport.Command{}, fmt.Errorf("%w: AUTH1 after a fast-phase EXCHANGE", ErrOutOfSequence)
	}
	sig, err := dkey.Sign(s.r.key, s.authData(&usageVehicle))
	if err != nil {
		return transport.Command{}, s.fail(fmt.Errorf("transaction: signing AUTH1: %w", err))
	}
	m := aliroAuth1{sig: sig}
	if s.wantKey {
		m.params = aliroParamPublicKey
	}
	if s.r.cert != nil && s.r.certAuth1 {
		m.cert = s.r.cert
	}
	s.stage = aliroStAuth0
	return transport.Command{CLA: claDK, INS: insAuth1, Data: m.append(s.cmd[:0]), Ne: responseNe}, nil
}

// AliroAuth1Result is what the AUTH1 response says before the reader has
// checked the device's signature: the credential it claims (by key slot or
// public key, as the reader asked), its status and the mailbox subset. The
// subset aliases the session and is valid until the next call.
type AliroAuth1Result struct {
	// KeySlot is the 8-byte key_slot when the reader asked for it.
	KeySlot dkey.KeySlot
	// PublicKey is the credential's public key when the reader asked for it.
	PublicKey     *dkey.PublicKey
	Status        AliroStatus
	MailboxSubset []byte
}

// ReadAuth1 derives the session keys (ECDH, X9.63, HKDF), authenticates and
// decrypts the AUTH1 response (device counter 1) and returns what it claims.
// The caller looks the credential up (by KeySlot, or checks PublicKey) and
// calls VerifyEndpoint. A response that does not authenticate returns
// ErrChannel.
func (s *AliroReaderSession) ReadAuth1(r transport.Response) (AliroAuth1Result, error) {
	if err := s.expect(aliroStAuth0); err != nil {
		return AliroAuth1Result{}, err
	}
	if err := responseError("AUTH1", &r); err != nil {
		return AliroAuth1Result{}, s.fail(err)
	}
	if err := s.deriveStandard(gcmchannel.ReaderEnd); err != nil {
		return AliroAuth1Result{}, s.fail(err)
	}
	plain, err := s.ch.Open(s.plain[:0], r.Data)
	if err != nil {
		return AliroAuth1Result{}, s.fail(fmt.Errorf("%w: AUTH1 response: %w", ErrChannel, err))
	}
	if !s.auth1.unmarshal(plain, s.wantKey) {
		return AliroAuth1Result{}, s.fail(malformed("Aliro AUTH1 response"))
	}
	res := AliroAuth1Result{Status: s.auth1.status, MailboxSubset: s.auth1.subset}
	if s.wantKey {
		pub, err := dkey.ParsePublicKey(s.auth1.pub[:])
		if err != nil {
			return AliroAuth1Result{}, s.fail(fmt.Errorf("%w: credential public key: %w", ErrMalformed, err))
		}
		res.PublicKey = pub
	} else {
		res.KeySlot = s.auth1.slot
	}
	s.status = s.auth1.status
	s.stage = aliroStAuth1
	return res, nil
}

// VerifyEndpoint checks the device's AUTH1 signature (Aliro 1.0 Table 8-13)
// with the credential's public key: the one the reader enrolled, or the one
// the AUTH1 response carried when the step-up phase will vouch for it. On
// success the transaction is authenticated and the new Kpersistent is
// returned, to store for the next fast transaction with this credential. A
// signature that does not verify returns ErrAuthentication.
func (s *AliroReaderSession) VerifyEndpoint(credential *dkey.PublicKey) (PersistentKey, error) {
	if err := s.expect(aliroStAuth1); err != nil {
		return PersistentKey{}, err
	}
	if credential == nil || credential.Verify(s.authData(&usageEndpoint), &s.auth1.sig) != nil {
		return PersistentKey{}, s.fail(ErrAuthentication)
	}
	x := credential.X()
	s.keys.derivePersistent(s.mac, &s.t, x[:])
	s.logPersistent()
	var pk PersistentKey
	pk.set(s.keys.persist[:], s.mac)
	s.stage = aliroStStandard
	return pk, nil
}

// Fast reports whether the transaction was authenticated by a cryptogram
// (and not by AUTH1).
func (s *AliroReaderSession) Fast() bool { return s.stage == aliroStFast }

// Authenticated reports whether the device is authenticated, fast or
// standard.
func (s *AliroReaderSession) Authenticated() bool {
	return s.stage == aliroStFast || s.stage == aliroStStandard
}

// Status returns the device's status: from the cryptogram after a fast
// match, from the AUTH1 response after a standard transaction.
func (s *AliroReaderSession) Status() AliroStatus {
	if !s.Authenticated() && s.stage != aliroStAuth1 {
		return AliroStatus{}
	}
	return s.status
}

// StepUpKey returns StepUpSK after an authenticated standard transaction,
// for the step-up phase (mdoc.AliroStepUpKeys(key.Bytes())), and the zero
// AliroStepUpKey otherwise.
func (s *AliroReaderSession) StepUpKey() AliroStepUpKey {
	if s.stage != aliroStStandard {
		return AliroStepUpKey{}
	}
	return s.keys.stepUpKey()
}

// RangingKey returns URSK of an authenticated transaction over Bluetooth
// LE, and the zero RangingKey otherwise (NFC derives none).
func (s *AliroReaderSession) RangingKey() RangingKey {
	if !s.Authenticated() {
		return RangingKey{}
	}
	return s.keys.rangingKey(s.t.iface)
}

// Exchange returns an EXCHANGE command (CLA 80, INS C9, Le 00) carrying x
// under the expedited secure channel: reader counter 1 for the first one.
// It needs an authenticated transaction. A command with the reader status
// (x.HasStatus) is the last one.
func (s *AliroReaderSession) Exchange(x *AliroExchange) (transport.Command, error) {
	if !s.Authenticated() {
		return transport.Command{}, fmt.Errorf("%w: EXCHANGE before authentication or after the reader status", ErrOutOfSequence)
	}
	plain, err := x.append(s.ops[:0])
	if err != nil {
		return transport.Command{}, err
	}
	if err := s.openFastChannel(gcmchannel.ReaderEnd); err != nil {
		return transport.Command{}, s.fail(err)
	}
	data, err := s.ch.Seal(s.cmd[:0], plain)
	if err != nil {
		return transport.Command{}, s.fail(fmt.Errorf("%w: %w", ErrChannel, err))
	}
	if x.HasStatus {
		s.stage = aliroStEnded
	}
	s.stepUp = false
	return transport.Command{CLA: claDK, INS: insExchange, Data: data, Ne: responseNe}, nil
}

// ReadExchange authenticates and decrypts an EXCHANGE response and returns
// the read results. A device error status (00 02 B1 B2 with B1 B2 not zero)
// returns an *AliroExchangeError and ends the secure channel: the reader
// then sends CONTROL FLOW. A response that does not authenticate returns
// ErrChannel.
func (s *AliroReaderSession) ReadExchange(r transport.Response) (AliroReadResults, error) {
	if !s.Authenticated() && s.stage != aliroStEnded || !s.ch.Ready() || s.stepUp {
		return AliroReadResults{}, fmt.Errorf("%w: EXCHANGE response without EXCHANGE", ErrOutOfSequence)
	}
	if err := responseError("EXCHANGE", &r); err != nil {
		return AliroReadResults{}, s.fail(err)
	}
	plain, err := s.ch.Open(s.plain[:0], r.Data)
	if err != nil {
		return AliroReadResults{}, s.fail(fmt.Errorf("%w: EXCHANGE response: %w", ErrChannel, err))
	}
	reads, status, ok := parseAliroExchangeResponse(plain)
	if !ok {
		return AliroReadResults{}, s.fail(malformed("Aliro EXCHANGE response"))
	}
	if status != 0 {
		return AliroReadResults{}, s.fail(&AliroExchangeError{Code: status})
	}
	if s.stage == aliroStEnded {
		s.ch.Close()
	}
	return reads, nil
}

// ControlFlow returns the CONTROL FLOW command (CLA 80, INS 3C, no Le) with
// cf: over NFC, the reader's report of a failure when no secure channel
// exists (Aliro 1.0 10.2.2). It may be sent at any point after Start; the
// transaction ends.
func (s *AliroReaderSession) ControlFlow(cf *AliroControlFlow) (transport.Command, error) {
	if cf.ReaderDescriptor != nil && (len(cf.ReaderDescriptor) == 0 || len(cf.ReaderDescriptor) > MaxAliroControlFlowData-8 || !tlvList(cf.ReaderDescriptor)) {
		return transport.Command{}, fmt.Errorf("%w: reader descriptor of %d bytes", ErrWrongParameters, len(cf.ReaderDescriptor))
	}
	data := cf.append(s.cmd[:0])
	s.wipeCore()
	s.stage = aliroStIdle
	return transport.Command{CLA: claDK, INS: insControl, Data: data}, nil
}

// Close erases the session's secrets. The session can be started again.
func (s *AliroReaderSession) Close() {
	s.wipeCore()
	s.stage = aliroStIdle
}
