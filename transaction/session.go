package transaction

import (
	"fmt"

	"github.com/opencarkey/sdk/dkey"
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
	maxPlain    = 2 + dkey.MaxKeySlotLen + 2 + dkey.SignatureSize + 2*(4+dkey.MaxAuth1Subset)
	maxMessage  = maxPlain + 16 + securemsg.MACSize
	maxSigned   = 2 + dkey.VehicleIDLenHomeKey + 3*(2+coordSize) + 2 + txIDSize + 2 + 4
	selectNe    = 256
	responseNe  = 256
	maxVersions = 2 + 2*dkey.MaxVersions
)

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
