package sharing

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
)

// DeviceChange is the owner moving to a new device (docs/protocol.md §7): the new
// device has paired and holds a new owner key enrolled at the vehicle; the
// keys the old owner key shared must keep working, and the old key must stop.
type DeviceChange struct {
	// Vehicle is the vehicle.
	Vehicle dkey.VehicleID
	// OldKey and OldSlot are the old device's owner key.
	OldKey  *dkey.PublicKey
	OldSlot dkey.KeySlot
	// NewKey and NewSlot are the new owner key, in the new device's secure
	// element; NewGrant is what it holds at the vehicle (zero means
	// dkey.OwnerProfile()). It must hold dkey.EntitleShare to re-issue and
	// dkey.EntitleManage to terminate the old key.
	NewKey   crypto.Signer
	NewSlot  dkey.KeySlot
	NewGrant dkey.AccessProfile
	// NewNotBefore and NewNotAfter are the new key's own validity at the
	// vehicle (inclusive, to the second); zero leaves an end unbounded, as
	// for an owner key. Every re-issued window must lie within it.
	NewNotBefore, NewNotAfter time.Time
	// Issued are the key attestations the old key signed, as the owner's
	// devices keep them (Issued.Attestation), carried over with the
	// account's data. Keys already terminated are left out by the caller.
	Issued []*attest.KeyAttestation
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
}

// Reissue is one shared key attested again by the new owner key.
type Reissue struct {
	// Previous is the old key's attestation; Attestation the new one, with
	// a new ID, the same key, slot, profile and validity, and the new
	// owner key as signer.
	Previous, Attestation *attest.KeyAttestation
	// Statement is the signed new attestation.
	Statement []byte
}

// ChangePlan is what a device change sends to the vehicle, through the new
// owner key's mailbox (entries of a statement area, AppendMailboxEntry) or
// the automaker's server:
//
//   - the re-issued key attestations, which the vehicle admits with
//     VehicleIntake.AdmitFriend and a zero slot and enrolls ahead of each friend's
//     next transaction (keys already enrolled stay as they are): friends do
//     nothing, and those who had not yet used their key keep a working share
//     even though the key that signed their attestation goes;
//   - the termination of the old owner key, signed by the new one, which the
//     vehicle processes with VehicleIntake.ProcessTermination, after the
//     attestations.
//
// The old device terminates its own keys (device.Applet.Terminate) if it
// still can; the termination in the plan makes that unnecessary for the
// vehicle.
type ChangePlan struct {
	Reissued []Reissue
	// Expired lists the attestations not re-issued because their validity
	// window has ended.
	Expired []*attest.KeyAttestation
	// Termination is the old owner key's termination attestation.
	Termination []byte
}

// PlanDeviceChange re-signs the still valid attestations of c.Issued with
// the new owner key and signs the old key's termination.
func PlanDeviceChange(c *DeviceChange) (*ChangePlan, error) {
	switch {
	case c == nil || c.Vehicle.IsZero() || c.OldKey == nil || c.OldSlot.IsZero():
		return nil, errors.New("sharing: device change needs the vehicle and the old key")
	case c.NewKey == nil || c.NewSlot.IsZero() || c.NewSlot == c.OldSlot:
		return nil, errors.New("sharing: device change needs a new key in a new slot")
	}
	grant := c.NewGrant
	if grant == (dkey.AccessProfile{}) {
		grant = dkey.OwnerProfile()
	}
	if !grant.Entitlements.Has(dkey.EntitleShare | dkey.EntitleManage) {
		return nil, fmt.Errorf("sharing: %w: the new key may not share and manage", dkey.ErrNotEntitled)
	}
	now := time.Now
	if c.Time != nil {
		now = c.Time
	}
	t := now()
	signer := attest.Signer{Slot: c.NewSlot, Grant: grant, NotBefore: c.NewNotBefore, NotAfter: c.NewNotAfter}
	plan := new(ChangePlan)
	for _, old := range c.Issued {
		switch {
		case old == nil || old.FriendKey == nil:
			return nil, errors.New("sharing: device change: nil attestation")
		case !old.VehicleID.Equal(c.Vehicle) || old.SignerSlot != c.OldSlot:
			return nil, fmt.Errorf("sharing: device change: %w: attestation %v is not the old key's for this vehicle", ErrMismatch, old.ID)
		case t.Unix() > old.NotAfter.Unix():
			plan.Expired = append(plan.Expired, old)
			continue
		}
		// The new key re-issues nothing it could not grant: no more than
		// it holds, no longer than it is valid (attest.Signer.CheckGrant).
		if err := signer.CheckGrant(old.Profile, old.NotBefore, old.NotAfter); err != nil {
			return nil, fmt.Errorf("sharing: device change: attestation %v: %w", old.ID, err)
		}
		n := *old
		n.ID = attest.NewID()
		n.IssuedAt = t
		n.SignerSlot = c.NewSlot
		stmt, err := n.Sign(c.NewKey)
		if err != nil {
			return nil, fmt.Errorf("sharing: device change: re-signing %v: %w", old.ID, err)
		}
		plan.Reissued = append(plan.Reissued, Reissue{Previous: old, Attestation: &n, Statement: stmt})
	}
	stmt, _, err := (&Termination{Vehicle: c.Vehicle, Slot: c.OldSlot, Key: c.OldKey, At: t}).Sign(c.NewKey, c.NewSlot)
	if err != nil {
		return nil, err
	}
	plan.Termination = stmt
	return plan, nil
}
