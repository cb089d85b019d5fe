package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

func selectAPDU(aid []byte) []byte {
	cmd := append([]byte{0x00, 0xA4, 0x04, 0x00, byte(len(aid))}, aid...)
	return append(cmd, 0x00)
}

func TestDemoCard(t *testing.T) {
	tests := []struct {
		name string
		cmd  []byte
		want []byte
	}{
		{name: "SELECT DK applet", cmd: selectAPDU([]byte(dkey.AIDDigitalKey)), want: []byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00}},
		{name: "SELECT DK applet without Le", cmd: selectAPDU([]byte(dkey.AIDDigitalKey))[:5+len(dkey.AIDDigitalKey)], want: []byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00}},
		{name: "SELECT other", cmd: selectAPDU([]byte{0xA0, 0x00, 0x00, 0x00, 0x01}), want: []byte{0x6A, 0x82}},
		{name: "SELECT bad P1P2", cmd: []byte{0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00}, want: []byte{0x6A, 0x86}},
		{name: "SELECT bad Lc", cmd: []byte{0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0}, want: []byte{0x67, 0x00}},
		{name: "SELECT trailing bytes", cmd: append(selectAPDU([]byte{0xA0, 0x00}), 0x00), want: []byte{0x67, 0x00}},
		{name: "AUTH0", cmd: []byte{0x80, 0x80, 0x01, 0x01, 0x00}, want: []byte{0x6D, 0x00}},
		{name: "too short", cmd: []byte{0x00, 0xA4}, want: []byte{0x67, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := demoCard{}.ProcessAPDU([]byte{0xEE}, tt.cmd)
			if want := append([]byte{0xEE}, tt.want...); !bytes.Equal(got, want) {
				t.Errorf("ProcessAPDU(%x) = %x, want %x", tt.cmd, got, want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeVPCD listens as vpcd does, starts run with args (plus -host and
// -port of the listener) and accepts its connection. exchange sends one frame
// and returns the answer; stop cancels run, checks that it returned
// context.Canceled and returns what it wrote to stderr.
func fakeVPCD(t *testing.T, args ...string) (exchange func(payload []byte) []byte, stop func() string, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-host", "127.0.0.1", "-port", port}, args...), &stderr)
	}()

	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	exchange = func(payload []byte) []byte {
		t.Helper()
		frame := binary.BigEndian.AppendUint16(nil, uint16(len(payload)))
		if _, err := conn.Write(append(frame, payload...)); err != nil {
			t.Fatal(err)
		}
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			t.Fatal(err)
		}
		resp := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	stop = func() string {
		t.Helper()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("run() = %v, want %v", err, context.Canceled)
		}
		return stderr.String()
	}
	return exchange, stop, port
}

func TestRun(t *testing.T) {
	exchange, stop, port := fakeVPCD(t, "-atr", "3b8180018080", "-v")
	if got, want := exchange([]byte{0x04}), []byte{0x3B, 0x81, 0x80, 0x01, 0x80, 0x80}; !bytes.Equal(got, want) {
		t.Errorf("GET ATR = %X, want %X", got, want)
	}
	if got, want := exchange(selectAPDU([]byte(dkey.AIDDigitalKey))), []byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("SELECT = %X, want %X", got, want)
	}
	out := stop()
	for _, want := range []string{
		"waiting for vpcd at 127.0.0.1:" + port,
		`card "demo" inserted`,
		"> 00A404000DA000000809434343444B41763100",
		"< 5C0201009000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-card", "nope"}, `unknown card "nope"`},
		{[]string{"-atr", "zz"}, "invalid -atr"},
		{[]string{"-atr", "3b"}, "vpcd: invalid ATR"},
		{[]string{"-port", "0"}, "invalid port 0"},
		{[]string{"-port", "70000"}, "invalid port 70000"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"-state", "x.db"}, "-state needs -card applet"},
		{[]string{"-card", "applet", "-kek", "x.kek"}, "-kek needs -state"},
		{[]string{"-card", "applet", "-state", "/nonexistent/dir/x.db"}, "key-encryption key"},
	}
	for _, tt := range tests {
		var stderr syncBuffer
		err := run(t.Context(), tt.args, &stderr)
		// Flag errors are said on stderr by the flag set, the rest in err.
		if err == nil || !strings.Contains(err.Error()+"\n"+stderr.String(), tt.want) {
			t.Errorf("run(%q) = %v (stderr %q), want an error containing %q", tt.args, err, stderr.String(), tt.want)
		}
	}
}
