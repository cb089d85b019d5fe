//go:build !linux

package nci

import (
	"context"
	"errors"
)

// I2CConfig names the devices of an NCI controller on I2C; only Linux has
// them (i2c-dev and the GPIO character device).
type I2CConfig struct {
	Bus     string
	Address uint16
	Chip    string
	IRQ     uint32
	VEN     int
}

// OpenI2C is not available on this system: it needs Linux i2c-dev and the
// GPIO character device.
func OpenI2C(ctx context.Context, c I2CConfig, cfg *Config) (*Device, error) {
	return nil, errors.ErrUnsupported
}
