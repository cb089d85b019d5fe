package pollingtest

import (
	"errors"
	"os"
)

// PTY is a pseudo-terminal that links a driver to a simulated controller.
type PTY struct {
	// Master is the simulation's side.
	Master *os.File
	// Slave is the path of the driver's side, as of a serial device.
	Slave string
	slave *os.File
}

// Close closes both sides.
func (p *PTY) Close() error {
	return errors.Join(p.Master.Close(), p.slave.Close())
}
