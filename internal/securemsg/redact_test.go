package securemsg

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/internal/redacttest"
)

// TestSecretsRedacted (issue 12, finding 7): the keys and both ends of a
// live channel format with every verb without showing a byte of Kenc,
// Kmac, Krmac or the ICV the channel computed last.
func TestSecretsRedacted(t *testing.T) {
	k := Keys{
		Enc:  [KeySize]byte{0xE1, 0x9C, 0x52, 0xB7, 0x0D, 0x6A, 0xF3, 0x28, 0x81, 0x4E, 0xC5, 0x3B, 0x97, 0x1F, 0x6D, 0xA2},
		MAC:  [KeySize]byte{0x3D, 0xA8, 0x71, 0xCE, 0x15, 0xB9, 0x46, 0xE2, 0x8F, 0x27, 0xD0, 0x5C, 0x93, 0x6B, 0x0E, 0xF4},
		RMAC: [KeySize]byte{0x5A, 0xC3, 0x1E, 0x87, 0xF0, 0x29, 0x64, 0xBD, 0x02, 0x9B, 0x76, 0xE5, 0x48, 0xA1, 0x3F, 0xD6},
	}
	s, r := newPair(t, &k, CommandFirst)
	cmd, err := s.ProtectCommand(nil, []byte("open the door"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.UnprotectCommand(nil, cmd); err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{k.Enc[:], k.MAC[:], k.RMAC[:], bytes.Clone(r.ch.scratch[:])}
	for _, v := range []any{k, &k, *s, s, *r, r, s.ch, &r.ch} {
		redacttest.Check(t, v, secrets...)
	}
}
