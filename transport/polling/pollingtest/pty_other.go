//go:build !unix

package pollingtest

import "errors"

// OpenPTY opens a pseudo-terminal for a simulated controller; there is none
// on this system.
func OpenPTY() (*PTY, error) { return nil, errors.ErrUnsupported }
