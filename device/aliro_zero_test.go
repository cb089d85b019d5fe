package device

import (
	"bytes"
	"testing"
)

// TestZeroAliroAppletMisuse: an AliroApplet not made by NewAliroApplet
// answers APDUs with 6F00 (keeping what dst held), and Reset and Close do
// nothing; none of them panics.
func TestZeroAliroAppletMisuse(t *testing.T) {
	var a AliroApplet
	selectAliro := []byte{0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x09, 0x09, 0xAC, 0xCE, 0x55, 0x01, 0x00}
	dst := []byte{0xAA}
	out := a.ProcessAPDU(dst, selectAliro)
	if want := []byte{0xAA, 0x6F, 0x00}; !bytes.Equal(out, want) {
		t.Errorf("ProcessAPDU = %X, want %X", out, want)
	}
	a.Reset()
	if err := a.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if got := a.Credentials(); len(got) != 0 {
		t.Errorf("Credentials = %v", got)
	}
}
