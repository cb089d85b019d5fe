package ranging

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/internal/cmac"
	"github.com/opencarkey/sdk/internal/kdf"
)

// SaltProfile selects how the key schedule derives Salt and SaltedHash,
// which docs/protocol.md §8.5 marks as not public ([QRV] gives only their inputs
// and sizes). The zero value is [SaltProjectKDF].
type SaltProfile uint8

const (
	// SaltProjectKDF is the project's construction, built from the public
	// parts of §8.5 and nothing else (N):
	//
	//	Salt (16)       = KDF(URSK, "Salt", 000000, 128 bits)
	//	SaltedHash (16) = KDF(Salt ‖ 0^16, "SaltedHash", ctx, 128 bits)
	//	ctx (21 bytes)  = protocol version (2) ‖ UWB config ID (2) ‖
	//	                  UWB_Session_Id (4) ‖ STS_Index0 (4) ‖ N_responders (1) ‖
	//	                  tBlock in ms (4) ‖ slots per round (1) ‖
	//	                  slot duration in RSTU (2) ‖ pulse-shape combo (1)
	//
	// KDF is the AES-256-CMAC counter-mode KDF of §8.5. The salt is zero-
	// padded to an AES-256 key, as [QRV]'s CCC_PADDED_SALT_BYTE_SIZE (32)
	// suggests; the context holds the inputs of [QRV]'s calc_salted_hash in
	// its order and with its widths, big-endian (docs/protocol.md §0).
	SaltProjectKDF SaltProfile = iota
)

// Valid reports whether p is a known profile.
func (p SaltProfile) Valid() bool { return p == SaltProjectKDF }

// String names the profile.
func (p SaltProfile) String() string {
	if p == SaltProjectKDF {
		return "project-kdf"
	}
	return fmt.Sprintf("SaltProfile(%d)", uint8(p))
}

// UAD is the UWB address derivation block (docs/protocol.md §8.5): 16 bytes
// derived from mUPSK2 and STS_Index0 at every setup and recovery, from which
// both sides take the MAC addresses of the session's frames, so that a
// passer-by cannot track a car or a phone by its UWB address.
type UAD [16]byte

// SourceShortAddress returns bytes 0-1, the source short address.
func (u *UAD) SourceShortAddress() [2]byte { return [2]byte(u[0:2]) }

// SourcePANID returns bytes 2-3, the source PAN identifier.
func (u *UAD) SourcePANID() [2]byte { return [2]byte(u[2:4]) }

// DestinationShortAddress returns bytes 4-5, the destination short address.
func (u *UAD) DestinationShortAddress() [2]byte { return [2]byte(u[4:6]) }

// SourceLongAddress returns bytes 6-13, the source long (extended) address.
// Bytes 14-15 carry no address ([QRV] names 14 of the 16 bytes).
func (u *UAD) SourceLongAddress() [8]byte { return [8]byte(u[6:14]) }

// RoundKeys are the keys of one ranging round (docs/protocol.md §8.5): dURSK keys
// the scrambled timestamp sequence of the SP3 frames, dUDSK encrypts the SP0
// Final-Data frame.
type RoundKeys struct {
	DURSK Key128
	DUDSK Key128
}

// Clear zeroizes both keys.
func (r *RoundKeys) Clear() { r.DURSK.Clear(); r.DUDSK.Clear() }

// KeySchedule derives the UWB keys of one ranging session from its URSK
// (docs/protocol.md §8.5, [QRV] citing TS §22.1). Every derivation is the SP 800-108
// counter-mode KDF with AES-256-CMAC as PRF (package internal/kdf):
//
//	once per session:      mUPSK1 ‖ mUPSK2 = KDF(URSK, "UPSK", 000000, 384 bits)
//	                       mURSK           = KDF(URSK, "URSK", 000000, 256 bits)
//	                       Salt            (see SaltProfile)
//	per setup or recovery: UAD             = KDF(mUPSK2, "UAD", STS_Index0, 128 bits)
//	                       SaltedHash      (see SaltProfile)
//	per ranging round s:   URSK_KT         = KDF(mURSK, "URSK_KT", bits(s), 256 bits)
//	                       dURSK           = KDF(URSK_KT, "URSK", SaltedHash ‖ 000000, 128 bits)
//	                       dUDSK           = KDF(URSK_KT, "UDSK", SaltedHash ‖ 000000, 128 bits)
//
// bits(s) spreads the 32 bits of the STS index one per byte (00 or 01), most
// significant bit first: [QRV] says the bits go "into the LSBs of 32 bytes"
// without an order, and big-endian is the protocol's order everywhere else
// (the project's choice).
//
// A KeySchedule is not safe for concurrent use. Close zeroizes it.
type KeySchedule struct {
	profile    SaltProfile
	mupsk1     Key128
	mupsk2     Key256
	mursk      Key256
	salt       Key128
	saltedHash Key128
	uad        UAD
	setUp      bool
	closed     bool
	prfMURSK   cmac.CMAC // keyed with mURSK for the whole session
	prfKT      cmac.CMAC // rekeyed with URSK_KT every round
}

// Labels of the KDF calls (docs/protocol.md §8.5; "Salt" and "SaltedHash" are the
// project's, see SaltProfile).
const (
	labelUPSK       = "UPSK"
	labelURSK       = "URSK"
	labelUAD        = "UAD"
	labelURSKKT     = "URSK_KT"
	labelUDSK       = "UDSK"
	labelSalt       = "Salt"
	labelSaltedHash = "SaltedHash"
)

// saltedHashContextSize is the size of the SaltedHash context of
// SaltProjectKDF.
const saltedHashContextSize = 21

// NewKeySchedule derives the per-session keys of the URSK k with the salt
// construction of profile. It does not keep k. A nil k is an error.
func NewKeySchedule(k *URSK, profile SaltProfile) (*KeySchedule, error) {
	if k == nil {
		return nil, errors.New("ranging: NewKeySchedule needs a URSK (nil)")
	}
	if !profile.Valid() {
		return nil, fmt.Errorf("ranging: unknown salt profile %v", profile)
	}
	ks := &KeySchedule{profile: profile}
	var prf cmac.CMAC
	if err := prf.SetKey(k[:]); err != nil {
		return nil, fmt.Errorf("ranging: %w", err)
	}
	defer prf.Close()
	zero := []byte{0, 0, 0}
	var upsk [48]byte
	kdf.CounterMode(upsk[:0], &prf, []byte(labelUPSK), zero, len(upsk))
	copy(ks.mupsk1[:], upsk[:16])
	copy(ks.mupsk2[:], upsk[16:])
	clear(upsk[:])
	kdf.CounterMode(ks.mursk[:0], &prf, []byte(labelURSK), zero, len(ks.mursk))
	// Salt: SaltProjectKDF, the project's construction (docs/protocol.md §8.5
	// says only "derived from URSK").
	kdf.CounterMode(ks.salt[:0], &prf, []byte(labelSalt), zero, len(ks.salt))
	if err := ks.prfMURSK.SetKey(ks.mursk[:]); err != nil {
		return nil, fmt.Errorf("ranging: %w", err)
	}
	return ks, nil
}

// Setup derives the keys that depend on the values of a setup or a
// recovery: UAD from STS_Index0 and SaltedHash from the session parameters.
// Call it after the setup and after every recovery, which changes
// STS_Index0. p must be valid ([SessionParams.Validate]).
func (ks *KeySchedule) Setup(p *SessionParams) error {
	if ks.closed {
		return fmt.Errorf("%w: key schedule closed", ErrSessionState)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	var mupsk2 cmac.CMAC
	if err := mupsk2.SetKey(ks.mupsk2[:]); err != nil {
		return fmt.Errorf("ranging: %w", err)
	}
	defer mupsk2.Close()
	var sts [4]byte
	binary.BigEndian.PutUint32(sts[:], p.STSIndex0)
	kdf.CounterMode(ks.uad[:0], &mupsk2, []byte(labelUAD), sts[:], len(ks.uad))

	// SaltedHash: SaltProjectKDF (see its documentation; not public).
	var saltKey [32]byte
	copy(saltKey[:], ks.salt[:])
	var prf cmac.CMAC
	err := prf.SetKey(saltKey[:])
	clear(saltKey[:])
	if err != nil {
		return fmt.Errorf("ranging: %w", err)
	}
	defer prf.Close()
	var ctx [saltedHashContextSize]byte
	appendSaltedHashContext(ctx[:0], p)
	kdf.CounterMode(ks.saltedHash[:0], &prf, []byte(labelSaltedHash), ctx[:], len(ks.saltedHash))
	ks.setUp = true
	return nil
}

// appendSaltedHashContext appends the 21-byte context of the SaltedHash of
// SaltProjectKDF.
func appendSaltedHashContext(dst []byte, p *SessionParams) []byte {
	dst = p.Version.Append(dst)
	dst = binary.BigEndian.AppendUint16(dst, uint16(p.ConfigID))
	dst = append(dst, p.SessionID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, p.STSIndex0)
	dst = append(dst, p.Responders)
	dst = binary.BigEndian.AppendUint32(dst, uint32(p.RANMultiplier)*uint32(BlockUnit.Milliseconds()))
	dst = append(dst, p.SlotsPerRound)
	dst = binary.BigEndian.AppendUint16(dst, p.ChapsPerSlot.RSTU())
	return append(dst, byte(p.PulseShape))
}

// RoundKeys derives the keys of the ranging round whose STS index is s into
// out. It needs [KeySchedule.Setup]. It costs one allocation, the AES key
// schedule of URSK_KT (crypto/aes cannot expand a key into existing memory);
// the package's benchmark pins that.
func (ks *KeySchedule) RoundKeys(s uint32, out *RoundKeys) error {
	var kt Key256
	err := ks.roundKeys(s, &kt, out)
	kt.Clear()
	return err
}

func (ks *KeySchedule) roundKeys(s uint32, kt *Key256, out *RoundKeys) error {
	if ks.closed || !ks.setUp {
		return fmt.Errorf("%w: round keys before the setup or after Close", ErrSessionState)
	}
	var spread [32]byte
	for i := range spread {
		spread[i] = byte(s>>(31-i)) & 1
	}
	kdf.CounterMode(kt[:0], &ks.prfMURSK, []byte(labelURSKKT), spread[:], len(kt))
	if err := ks.prfKT.SetKey(kt[:]); err != nil {
		return fmt.Errorf("ranging: %w", err)
	}
	var ctx [19]byte // SaltedHash ‖ 000000
	copy(ctx[:], ks.saltedHash[:])
	kdf.CounterMode(out.DURSK[:0], &ks.prfKT, []byte(labelURSK), ctx[:], len(out.DURSK))
	kdf.CounterMode(out.DUDSK[:0], &ks.prfKT, []byte(labelUDSK), ctx[:], len(out.DUDSK))
	clear(ctx[:])
	ks.prfKT.Close()
	return nil
}

// MUPSK1 returns mUPSK1, the key of the SP0 Pre-POLL frame.
func (ks *KeySchedule) MUPSK1() Key128 { return ks.mupsk1 }

// MUPSK2 returns mUPSK2, the key of the UWB address derivation.
func (ks *KeySchedule) MUPSK2() Key256 { return ks.mupsk2 }

// MURSK returns mURSK, the seed of the per-round keys.
func (ks *KeySchedule) MURSK() Key256 { return ks.mursk }

// Salt returns the session's Salt (see [SaltProfile]).
func (ks *KeySchedule) Salt() Key128 { return ks.salt }

// SaltedHash returns the SaltedHash of the last [KeySchedule.Setup] (see
// [SaltProfile]), and false before the first.
func (ks *KeySchedule) SaltedHash() (Key128, bool) { return ks.saltedHash, ks.setUp }

// UAD returns the address block of the last [KeySchedule.Setup], and false
// before the first.
func (ks *KeySchedule) UAD() (UAD, bool) { return ks.uad, ks.setUp }

// Close zeroizes every key. The schedule cannot be used afterwards. Close is
// idempotent.
func (ks *KeySchedule) Close() {
	ks.mupsk1.Clear()
	ks.mupsk2.Clear()
	ks.mursk.Clear()
	ks.salt.Clear()
	ks.saltedHash.Clear()
	clear(ks.uad[:])
	ks.prfMURSK.Close()
	ks.prfKT.Close()
	ks.setUp = false
	ks.closed = true
}

// String describes the schedule without its keys. String, GoString and
// Format have value receivers, so a copy of the schedule (fmt.Print(*ks))
// never prints a key either.
func (ks KeySchedule) String() string {
	return fmt.Sprintf("ranging.KeySchedule{profile: %v, set up: %t, closed: %t}", ks.profile, ks.setUp, ks.closed)
}

// GoString describes the schedule without its keys.
func (ks KeySchedule) GoString() string { return ks.String() }

// Format writes the description of String for every verb, never a key.
func (ks KeySchedule) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(ks.String())) }
