package apdutrace

import (
	"fmt"
	"io"

	"github.com/opencarkey/sdk/internal/keylog"
	"github.com/opencarkey/sdk/internal/securemsg"
)

// KeyLog holds the session keys of a key log, as transaction and pairing
// sessions write them (VehicleConfig.KeyLog and the like; the format is in
// the documentation of package transaction, "Key log"). It holds secrets
// and redacts itself when formatted.
type KeyLog struct {
	keys map[sessionKey]*sessionKeys
	n    int
}

// sessionKeys are the channel keys of one session as far as the log gave
// them: have has bit 0 for Kenc, 1 for Kmac, 2 for Krmac.
type sessionKeys struct {
	k    securemsg.Keys
	have uint8
}

// keySet names one set of channel keys: TRANSACTION, FAST or PAIRING.
type keySet uint8

const (
	setTransaction keySet = iota + 1
	setFast
	setPairing
)

func (s keySet) String() string {
	switch s {
	case setTransaction:
		return "TRANSACTION"
	case setFast:
		return "FAST"
	case setPairing:
		return "PAIRING"
	}
	return "none"
}

type sessionKey struct {
	set keySet
	id  string
}

// sets maps the first label of each channel-key set to its keySet.
var sets = map[keylog.Label]keySet{keylog.TransactionKenc: setTransaction, keylog.FastKenc: setFast, keylog.PairingKenc: setPairing}

// ParseKeyLog reads a key log. Entries of other labels (Kpersistent, URSK)
// are checked and kept out: a trace needs the channel keys. An error wraps
// the line and what is wrong with it.
func ParseKeyLog(text []byte) (*KeyLog, error) {
	entries, err := keylog.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("apdutrace: key log: %w", err)
	}
	k := &KeyLog{keys: map[sessionKey]*sessionKeys{}, n: len(entries)}
	for _, e := range entries {
		first, which, ok := e.Label.Channel()
		if !ok {
			clear(e.Secret)
			continue
		}
		sk := sessionKey{sets[first], string(e.ID)}
		keys := k.keys[sk]
		if keys == nil {
			keys = new(sessionKeys)
			k.keys[sk] = keys
		}
		copy([]*[securemsg.KeySize]byte{&keys.k.Enc, &keys.k.MAC, &keys.k.RMAC}[which][:], e.Secret)
		keys.have |= 1 << which
		clear(e.Secret)
	}
	return k, nil
}

// Len returns the number of entries the key log held.
func (k *KeyLog) Len() int {
	if k == nil {
		return 0
	}
	return k.n
}

// lookup returns the channel keys of a session, or nil when the key log
// lacks one of the three.
func (k *KeyLog) lookup(set keySet, id []byte) *securemsg.Keys {
	if k == nil {
		return nil
	}
	keys := k.keys[sessionKey{set, string(id)}]
	if keys == nil || keys.have != 7 {
		return nil
	}
	return &keys.k
}

// String returns the number of entries, never a key.
func (k KeyLog) String() string { return fmt.Sprintf("apdutrace.KeyLog(%d entries, redacted)", k.n) }

// GoString returns the same as String.
func (k KeyLog) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k KeyLog) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }
