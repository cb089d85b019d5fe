package pairing

import (
	"crypto/hkdf"
	"crypto/sha256"
	"io"

	"github.com/opencarkey/sdk/internal/keylog"
	"github.com/opencarkey/sdk/internal/securemsg"
)

// LongTermSecretSize is the size of LONG_TERM_SHARED_SECRET.
const LongTermSecretSize = 16

// systemKeysInfo is the HKDF info of the SystemKeys (docs/protocol.md §3.3, TS
// Listing 18-9 via [YKB] and [MERS]).
const systemKeysInfo = "SystemKeys"

// systemKeys are the keys both sides derive from the SPAKE2+ session key SK:
// the pairing channel's Kenc, Kmac and Krmac (§3.4),
// LONG_TERM_SHARED_SECRET, which both sides keep after pairing (§3.7), and
// the BLE keys of the first approach (ble.go).
type systemKeys struct {
	channel securemsg.Keys
	ltss    [LongTermSecretSize]byte
	// bleIntro and bleOOB are Kble_intro and Kble_oob_master (ble.go).
	bleIntro, bleOOB [BLEKeySize]byte
}

// derive sets k to HKDF-SHA256(salt = nil, IKM = sk, info = "SystemKeys",
// L = 96): Kenc ‖ Kmac ‖ Krmac ‖ LONG_TERM_SHARED_SECRET ‖ Kble_intro ‖
// Kble_oob_master (BLEKeys explains why always 96).
func (k *systemKeys) derive(sk []byte) error {
	okm, err := hkdf.Key(sha256.New, sk, nil, systemKeysInfo, systemKeysBLESize)
	if err != nil {
		return err
	}
	copy(k.channel.Enc[:], okm[0:16])
	copy(k.channel.MAC[:], okm[16:32])
	copy(k.channel.RMAC[:], okm[32:48])
	copy(k.ltss[:], okm[48:64])
	copy(k.bleIntro[:], okm[64:80])
	copy(k.bleOOB[:], okm[80:96])
	clear(okm)
	return nil
}

// log writes the channel keys to w, if not nil, under share, the device's
// SPAKE2+ share X that identifies the run (package documentation, "Key log
// and deterministic randomness"). It must run before clearChannel. A write
// error is ignored: a key log must not change the outcome of a pairing.
func (k *systemKeys) log(w io.Writer, share *[pointSize]byte) {
	if w == nil {
		return
	}
	b := keylog.AppendChannelKeys(make([]byte, 0, 3*(keylog.PairingIDSize*2+64)), keylog.PairingKenc, share[:], &k.channel.Enc, &k.channel.MAC, &k.channel.RMAC)
	_, _ = w.Write(b)
	clear(b)
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
	clear(k.bleIntro[:])
	clear(k.bleOOB[:])
}
