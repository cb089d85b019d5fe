package pairing

import (
	"context"
	"reflect"
	"testing"

	"github.com/opencarkey/sdk/transport"
)

// TestAbortWithNonAbortCode: AbortWith refuses a code that is not a valid
// abort code (it returned nothing and panicked before) and leaves the run
// as it was, so a later AbortWith with a real abort code still sends it.
func TestAbortWithNonAbortCode(t *testing.T) {
	f := newFixture(t, "123456", false)
	p, err := NewVehicleSession(f.vcfg, f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := p.Start()
	if err != nil {
		t.Fatal(err)
	}
	c := transport.NewClient(f.link, nil)
	resp, err := c.Do(context.Background(), &cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(resp); err != nil { // SELECT answered: the framework is selected
		t.Fatal(err)
	}
	for _, code := range []OpControlFlow{OpKeepAlive, OpPairingComplete, OpControlFlow(0x1210), OpControlFlow(0x1300), 0} {
		if got, ok := p.AbortWith(code); ok || !reflect.DeepEqual(got, transport.Command{}) {
			t.Errorf("AbortWith(%v) = %v, %v; want a refusal", code, got, ok)
		}
	}
	if p.err != nil || p.done || !p.selected {
		t.Fatalf("a refused AbortWith changed the run: err %v, done %v, selected %v", p.err, p.done, p.selected)
	}
	got, ok := p.AbortWith(OpAbortAttemptsExhausted)
	if want := opCommand(OpAbortAttemptsExhausted); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("AbortWith(%v) = %v, %v; want %v, true", OpAbortAttemptsExhausted, got, ok, want)
	}
}
