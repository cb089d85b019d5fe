package pollingtest

import (
	"context"
	"io"
	"time"
)

// ReadStream reads conn until ctx ends or conn fails and hands every chunk
// that arrives to handle, the receiving loop of a simulated controller on a
// byte stream. When ctx ends it interrupts a read in progress through
// conn's SetReadDeadline, if it has one (the master of OpenPTY, a net.Conn;
// close conn otherwise). It returns nil when ctx ended, handle's error, or
// conn's.
func ReadStream(ctx context.Context, conn io.Reader, handle func(chunk []byte) error) error {
	if d, ok := conn.(interface{ SetReadDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { d.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	buf := make([]byte, 512)
	for {
		n, err := conn.Read(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if err := handle(buf[:n]); err != nil {
			return err
		}
	}
}
