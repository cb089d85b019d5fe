package vpcd

import (
	"net"
	"syscall"
)

// quickAcker turns on TCP_QUICKACK on a TCP connection before each read.
//
// vpcd up to vsmartcard 3.3 (Debian 12's) writes a frame's length and its
// payload with two send calls on a socket without TCP_NODELAY. Nagle's
// algorithm then holds the payload until the length is acknowledged, and
// Linux delays that acknowledgement by up to 40 ms: every command would wait
// for it. Quick-ack mode acknowledges at once; the kernel may leave it after
// a while, so it is set again before every read.
type quickAcker struct {
	rc syscall.RawConn
}

func newQuickAcker(conn net.Conn) quickAcker {
	sc, ok := conn.(*net.TCPConn)
	if !ok {
		return quickAcker{}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return quickAcker{}
	}
	return quickAcker{rc: rc}
}

func (q quickAcker) arm() {
	if q.rc == nil {
		return
	}
	q.rc.Control(setQuickAck)
}

func setQuickAck(fd uintptr) {
	// An error leaves delayed acknowledgements on: slower, not wrong.
	syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}
