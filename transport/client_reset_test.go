package transport_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// TestClientReset checks that a Client reset for another transceiver and
// configuration behaves as NewClient's, whatever it was configured with
// before: the limits are the new configuration's, the commands go to the
// new transceiver.
func TestClientReset(t *testing.T) {
	ctx := context.Background()
	c := transport.NewClient(transporttest.NewCard(echoCard()), &transport.ClientConfig{ExtendedLength: true})
	if _, err := c.Do(ctx, &write1k, nil); err != nil {
		t.Fatalf("extended client: Do(1000 bytes) = %v", err)
	}

	// Reset to a short-APDU client with 2-byte segments and a 5-byte
	// response limit: the command is chained as the card expects (an
	// extended client would send it whole, which the card refuses), and
	// the 6-byte response is refused.
	card := transporttest.NewCard(playback(t, `
		> 90D40000 02 0102
		< 9000
		> 80D40000 01 03 00
		< 0102030405 6101
		> 00C00000 01
		< 06 9000`))
	c.Reset(card, &transport.ClientConfig{MaxCommandData: 2, MaxResponse: 5})
	cmd := transport.Command{CLA: 0x80, INS: 0xD4, Data: h("010203"), Ne: 256}
	_, err := c.Do(ctx, &cmd, nil)
	var le *transport.LimitError
	if !errors.As(err, &le) || *le != (transport.LimitError{Limit: transport.LimitResponseData, Max: 5, Got: 6}) {
		t.Errorf("after Reset: Do = %v, want the response limit of the new configuration", err)
	}

	// Reset with a nil configuration: short APDUs, default limits.
	c.Reset(transporttest.NewCard(echoCard()), nil)
	got, err := c.Do(ctx, &auth0, nil)
	if err != nil || !bytes.Equal(got.Data, seq(74)) {
		t.Errorf("after Reset(nil config): Do = %X, %v, want the echo card's 74 bytes", got.Data, err)
	}

	// Reset(nil, nil) forgets the transceiver.
	c.Reset(nil, nil)
	c.Reset(transporttest.NewCard(echoCard()), nil)
	if _, err := c.Do(ctx, &auth0, nil); err != nil {
		t.Errorf("Reset after Reset(nil, nil): Do = %v", err)
	}
}

// TestClientResetAllocations checks that a Client reused through Reset
// exchanges without allocating once its buffers have grown.
func TestClientResetAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	card := transporttest.NewCard(echoCard())
	c := transport.NewClient(card, nil)
	buf := make([]byte, 0, 256)
	cfg := transport.ClientConfig{}
	if n := testing.AllocsPerRun(100, func() {
		c.Reset(card, &cfg)
		if _, err := c.Do(ctx, &auth0, buf[:0]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Reset then Do allocated %v times, want 0", n)
	}
}
