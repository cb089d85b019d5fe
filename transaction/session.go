package transaction

import (
	"fmt"
	"io"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/ecdhe"
	"github.com/opencarkey/sdk/internal/keylog"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// stage is how far a session has come. Sessions check it so that a message
// out of order is refused instead of misinterpreted; the code that runs the
// steps is linear.
type stage uint8

const (
	stageIdle     stage = iota // nothing yet, or closed
	stageStarted               // vehicle: Start called
	stageSelected              // SELECT done
	stageAuth0Req              // endpoint: AUTH0 command read
	stageAuth0                 // AUTH0 done
	stageFast                  // fast transaction authenticated (cryptogram matched or sent)
	stageAuth1                 // vehicle: AUTH1 response decrypted, endpoint signature not yet verified
	stageStandard              // standard transaction authenticated
	stageFailed                // a failure ended the session
)

// Buffer sizes of a session. The largest message is the AUTH1 response
// plaintext with both mailbox subsets.
const (
	maxPlain   = 2 + dkey.MaxKeySlotLen + 2 + dkey.SignatureSize + 2*(4+dkey.MaxAuth1Subset)
	maxMessage = maxPlain + 16 + securemsg.MACSize
	maxSigned  = 2 + dkey.VehicleIDLenHomeKey + 3*(2+coordSize) + 2 + txIDSize + 2 + 4
	selectNe   = 256
	responseNe = 256
)

// String returns the stage name, for error messages.
func (st stage) String() string {
	names := [...]string{"idle", "started", "selected", "AUTH0 read", "AUTH0 done", "fast", "AUTH1 read", "standard", "failed"}
	if int(st) < len(names) {
		return names[st]
	}
	return fmt.Sprintf("stage(%d)", uint8(st))
}

// core is the state both roles keep for one transaction: what the two sides
// bind into their keys, the ephemeral keys, the key schedule and the
// buffers. VehicleSession and EndpointSession embed it.
type core struct {
	stage  stage
	t      transcript
	eph    ecdhe.PrivateKey
	peer   ecdhe.PublicKey
	ks     keySchedule
	z      [32]byte
	smKeys securemsg.Keys
	signed [maxSigned]byte
	plain  [maxPlain]byte

	// rand and keyLog are the configuration's Rand and KeyLog: nil means
	// crypto/rand and no key log.
	rand   io.Reader
	keyLog io.Writer
	// pool is the configuration's EphemeralPool (none when its pool is
	// nil) and the slot of the key taken from it.
	pool ephemeralSource

	// testingOnlyScalar, when set by a test, replaces the random ephemeral
	// scalar (and testingOnlyTxID the vehicle's transaction identifier), so
	// that a benchmark can replay the other side's recorded messages and
	// time one side alone. The key is still computed from the scalar, at
	// the cost of a fresh one.
	testingOnlyScalar []byte
	testingOnlyTxID   *[txIDSize]byte
}

// newEphemeral draws the ephemeral key of a transaction: from Rand in the
// deterministic mode, from the pool when it has a key ready, generated
// here otherwise.
func (c *core) newEphemeral() error {
	switch {
	case c.testingOnlyScalar != nil:
		return c.eph.SetScalar(c.testingOnlyScalar)
	case c.rand != nil:
		return c.eph.GenerateFrom(c.rand)
	case c.pool.take(&c.eph):
		return nil
	}
	return c.eph.Generate()
}

// logStandardKeys writes the keys of the standard key schedule to the key
// log, if there is one: Kenc, Kmac, Krmac, Kpersistent and, in the CCC
// profile, URSK, under the transaction identifier. Both sides call it as
// soon as the keys are derived, before they are used, so that a session
// whose first protected message fails to verify can still be examined. A
// write error is ignored: a key log must not change a transaction's outcome.
func (c *core) logStandardKeys() {
	if c.keyLog == nil {
		return
	}
	id := c.t.txID[:]
	b := keylog.AppendChannelKeys(make([]byte, 0, 512), keylog.TransactionKenc, id, &c.smKeys.Enc, &c.smKeys.MAC, &c.smKeys.RMAC)
	b = keylog.AppendLine(b, keylog.TransactionKpersistent, id, c.ks.persist[:])
	if c.ks.urskOK {
		b = keylog.AppendLine(b, keylog.TransactionURSK, id, c.ks.volatile[volatileSize:volatileURSK])
	}
	_, _ = c.keyLog.Write(b)
	clear(b)
}

// logFastKeys writes the secure-messaging keys of the fast derivation to
// the key log, if there is one, under the transaction identifier. A write
// error is ignored.
func (c *core) logFastKeys() {
	if c.keyLog == nil {
		return
	}
	b := keylog.AppendChannelKeys(make([]byte, 0, 256), keylog.FastKenc, c.t.txID[:], &c.smKeys.Enc, &c.smKeys.MAC, &c.smKeys.RMAC)
	_, _ = c.keyLog.Write(b)
	clear(b)
}

func (c *core) expect(st ...stage) error {
	for _, x := range st {
		if c.stage == x {
			return nil
		}
	}
	return fmt.Errorf("%w: session is at stage %v", ErrOutOfSequence, c.stage)
}

// wipeCore erases the secrets of the transaction.
func (c *core) wipeCore() {
	c.eph.Zeroize()
	// The key erased, its slot in the pool may be refilled.
	c.pool.release()
	c.ks.zeroize()
	clear(c.z[:])
	clear(c.smKeys.Enc[:])
	clear(c.smKeys.MAC[:])
	clear(c.smKeys.RMAC[:])
	clear(c.plain[:])
}

// signedData returns the data an AUTH1 signature with usage covers
// (docs/protocol.md §4.3), in the session's buffer.
func (c *core) signedData(usage *[4]byte) []byte {
	return appendSignedData(c.signed[:0], c.t.vehicleID, c.t.endpointEPKX[:], c.t.vehicleEPKX[:], &c.t.txID, usage)
}

// deriveSessionKeys runs ECDH on the ephemeral keys and the standard key
// schedule (docs/protocol.md §4.4), leaving the secure-messaging keys in smKeys.
func (c *core) deriveSessionKeys() error {
	if err := c.eph.ECDH(&c.z, &c.peer); err != nil {
		return fmt.Errorf("transaction: ECDH: %w", err)
	}
	c.ks.deriveStandard(&c.t, &c.z)
	c.ks.standardKeys(&c.smKeys)
	return nil
}

// rangingKey returns URSK after a standard transaction of the CCC profile,
// the zero RangingKey otherwise.
func (c *core) rangingKey() RangingKey {
	var k RangingKey
	if c.stage != stageStandard || !c.ks.urskOK {
		return k
	}
	copy(k.key[:], c.ks.volatile[volatileSize:volatileURSK])
	k.valid = true
	return k
}

// appendSelectResponse appends the SELECT response data: 5C versions.
func appendSelectResponse(dst []byte, versions dkey.VersionList) []byte {
	dst = append(dst, byte(tagVersions), byte(2*versions.Len()))
	return versions.Append(dst)
}

// parseSelectResponse parses the SELECT response data of the DK applet.
func parseSelectResponse(b []byte) (dkey.VersionList, error) {
	s := tlv.String(b)
	var v tlv.String
	if !s.ReadTLV(&v, tagVersions) || !s.Empty() {
		return dkey.VersionList{}, malformed("SELECT response")
	}
	l, err := dkey.ParseVersionList(v)
	if err != nil {
		return l, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return l, nil
}

// responseError turns a response status word other than 9000 into an error
// naming the command.
func responseError(what string, r *transport.Response) error {
	if r.SW.OK() {
		return nil
	}
	return fmt.Errorf("transaction: %s: %w", what, r.SW)
}
