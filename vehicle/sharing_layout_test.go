package vehicle

import (
	"testing"

	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
)

// TestPairingLayoutMatchesSharing checks that the mailbox mapping pairing
// writes by default describes the layout that package sharing reads and
// writes (pairing cannot import sharing, docs/architecture.md).
func TestPairingLayoutMatchesSharing(t *testing.T) {
	c := pairing.DefaultOwnerKeyConfig()
	m := c.Mapping
	if m.SignalingBitmap != sharing.SignalOffset || m.AttestationOffset != sharing.AreaOffset ||
		m.End != c.Mailboxes.PrivateSize || int(m.AttestationOffset)+int(m.AttestationLength) != int(m.End) {
		t.Errorf("pairing mapping %+v does not describe sharing's layout (bitmap %d, area from %d to the end)", m, sharing.SignalOffset, sharing.AreaOffset)
	}
	if p := c.Mailboxes.PrivateAuth1; p.Offset != sharing.SignalOffset || p.Length < sharing.AreaHeaderSize {
		t.Errorf("AUTH1 private subset %+v does not carry sharing's %d-byte header", p, sharing.AreaHeaderSize)
	}
}
