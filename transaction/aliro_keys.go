package transaction

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/kdf"
	"github.com/opencarkey/sdk/internal/tlv"
)

// InterfaceBLE is the interface byte an Aliro transaction over Bluetooth LE
// binds into its key derivations (Aliro 1.0 8.3.1.12 and 8.3.1.13, S; NFC
// uses InterfaceNFC, 5E).
const InterfaceBLE byte = 0xC3

// The Aliro key schedule (Aliro 1.0 8.3.1.4, 8.3.1.5, 8.3.1.12, 8.3.1.13; S,
// checked byte-exact against the section 14 examples):
//
//	Kdh     = X9.63-KDF-SHA256(ECDH x-coordinate, transaction_identifier), 32 bytes
//	salt(L) = reader_group_identifier_key.x ‖ L ‖ reader_identifier ‖ interface
//	          ‖ 5C 02 version ‖ reader_ePubK.x ‖ transaction_identifier
//	          ‖ command_parameters ‖ authentication_policy ‖ A5 template [‖ credential_PubK.x]
//	info    = credential_ePubK.x [‖ B1 TLV] [‖ B2 TLV]
//	standard: OKM = HKDF-SHA256(Kdh, salt("Volatile****"), info, 160):
//	          ExpeditedSKReader ‖ ExpeditedSKDevice ‖ StepUpSK ‖ BleSK ‖ URSK
//	          Kpersistent = HKDF-SHA256(Kdh, salt("Persistent**") ‖ credential_PubK.x, info, 32)
//	fast:     OKM = HKDF-SHA256(Kpersistent, salt("VolatileFast") ‖ credential_PubK.x, info, 160):
//	          CryptogramSK ‖ ExpeditedSKReader ‖ ExpeditedSKDevice ‖ BleSK ‖ URSK
//
// Unlike CCC and Home Key (§4.4), the transcript is the HKDF salt, the
// credential's ephemeral key the info, and the SELECT response's A5
// template, which lists the versions the device offers, is bound into every
// key: a relay that edits the version list changes the keys.
const (
	aliroLabelVolatile   = "Volatile****"
	aliroLabelPersistent = "Persistent**"
	aliroLabelFast       = "VolatileFast"
	aliroOKMSize         = 160
	aliroKeySize         = 32
	// aliroLastCounter is the largest counter an expedited-phase message may
	// use: a counter of 0xFFFF fails (Aliro 1.0 8.3.3.5.4).
	aliroLastCounter = 0xFFFE

	// maxAliroA5 bounds the A5 template kept for the key derivation: it
	// lies within the 256-byte SELECT response.
	maxAliroA5   = maxAliroSelect
	maxAliroSalt = 32 + 12 + dkey.ReaderIDLen + 1 + 4 + 32 + txIDSize + 2 + maxAliroA5 + 32
	maxAliroInfo = 32 + 2*(2+MaxAliroExtension)
)

// Offsets of the keys in the 160 bytes of key material.
const (
	aliroOffReader     = 0  // standard: ExpeditedSKReader
	aliroOffDevice     = 32 // standard: ExpeditedSKDevice
	aliroOffStepUp     = 64 // standard: StepUpSK
	aliroOffCryptogram = 0  // fast: CryptogramSK
	aliroOffFastReader = 32 // fast: ExpeditedSKReader
	aliroOffFastDevice = 64 // fast: ExpeditedSKDevice
	aliroOffBLE        = 96
	aliroOffURSK       = 128
)

// extractSalted computes PRK = HMAC-SHA256(salt, ikm) for a salt of any
// length: RFC 2104 hashes a key longer than the 64-byte block first. The
// Aliro salts are 170 bytes and more.
func (m *hmacSHA256) extractSalted(prk *[sha256.Size]byte, salt, ikm []byte) {
	if len(salt) > sha256.BlockSize {
		m.h.Reset()
		m.h.Write(salt)
		m.h.Sum(m.t[:0])
		m.setKey(m.t[:])
		clear(m.t[:])
	} else {
		m.setKey(salt)
	}
	m.mac(prk, ikm, nil, nil)
}

// aliroTranscript is what both sides of an Aliro transaction bind into its
// keys: the values of SELECT and AUTH0 and the reader_group_identifier_key.
type aliroTranscript struct {
	groupKeyX    [coordSize]byte // reader_group_identifier_key.x
	readerID     dkey.ReaderID
	iface        byte
	version      dkey.Version
	params       byte
	policy       AliroPolicy
	readerEPKX   [coordSize]byte
	endpointEPKX [coordSize]byte
	txID         [txIDSize]byte
	a5           [maxAliroA5]byte
	a5n          int
	cmdExt       [MaxAliroExtension]byte // B1 value
	cmdExtN      int
	respExt      [MaxAliroExtension]byte // B2 value
	respExtN     int
}

// appendSalt appends the salt with label and, when credentialX is not nil,
// the credential's long-term public key X (fast and persistent salts).
func (t *aliroTranscript) appendSalt(dst []byte, label string, credentialX []byte) []byte {
	dst = append(dst, t.groupKeyX[:]...)
	dst = append(dst, label...)
	dst = t.readerID.Append(dst)
	dst = append(dst, t.iface, byte(tagVersions), 2)
	dst = t.version.Append(dst)
	dst = append(dst, t.readerEPKX[:]...)
	dst = append(dst, t.txID[:]...)
	dst = append(dst, t.params, byte(t.policy))
	dst = append(dst, t.a5[:t.a5n]...)
	return append(dst, credentialX...)
}

// appendInfo appends the info: credential_ePubK.x and the vendor extension
// TLVs of AUTH0 and its response when present (Aliro 1.0 8.3.2.4: they
// enter the key derivation whether or not the receiver understands them).
func (t *aliroTranscript) appendInfo(dst []byte) []byte {
	dst = append(dst, t.endpointEPKX[:]...)
	if t.cmdExtN > 0 {
		dst = tlv.AppendTLV(dst, aliroTagCmdExt, t.cmdExt[:t.cmdExtN])
	}
	if t.respExtN > 0 {
		dst = tlv.AppendTLV(dst, aliroTagRespExt, t.respExt[:t.respExtN])
	}
	return dst
}

func (t *aliroTranscript) setA5(b []byte) bool {
	if len(b) > len(t.a5) {
		return false
	}
	t.a5n = copy(t.a5[:], b)
	return true
}

func (t *aliroTranscript) setCmdExt(b []byte) { t.cmdExtN = copy(t.cmdExt[:], b) }

func (t *aliroTranscript) setRespExt(b []byte) { t.respExtN = copy(t.respExt[:], b) }

// aliroKeys holds the secrets of one Aliro transaction.
type aliroKeys struct {
	kdh     [kdhSize]byte
	prk     [32]byte
	okm     [aliroOKMSize]byte
	persist [PersistentKeySize]byte
	salt    [maxAliroSalt]byte
	info    [maxAliroInfo]byte
	// standard says the okm holds the standard (volatile) layout, fast the
	// fast one; neither before a derivation.
	standard, fast bool
}

// deriveStandard computes Kdh from the shared x-coordinate z and the
// standard key material (Aliro 1.0 8.3.1.4, 8.3.1.13). Kpersistent waits for
// the credential's public key (derivePersistent).
func (k *aliroKeys) deriveStandard(m *hmacSHA256, t *aliroTranscript, z *[32]byte) {
	kdf.X963(k.kdh[:0], z[:], t.txID[:], kdhSize)
	salt := t.appendSalt(k.salt[:0], aliroLabelVolatile, nil)
	info := t.appendInfo(k.info[:0])
	m.extractSalted(&k.prk, salt, k.kdh[:])
	m.expand(k.okm[:], &k.prk, info)
	k.standard, k.fast = true, false
}

// derivePersistent computes Kpersistent for the credential whose public key
// has X coordinate credentialX (Aliro 1.0 8.3.1.13).
func (k *aliroKeys) derivePersistent(m *hmacSHA256, t *aliroTranscript, credentialX []byte) {
	salt := t.appendSalt(k.salt[:0], aliroLabelPersistent, credentialX)
	info := t.appendInfo(k.info[:0])
	m.extractSalted(&k.prk, salt, k.kdh[:])
	m.expand(k.persist[:], &k.prk, info)
}

// fastSalt fills the fast salt with credentialX and returns it with the
// offset of credentialX in it, so that a reader can try candidates by
// patching those 32 bytes.
func (k *aliroKeys) fastSalt(t *aliroTranscript, credentialX []byte) (salt []byte, off int) {
	salt = t.appendSalt(k.salt[:0], aliroLabelFast, credentialX)
	return salt, len(salt) - coordSize
}

// deriveFastFirst computes the first 32 bytes of the fast key material,
// CryptogramSK, for a candidate Kpersistent: one extraction and one
// expansion block.
func (k *aliroKeys) deriveFastFirst(m *hmacSHA256, kp *PersistentKey, salt, info []byte) {
	m.extractSalted(&k.prk, salt, kp.key[:])
	m.expand(k.okm[:aliroKeySize], &k.prk, info)
}

// deriveFast computes all the fast key material (Aliro 1.0 8.3.1.12).
func (k *aliroKeys) deriveFast(m *hmacSHA256, kp *PersistentKey, salt, info []byte) {
	m.extractSalted(&k.prk, salt, kp.key[:])
	m.expand(k.okm[:], &k.prk, info)
	k.standard, k.fast = false, true
}

// channelKeys returns ExpeditedSKReader and ExpeditedSKDevice of whichever
// derivation ran last.
func (k *aliroKeys) channelKeys() (reader, device []byte) {
	if k.fast {
		return k.okm[aliroOffFastReader : aliroOffFastReader+aliroKeySize], k.okm[aliroOffFastDevice : aliroOffFastDevice+aliroKeySize]
	}
	return k.okm[aliroOffReader : aliroOffReader+aliroKeySize], k.okm[aliroOffDevice : aliroOffDevice+aliroKeySize]
}

func (k *aliroKeys) zeroize() {
	clear(k.kdh[:])
	clear(k.prk[:])
	clear(k.okm[:])
	clear(k.persist[:])
	clear(k.salt[:])
	clear(k.info[:])
	k.standard, k.fast = false, false
}

// aliroCryptogram seals and opens the AUTH0 cryptogram: AES-256-GCM under
// CryptogramSK with a zero IV and no additional data (Aliro 1.0 8.3.1.10,
// 8.3.1.11). A CryptogramSK is used once, so the fixed IV repeats no
// key-IV pair. Each call costs the two allocations of the AES key schedule
// and the GCM state, which crypto/aes cannot place in existing memory.
type aliroCryptogram struct {
	iv [12]byte // zero; a field so that the slice passed to the AEAD does not escape a stack array
}

func (c *aliroCryptogram) aead(key []byte) (cipher.AEAD, bool) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, false
	}
	g, err := cipher.NewGCM(b)
	return g, err == nil
}

func (c *aliroCryptogram) seal(dst, key, payload []byte) []byte {
	g, ok := c.aead(key)
	if !ok {
		return dst
	}
	return g.Seal(dst, c.iv[:], payload, nil)
}

func (c *aliroCryptogram) open(dst, key, cryptogram []byte) ([]byte, bool) {
	g, ok := c.aead(key)
	if !ok {
		return dst, false
	}
	out, err := g.Open(dst, c.iv[:], cryptogram, nil)
	return out, err == nil
}

// AliroStepUpKey is StepUpSK: the 32 bytes of an Aliro standard
// transaction's key material (offset 0x40 to 0x60) from which the step-up
// phase derives its session keys (Aliro 1.0 8.3.1.13 and 8.4.3; mdoc's
// AliroStepUpKeys takes Bytes). It redacts itself when formatted. The zero
// value holds no key: a fast transaction derives none.
type AliroStepUpKey struct {
	key   [aliroKeySize]byte
	valid bool
}

// Valid reports whether k holds a key.
func (k *AliroStepUpKey) Valid() bool { return k.valid }

// Bytes returns a copy of the 32-byte key, or nil for the zero value.
func (k *AliroStepUpKey) Bytes() []byte {
	if !k.valid {
		return nil
	}
	return append([]byte(nil), k.key[:]...)
}

// Equal reports, in constant time, whether k and o hold the same key.
func (k *AliroStepUpKey) Equal(o *AliroStepUpKey) bool {
	return k.valid == o.valid && subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// Zeroize erases the key.
func (k *AliroStepUpKey) Zeroize() { *k = AliroStepUpKey{} }

// aliroSecrets returns the step-up key and, over BLE, the ranging key of the
// key material in k.
func (k *aliroKeys) stepUpKey() AliroStepUpKey {
	var s AliroStepUpKey
	if k.standard {
		copy(s.key[:], k.okm[aliroOffStepUp:aliroOffStepUp+aliroKeySize])
		s.valid = true
	}
	return s
}

// rangingKey returns URSK (offset 128) when the transaction runs over BLE:
// Aliro 1.0 8.3.1.12 and 8.3.1.13 extract it only there.
func (k *aliroKeys) rangingKey(iface byte) RangingKey {
	var r RangingKey
	if (k.standard || k.fast) && iface == InterfaceBLE {
		copy(r.key[:], k.okm[aliroOffURSK:aliroOffURSK+RangingKeySize])
		r.valid = true
	}
	return r
}
