package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pcsc"
)

// The integration tests run against a real pcscd with the vpcd driver and a
// card served in-process by transport/vpcd (see helpers_test.go).
// scripts/pcsc/run.sh starts such a pcscd in private namespaces and sets
// OPENCARKEY_PCSC=1.

func transceive(tb testing.TB, cn *pcsc.Conn, cmd []byte) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cn.Transceive(ctx, nil, cmd)
	if err != nil {
		tb.Fatalf("Transceive(%x) = %v", cmd[:min(len(cmd), 16)], err)
	}
	return resp
}

func TestIntegrationReaders(t *testing.T) {
	requirePCSC(t)
	c := establish(t)
	names, err := c.Readers(t.Context())
	if err != nil {
		t.Fatalf("Readers() = %v", err)
	}
	if diff := cmp.Diff([]string{reader0, reader1}, names); diff != "" {
		t.Errorf("Readers() mismatch (-want +got):\n%s", diff)
	}
	for _, n := range names {
		if strings.ContainsRune(n, 0) {
			t.Errorf("Readers() name %q contains NUL", n)
		}
	}
}

func TestIntegrationSelect(t *testing.T) {
	requirePCSC(t)
	card := pcsc.NewTestCard(1)
	insertCard(t, 0, card)
	c := establish(t)
	cn := connectCard(t, c, 0)
	if got := cn.Protocol(); got != pcsc.T1 {
		t.Errorf("Protocol() = %v, want %v", got, pcsc.T1)
	}
	if got, want := transceive(t, cn, pcsc.SelectCommand()), []byte{0x6F, 0x03, 0x84, 0x01, 0x01, 0x90, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("Transceive(SELECT) = %x, want %x", got, want)
	}
	// A prefix in dst is kept.
	got, err := cn.Transceive(t.Context(), []byte{0xAA}, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x01, 0x02, 0x00})
	if want := []byte{0xAA, 0x6A, 0x82}; err != nil || !bytes.Equal(got, want) {
		t.Errorf("Transceive(SELECT unknown) = %x, %v, want %x, nil", got, err, want)
	}
}

func TestIntegrationAPDULengths(t *testing.T) {
	requirePCSC(t)
	insertCard(t, 0, pcsc.NewTestCard(1))
	c := establish(t)
	cn := connectCard(t, c, 0)
	// The largest command vpcd frames is 65535 bytes: 7 bytes of header and
	// Lc, 65526 of data, 2 of Le.
	for _, n := range []int{0, 1, 255, 256, 1000, 4096, 65526} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		var cmd []byte
		if n == 0 {
			cmd = []byte{0x80, 0x10, 0x00, 0x00, 0x00}
		} else {
			cmd = pcsc.EchoCommand(data)
		}
		got := transceive(t, cn, cmd)
		if want := append(data, 0x90, 0x00); !bytes.Equal(got, want) {
			t.Errorf("echo of %d bytes: got %d bytes, want %d", n, len(got), len(want))
		}
	}
	// The largest response vpcd frames is 65535 bytes: 65533 of data.
	for _, n := range []int{0, 256, 4096, 65533} {
		got := transceive(t, cn, pcsc.GenerateCommand(n))
		if len(got) != n+2 || !bytes.Equal(got[n:], []byte{0x90, 0x00}) {
			t.Errorf("generate %d bytes: got %d bytes ending %x", n, len(got), got[max(0, len(got)-2):])
		}
	}
}

func TestIntegrationCardRemovedMidExchange(t *testing.T) {
	requirePCSC(t)
	card := pcsc.NewTestCard(1)
	stop := insertCard(t, 0, card)
	c := establish(t)
	cn := connectCard(t, c, 0)
	transceive(t, cn, pcsc.SelectCommand())

	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := cn.Transceive(ctx, nil, []byte{0x80, 0x20, 0x00, 0x00})
		errc <- err
	}()
	<-card.Blocked()
	go func() { // the card leaves the field while it is working
		time.Sleep(10 * time.Millisecond)
		card.Unblock()
	}()
	stop()
	err := <-errc
	t.Logf("Transceive during removal = %v", err)
	if !errors.Is(err, transport.ErrCardRemoved) {
		t.Errorf("Transceive during removal = %v, want %v", err, transport.ErrCardRemoved)
	}
	var pe *pcsc.Error
	if !errors.As(err, &pe) {
		t.Errorf("Transceive during removal = %T, want *pcsc.Error", err)
	}
	if got := card.Resets(); got == 0 {
		t.Errorf("card resets after removal = %d, want > 0", got)
	}

	// The next call reports the removal too; Reconnect finds no card.
	_, err = cn.Transceive(t.Context(), nil, pcsc.SelectCommand())
	t.Logf("Transceive after removal = %v", err)
	if !errors.Is(err, transport.ErrCardRemoved) && !errors.Is(err, transport.ErrNoCard) {
		t.Errorf("Transceive after removal = %v, want %v or %v", err, transport.ErrCardRemoved, transport.ErrNoCard)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = cn.Reconnect(ctx, pcsc.Leave)
	t.Logf("Reconnect without card = %v", err)

	// A card comes back: wait for it and reconnect.
	card2 := pcsc.NewTestCard(2)
	insertCard(t, 0, card2)
	if _, err := c.WaitForCard(ctx, reader0); err != nil {
		t.Fatalf("WaitForCard() = %v", err)
	}
	if err := cn.Reconnect(ctx, pcsc.Leave); err != nil {
		t.Fatalf("Reconnect(Leave) = %v", err)
	}
	if got, want := transceive(t, cn, pcsc.SelectCommand()), []byte{0x6F, 0x03, 0x84, 0x01, 0x02, 0x90, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("Transceive(SELECT) after reconnect = %x, want %x", got, want)
	}
}

func TestIntegrationReset(t *testing.T) {
	requirePCSC(t)
	card := pcsc.NewTestCard(1)
	insertCard(t, 0, card)
	c := establish(t)
	cn := connectCard(t, c, 0)
	transceive(t, cn, pcsc.SelectCommand())
	before := card.Resets()

	// Our own reset: vpcd sends control code 02 to the card.
	if err := cn.Reconnect(t.Context(), pcsc.Reset); err != nil {
		t.Fatalf("Reconnect(Reset) = %v", err)
	}
	if got := card.Resets(); got <= before {
		t.Errorf("card resets after Reconnect(Reset) = %d, want > %d", got, before)
	}
	if got := cn.Protocol(); got != pcsc.T1 {
		t.Errorf("Protocol() after Reconnect(Reset) = %v, want %v", got, pcsc.T1)
	}
	transceive(t, cn, pcsc.SelectCommand())

	// Another application resets the card: our session is over until we
	// reconnect.
	other := establish(t)
	ocn := connectCard(t, other, 0)
	if err := ocn.Reconnect(t.Context(), pcsc.Reset); err != nil {
		t.Fatalf("other Reconnect(Reset) = %v", err)
	}
	_, err := cn.Transceive(t.Context(), nil, pcsc.SelectCommand())
	if !errors.Is(err, pcsc.ResetCard) || !errors.Is(err, transport.ErrCardRemoved) {
		t.Fatalf("Transceive after another's reset = %v, want %v (%v)", err, pcsc.ResetCard, transport.ErrCardRemoved)
	}
	if err := cn.Status(t.Context()); !errors.Is(err, pcsc.ResetCard) {
		t.Errorf("Status() after another's reset = %v, want %v", err, pcsc.ResetCard)
	}
	if err := cn.Reconnect(t.Context(), pcsc.Leave); err != nil {
		t.Fatalf("Reconnect(Leave) = %v", err)
	}
	if err := cn.Status(t.Context()); err != nil {
		t.Errorf("Status() after Reconnect = %v, want nil", err)
	}
	transceive(t, cn, pcsc.SelectCommand())
}

func TestIntegrationTwoReaders(t *testing.T) {
	requirePCSC(t)
	insertCard(t, 0, pcsc.NewTestCard(1))
	insertCard(t, 1, pcsc.NewTestCard(2))
	c := establish(t)
	conns := []*pcsc.Conn{connectCard(t, c, 0), connectCard(t, c, 1)}
	// Both readers at once, from two goroutines on one Client.
	var wg sync.WaitGroup
	for i, cn := range conns {
		wg.Go(func() {
			want := []byte{0x6F, 0x03, 0x84, 0x01, byte(i + 1), 0x90, 0x00}
			for range 50 {
				got, err := cn.Transceive(t.Context(), nil, pcsc.SelectCommand())
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: Transceive(SELECT) = %x, %v, want %x, nil", cn.Reader(), got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestIntegrationNoCard(t *testing.T) {
	requirePCSC(t)
	c := establish(t)
	waitEmpty(t, 1)
	_, err := c.Connect(t.Context(), reader1)
	if !errors.Is(err, pcsc.NoSmartcard) || !errors.Is(err, transport.ErrNoCard) {
		t.Errorf("Connect(empty reader) = %v, want %v (%v)", err, pcsc.NoSmartcard, transport.ErrNoCard)
	}
	_, err = c.Connect(t.Context(), "No Such Reader")
	if !errors.Is(err, pcsc.UnknownReader) || !errors.Is(err, transport.ErrNoReader) {
		t.Errorf("Connect(unknown reader) = %v, want %v (%v)", err, pcsc.UnknownReader, transport.ErrNoReader)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = c.WaitForCard(ctx, reader1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForCard(empty reader) = %v, want %v", err, context.DeadlineExceeded)
	}
}

// BenchmarkPCSCTransceive is a SELECT round trip through pcscd and vpcd.
func BenchmarkPCSCTransceive(b *testing.B) {
	requirePCSC(b)
	insertCard(b, 0, pcsc.NewTestCard(1))
	c := establish(b)
	cn := connectCard(b, c, 0)
	cmd := pcsc.SelectCommand()
	buf := make([]byte, 0, 256)
	run := func(b *testing.B, ctx context.Context) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := cn.Transceive(ctx, buf[:0], cmd)
			if err != nil || len(resp) != 7 {
				b.Fatalf("Transceive(SELECT) = %x, %v", resp, err)
			}
		}
	}
	b.Run("background", func(b *testing.B) { run(b, context.Background()) })
	b.Run("timeout", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		run(b, ctx)
	})
	b.Run("echo-4096", func(b *testing.B) {
		cmd := pcsc.EchoCommand(make([]byte, 4096))
		buf := make([]byte, 0, 4200)
		b.ReportAllocs()
		b.SetBytes(4096)
		for b.Loop() {
			resp, err := cn.Transceive(context.Background(), buf[:0], cmd)
			if err != nil || len(resp) != 4098 {
				b.Fatalf("Transceive(echo) = %d bytes, %v", len(resp), err)
			}
		}
	})
}
