package cborstrict

import (
	"encoding/hex"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestModes(t *testing.T) {
	em := EncMode()
	dm := DecMode(cbor.TagsForbidden, 16)
	type msg struct {
		A int    `cbor:"1,keyasint"`
		B []byte `cbor:"2,keyasint,omitempty"`
	}
	b, err := em.Marshal(msg{A: 5, B: []byte{1}})
	if err != nil || hex.EncodeToString(b) != "a20105024101" {
		t.Fatalf("Marshal = %x, %v", b, err)
	}
	for _, tt := range []struct {
		name string
		in   string
	}{
		{"duplicate key", "a201050106"},
		{"indefinite map", "bf0105ff"},
		{"unknown field", "a2010503 05"},
		{"tag", "c1a10105"},
		{"too deep", "a10181818181 01"},
	} {
		in, _ := hex.DecodeString(removeSpaces(tt.in))
		var m msg
		if err := dm.Unmarshal(in, &m); err == nil {
			t.Errorf("%s: %s decoded", tt.name, tt.in)
		}
	}
	var m msg
	if err := dm.Unmarshal(b, &m); err != nil || m.A != 5 {
		t.Errorf("round trip: %+v, %v", m, err)
	}
	if DecMode(cbor.TagsAllowed, 1024) == nil {
		t.Error("no mode")
	}
}

func removeSpaces(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
