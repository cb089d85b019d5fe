//go:build linux

package nci_test

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/opencarkey/sdk/transport/nci"
)

// TestGPIOStructures checks the sizes the ioctl numbers encode (Linux
// include/uapi/linux/gpio.h: struct gpio_v2_line_request is 592 bytes,
// gpio_v2_line_values 16, gpio_v2_line_event 48).
func TestGPIOStructures(t *testing.T) {
	if n := unsafe.Sizeof(unix.GPIOV2LineRequest{}); n != 592 || unix.GPIO_V2_GET_LINE_IOCTL>>16&0x3FFF != 592 {
		t.Errorf("gpio_v2_line_request is %d bytes", n)
	}
	if n := unsafe.Sizeof(unix.GPIOV2LineValues{}); n != 16 || unix.GPIO_V2_LINE_GET_VALUES_IOCTL>>16&0x3FFF != 16 {
		t.Errorf("gpio_v2_line_values is %d bytes", n)
	}
	if n := unsafe.Sizeof(unix.GPIOV2LineEvent{}); n != 48 {
		t.Errorf("gpio_v2_line_event is %d bytes", n)
	}
}

// TestLinuxDeviceErrors opens devices that are not what they should be:
// the ioctls fail and the error says so. The success paths need hardware
// (TestHardware).
func TestLinuxDeviceErrors(t *testing.T) {
	if _, err := nci.OpenI2CDevice("/nonexistent/i2c-9", 0x28); err == nil {
		t.Error("OpenI2CDevice(/nonexistent/i2c-9) succeeded")
	}
	if _, err := nci.OpenI2CDevice("/dev/null", 0x28); err == nil {
		t.Error("OpenI2CDevice(/dev/null) succeeded: I2C_SLAVE on a non-I2C file")
	}
	if _, err := nci.OpenI2CDevice("/dev/null", 0x80); err == nil {
		t.Error("OpenI2CDevice(address 0x80) succeeded")
	}
	if _, err := nci.OpenGPIOInput("/nonexistent/gpiochip9", 1, "test"); err == nil {
		t.Error("OpenGPIOInput(/nonexistent/gpiochip9) succeeded")
	}
	if _, err := nci.OpenGPIOInput("/dev/null", 1, "test"); err == nil {
		t.Error("OpenGPIOInput(/dev/null) succeeded: a line request on a non-GPIO file")
	}
	if _, err := nci.OpenGPIOOutput("/dev/null", 1, "test", true); err == nil {
		t.Error("OpenGPIOOutput(/dev/null) succeeded")
	}
	if _, err := nci.OpenI2C(ctxT(t), nci.I2CConfig{Bus: "/dev/null", Chip: "/dev/null", VEN: -1}, nil); err == nil {
		t.Error("OpenI2C(/dev/null) succeeded")
	}
}
