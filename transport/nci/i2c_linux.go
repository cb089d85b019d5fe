//go:build linux

package nci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// i2cSlave is the I2C_SLAVE ioctl of i2c-dev: it sets the address of the
// device the file's reads and writes go to (Linux
// include/uapi/linux/i2c-dev.h).
const i2cSlave = 0x0703

// DefaultI2CAddress is the PN7160's 7-bit I2C address with both address
// pins low (the Linux nxp-nci bindings and NXP's examples use 0x28).
const DefaultI2CAddress = 0x28

// I2CDevice is an I2C device on Linux i2c-dev: a [Bus].
type I2CDevice struct{ f *os.File }

// OpenI2CDevice opens the i2c-dev bus at path (/dev/i2c-1) for the device
// at the 7-bit address addr.
func OpenI2CDevice(path string, addr uint16) (*I2CDevice, error) {
	if addr > 0x7F {
		return nil, fmt.Errorf("nci: I2C address %#x is not a 7-bit address", addr)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("nci: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("nci: %w", err)
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlSetInt(int(fd), i2cSlave, int(addr)) }); err != nil {
		ioErr = err
	}
	if ioErr != nil {
		f.Close()
		return nil, fmt.Errorf("nci: setting I2C address %#x on %s: %w", addr, path, ioErr)
	}
	return &I2CDevice{f: f}, nil
}

// Read reads len(p) bytes in one I2C transaction.
func (d *I2CDevice) Read(p []byte) (int, error) { return d.f.Read(p) }

// Write writes p in one I2C transaction.
func (d *I2CDevice) Write(p []byte) (int, error) { return d.f.Write(p) }

// Close closes the bus.
func (d *I2CDevice) Close() error { return d.f.Close() }

// I2CConfig names the Linux devices of an NCI controller on I2C.
type I2CConfig struct {
	// Bus is the i2c-dev device, /dev/i2c-1 for example.
	Bus string
	// Address is the controller's 7-bit address; zero means
	// DefaultI2CAddress.
	Address uint16
	// Chip is the GPIO character device of the interrupt (and enable)
	// lines, /dev/gpiochip0 for example.
	Chip string
	// IRQ is the line offset of the controller's IRQ output.
	IRQ uint32
	// VEN, if not negative, is the line offset of the controller's enable
	// input: the driver holds it high, after a low pulse that resets the
	// controller.
	VEN int
}

// venPulse is how long VEN stays low, and then high before the first
// command: 10 ms, as ESPHome's pn7160 (NFCC_DEFAULT_TIMEOUT) and Linux
// nxp-nci (usleep_range(10000, 15000)) do.
const venPulse = 10 * time.Millisecond

// OpenI2C opens an NCI controller (a PN7160) on Linux i2c-dev with its
// interrupt line on the GPIO character device, resets it through VEN when
// configured, and initializes it as New does. Close closes the bus and the
// lines.
func OpenI2C(ctx context.Context, c I2CConfig, cfg *Config) (*Device, error) {
	addr := c.Address
	if addr == 0 {
		addr = DefaultI2CAddress
	}
	bus, err := OpenI2CDevice(c.Bus, addr)
	if err != nil {
		return nil, err
	}
	irq, err := OpenGPIOInput(c.Chip, c.IRQ, "opencarkey-nci-irq")
	if err != nil {
		bus.Close()
		return nil, err
	}
	closers := multiCloser{bus, irq}
	if c.VEN >= 0 {
		ven, err := OpenGPIOOutput(c.Chip, uint32(c.VEN), "opencarkey-nci-ven", false)
		if err != nil {
			closers.Close()
			return nil, err
		}
		closers = append(closers, ven)
		for _, step := range []bool{false, true} {
			if err := ven.Set(step); err != nil {
				closers.Close()
				return nil, err
			}
			time.Sleep(venPulse)
		}
	}
	d, err := newDevice(ctx, NewI2CLink(bus, irq), closers, cfg)
	if err != nil {
		closers.Close()
		return nil, err
	}
	return d, nil
}

type multiCloser []interface{ Close() error }

func (m multiCloser) Close() error {
	var errs []error
	for i := len(m) - 1; i >= 0; i-- {
		errs = append(errs, m[i].Close())
	}
	return errors.Join(errs...)
}
