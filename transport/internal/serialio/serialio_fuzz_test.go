package serialio_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/internal/serialio"
)

var (
	errPortFailed    = errors.New("fake port: line failed")
	errTimeoutFailed = errors.New("fake port: cannot set the timeout")
)

// scriptPort is a Port whose behaviour on each Read comes from a script of
// fuzz bytes, one op per Read, over a byte stream: deliver a chunk, deliver
// a chunk together with io.EOF, time out as go.bug.st/serial does (0, nil),
// time out with an error wrapping os.ErrDeadlineExceeded, fail, or cancel
// the reader's context. When the script ends the port reports io.EOF, as a
// closed port does.
type scriptPort struct {
	t        *testing.T
	ops      []byte
	stream   []byte
	cancel   context.CancelFunc
	failSet  int // SetReadTimeout call (1-based) that fails; 0 never
	sets     int
	timedOut bool // SetReadTimeout was called since the last Read
}

func (p *scriptPort) SetReadTimeout(d time.Duration) error {
	p.sets++
	if d <= 0 || d > 20*time.Millisecond {
		p.t.Fatalf("SetReadTimeout(%v): want a poll slice in (0, 20ms]", d)
	}
	if p.sets == p.failSet {
		return errTimeoutFailed
	}
	p.timedOut = true
	return nil
}

func (p *scriptPort) Write(b []byte) (int, error) { return len(b), nil }

func (p *scriptPort) Read(b []byte) (int, error) {
	if len(b) == 0 {
		p.t.Fatal("Read with an empty buffer")
	}
	if !p.timedOut {
		p.t.Fatal("Read without SetReadTimeout before it")
	}
	p.timedOut = false
	if len(p.ops) == 0 {
		return 0, io.EOF
	}
	op := p.ops[0]
	p.ops = p.ops[1:]
	chunk := func() int {
		n := min(len(b), len(p.stream), 1+int(op>>3))
		copy(b, p.stream[:n])
		p.stream = p.stream[n:]
		return n
	}
	switch op % 6 {
	case 0:
		return chunk(), nil
	case 1:
		return chunk(), io.EOF
	case 2:
		return 0, nil
	case 3:
		return 0, &os.PathError{Op: "read", Path: "/dev/fake", Err: os.ErrDeadlineExceeded}
	case 4:
		return 0, errPortFailed
	default:
		p.cancel()
		return 0, nil
	}
}

// checkErr checks that err is one of the errors the port and context can
// cause, as Read documents them: the port's own error, io.EOF, the
// context's error, or the wrapped SetReadTimeout failure.
func checkErr(t *testing.T, err error) {
	t.Helper()
	switch {
	case errors.Is(err, errPortFailed), errors.Is(err, io.EOF), errors.Is(err, context.Canceled):
	case errors.Is(err, errTimeoutFailed):
		if !strings.HasPrefix(err.Error(), "serialio: ") {
			t.Fatalf("SetReadTimeout failure not wrapped by the package: %v", err)
		}
	default:
		t.Fatalf("unexpected error %v", err)
	}
	if errors.Is(err, serialio.ErrTimeout) {
		t.Fatalf("ErrTimeout without a deadline: %v", err)
	}
}

// FuzzRead drives Read and ReadFull over a scripted port. Properties: Read
// returns between 1 and len(buf) bytes and no error, or 0 bytes and an
// error; the bytes returned are the stream's bytes in order, so what the
// port delivered is exactly what the caller got; ReadFull fills its buffer
// with the next bytes of the stream or fails; timeouts of the port (0 bytes,
// or an os.ErrDeadlineExceeded error) are retried, never returned; a
// deadline already past gives ErrTimeout without reading.
func FuzzRead(f *testing.F) {
	// Seeds: PN532 and NCI frames as they come off a UART, in chunks with
	// timeouts between them, then the script's end (io.EOF).
	pn532ACK := []byte{0x00, 0x00, 0xff, 0x00, 0xff, 0x00}
	pn532Frame := []byte{0x00, 0x00, 0xff, 0x03, 0xfd, 0xd5, 0x03, 0x32, 0xf6, 0x00}
	nciReset := []byte{0x40, 0x00, 0x03, 0x00, 0x10, 0x00}
	f.Add([]byte{0x00, 0x02, 0x18, 0x03, 0x28}, pn532ACK, uint8(6), false, uint8(0))
	f.Add([]byte{0x08, 0x02, 0x02, 0x38, 0x03, 0x10}, pn532Frame, uint8(10), true, uint8(0))
	f.Add([]byte{0x10, 0x01}, nciReset, uint8(3), true, uint8(0))
	f.Add([]byte{0x02, 0x04}, nciReset, uint8(4), false, uint8(0))
	f.Add([]byte{0x02, 0x05, 0x00}, pn532ACK, uint8(2), true, uint8(0))
	f.Add([]byte{0x00, 0x00}, pn532Frame, uint8(8), true, uint8(2))
	f.Add([]byte{}, []byte{}, uint8(0), false, uint8(0))
	f.Add([]byte{0x00}, []byte{0x42}, uint8(1), false, uint8(255))
	f.Fuzz(func(t *testing.T, ops, stream []byte, bufSize uint8, full bool, failSet uint8) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := &scriptPort{t: t, ops: ops, stream: bytes.Clone(stream), cancel: cancel, failSet: int(failSet)}
		buf := make([]byte, int(bufSize)%32)

		var got []byte
		for range 2*len(ops) + 2 {
			if full {
				before := len(p.stream)
				err := serialio.ReadFull(ctx, p, buf, time.Time{})
				if err != nil {
					checkErr(t, err)
					if before-len(p.stream) >= len(buf) && len(buf) > 0 {
						t.Fatalf("ReadFull failed (%v) after the port delivered all %d bytes", err, len(buf))
					}
					// The bytes taken before the failure are in buf, in order.
					taken := before - len(p.stream)
					got = append(got, buf[:taken]...)
					if !bytes.Equal(got, stream[:len(got)]) {
						t.Fatalf("ReadFull failed (%v) with %x in its buffer, port delivered %x", err, buf[:taken], stream[len(got)-taken:len(got)])
					}
					break
				}
				if before-len(p.stream) != len(buf) {
					t.Fatalf("ReadFull of %d bytes took %d from the port", len(buf), before-len(p.stream))
				}
				got = append(got, buf...)
			} else {
				n, err := serialio.Read(ctx, p, buf, time.Time{})
				if len(buf) == 0 {
					if n != 0 || err != nil {
						t.Fatalf("Read(empty buffer) = %d, %v", n, err)
					}
					break
				}
				if err != nil {
					if n != 0 {
						t.Fatalf("Read = %d bytes and %v", n, err)
					}
					checkErr(t, err)
					break
				}
				if n < 1 || n > len(buf) {
					t.Fatalf("Read into %d bytes = %d", len(buf), n)
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, stream[:len(stream)-len(p.stream)]) {
				t.Fatalf("caller got %x, port delivered %x", got, stream[:len(stream)-len(p.stream)])
			}
		}

		// A deadline already past: ErrTimeout, and the port is not read.
		rest := len(p.stream)
		ops0 := len(p.ops)
		n, err := serialio.Read(context.Background(), p, buf, time.Unix(1, 0))
		if len(buf) > 0 && (n != 0 || !errors.Is(err, serialio.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded)) {
			t.Fatalf("Read past its deadline = %d, %v", n, err)
		}
		if len(p.stream) != rest || len(p.ops) != ops0 {
			t.Fatal("Read past its deadline read the port")
		}
	})
}
