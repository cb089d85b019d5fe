package device

import (
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// Power reserve (docs/protocol.md §1, docs/design.md: "works from the applet alone"):
// the phone is out of battery, its operating system is off, and the
// secure element, powered by the reader's field, still answers. The host
// app cannot be called, and its clock cannot be read.
//
// In power reserve the applet lets a key transact when the owner marked
// it for power reserve (KeyConfig.PowerReserve, SetPowerReserve) and its
// express mode is on; a key that needs user authentication is refused as
// always (6985, dkey.ErrUserAuthenticationRequired), without a look at the
// host's clock; lost mode and suspended keys are refused as always; any
// other key is refused with 6985 (ErrPowerReserve). Owner pairing is not
// offered. Every management call of the host is refused with
// ErrPowerReserve, but SetLostMode (always accepted) and
// ExitPowerReserve. The mode is stored: an applet restarted from its
// store, as a secure element is at every tap of a dead phone, is still in
// it.

// powerReserveRefusal is the refusal, or nil, of key k at a reader in
// power reserve.
func powerReserveRefusal(k *key) error {
	switch {
	case !k.express:
		return dkey.ErrUserAuthenticationRequired
	case !k.powerReserve:
		return fmt.Errorf("%w: %w: key not marked for power reserve", ErrPowerReserve, dkey.ErrKeySuspended)
	}
	return nil
}

// EnterPowerReserve puts the applet in power reserve, as the operating
// system does when it shuts down for lack of battery. It ends any
// transaction in progress.
func (a *Applet) EnterPowerReserve() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	if err := a.saveAppletLocked(func(a *Applet) { a.power = true }); err != nil {
		return err
	}
	a.abortLocked()
	a.authTil = time.Time{}
	return nil
}

// ExitPowerReserve ends power reserve: the operating system is back.
func (a *Applet) ExitPowerReserve() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	return a.saveAppletLocked(func(a *Applet) { a.power = false })
}

// PowerReserve reports whether the applet is in power reserve.
func (a *Applet) PowerReserve() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.power
}

// SetPowerReserve marks (on) or unmarks the key of vehicle for power
// reserve: with express mode on, it then transacts while the phone is out
// of battery.
func (a *Applet) SetPowerReserve(vehicle dkey.VehicleID, on bool) error {
	return a.change(vehicle, func(k *key) error {
		return a.saveKeyLocked(k, func(c *key) { c.powerReserve = on })
	})
}
