package device

import (
	"crypto/rand"
	"io"
)

// readRand fills b from Config.Rand, or from crypto/rand when it is nil.
func (a *Applet) readRand(b []byte) error {
	if a.cfg.Rand == nil {
		_, err := rand.Read(b)
		return err
	}
	_, err := io.ReadFull(a.cfg.Rand, b)
	return err
}
