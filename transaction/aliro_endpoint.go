package transaction

import (
	"crypto"
	"fmt"
	"io"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/transport"
)

// AliroEndpointConfig configures the device side of Aliro transactions (the
// expedited applet).
type AliroEndpointConfig struct {
	// Versions are the expedited-phase protocol versions offered in the
	// SELECT response, highest first. The zero value means 1.0 alone
	// (dkey.Aliro.Versions()).
	Versions dkey.VersionList
	// Interface is the interface byte bound into the key derivation: 0 means
	// InterfaceNFC; InterfaceBLE over Bluetooth LE.
	Interface byte
	// MaxCommandAPDU and MaxResponseAPDU, when both are set, announce
	// extended-length support in the SELECT response (tag 7F66, Aliro 1.0
	// 8.3.2.2). Zero for short APDUs with chaining only.
	MaxCommandAPDU, MaxResponseAPDU uint16
	// Auth0Extension is the value of the AUTH0 response vendor extension
	// (B2, up to 127 bytes of data objects); nil for none.
	Auth0Extension []byte
	// Time returns the current time for reader certificate validity; nil
	// means time.Now.
	Time func() time.Time
	// Rand, when not nil, replaces crypto/rand as the source of the
	// device's random values: per transaction, its ephemeral key and,
	// when it holds no Kpersistent for a fast request, the random
	// cryptogram (see "Deterministic randomness" in the package
	// documentation). For tests and conformance vectors only. Nil, the
	// default, means crypto/rand.
	Rand io.Reader
	// KeyLog, when not nil, receives the session keys of every
	// transaction in the key log format of the package documentation.
	// Anyone who reads it can decrypt the sessions and answer the next
	// fast transaction: test benches only. Nil, the default, logs nothing.
	KeyLog io.Writer
}

// AliroCredential is what the device holds for the reader group an AUTH0
// named: the Access Credential key and the reader trust bound to the group
// (Aliro 1.0 6.2). The device looks it up by the group identifier that
// AliroEndpointSession.ReadAuth0 returns, and the Kpersistent by the
// sub-group identifier.
type AliroCredential struct {
	// Key is the Access Credential private key; it signs AUTH1.
	Key crypto.Signer
	// PublicKey is its public half.
	PublicKey *dkey.PublicKey
	// ReaderKey is the reader_group_identifier_key bound to the group: the
	// reader's public key, or, when IssuerTrust is set, the Reader System
	// Issuer CA key that certifies the group's readers.
	ReaderKey *dkey.PublicKey
	// IssuerTrust says ReaderKey is a CA key: the reader must present a
	// certificate (LOAD CERT or AUTH1 tag 90) for its signing key.
	IssuerTrust bool
	// Persistent is the Kpersistent stored with this credential for the
	// sub-group the AUTH0 named; the zero value means none, and a fast
	// request gets random bytes.
	Persistent PersistentKey
	// Status is what the credential reports in the cryptogram and the AUTH1
	// response: the signaling bitmap (documents, mailbox rights) and the
	// signed timestamps of its documents.
	Status AliroStatus
	// MailboxSubset is the mailbox_data_subset returned in AUTH1 (tag 4B)
	// when the credential issuer configured one; nil for none.
	MailboxSubset []byte
}

// AliroAuth0Request is what the AUTH0 command asks of the device.
type AliroAuth0Request struct {
	// ReaderID names the reader group (credential lookup) and the reader
	// within it (Kpersistent lookup).
	ReaderID dkey.ReaderID
	// Policy is the reader's authentication policy; the device applies it
	// with its user's setting (Aliro 1.0 8.3.1.14).
	Policy AliroPolicy
	// Fast says the reader asked for a cryptogram.
	Fast    bool
	Version dkey.Version
}

// AliroEndpointSession is the device side of one Aliro transaction at a
// time, sans I/O: the device's applet parses each command APDU, looks keys
// up and applies its policy, and calls the session for the protocol work.
// It is reusable (Select starts over). It is not safe for concurrent use.
//
// The order of calls follows the commands: Select; ReadAuth0 then Auth0;
// LoadCertificate (optional); Auth1 (standard) or nothing (fast);
// OpenExchange then SealExchange or SealExchangeError for each EXCHANGE;
// ReadControlFlow when the reader ends without a secure channel.
type AliroEndpointSession struct {
	aliroCore
	versions  dkey.VersionList
	iface     byte
	now       func() time.Time
	respExt   []byte
	fci       [maxAliroSelect]byte
	fciN      int
	a5s, a5e  int
	cred      *AliroCredential
	req       aliroAuth0
	resp      aliroAuth0Response
	auth1     aliroAuth1
	fastKeys  bool // the cryptogram was real: fast keys are derived
	fastProof bool // an EXCHANGE verified under the fast keys
	cert      *AliroCertificate
	endAfter  bool // the EXCHANGE being answered carried the reader status
	stepUp    bool // the EXCHANGE being answered came under the step-up channel (aliro_stepup.go)
	exch      AliroExchange
	ops       [MaxAliroMailboxOps]AliroMailboxOp
	payload   [aliroPayloadSize]byte
}

// NewAliroEndpointSession returns an idle endpoint session. A nil cfg means
// the zero AliroEndpointConfig: version 1.0 over NFC, short APDUs,
// time.Now, crypto/rand and no key log.
func NewAliroEndpointSession(cfg *AliroEndpointConfig) (*AliroEndpointSession, error) {
	if cfg == nil {
		cfg = &AliroEndpointConfig{} // the defaults: 1.0 over NFC
	}
	s := &AliroEndpointSession{versions: cfg.Versions, iface: cfg.Interface, now: cfg.Time, aliroCore: aliroCore{mac: newHMAC(), rand: cfg.Rand, keyLog: cfg.KeyLog}}
	if s.versions.Len() == 0 {
		s.versions = dkey.Aliro.Versions()
	}
	if s.iface == 0 {
		s.iface = InterfaceNFC
	}
	if s.now == nil {
		s.now = time.Now
	}
	if (cfg.MaxCommandAPDU == 0) != (cfg.MaxResponseAPDU == 0) {
		return nil, fmt.Errorf("transaction: extended length needs both the command and the response limit")
	}
	if cfg.Auth0Extension != nil {
		if len(cfg.Auth0Extension) == 0 || len(cfg.Auth0Extension) > MaxAliroExtension || !tlvList(cfg.Auth0Extension) {
			return nil, fmt.Errorf("transaction: AUTH0 response vendor extension of %d bytes is not 1 to %d bytes of data objects", len(cfg.Auth0Extension), MaxAliroExtension)
		}
		s.respExt = append([]byte(nil), cfg.Auth0Extension...)
	}
	out, a5s, a5e := appendAliroFCI(s.fci[:0], s.versions, cfg.MaxCommandAPDU, cfg.MaxResponseAPDU)
	s.fciN, s.a5s, s.a5e = len(out), a5s, a5e
	return s, nil
}

func (s *AliroEndpointSession) fail(err error) error {
	s.wipe()
	s.stage = aliroStFailed
	return err
}

func (s *AliroEndpointSession) wipe() {
	s.wipeCore()
	s.fastKeys, s.fastProof, s.endAfter, s.stepUp = false, false, false, false
	s.cred, s.cert = nil, nil
	s.exch = AliroExchange{}
	clear(s.ops[:])
	clear(s.payload[:])
}

// checkHeader checks CLA 80 and P1 P2 00 00 (Aliro 1.0 8.3.2.1).
func checkAliroHeader(cmd *transport.Command) error {
	if cmd.CLA != claDK {
		return dkey.SWClassNotSupported
	}
	if cmd.P1 != aliroP1P2 || cmd.P2 != aliroP1P2 {
		return fmt.Errorf("%w: P1 %02X P2 %02X", ErrWrongParameters, cmd.P1, cmd.P2)
	}
	return nil
}

// Select answers a SELECT of the expedited applet: it checks the command
// (00 A4 04 00, the whole AID A000000909ACCE5501), starts a new transaction
// and appends the FCI template to dst (Aliro 1.0 10.2.1.2). A SELECT of
// another AID returns SWFileNotFound and leaves the session idle.
func (s *AliroEndpointSession) Select(dst []byte, cmd *transport.Command) ([]byte, error) {
	s.wipe()
	s.stage = aliroStIdle
	if cmd.CLA != claISO || cmd.INS != insSelect || cmd.P1 != p1SelectName || cmd.P2 != 0 {
		return dst, fmt.Errorf("%w: SELECT %02X %02X %02X %02X", ErrWrongParameters, cmd.CLA, cmd.INS, cmd.P1, cmd.P2)
	}
	if !dkey.AIDAliro.Equal(cmd.Data) {
		return dst, dkey.SWFileNotFound
	}
	s.stage = aliroStSelected
	return append(dst, s.fci[:s.fciN]...), nil
}

// Deselect ends the transaction, as when another applet is selected or the
// field drops, and erases its secrets.
func (s *AliroEndpointSession) Deselect() {
	s.wipe()
	s.stage = aliroStIdle
}

// ReadAuth0 parses the AUTH0 command and returns what it asks, for the
// device to look its credential and Kpersistent up and apply its policy. It
// checks the header, the format (ErrMalformed), the authentication policy
// (ErrWrongParameters; 00 and 04 to FF are reserved), that the version is
// one the device offered (ErrVersion) and the reader's ephemeral key.
func (s *AliroEndpointSession) ReadAuth0(cmd *transport.Command) (AliroAuth0Request, error) {
	if err := s.expect(aliroStSelected); err != nil {
		return AliroAuth0Request{}, s.fail(err)
	}
	if err := checkAliroHeader(cmd); err != nil {
		return AliroAuth0Request{}, s.fail(err)
	}
	if !s.req.unmarshal(cmd.Data) {
		return AliroAuth0Request{}, s.fail(malformed("Aliro AUTH0 command"))
	}
	if !s.req.policy.Valid() {
		return AliroAuth0Request{}, s.fail(fmt.Errorf("%w: authentication policy %02X", ErrWrongParameters, byte(s.req.policy)))
	}
	if !s.versions.Contains(s.req.version) {
		return AliroAuth0Request{}, s.fail(fmt.Errorf("%w: %v, offered %v", ErrVersion, s.req.version, s.versions))
	}
	if err := s.peer.SetBytes(s.req.readerEPK[:]); err != nil {
		return AliroAuth0Request{}, s.fail(fmt.Errorf("%w: reader ephemeral key: %w", ErrMalformed, err))
	}
	s.t = aliroTranscript{
		readerID: s.req.readerID, iface: s.iface, version: s.req.version, params: s.req.params,
		policy: s.req.policy, txID: s.req.txID,
	}
	s.t.setA5(s.fci[s.a5s:s.a5e])
	s.t.setCmdExt(s.req.ext)
	s.t.setRespExt(s.respExt)
	copy(s.t.readerEPKX[:], s.peer.X())
	s.stage = aliroStAuth0Req
	return AliroAuth0Request{
		ReaderID: s.req.readerID, Policy: s.req.policy, Fast: s.req.params&aliroParamFast != 0, Version: s.req.version,
	}, nil
}

// Auth0 answers the AUTH0 command read by ReadAuth0 and appends the response
// data to dst: a fresh ephemeral key and, when the reader asked for
// expedited-fast, the cryptogram. cred is the credential bound to the
// reader group, or nil when the device holds none: the answer then has the
// same shape (random bytes as cryptogram) and AUTH1 fails later, so that a
// reader cannot learn which credentials the device holds (Aliro 1.0
// 8.3.3.2.6). cred must stay unchanged until the transaction ends.
func (s *AliroEndpointSession) Auth0(dst []byte, cred *AliroCredential) ([]byte, error) {
	if err := s.expect(aliroStAuth0Req); err != nil {
		return dst, s.fail(err)
	}
	if cred != nil && (cred.Key == nil || cred.PublicKey == nil || cred.ReaderKey == nil ||
		len(cred.MailboxSubset) > MaxAliroMailboxSubset || cred.MailboxSubset != nil && len(cred.MailboxSubset) == 0 ||
		!cred.Status.CredentialSigned.valid() || !cred.Status.RevocationSigned.valid()) {
		return dst, s.fail(fmt.Errorf("transaction: incomplete or invalid Aliro credential"))
	}
	if err := s.newEphemeral(); err != nil {
		return dst, s.fail(fmt.Errorf("transaction: ephemeral key: %w", err))
	}
	s.cred = cred
	if cred != nil {
		s.t.groupKeyX = cred.ReaderKey.X()
	}
	copy(s.t.endpointEPKX[:], s.eph.Public().X())
	copy(s.resp.endpointEPK[:], s.eph.Public().Bytes())
	s.resp.hasCryptogram, s.resp.ext = false, s.respExt
	s.fastKeys = false
	if s.t.params&aliroParamFast != 0 {
		s.resp.hasCryptogram = true
		if cred != nil && cred.Persistent.valid {
			x := cred.PublicKey.X()
			salt, _ := s.keys.fastSalt(&s.t, x[:])
			info := s.t.appendInfo(s.keys.info[:0])
			s.keys.deriveFast(s.mac, &cred.Persistent, salt, info)
			s.logFastKeys()
			p := appendAliroPayload(s.payload[:0], &cred.Status)
			s.crypt.seal(s.resp.cryptogram[:0], s.keys.okm[aliroOffCryptogram:aliroOffCryptogram+aliroKeySize], p)
			s.fastKeys = true
		} else if err := s.randomBytes(s.resp.cryptogram[:]); err != nil {
			return dst, s.fail(fmt.Errorf("transaction: cryptogram: %w", err))
		}
	}
	s.stage = aliroStAuth0
	return s.resp.append(dst), nil
}

// LoadCertificate reads a LOAD CERT command: the reader's compressed
// certificate, which must follow AUTH0 and parse (ErrCertificate
// otherwise). Its verification waits for AUTH1, so that the answer, always
// empty, tells nothing of the trust the device holds (Aliro 1.0 8.3.3.3.4
// allows the deferral). The device answers 9000 with no data.
func (s *AliroEndpointSession) LoadCertificate(cmd *transport.Command) error {
	if err := s.expect(aliroStAuth0); err != nil {
		return s.fail(err)
	}
	if s.cert != nil || s.ch.Ready() {
		return s.fail(fmt.Errorf("%w: LOAD CERT twice or after EXCHANGE", ErrOutOfSequence))
	}
	if cmd.INS != insAliroLoadCert {
		return s.fail(fmt.Errorf("%w: INS %02X is not LOAD CERT", ErrWrongParameters, cmd.INS))
	}
	if err := checkAliroHeader(cmd); err != nil {
		return s.fail(err)
	}
	c, err := ParseAliroCertificate(cmd.Data)
	if err != nil {
		return s.fail(fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	s.cert = c
	return nil
}

// Auth1 runs the expedited-standard phase (Aliro 1.0 8.3.3.4): it verifies
// the reader's certificate when one came (here in tag 90 or before in LOAD
// CERT) with the credential's issuer key, then the reader's signature with
// the certificate's subject key or the credential's reader key, derives the
// session keys, signs the transaction with the credential key and appends
// the protected AUTH1 response to dst. It returns the new Kpersistent, which
// the device stores with the credential for the reader's sub-group. Every
// authentication failure (no credential, a certificate that does not
// verify, a signature that does not verify, a certificate where the group
// trusts a reader key or none where it trusts a CA) returns the same
// ErrAuthentication, status word 6982.
func (s *AliroEndpointSession) Auth1(dst []byte, cmd *transport.Command) ([]byte, PersistentKey, error) {
	if err := s.expect(aliroStAuth0); err != nil {
		return dst, PersistentKey{}, s.fail(err)
	}
	if s.ch.Ready() {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("%w: AUTH1 after a fast-phase EXCHANGE", ErrOutOfSequence))
	}
	if err := checkAliroHeader(cmd); err != nil {
		return dst, PersistentKey{}, s.fail(err)
	}
	if !s.auth1.unmarshal(cmd.Data) {
		return dst, PersistentKey{}, s.fail(malformed("Aliro AUTH1 command"))
	}
	cert := s.cert
	if s.auth1.cert != nil {
		if cert != nil {
			return dst, PersistentKey{}, s.fail(malformed("Aliro AUTH1 command: a certificate after LOAD CERT"))
		}
		c, err := ParseAliroCertificate(s.auth1.cert)
		if err != nil {
			return dst, PersistentKey{}, s.fail(fmt.Errorf("%w: %w", ErrMalformed, err))
		}
		cert = c
	}
	cred := s.cred
	if cred == nil || (cert != nil) != cred.IssuerTrust {
		return dst, PersistentKey{}, s.fail(ErrAuthentication)
	}
	signer := cred.ReaderKey
	if cert != nil {
		sub, err := cert.Verify(cred.ReaderKey, s.now())
		if err != nil {
			return dst, PersistentKey{}, s.fail(ErrAuthentication)
		}
		signer = sub
	}
	sig, err := dkey.ParseSignature(s.auth1.sig[:])
	if err != nil || signer.Verify(s.authData(&usageVehicle), &sig) != nil {
		return dst, PersistentKey{}, s.fail(ErrAuthentication)
	}
	if err := s.deriveStandard(gcmchannel.DeviceEnd); err != nil {
		return dst, PersistentKey{}, s.fail(err)
	}
	esig, err := dkey.Sign(cred.Key, s.authData(&usageEndpoint))
	if err != nil {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("transaction: signing AUTH1 response: %w", err))
	}
	m := aliroAuth1Response{publicKey: s.auth1.params&aliroParamPublicKey != 0, sig: esig, subset: cred.MailboxSubset, status: cred.Status}
	if m.publicKey {
		copy(m.pub[:], cred.PublicKey.Bytes())
	} else {
		m.slot, _ = dkey.Aliro.DerivedKeySlot(cred.PublicKey)
	}
	out, err := s.ch.Seal(dst, m.append(s.plain[:0]))
	if err != nil {
		return dst, PersistentKey{}, s.fail(fmt.Errorf("%w: %w", ErrChannel, err))
	}
	x := cred.PublicKey.X()
	s.keys.derivePersistent(s.mac, &s.t, x[:])
	s.logPersistent()
	var pk PersistentKey
	pk.set(s.keys.persist[:], s.mac)
	s.fastKeys = false
	s.stage = aliroStStandard
	return out, pk, nil
}

// OpenExchange authenticates and decrypts an EXCHANGE command under the
// expedited channel and returns its content, for the device to check and
// apply (mailbox rights, atomic sessions, notifications); it aliases the
// session and is valid until the next call. EXCHANGE needs a standard
// transaction, or a fast one in which this device sent a real cryptogram.
// A command that does not authenticate or parse ends the transaction
// (ErrChannel, ErrMalformed). The device answers with SealExchange, or with
// SealExchangeError when a request fails.
func (s *AliroEndpointSession) OpenExchange(cmd *transport.Command) (*AliroExchange, error) {
	if s.stage != aliroStStandard && !(s.stage == aliroStAuth0 && s.fastKeys) {
		return nil, s.fail(fmt.Errorf("%w: EXCHANGE before authentication", ErrOutOfSequence))
	}
	if cmd.INS != insExchange {
		return nil, s.fail(fmt.Errorf("%w: INS %02X is not EXCHANGE", ErrWrongParameters, cmd.INS))
	}
	if err := checkAliroHeader(cmd); err != nil {
		return nil, s.fail(err)
	}
	if err := s.openFastChannel(gcmchannel.DeviceEnd); err != nil {
		return nil, s.fail(err)
	}
	plain, err := s.ch.Open(s.plain[:0], cmd.Data)
	if err != nil {
		return nil, s.fail(fmt.Errorf("%w: EXCHANGE: %w", ErrChannel, err))
	}
	if s.fastKeys {
		s.fastProof = true
	}
	if !parseAliroExchange(&s.exch, &s.ops, plain) {
		return nil, s.fail(malformed("Aliro EXCHANGE command"))
	}
	s.endAfter, s.stepUp = s.exch.HasStatus, false
	return &s.exch, nil
}

// SealExchange answers the last EXCHANGE with success: reads (the data of
// each read request, built with AppendAliroReadResult, or nil) and the
// status block 00 02 00 00, protected, appended to dst. After the EXCHANGE
// that carried the reader status, the transaction ends.
func (s *AliroEndpointSession) SealExchange(dst, reads []byte) ([]byte, error) {
	if !s.ch.Ready() || s.stepUp || s.stage != aliroStStandard && s.stage != aliroStAuth0 {
		return dst, fmt.Errorf("%w: no EXCHANGE to answer", ErrOutOfSequence)
	}
	if len(reads)+aliroExchangeTrailer > MaxAliroExchangeData {
		return dst, fmt.Errorf("%w: %d bytes of read results exceed %d", ErrInvalidOp, len(reads), MaxAliroExchangeData-aliroExchangeTrailer)
	}
	if !aliroReadBlocks(reads) {
		return dst, fmt.Errorf("%w: read results are not length-prefixed blocks", ErrInvalidOp)
	}
	return s.sealExchange(dst, reads, 0)
}

// SealExchangeError answers the last EXCHANGE with the error code (B1 B2,
// implementation-specific, not zero) alone, as Aliro 1.0 8.3.3.5.5 requires
// when a request fails (out of bounds, no right, ...), and ends the
// transaction: the device destroys its session keys after it.
func (s *AliroEndpointSession) SealExchangeError(dst []byte, code uint16) ([]byte, error) {
	if !s.ch.Ready() || s.stepUp || s.stage != aliroStStandard && s.stage != aliroStAuth0 {
		return dst, fmt.Errorf("%w: no EXCHANGE to answer", ErrOutOfSequence)
	}
	if code == 0 {
		return dst, fmt.Errorf("%w: error code 0000 means success", ErrInvalidOp)
	}
	s.endAfter = true
	return s.sealExchange(dst, nil, code)
}

func (s *AliroEndpointSession) sealExchange(dst, reads []byte, code uint16) ([]byte, error) {
	p := append(s.plain[:0], reads...)
	p = append(p, 0, 2, byte(code>>8), byte(code))
	out, err := s.ch.Seal(dst, p)
	if err != nil {
		return dst, s.fail(fmt.Errorf("%w: %w", ErrChannel, err))
	}
	if s.endAfter {
		s.wipe()
		s.stage = aliroStEnded
	}
	return out, nil
}

// Authenticated reports whether the reader has authenticated itself in this
// transaction: by its AUTH1 signature, or, in a fast transaction, by an
// EXCHANGE command that authenticated under the keys derived from
// Kpersistent. A fast transaction without EXCHANGE authenticates the device
// to the reader only (Aliro 1.0 8.1.1.2).
func (s *AliroEndpointSession) Authenticated() bool {
	return s.stage == aliroStStandard || (s.stage == aliroStAuth0 && s.fastProof)
}

// Standard reports whether a standard transaction completed.
func (s *AliroEndpointSession) Standard() bool { return s.stage == aliroStStandard }

// Ended reports whether the reader has sent its final status and the
// transaction is over.
func (s *AliroEndpointSession) Ended() bool { return s.stage == aliroStEnded }

// StepUpKey returns StepUpSK after a standard transaction, for the step-up
// applet (mdoc.NewStepUpDevice with mdoc.AliroStepUpKeys(key.Bytes())), and
// the zero AliroStepUpKey otherwise.
func (s *AliroEndpointSession) StepUpKey() AliroStepUpKey {
	if s.stage != aliroStStandard {
		return AliroStepUpKey{}
	}
	return s.keys.stepUpKey()
}

// RangingKey returns URSK of a standard transaction, or of a fast one with a
// real cryptogram, over Bluetooth LE; the zero RangingKey otherwise.
func (s *AliroEndpointSession) RangingKey() RangingKey {
	if s.stage != aliroStStandard && !(s.stage == aliroStAuth0 && s.fastKeys) {
		return RangingKey{}
	}
	return s.keys.rangingKey(s.t.iface)
}

// ReadControlFlow parses an Aliro CONTROL FLOW command (80 3C 00 00, data 41
// S1, 42 S2 [, 63 descriptor]) and returns it; the descriptor aliases cmd.
// The transaction ends and its secrets are erased, whatever the command.
func (s *AliroEndpointSession) ReadControlFlow(cmd *transport.Command) (AliroControlFlow, error) {
	s.wipe()
	s.stage = aliroStIdle
	if err := checkAliroHeader(cmd); err != nil {
		return AliroControlFlow{}, err
	}
	var cf AliroControlFlow
	if !cf.unmarshal(cmd.Data) {
		return AliroControlFlow{}, malformed("Aliro CONTROL FLOW")
	}
	return cf, nil
}
