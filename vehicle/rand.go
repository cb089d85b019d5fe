package vehicle

import (
	"crypto/rand"
	"io"
)

// readRand fills b from Config.Rand, or from crypto/rand when it is nil.
func (r *Reader) readRand(b []byte) error {
	if r.rand == nil {
		_, err := rand.Read(b)
		return err
	}
	_, err := io.ReadFull(r.rand, b)
	return err
}
