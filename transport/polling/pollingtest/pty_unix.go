//go:build unix

package pollingtest

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// OpenPTY opens a pseudo-terminal for a simulated controller: the master
// side, on which the simulation reads and writes (its reads honour
// SetReadDeadline), and the slave side, whose path the driver under test
// opens as it opens a serial device (go.bug.st/serial puts it in raw mode).
func OpenPTY() (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("pollingtest: opening a pseudo-terminal: %w", err)
	}
	// pty.Open leaves the master in blocking mode, which os.File cannot
	// interrupt; a non-blocking duplicate is polled by the runtime, so that
	// deadlines and Close end a read in progress.
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pollingtest: duplicating the pseudo-terminal master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		s.Close()
		return nil, fmt.Errorf("pollingtest: pseudo-terminal master: %w", err)
	}
	// The slave stays open: reading the master of a pseudo-terminal whose
	// slave no one holds fails with EIO, and the driver may open it later
	// than the simulation starts reading.
	return &PTY{Master: os.NewFile(uintptr(fd), "ptmx"), Slave: s.Name(), slave: s}, nil
}
