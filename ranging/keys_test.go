package ranging

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/internal/testvec"
)

//go:embed testdata/keyschedule.json
var keyScheduleJSON []byte

type keyVector struct {
	Name            string           `json:"name"`
	URSK            testvec.HexBytes `json:"ursk"`
	Version         uint16           `json:"version"`
	ConfigID        uint16           `json:"config_id"`
	SessionID       testvec.HexBytes `json:"session_id"`
	STSIndex0       uint32           `json:"sts_index0"`
	Responders      uint8            `json:"responders"`
	RANMultiplier   uint8            `json:"ran_multiplier"`
	SlotsPerRound   uint8            `json:"slots_per_round"`
	ChapsPerSlot    uint8            `json:"chaps_per_slot"`
	PulseShape      uint8            `json:"pulse_shape_combo"`
	MUPSK1          testvec.HexBytes `json:"mupsk1"`
	MUPSK2          testvec.HexBytes `json:"mupsk2"`
	MURSK           testvec.HexBytes `json:"mursk"`
	UAD             testvec.HexBytes `json:"uad"`
	UADSrcShort     testvec.HexBytes `json:"uad_src_short"`
	UADSrcPAN       testvec.HexBytes `json:"uad_src_pan"`
	UADDstShort     testvec.HexBytes `json:"uad_dst_short"`
	UADSrcLong      testvec.HexBytes `json:"uad_src_long"`
	Salt            testvec.HexBytes `json:"salt"`
	SaltedHashInput testvec.HexBytes `json:"salted_hash_context"`
	SaltedHash      testvec.HexBytes `json:"salted_hash"`
	Rounds          []struct {
		STSIndex uint32           `json:"sts_index"`
		URSKKT   testvec.HexBytes `json:"ursk_kt"`
		DURSK    testvec.HexBytes `json:"dursk"`
		DUDSK    testvec.HexBytes `json:"dudsk"`
	} `json:"rounds"`
}

func keyVectors(t testing.TB) []keyVector {
	t.Helper()
	var f struct {
		Vectors []keyVector `json:"vectors"`
	}
	if err := json.Unmarshal(keyScheduleJSON, &f); err != nil {
		t.Fatalf("testdata/keyschedule.json: %v", err)
	}
	if len(f.Vectors) < 3 {
		t.Fatalf("testdata/keyschedule.json holds %d vectors, want at least 3", len(f.Vectors))
	}
	return f.Vectors
}

func (v *keyVector) params() *SessionParams {
	return &SessionParams{
		Version:       dkey.Version(v.Version),
		ConfigID:      ConfigID(v.ConfigID),
		SessionID:     SessionID(v.SessionID),
		PulseShape:    PulseShapeCombo(v.PulseShape),
		Channel:       Channel9,
		RANMultiplier: v.RANMultiplier,
		ChapsPerSlot:  ChapsPerSlot(v.ChapsPerSlot),
		Responders:    v.Responders,
		SlotsPerRound: v.SlotsPerRound,
		Hopping:       HoppingContinuousDefault,
		SyncCode:      9,
		STSIndex0:     v.STSIndex0,
	}
}

func checkHex(t *testing.T, name string, got []byte, want []byte) {
	t.Helper()
	if hex.EncodeToString(got) != hex.EncodeToString(want) {
		t.Errorf("%s = %x, want %x", name, got, want)
	}
}

// TestKeyScheduleVectors checks the key schedule against the vectors that
// testdata/keyschedule_vectors.py computes with an independent AES-CMAC
// (python3-cryptography) from the formulas of docs/protocol.md §8.5.
func TestKeyScheduleVectors(t *testing.T) {
	for _, v := range keyVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			ursk := URSK(v.URSK)
			ks, err := NewKeySchedule(&ursk, SaltProjectKDF)
			if err != nil {
				t.Fatal(err)
			}
			defer ks.Close()
			mupsk1, mupsk2, mursk, salt := ks.MUPSK1(), ks.MUPSK2(), ks.MURSK(), ks.Salt()
			checkHex(t, "mUPSK1", mupsk1[:], v.MUPSK1)
			checkHex(t, "mUPSK2", mupsk2[:], v.MUPSK2)
			checkHex(t, "mURSK", mursk[:], v.MURSK)
			checkHex(t, "Salt", salt[:], v.Salt)
			p := v.params()
			checkHex(t, "SaltedHash context", appendSaltedHashContext(nil, p), v.SaltedHashInput)
			if err := ks.Setup(p); err != nil {
				t.Fatalf("Setup: %v", err)
			}
			uad, _ := ks.UAD()
			sh, _ := ks.SaltedHash()
			checkHex(t, "UAD", uad[:], v.UAD)
			a, b, c, d := uad.SourceShortAddress(), uad.SourcePANID(), uad.DestinationShortAddress(), uad.SourceLongAddress()
			checkHex(t, "UAD source short address", a[:], v.UADSrcShort)
			checkHex(t, "UAD source PAN ID", b[:], v.UADSrcPAN)
			checkHex(t, "UAD destination short address", c[:], v.UADDstShort)
			checkHex(t, "UAD source long address", d[:], v.UADSrcLong)
			checkHex(t, "SaltedHash", sh[:], v.SaltedHash)
			for _, r := range v.Rounds {
				var kt Key256
				var rk RoundKeys
				if err := ks.roundKeys(r.STSIndex, &kt, &rk); err != nil {
					t.Fatal(err)
				}
				checkHex(t, fmt.Sprintf("URSK_KT(%#x)", r.STSIndex), kt[:], r.URSKKT)
				checkHex(t, fmt.Sprintf("dURSK(%#x)", r.STSIndex), rk.DURSK[:], r.DURSK)
				checkHex(t, fmt.Sprintf("dUDSK(%#x)", r.STSIndex), rk.DUDSK[:], r.DUDSK)
				var rk2 RoundKeys
				if err := ks.RoundKeys(r.STSIndex, &rk2); err != nil || rk2 != rk {
					t.Errorf("RoundKeys(%#x) = %v, differs from the vector's", r.STSIndex, err)
				}
			}
		})
	}
}

// TestKeyScheduleRecovery checks that a recovery (a new STS_Index0) changes
// UAD and SaltedHash, and so every round key, while the per-session keys
// stay.
func TestKeyScheduleRecovery(t *testing.T) {
	v := keyVectors(t)[0]
	ursk := URSK(v.URSK)
	ks, err := NewKeySchedule(&ursk, SaltProjectKDF)
	if err != nil {
		t.Fatal(err)
	}
	p := v.params()
	if err := ks.Setup(p); err != nil {
		t.Fatal(err)
	}
	uad1, _ := ks.UAD()
	var r1 RoundKeys
	if err := ks.RoundKeys(7, &r1); err != nil {
		t.Fatal(err)
	}
	p.STSIndex0++
	if err := ks.Setup(p); err != nil {
		t.Fatal(err)
	}
	uad2, _ := ks.UAD()
	var r2 RoundKeys
	if err := ks.RoundKeys(7, &r2); err != nil {
		t.Fatal(err)
	}
	if uad1 == uad2 || r1.DURSK.Equal(&r2.DURSK) || r1.DUDSK.Equal(&r2.DUDSK) {
		t.Errorf("a new STS_Index0 left UAD or the round keys unchanged")
	}
}

func TestKeyScheduleStates(t *testing.T) {
	var ursk URSK
	if _, err := NewKeySchedule(&ursk, SaltProfile(7)); err == nil {
		t.Errorf("NewKeySchedule with an unknown salt profile succeeded")
	}
	ks, err := NewKeySchedule(&ursk, SaltProjectKDF)
	if err != nil {
		t.Fatal(err)
	}
	var rk RoundKeys
	if err := ks.RoundKeys(1, &rk); !errors.Is(err, ErrSessionState) {
		t.Errorf("RoundKeys before Setup = %v, want ErrSessionState", err)
	}
	if _, ok := ks.UAD(); ok {
		t.Errorf("UAD before Setup reported ok")
	}
	bad := keyVectors(t)[0].params()
	bad.SlotsPerRound = 6 // 4 responders need 8
	if err := ks.Setup(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("Setup(%d slots for %d responders) = %v, want ErrMalformed", bad.SlotsPerRound, bad.Responders, err)
	}
	if err := ks.Setup(keyVectors(t)[0].params()); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	ks.Close()
	if err := ks.RoundKeys(1, &rk); !errors.Is(err, ErrSessionState) {
		t.Errorf("RoundKeys after Close = %v, want ErrSessionState", err)
	}
	if err := ks.Setup(keyVectors(t)[0].params()); !errors.Is(err, ErrSessionState) {
		t.Errorf("Setup after Close = %v, want ErrSessionState", err)
	}
	m1, m2, mu, sh := ks.MUPSK1(), ks.MUPSK2(), ks.MURSK(), ks.Salt()
	if m1 != (Key128{}) || m2 != (Key256{}) || mu != (Key256{}) || sh != (Key128{}) {
		t.Errorf("Close left key material behind")
	}
}

// TestSecretsRedacted prints every secret type with every common verb and
// checks that no key byte appears.
func TestSecretsRedacted(t *testing.T) {
	var ursk URSK
	for i := range ursk {
		ursk[i] = 0xA5
	}
	ks, err := NewKeySchedule(&ursk, SaltProjectKDF)
	if err != nil {
		t.Fatal(err)
	}
	k128 := Key128(ursk[:16])
	k256 := Key256(ursk)
	rk := RoundKeys{DURSK: k128, DUDSK: k128}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{ursk, &ursk, k128, k256, rk, &rk, ks} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(s), "a5a5") || strings.Contains(s, "165 165") {
				t.Errorf("Sprintf(%q, %T) = %q leaks the key", verb, v, s)
			}
		}
	}
}

func TestKeyEqual(t *testing.T) {
	a, b := URSK{1}, URSK{1}
	c := URSK{2}
	if !a.Equal(&b) || a.Equal(&c) {
		t.Errorf("URSK.Equal is wrong")
	}
	a.Clear()
	if a != (URSK{}) {
		t.Errorf("URSK.Clear left %x", a[:])
	}
}

// TestRoundKeysAllocs pins the cost of a ranging round's key derivation:
// one allocation, the AES key schedule of URSK_KT, which crypto/aes cannot
// expand into memory the caller owns.
func TestRoundKeysAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	v := keyVectors(t)[0]
	ursk := URSK(v.URSK)
	ks, err := NewKeySchedule(&ursk, SaltProjectKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Setup(v.params()); err != nil {
		t.Fatal(err)
	}
	var rk RoundKeys
	s := uint32(0)
	if n := testing.AllocsPerRun(100, func() { s++; _ = ks.RoundKeys(s, &rk) }); n != 1 {
		t.Errorf("RoundKeys allocated %v times, want 1 (the AES key schedule of URSK_KT)", n)
	}
}

func BenchmarkRoundKeys(b *testing.B) {
	v := keyVectors(b)[0]
	ursk := URSK(v.URSK)
	ks, err := NewKeySchedule(&ursk, SaltProjectKDF)
	if err != nil {
		b.Fatal(err)
	}
	if err := ks.Setup(v.params()); err != nil {
		b.Fatal(err)
	}
	var rk RoundKeys
	s := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		s++
		_ = ks.RoundKeys(s, &rk)
	}
}

func BenchmarkSessionKeys(b *testing.B) {
	v := keyVectors(b)[0]
	ursk := URSK(v.URSK)
	p := v.params()
	b.ReportAllocs()
	for b.Loop() {
		ks, _ := NewKeySchedule(&ursk, SaltProjectKDF)
		_ = ks.Setup(p)
		ks.Close()
	}
}
