package transporttest_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// resettable is a card that answers 9000 and counts calls and resets.
type resettable struct {
	calls, resets int
}

func (c *resettable) ProcessAPDU(dst, cmd []byte) []byte {
	c.calls++
	return append(dst, 0x90, 0x00)
}

func (c *resettable) Reset() { c.resets++ }

func TestCardExchange(t *testing.T) {
	card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		dst = append(dst, cmd[1:]...) // echo everything but CLA
		return append(dst, 0x90, 0x00)
	}))
	dst := []byte{0xAA}
	got, err := card.Transceive(context.Background(), dst, []byte{0x00, 0xB0, 0x01, 0x02, 0x03})
	if want := []byte{0xAA, 0xB0, 0x01, 0x02, 0x03, 0x90, 0x00}; err != nil || !bytes.Equal(got, want) {
		t.Errorf("Transceive = %X, %v, want %X", got, err, want)
	}
}

// TestCardCopies checks that neither side sees the other's buffers: a card
// that writes into its command or keeps it, and a caller that writes into
// the response.
func TestCardCopies(t *testing.T) {
	var kept, keptDst []byte
	static := []byte{0x01, 0x02, 0x90, 0x00}
	card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		kept = cmd
		cmd[0] = 0xFF // a misbehaving card
		dst = append(dst, static...)
		keptDst = dst
		return dst
	}))
	cmd := []byte{0x00, 0xB0, 0x00, 0x00, 0x02}
	got, err := card.Transceive(context.Background(), nil, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if cmd[0] != 0x00 {
		t.Errorf("the card's write reached the caller's command: %X", cmd)
	}
	// The lent buffers were overwritten after the exchange, so a card that
	// keeps them reads garbage rather than a later command.
	if bytes.Equal(kept, cmd) || bytes.Equal(keptDst, static) {
		t.Errorf("buffers lent to the card kept their content: %X %X", kept, keptDst)
	}
	got[0] = 0xFF
	again, err := card.Transceive(context.Background(), nil, cmd)
	if err != nil || !bytes.Equal(again, static) {
		t.Errorf("second Transceive = %X, %v, want %X", again, err, static)
	}
}

func TestCardContext(t *testing.T) {
	inner := &resettable{}
	card := transporttest.NewCard(inner)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := card.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("Transceive with a canceled context = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	if _, err := card.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Transceive past the deadline = %v, want context.DeadlineExceeded", err)
	}
	if inner.calls != 0 {
		t.Errorf("the card answered %d commands of an ended context", inner.calls)
	}
}

func TestCardRemove(t *testing.T) {
	ctx := context.Background()
	inner := &resettable{}
	card := transporttest.NewCard(inner)
	if _, err := card.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	card.Remove()
	card.Remove() // removing twice resets once
	if inner.resets != 1 {
		t.Errorf("card reset %d times on removal, want 1", inner.resets)
	}
	dst := []byte{0xAA}
	got, err := card.Transceive(ctx, dst, []byte{0, 0xB0, 0, 0})
	if !errors.Is(err, transport.ErrCardRemoved) {
		t.Errorf("Transceive after Remove = %v, want ErrCardRemoved", err)
	}
	if !bytes.Equal(got, dst) {
		t.Errorf("Transceive after Remove = %X, want dst unchanged", got)
	}
	card.Insert()
	if _, err := card.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); err != nil {
		t.Errorf("Transceive after Insert = %v", err)
	}
	if inner.calls != 2 {
		t.Errorf("card answered %d commands, want 2", inner.calls)
	}
}

func TestCardRemoveAfter(t *testing.T) {
	ctx := context.Background()
	inner := &resettable{}
	card := transporttest.NewCard(inner, transporttest.RemoveAfter(2))
	for i := range 2 {
		if _, err := card.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); err != nil {
			t.Fatalf("exchange %d: %v", i+1, err)
		}
	}
	if inner.resets != 0 {
		t.Errorf("card reset before its removal")
	}
	if _, err := card.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); !errors.Is(err, transport.ErrCardRemoved) {
		t.Errorf("exchange 3 = %v, want ErrCardRemoved", err)
	}
	if inner.resets != 1 || inner.calls != 2 {
		t.Errorf("card answered %d and reset %d times, want 2 and 1", inner.calls, inner.resets)
	}
	card.Insert() // back for good
	for i := range 3 {
		if _, err := card.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); err != nil {
			t.Fatalf("exchange %d after Insert: %v", i+1, err)
		}
	}

	zero := transporttest.NewCard(&resettable{}, transporttest.RemoveAfter(0))
	if _, err := zero.Transceive(ctx, nil, []byte{0, 0xB0, 0, 0}); !errors.Is(err, transport.ErrCardRemoved) {
		t.Errorf("RemoveAfter(0): first exchange = %v, want ErrCardRemoved", err)
	}
}

// TestCardRemoveConcurrent removes the card while another goroutine runs
// exchanges; run it with -race.
func TestCardRemoveConcurrent(t *testing.T) {
	inner := &resettable{}
	card := transporttest.NewCard(inner)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			_, err := card.Transceive(context.Background(), nil, []byte{0, 0xB0, 0, 0})
			if err != nil && !errors.Is(err, transport.ErrCardRemoved) {
				t.Errorf("Transceive = %v", err)
			}
		}
	})
	for range 100 {
		card.Remove()
		card.Insert()
	}
	wg.Wait()
}

func TestCardMaxCommandLen(t *testing.T) {
	inner := &resettable{}
	card := transporttest.NewCard(inner, transporttest.MaxCommandLen(5))
	if _, err := card.Transceive(context.Background(), nil, []byte{0, 0xB0, 0, 0, 0}); err != nil {
		t.Errorf("Transceive of 5 bytes = %v", err)
	}
	_, err := card.Transceive(context.Background(), nil, []byte{0, 0xB0, 0, 0, 0, 0, 0})
	if !errors.Is(err, transport.ErrProtocol) {
		t.Errorf("Transceive of 7 bytes = %v, want ErrProtocol", err)
	}
	if inner.calls != 1 {
		t.Errorf("card answered %d commands, want 1", inner.calls)
	}
}

func TestCardShortResponse(t *testing.T) {
	for _, resp := range [][]byte{nil, {0x90}} {
		card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte { return append(dst, resp...) }))
		if _, err := card.Transceive(context.Background(), nil, []byte{0, 0xB0, 0, 0}); !errors.Is(err, transport.ErrProtocol) {
			t.Errorf("Transceive with a %d-byte response = %v, want ErrProtocol", len(resp), err)
		}
	}
}

func TestCardAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		return append(dst, 0x01, 0x02, 0x90, 0x00)
	}))
	ctx, buf, cmd := context.Background(), make([]byte, 0, 64), []byte{0, 0xB0, 0, 0, 0}
	card.Transceive(ctx, buf, cmd)
	if n := testing.AllocsPerRun(100, func() { card.Transceive(ctx, buf[:0], cmd) }); n > 0 {
		t.Errorf("Transceive allocated %v times, want 0", n)
	}
}
