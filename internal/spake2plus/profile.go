package spake2plus

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strconv"

	"github.com/opencarkey/sdk/internal/cmac"
)

// A Profile selects the transcript, key schedule and confirmations of a run:
// RFC9383 or CCC. Both sides of a run must use equal profiles. Profile is
// sealed: only this package implements it.
type Profile interface {
	// compile validates the profile and copies it into an immutable suite.
	compile() (*suite, error)
}

var (
	_ Profile = RFC9383{}
	_ Profile = CCC{}
)

// MaxProfileField is the longest Context, identity or confirmation-info
// suffix a profile accepts, in bytes.
const MaxProfileField = 1024

// RFC9383 is SPAKE2+ exactly as RFC 9383 specifies it for the ciphersuite
// P256-SHA256-HKDF-SHA256-HMAC-SHA256:
//
//	TT         = len(Context)‖Context ‖ len(idProver)‖idProver ‖ len(idVerifier)‖idVerifier
//	             ‖ len(M)‖M ‖ len(N)‖N ‖ len(X)‖X ‖ len(Y)‖Y ‖ len(Z)‖Z ‖ len(V)‖V ‖ len(w0)‖w0
//	K_main     = SHA-256(TT)
//	K_confirmP ‖ K_confirmV = HKDF-SHA256(salt=nil, IKM=K_main, info="ConfirmationKeys", 64)
//	K_shared   = HKDF-SHA256(salt=nil, IKM=K_main, info="SharedKey", 32)
//	confirmP   = HMAC-SHA256(K_confirmP, Y)   (sent by the prover)
//	confirmV   = HMAC-SHA256(K_confirmV, X)   (sent by the verifier)
//
// where len is an 8-byte little-endian length, points are 65-byte
// uncompressed and w0 is 32 bytes big endian. The run's shared key is
// K_shared (32 bytes); confirmations are 32 bytes.
//
// RFC 9383 §3.3: idProver and idVerifier should be non-empty unless the
// identities are implicit, or the run is open to unknown-key-share attacks.
type RFC9383 struct {
	// Context is the application's customization string, shared by both
	// sides. It is always put in TT with its length prefix.
	Context []byte
	// IDProver and IDVerifier are the parties' identities; empty when
	// absent.
	IDProver, IDVerifier []byte
}

func (p RFC9383) compile() (*suite, error) {
	if len(p.Context) > MaxProfileField || len(p.IDProver) > MaxProfileField || len(p.IDVerifier) > MaxProfileField {
		return nil, ErrInvalidProfile
	}
	return &suite{
		context:    append([]byte(nil), p.Context...),
		idProver:   append([]byte(nil), p.IDProver...),
		idVerifier: append([]byte(nil), p.IDVerifier...),
	}, nil
}

// CCC is the CCC Digital Key profile of SPAKE2+ (docs/protocol.md §3.3), the
// SPAKE2+ of owner pairing. The device is the prover (its share X travels
// in tag 50, its evidence M2 in tag 58) and the vehicle the verifier (Y in
// tag 52, M1 in tag 57). The CCC specification is not public; this type is
// the one place where its choices are made. Each is listed with its source.
//
// Fixed choices (the same for every CCC value):
//
//   - w0 and w1: DeriveCCCSecret, z = scrypt(password, salt, N, r, p,
//     dkLen=80), w0 = (OS2IP(z[0:40]) mod (n−1)) + 1 and w1 likewise from
//     z[40:80] (CCC TS Listing 18-1 as quoted by [MERS]). The scrypt
//     parameters are the vehicle's; see ScryptParams for the limits.
//   - TT = len(X)‖X ‖ len(Y)‖Y ‖ len(Z)‖Z ‖ len(V)‖V ‖ len(w0)‖w0, without
//     the Context, identities, M and N of RFC 9383 ([MERS]), with 8-byte
//     little-endian lengths and 65-byte uncompressed points ([MERS]).
//   - w0 in TT is 32 bytes, big endian, fixed length. This is the project's
//     choice: [MERS] writes Java's BigInteger.toByteArray, whose length
//     varies with the value (31 bytes, or 33 with a leading zero), which is
//     not plausible specification text; RFC 9383 uses the fixed length.
//   - K = SHA-256(TT), CK = K[0:16], SK = K[16:32] ([MERS], TS Listings
//     18-4/18-5).
//   - K1 ‖ K2 = HKDF-SHA256(salt=nil, IKM=CK, info="ConfirmationKeys" ‖
//     ConfirmationInfo, 32); K1 is the vehicle's evidence key and K2 the
//     device's ([MERS], TS Listing 18-6).
//   - Evidence is AES-128-CMAC, 16 bytes ([MERS], TS Listings 18-7/18-8).
//   - The run's shared key is SK (16 bytes); the caller derives the
//     SystemKeys from it (docs/protocol.md §3.3, package pairing).
type CCC struct {
	// ConfirmationInfo is appended to "ConfirmationKeys" to form the HKDF
	// info of the evidence keys. Its value in the CCC specification is not
	// public: [MERS] appends placeholder TLVs ("5B 01 00 5C 01 01",
	// labelled "example"), and the most plausible reading is that the real
	// value binds the negotiated versions against downgrade (docs/protocol.md
	// §3.3). The choice is the caller's: package pairing passes the version
	// TLVs the vehicle sent in SPAKE2+ REQUEST. Empty means no suffix.
	ConfirmationInfo []byte
	// Evidence selects the share each side's evidence MACs. The zero value,
	// EvidenceOwnShare, follows [MERS]; EvidencePeerShare follows the
	// RFC 9383 pattern. A test bench can try both against a real device.
	Evidence Evidence
}

func (p CCC) compile() (*suite, error) {
	if len(p.ConfirmationInfo) > MaxProfileField {
		return nil, ErrInvalidProfile
	}
	switch p.Evidence {
	case EvidenceOwnShare, EvidencePeerShare:
	default:
		return nil, ErrInvalidProfile
	}
	info := make([]byte, 0, len(cccConfirmationInfo)+len(p.ConfirmationInfo))
	info = append(info, cccConfirmationInfo...)
	info = append(info, p.ConfirmationInfo...)
	return &suite{ccc: true, cccInfo: string(info), evidence: p.Evidence}, nil
}

// Evidence selects what each side's CCC evidence (confirmation) MACs.
type Evidence uint8

const (
	// EvidenceOwnShare: each side MACs its own share, M1 = CMAC(K1, Y) from
	// the vehicle and M2 = CMAC(K2, X) from the device. This is [MERS]'s
	// reading of TS Listings 18-7/18-8 and the default.
	EvidenceOwnShare Evidence = iota
	// EvidencePeerShare: each side MACs the peer's share, M1 = CMAC(K1, X)
	// and M2 = CMAC(K2, Y), as RFC 9383 does with its confirmations.
	EvidencePeerShare
)

func (e Evidence) String() string {
	switch e {
	case EvidenceOwnShare:
		return "EvidenceOwnShare"
	case EvidencePeerShare:
		return "EvidencePeerShare"
	}
	return "Evidence(" + strconv.Itoa(int(e)) + ")"
}

// cccConfirmationInfo is the fixed part of the CCC evidence-key HKDF info
// ([MERS]; the same label as RFC 9383's).
const cccConfirmationInfo = "ConfirmationKeys"

// suite is a compiled, immutable Profile.
type suite struct {
	ccc bool
	// RFC 9383.
	context, idProver, idVerifier []byte
	// CCC.
	cccInfo  string
	evidence Evidence
}

// Lengths of the confirmations and shared keys of each profile.
const (
	rfcConfirmSize = sha256.Size
	rfcSharedSize  = sha256.Size
	cccConfirmSize = cmac.Size
	cccSharedSize  = 16
	maxConfirmSize = rfcConfirmSize
	maxSharedSize  = rfcSharedSize
)

// transcriptBufSize holds the transcript of either profile without
// allocation unless the RFC 9383 Context and identities are long.
const transcriptBufSize = 1024

// shares are the public values and the shared secrets of one run, in the
// encodings that enter the transcript.
type shares struct {
	x, y, z, v [pointSize]byte // X, Y, Z, V
	w0         [scalarSize]byte
}

func (s *shares) erase() {
	clear(s.z[:])
	clear(s.v[:])
	clear(s.w0[:])
}

// appendLengthPrefixed appends len(b) as 8 bytes little endian, then b
// (RFC 9383 §3.1: "len(S) denote[s] the length of a string in bytes,
// represented as an eight-byte little-endian number").
func appendLengthPrefixed[T []byte | string](dst []byte, b T) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(b)))
	return append(dst, b...)
}

// transcriptSize returns the length of TT.
func (s *suite) transcriptSize() int {
	n := 4*(8+pointSize) + 8 + scalarSize
	if !s.ccc {
		n += 8 + len(s.context) + 8 + len(s.idProver) + 8 + len(s.idVerifier) + 2*(8+pointSize)
	}
	return n
}

// appendTranscript appends TT to dst.
func (s *suite) appendTranscript(dst []byte, sh *shares) []byte {
	if !s.ccc {
		// RFC 9383 §3.3 puts the context, the identities and M and N first.
		dst = appendLengthPrefixed(dst, s.context)
		dst = appendLengthPrefixed(dst, s.idProver)
		dst = appendLengthPrefixed(dst, s.idVerifier)
		dst = appendLengthPrefixed(dst, pointM)
		dst = appendLengthPrefixed(dst, pointN)
	}
	dst = appendLengthPrefixed(dst, sh.x[:])
	dst = appendLengthPrefixed(dst, sh.y[:])
	dst = appendLengthPrefixed(dst, sh.z[:])
	dst = appendLengthPrefixed(dst, sh.v[:])
	return appendLengthPrefixed(dst, sh.w0[:])
}

// keySchedule holds every key of a run. Unused tails of the arrays are zero.
type keySchedule struct {
	// main is K_main (RFC 9383) or K (CCC).
	main [sha256.Size]byte
	// proverKey and verifierKey are K_confirmP and K_confirmV (RFC 9383),
	// or K2 and K1 (CCC).
	proverKey, verifierKey [sha256.Size]byte
	// proverConfirm is what the prover sends: confirmP (RFC 9383) or M2
	// (CCC); verifierConfirm is confirmV or M1.
	proverConfirm, verifierConfirm [maxConfirmSize]byte
	// shared is K_shared (RFC 9383) or SK (CCC).
	shared [maxSharedSize]byte
}

func (k *keySchedule) erase() {
	clear(k.main[:])
	clear(k.proverKey[:])
	clear(k.verifierKey[:])
	clear(k.proverConfirm[:])
	clear(k.verifierConfirm[:])
	clear(k.shared[:])
}

func (s *suite) confirmSize() int {
	if s.ccc {
		return cccConfirmSize
	}
	return rfcConfirmSize
}

func (s *suite) sharedSize() int {
	if s.ccc {
		return cccSharedSize
	}
	return rfcSharedSize
}

// schedule derives every key and both confirmations of a run from its
// shares. It erases the transcript it builds.
func (s *suite) schedule(k *keySchedule, sh *shares) {
	// TT holds Z, V and w0. Build it in one buffer, allocated at most once
	// so that no partial copy is left behind, and erase it after hashing.
	var buf [transcriptBufSize]byte
	tt := buf[:0]
	if n := s.transcriptSize(); n > len(buf) {
		tt = make([]byte, 0, n)
	}
	tt = s.appendTranscript(tt, sh)
	k.main = sha256.Sum256(tt)
	clear(tt)
	clear(buf[:])
	if s.ccc {
		s.scheduleCCC(k, sh)
	} else {
		s.scheduleRFC(k, sh)
	}
}

func (s *suite) scheduleRFC(k *keySchedule, sh *shares) {
	// RFC 9383 §3.4. HKDF fails only for an output longer than 255 hash
	// blocks.
	ck, _ := hkdf.Key(sha256.New, k.main[:], nil, "ConfirmationKeys", 2*sha256.Size)
	copy(k.proverKey[:], ck[:sha256.Size])
	copy(k.verifierKey[:], ck[sha256.Size:])
	clear(ck)
	shared, _ := hkdf.Key(sha256.New, k.main[:], nil, "SharedKey", rfcSharedSize)
	copy(k.shared[:], shared)
	clear(shared)
	hmacSHA256(&k.proverConfirm, &k.proverKey, sh.y[:])
	hmacSHA256(&k.verifierConfirm, &k.verifierKey, sh.x[:])
}

func hmacSHA256(out *[maxConfirmSize]byte, key *[sha256.Size]byte, msg []byte) {
	h := hmac.New(sha256.New, key[:])
	h.Write(msg)
	h.Sum(out[:0])
}

func (s *suite) scheduleCCC(k *keySchedule, sh *shares) {
	// docs/protocol.md §3.3: CK = K[0:16], SK = K[16:32],
	// K1 ‖ K2 = HKDF(nil, CK, "ConfirmationKeys" ‖ suffix, 32).
	copy(k.shared[:], k.main[16:32])
	ek, _ := hkdf.Key(sha256.New, k.main[:16], nil, s.cccInfo, 32)
	copy(k.verifierKey[:16], ek[:16]) // K1, the vehicle's
	copy(k.proverKey[:16], ek[16:])   // K2, the device's
	clear(ek)
	proverMsg, verifierMsg := sh.x[:], sh.y[:] // EvidenceOwnShare
	if s.evidence == EvidencePeerShare {
		proverMsg, verifierMsg = sh.y[:], sh.x[:]
	}
	evidenceMAC((*[cccConfirmSize]byte)(k.proverConfirm[:]), (*[16]byte)(k.proverKey[:16]), proverMsg)
	evidenceMAC((*[cccConfirmSize]byte)(k.verifierConfirm[:]), (*[16]byte)(k.verifierKey[:16]), verifierMsg)
}

// evidenceMAC sets out to AES-128-CMAC(key, msg), the MAC of the CCC
// evidence.
func evidenceMAC(out *[cccConfirmSize]byte, key *[16]byte, msg []byte) {
	c, err := cmac.New(key[:])
	if err != nil {
		panic("spake2plus: " + err.Error()) // unreachable: the key is 16 bytes
	}
	c.Sum2(out, msg, nil)
	c.Close()
}
