package nci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParseGPIOLines parses the command-line form of an NCI controller's GPIO
// lines, "chip:irq[:ven]": the GPIO character device, the IRQ line offset
// and, optionally, the VEN line offset (ven is -1 without it), for
// I2CConfig. For example "/dev/gpiochip0:23:24".
func ParseGPIOLines(s string) (chip string, irq uint32, ven int, err error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return "", 0, 0, fmt.Errorf("nci: GPIO lines %q: want chip:irq[:ven]", s)
	}
	n, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return "", 0, 0, fmt.Errorf("nci: IRQ line %q: %w", parts[1], err)
	}
	ven = -1
	if len(parts) == 3 {
		v, err := strconv.ParseUint(parts[2], 10, 31)
		if err != nil {
			return "", 0, 0, fmt.Errorf("nci: VEN line %q: %w", parts[2], err)
		}
		ven = int(v)
	}
	if ven == int(n) {
		return "", 0, 0, errors.New("nci: IRQ and VEN on the same line")
	}
	return parts[0], uint32(n), ven, nil
}
