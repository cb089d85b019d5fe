package cert

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzParseEndpointExtension(f *testing.F) {
	for _, e := range []*EndpointExtension{minimalEndpointExtension(f), fullEndpointExtension(f)} {
		der, err := e.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
		a := toASN1(f, e)
		implicit, err := asn1.Marshal(asn1EndpointImplicit(a))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(implicit)
		f.Add(der[:len(der)-1])
	}
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		e, err := ParseEndpointExtension(der)
		if err != nil {
			var ee *ExtensionError
			if !errors.As(err, &ee) || !errors.Is(err, ErrMalformedExtension) {
				t.Fatalf("ParseEndpointExtension(%x) = %v, want *ExtensionError", der, err)
			}
			return
		}
		out, err := e.Marshal()
		if err != nil {
			t.Fatalf("Marshal(ParseEndpointExtension(%x)) = %v", der, err)
		}
		if !bytes.Equal(out, der) {
			// Only the IMPLICIT mailbox tags may differ: Marshal writes
			// EXPLICIT ones, two bytes longer each.
			if d := len(out) - len(der); d != 2 && d != 4 {
				t.Fatalf("Marshal(ParseEndpointExtension(%x)) = %x", der, out)
			}
		}
		again, err := ParseEndpointExtension(out)
		if err != nil {
			t.Fatalf("ParseEndpointExtension(%x) = %v after Marshal", out, err)
		}
		if diff := cmp.Diff(e, again, cmpKeys, cmpIDs); diff != "" {
			t.Fatalf("round trip of %x mismatch (-first +second):\n%s", der, diff)
		}
	})
}
