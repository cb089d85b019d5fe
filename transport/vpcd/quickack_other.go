//go:build !linux

package vpcd

import "net"

// quickAcker does nothing where TCP_QUICKACK does not exist.
type quickAcker struct{}

func newQuickAcker(net.Conn) quickAcker { return quickAcker{} }

func (quickAcker) arm() {}
