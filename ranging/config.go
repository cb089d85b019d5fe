package ranging

import (
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// Capabilities is what one side supports: the values it offers (the
// vehicle) or selects from (the device). Lists are in order of preference.
// The zero value of a field means its default.
type Capabilities struct {
	// Versions are the ranging protocol versions, highest first. Default
	// 1.0 (docs/protocol.md §8.4).
	Versions dkey.VersionList
	// ConfigIDs are the UWB configurations. Default 0000, 0001.
	ConfigIDs ConfigIDList
	// PulseShapes are the pulse-shape combinations. Default the five
	// allowed ones: 01, 10, 11, 12, 21.
	PulseShapes PulseShapeList
	// Channels are the UWB channels. Default 5 and 9.
	Channels ChannelMask
	// Slots are the slot lengths. Default 3, 4, 6, 8, 9 and 12 chaps (24 is
	// for tests only).
	Slots SlotMask
	// SyncCodes are the SYNC code indices. Default 9 to 12, the BPRF
	// preamble codes of IEEE 802.15.4z (the project's choice; docs/protocol.md
	// §8.4 allows 1 to 32).
	SyncCodes SyncCodeMask
	// Hopping is the set of hopping modes and sequences. Default all of
	// them.
	Hopping HoppingMask
	// MinRANMultiplier is the smallest RAN multiplier the side accepts.
	// Default 1.
	MinRANMultiplier uint8
}

// resolve fills the defaults and validates every field.
func (c Capabilities) resolve() (Capabilities, error) {
	if c.Versions.Len() == 0 {
		c.Versions, _ = dkey.NewVersionList(dkey.Version1)
	}
	if c.ConfigIDs.Len() == 0 {
		c.ConfigIDs, _ = NewConfigIDList(ConfigID0, ConfigID1)
	}
	if c.PulseShapes.Len() == 0 {
		c.PulseShapes, _ = NewPulseShapeList(0x01, 0x10, 0x11, 0x12, 0x21)
	}
	if c.Channels == 0 {
		c.Channels = ChannelsOf(Channel5, Channel9)
	}
	if c.Slots == 0 {
		c.Slots = SlotsOf(3, 4, 6, 8, 9, 12)
	}
	if c.SyncCodes == 0 {
		c.SyncCodes = SyncCodesOf(9, 10, 11, 12)
	}
	if c.Hopping == 0 {
		c.Hopping = hopModes | hopSequences
	}
	if c.MinRANMultiplier == 0 {
		c.MinRANMultiplier = 1
	}
	for i := range c.PulseShapes.Len() {
		if !c.PulseShapes.At(i).Valid() {
			return c, fmt.Errorf("ranging: configured pulse-shape combination %v is not allowed", c.PulseShapes.At(i))
		}
	}
	switch {
	case !c.Channels.Valid():
		return c, fmt.Errorf("ranging: configured channel bitmask 0x%02x", uint8(c.Channels))
	case !c.Slots.Valid():
		return c, fmt.Errorf("ranging: configured slot bitmask 0x%02x", uint8(c.Slots))
	case !c.Hopping.Valid():
		return c, fmt.Errorf("ranging: configured hopping bitmask 0x%02x", uint8(c.Hopping))
	}
	return c, nil
}

// resolveCommon resolves what both roles' configurations hold: the
// capabilities, the key store and the salt profile.
func resolveCommon(caps Capabilities, keys KeyStore, salt SaltProfile, role string) (Capabilities, error) {
	caps, err := caps.resolve()
	if err != nil {
		return caps, err
	}
	if keys == nil {
		return caps, fmt.Errorf("ranging: %sConfig.Keys is nil", role)
	}
	if !salt.Valid() {
		return caps, fmt.Errorf("ranging: unknown salt profile %v", salt)
	}
	return caps, nil
}

// VehicleConfig configures the vehicle side of the ranging setup.
type VehicleConfig struct {
	Capabilities
	// Responders is the number of UWB anchors that range with the device:
	// 1 to 92. Required.
	Responders uint8
	// SlotsPerRound is the number of slots per ranging round. Zero means
	// the smallest allowed value of at least Responders + 4 (docs/protocol.md
	// §8.4).
	SlotsPerRound uint8
	// Keys holds the vehicle's copies of the URSKs. Required.
	Keys KeyStore
	// Salt selects the Salt and SaltedHash construction of the key
	// schedule; both sides must agree. The zero value is SaltProjectKDF.
	Salt SaltProfile
}

// DeviceConfig configures the device side of the ranging setup.
type DeviceConfig struct {
	Capabilities
	// Keys holds the URSKs of the device's applet. Required.
	Keys KeyStore
	// Salt selects the Salt and SaltedHash construction of the key
	// schedule; both sides must agree. The zero value is SaltProjectKDF.
	Salt SaltProfile
	// UWBTime0 returns UWB_Time0, the time at which ranging starts on the
	// device's UWB clock in microseconds. A real device asks its UWB chip
	// (UCI QUERY_UWBS_TIMESTAMP) and adds a lead time. Nil means the wall
	// clock in microseconds plus 100 ms, for simulations.
	UWBTime0 func() (uint64, error)
}

// defaultUWBTime0 is the UWB_Time0 of a device without a UWB clock.
func defaultUWBTime0() (uint64, error) {
	return uint64(time.Now().Add(100 * time.Millisecond).UnixMicro()), nil
}
