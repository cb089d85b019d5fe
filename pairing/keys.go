package pairing

import (
	"crypto/hkdf"
	"crypto/sha256"

	"github.com/opencarkey/sdk/internal/securemsg"
)

// LongTermSecretSize is the size of LONG_TERM_SHARED_SECRET.
const LongTermSecretSize = 16

// systemKeysInfo is the HKDF info of the SystemKeys (PROTOCOL.md §3.3, TS
// Listing 18-9 via [YKB] and [MERS]).
const systemKeysInfo = "SystemKeys"

// systemKeys are the keys both sides derive from the SPAKE2+ session key SK:
// the pairing channel's Kenc, Kmac and Krmac (§3.4) and
// LONG_TERM_SHARED_SECRET, which both sides keep after pairing (§3.7).
type systemKeys struct {
	channel securemsg.Keys
	ltss    [LongTermSecretSize]byte
}

// derive sets k to HKDF-SHA256(salt = nil, IKM = sk, info = "SystemKeys",
// L = 64): Kenc ‖ Kmac ‖ Krmac ‖ LONG_TERM_SHARED_SECRET. The 32 more bytes
// of the BLE extension (Kble_intro, Kble_oob_master) are not derived:
// pairing here is NFC only.
func (k *systemKeys) derive(sk []byte) error {
	okm, err := hkdf.Key(sha256.New, sk, nil, systemKeysInfo, 4*securemsg.KeySize)
	if err != nil {
		return err
	}
	copy(k.channel.Enc[:], okm[0:16])
	copy(k.channel.MAC[:], okm[16:32])
	copy(k.channel.RMAC[:], okm[32:48])
	copy(k.ltss[:], okm[48:64])
	clear(okm)
	return nil
}

// clearChannel erases the channel keys, which the securemsg channel has
// copied into its ciphers.
func (k *systemKeys) clearChannel() {
	clear(k.channel.Enc[:])
	clear(k.channel.MAC[:])
	clear(k.channel.RMAC[:])
}

func (k *systemKeys) zeroize() {
	k.clearChannel()
	clear(k.ltss[:])
}
