package serialio_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/internal/serialio"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

func openPair(t *testing.T) (*os.File, serialio.PortCloser) {
	t.Helper()
	pty, err := pollingtest.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pty.Close() })
	p, err := serialio.Open(pty.Slave, 115200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return pty.Master, p
}

func TestReadFull(t *testing.T) {
	master, p := openPair(t)
	ctx := context.Background()
	go func() {
		for _, chunk := range []string{"he", "ll", "o\r\n\x03"} {
			master.Write([]byte(chunk))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	buf := make([]byte, 8)
	if err := serialio.ReadFull(ctx, p, buf, time.Now().Add(5*time.Second)); err != nil || string(buf) != "hello\r\n\x03" {
		t.Errorf("ReadFull = %q, %v; want the bytes unchanged (raw mode)", buf, err)
	}
	if n, err := serialio.Read(ctx, p, nil, time.Time{}); n != 0 || err != nil {
		t.Errorf("Read(empty buffer) = %d, %v", n, err)
	}
	if err := serialio.WriteFull(p, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2)
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(master, got); err != nil || string(got) != "ok" {
		t.Errorf("master read %q, %v", got, err)
	}
}

func TestReadTimeoutAndCancel(t *testing.T) {
	_, p := openPair(t)
	buf := make([]byte, 1)
	_, err := serialio.Read(context.Background(), p, buf, time.Now().Add(30*time.Millisecond))
	if !errors.Is(err, serialio.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline = %v, want %v", err, serialio.ErrTimeout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if err := serialio.ReadFull(ctx, p, buf, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadFull(cancelled context, no deadline) = %v, want %v", err, context.Canceled)
	}
}

type zeroWriter struct{}

func (zeroWriter) Write(p []byte) (int, error) { return 0, nil }

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriteFullErrors(t *testing.T) {
	if err := serialio.WriteFull(zeroWriter{}, []byte{1}); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("WriteFull(writer that writes nothing) = %v", err)
	}
	if err := serialio.WriteFull(failWriter{}, []byte{1}); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("WriteFull(failing writer) = %v", err)
	}
	if _, err := serialio.Open("/nonexistent/tty", 115200); err == nil {
		t.Error("Open(/nonexistent/tty) succeeded")
	}
}

// liar is a port that claims more bytes than it was given.
type liar struct{}

func (liar) Read(b []byte) (int, error)         { return len(b) + 1, nil }
func (liar) Write(b []byte) (int, error)        { return len(b) + 1, nil }
func (liar) SetReadTimeout(time.Duration) error { return nil }

// TestBrokenPortCounts: a driver that reports more bytes than the buffer
// holds is an error (ErrPortCount), not a slice panic in ReadFull.
func TestBrokenPortCounts(t *testing.T) {
	buf := make([]byte, 4)
	if err := serialio.ReadFull(context.Background(), liar{}, buf, time.Time{}); !errors.Is(err, serialio.ErrPortCount) {
		t.Errorf("ReadFull(liar) = %v, want ErrPortCount", err)
	}
	if err := serialio.WriteFull(liar{}, buf); !errors.Is(err, serialio.ErrPortCount) {
		t.Errorf("WriteFull(liar) = %v, want ErrPortCount", err)
	}
}
