package pcsc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pcsc"
)

// TestEstablishForeignSystem: on a system whose PC/SC middleware is not
// pcsc-lite, Establish says so in one error instead of failing to find a
// socket, and the error still means "no reader" to callers that branch on
// transport errors.
func TestEstablishForeignSystem(t *testing.T) {
	pcsc.SetForeignSystem(t)
	c, err := pcsc.Establish(context.Background(), &pcsc.Config{Socket: t.TempDir() + "/none"})
	if err == nil {
		c.Release(context.Background())
		t.Fatal("Establish succeeded on a foreign system")
	}
	if !errors.Is(err, pcsc.ErrUnsupportedPlatform) || !errors.Is(err, transport.ErrNoReader) {
		t.Errorf("Establish = %v, want ErrUnsupportedPlatform matching transport.ErrNoReader", err)
	}
	var pe *pcsc.Error
	if !errors.As(err, &pe) || pe.Code != pcsc.NoService {
		t.Errorf("Establish = %#v, want an *Error with Code NoService", err)
	}
}
