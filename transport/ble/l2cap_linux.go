//go:build linux

package ble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Socket options of the kernel's Bluetooth stack (include/net/bluetooth/
// bluetooth.h), at level SOL_BLUETOOTH. golang.org/x/sys/unix does not
// define them.
const (
	btSecurity = 4  // struct bt_security { u8 level; u8 key_size; }
	btSndMTU   = 12 // u16, read only: the peer's MTU
	btRcvMTU   = 13 // u16: the MTU this side announces
)

// SecurityLevel is the link security an L2CAP socket requires before it
// carries data (the kernel's BT_SECURITY_*).
type SecurityLevel uint8

// Security levels. The DK channel needs an encrypted link (§8.1: the device
// encrypts the link before it opens L2CAP; first approach and owner
// pairing are the exceptions).
const (
	SecurityLow    SecurityLevel = 1 // no encryption: first approach, pairing
	SecurityMedium SecurityLevel = 2 // encrypted
	SecurityHigh   SecurityLevel = 3 // encrypted with an authenticated (MITM-protected) key
	SecurityFIPS   SecurityLevel = 4 // LE Secure Connections only
)

// L2CAPConfig configures [DialL2CAP] and [ListenL2CAP]. The zero value
// works: any adapter, an encrypted link, DefaultMaxSDU.
type L2CAPConfig struct {
	// Adapter is the address of the local controller; the zero address
	// means any (BDADDR_ANY). Its Type is the type of the local address;
	// zero means public.
	Adapter Address
	// Security is the security the link needs; zero means SecurityMedium.
	Security SecurityLevel
	// ReceiveMTU is the largest SDU this side accepts, announced to the
	// peer; zero or less means DefaultMaxSDU. Give a Channel the same
	// MaxSDU.
	ReceiveMTU int
}

func (c *L2CAPConfig) resolve() L2CAPConfig {
	var r L2CAPConfig
	if c != nil {
		r = *c
	}
	if r.Adapter.Type == 0 {
		r.Adapter.Type = AddressPublic
	}
	if r.Security == 0 {
		r.Security = SecurityMedium
	}
	if r.ReceiveMTU <= 0 {
		r.ReceiveMTU = DefaultMaxSDU
	}
	if r.ReceiveMTU > MaxMessageLen {
		r.ReceiveMTU = MaxMessageLen
	}
	return r
}

// sockaddr returns the kernel address of a with port spsm.
func sockaddr(a Address, spsm SPSM) *unix.SockaddrL2 {
	return &unix.SockaddrL2{PSM: uint16(spsm), Addr: a.Addr, AddrType: uint8(a.Type)}
}

// newL2CAPSocket opens a non-blocking LE L2CAP socket bound to the adapter
// with the security and MTU of cfg.
func newL2CAPSocket(cfg *L2CAPConfig, spsm SPSM) (int, error) {
	fd, err := unix.Socket(unix.AF_BLUETOOTH, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.BTPROTO_L2CAP)
	if err != nil {
		return -1, fmt.Errorf("ble: L2CAP socket: %w", err)
	}
	if err := unix.Bind(fd, sockaddr(cfg.Adapter, spsm)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("ble: L2CAP bind to %v: %w", cfg.Adapter, err)
	}
	if err := unix.SetsockoptString(fd, unix.SOL_BLUETOOTH, btSecurity, string([]byte{byte(cfg.Security), 0})); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("ble: L2CAP security level %d: %w", cfg.Security, err)
	}
	var mtu [2]byte
	binary.NativeEndian.PutUint16(mtu[:], uint16(cfg.ReceiveMTU))
	if err := unix.SetsockoptString(fd, unix.SOL_BLUETOOTH, btRcvMTU, string(mtu[:])); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("ble: L2CAP receive MTU %d: %w", cfg.ReceiveMTU, err)
	}
	return fd, nil
}

// sendMTU reads the peer's MTU of a connected L2CAP socket. The kernel
// writes a u16 at the start of the option buffer; GetsockoptInt reads four
// bytes, so the u16 is taken back out of them in the machine's order.
func sendMTU(fd int) (int, error) {
	v, err := unix.GetsockoptInt(fd, unix.SOL_BLUETOOTH, btSndMTU)
	if err != nil {
		return 0, fmt.Errorf("ble: L2CAP send MTU: %w", err)
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return int(binary.NativeEndian.Uint16(b[:2])), nil
}

// DialL2CAP opens an LE credit-based L2CAP channel to port spsm of peer,
// the vehicle (read the SPSM from its GATT characteristic, §8.2), as the
// device does. The link security of cfg is requested before the channel
// opens. ctx bounds the connection.
func DialL2CAP(ctx context.Context, peer Address, spsm SPSM, cfg *L2CAPConfig) (*SocketConn, error) {
	c := cfg.resolve()
	if peer.Type == 0 {
		peer.Type = AddressPublic
	}
	fd, err := newL2CAPSocket(&c, 0)
	if err != nil {
		return nil, err
	}
	conn, err := NewSocketConn(fd, 0)
	if err != nil {
		return nil, err
	}
	// The socket belongs to conn now: reach its descriptor through Control.
	var cerr error
	err = conn.rc.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), sockaddr(peer, spsm)) })
	if err == nil {
		err = cerr
	}
	if errors.Is(err, unix.EINPROGRESS) {
		err = awaitConnect(ctx, conn)
	}
	if err == nil {
		err = conn.rc.Control(func(fd uintptr) { conn.sendMTU, cerr = sendMTU(int(fd)) })
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ble: L2CAP connect to %v SPSM %v: %w", peer, spsm, err)
	}
	return conn, nil
}

// awaitConnect waits for a non-blocking connect to finish.
func awaitConnect(ctx context.Context, c *SocketConn) error {
	var soErr error
	first := true
	err := withContext(ctx, c.f.SetWriteDeadline, func() error {
		return c.rc.Write(func(fd uintptr) bool {
			if first {
				first = false
				return false // wait until the socket is writable
			}
			v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
			switch {
			case err != nil:
				soErr = err
			case v != 0:
				soErr = syscall.Errno(v)
			}
			return true
		})
	})
	if err != nil {
		return socketError(ctx, "connect", err)
	}
	return soErr
}

// L2CAPListener accepts LE credit-based L2CAP channels on an SPSM, as the
// vehicle does.
type L2CAPListener struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool
	// peerMTU reads the send MTU of an accepted socket (sendMTU; tests
	// over AF_UNIX replace it).
	peerMTU func(fd int) (int, error)
}

// ListenL2CAP listens for LE credit-based L2CAP channels on spsm (in the
// dynamic range; publish it in the SPSM characteristic of
// [VehicleService]). Accepted channels get the security and MTU of cfg.
func ListenL2CAP(spsm SPSM, cfg *L2CAPConfig) (*L2CAPListener, error) {
	if !spsm.Valid() {
		return nil, fmt.Errorf("ble: SPSM %v outside %v–%v", spsm, MinSPSM, MaxSPSM)
	}
	c := cfg.resolve()
	fd, err := newL2CAPSocket(&c, spsm)
	if err != nil {
		return nil, err
	}
	if err := unix.Listen(fd, 4); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ble: L2CAP listen on %v: %w", spsm, err)
	}
	return newListener(fd, sendMTU)
}

// newListener wraps fd, a listening SOCK_SEQPACKET socket.
func newListener(fd int, peerMTU func(int) (int, error)) (*L2CAPListener, error) {
	f, rc, err := pollable(fd, "ble-l2cap-listener")
	if err != nil {
		return nil, err
	}
	return &L2CAPListener{f: f, rc: rc, peerMTU: peerMTU}, nil
}

// Accept waits for the next channel and returns it with the peer's
// address. It fails with the context's error when ctx ends first and with
// ErrLinkClosed once the listener is closed.
func (l *L2CAPListener) Accept(ctx context.Context) (*SocketConn, Address, error) {
	var nfd int
	var sa unix.Sockaddr
	var aerr error
	err := withContext(ctx, l.f.SetReadDeadline, func() error {
		return l.rc.Read(func(fd uintptr) bool {
			nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			return aerr != unix.EAGAIN
		})
	})
	if err == nil {
		err = aerr
	}
	switch {
	case err != nil && l.closed.Load():
		return nil, Address{}, fmt.Errorf("ble: accept: %w (%w)", ErrLinkClosed, err)
	case err != nil:
		return nil, Address{}, socketError(ctx, "accept", err)
	}
	var peer Address
	if l2, ok := sa.(*unix.SockaddrL2); ok {
		// x/sys/unix hands back the kernel's little-endian address bytes
		// on accept (it reverses them only on the way in).
		for i := range peer.Addr {
			peer.Addr[i] = l2.Addr[len(l2.Addr)-1-i]
		}
		peer.Type = AddressType(l2.AddrType)
	}
	mtu, err := l.peerMTU(nfd)
	if err != nil {
		unix.Close(nfd)
		return nil, Address{}, err
	}
	conn, err := NewSocketConn(nfd, mtu)
	if err != nil {
		return nil, Address{}, err
	}
	return conn, peer, nil
}

// Close stops listening.
func (l *L2CAPListener) Close() error {
	l.closed.Store(true)
	if err := l.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("ble: close listener: %w", err)
	}
	return nil
}
