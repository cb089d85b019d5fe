package keyservice

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// Key commands (docs/protocol.md §7): accepted with the authority of a key of
// the vehicle, stored with the inventory change in one transaction, queued
// for the vehicle (and the key's device), delivered by long poll,
// acknowledged by the recipient after it applied them.

// terminationSigners are the keys whose termination attestations the
// service accepts, as the vehicle does (vehicle.Reader): every key it
// knows, with its profile when the vehicle reported it and it is active,
// with none otherwise, so that a key not (yet) enrolled or suspended may
// still attest its own deletion and nothing else.
func terminationSigners(inv *Inventory) []attest.Signer {
	out := make([]attest.Signer, 0, len(inv.Keys))
	for _, k := range inv.Keys {
		if k.PublicKey == nil || k.State == dkey.KeyTerminated {
			continue
		}
		sg := attest.Signer{Key: k.PublicKey, Slot: k.Slot}
		if k.Reported && k.State == dkey.KeyActive {
			sg.Grant = k.Profile
		}
		out = append(out, sg)
	}
	return out
}

// mayManage checks that signer, a key of inv, may act on target (nil when
// the inventory does not know it): the key itself, or a key the vehicle
// reported that holds dkey.EntitleManage; an owner key only by an owner
// key, so that a friend entitled to manage cannot terminate or suspend the
// owner.
func mayManage(signer, target *Key) error {
	switch {
	case signer == nil || !signer.Reported || signer.PublicKey == nil:
		return refuse(CodeForbidden, "the signer is not a key the vehicle reported")
	case signer.State != dkey.KeyActive:
		return refuse(CodeForbidden, "the signer is %v", signer.State)
	case target != nil && signer.Slot == target.Slot:
		return nil
	case !signer.Profile.Entitlements.Has(dkey.EntitleManage):
		return refuse(CodeForbidden, "key %v may not manage other keys", signer.Slot)
	case target != nil && target.Role == dkey.RoleOwner && signer.Role != dkey.RoleOwner:
		return refuse(CodeForbidden, "only an owner key manages an owner key")
	}
	return nil
}

// accept applies cmd to inv, stores the command and queues it for the
// vehicle and, when toDevice and the key is tracked, for its device. It
// returns the stored command. The caller checked the authority.
func (s *Server) accept(tx Tx, inv *Inventory, cmd *sharing.KeyCommand, authority []byte, toDevice bool, keyHash [sha256.Size]byte) (*Command, error) {
	id := CommandID(cmd.ID)
	if _, err := tx.Command(id); err == nil {
		return nil, refuse(CodeDuplicate, "command %v was accepted before", id)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	now := s.now()
	wire, err := cmd.MarshalBinary()
	if err != nil {
		return nil, err
	}
	c := &Command{ID: id, Wire: wire, Authority: authority, Accepted: now, Recipients: []Recipient{VehicleRecipient(cmd.Vehicle)}}
	k := inv.Key(cmd.Slot)
	if k == nil {
		// A termination of a key the service never saw: remember it, so
		// that it is never tracked again.
		if err := inv.put(Key{Slot: cmd.Slot, KeyHash: keyHash, State: dkey.KeyTerminated, Updated: now}); err != nil {
			return nil, err
		}
	} else {
		if toDevice && k.Tracked {
			c.Recipients = append(c.Recipients, DeviceRecipient(k.Device))
		}
		nk := *k
		switch cmd.Action {
		case sharing.ActionSuspend:
			nk.State = dkey.KeySuspended
		case sharing.ActionResume:
			nk.State = dkey.KeyActive
		case sharing.ActionTerminate:
			nk.State = dkey.KeyTerminated
		}
		nk.Pending, nk.Updated = nk.Reported, now
		if err := inv.put(nk); err != nil {
			return nil, err
		}
	}
	if err := tx.PutInventory(inv); err != nil {
		return nil, err
	}
	if err := tx.PutCommand(c); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return nil, refuse(CodeDuplicate, "command %v was accepted before", id)
		}
		return nil, err
	}
	for _, r := range c.Recipients {
		if _, err := tx.Enqueue(r, id); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (s *Server) accepted(w http.ResponseWriter, r *http.Request, c *Command, cmd *sharing.KeyCommand) error {
	if s.hooks.Accepted != nil {
		client, _ := identity(r.Context())
		s.hooks.Accepted(&CommandEvent{ID: c.ID, Action: cmd.Action, Vehicle: cmd.Vehicle, Slot: cmd.Slot, Recipients: c.Recipients, Client: client})
	}
	return writeCBOR(w, http.StatusAccepted, &Accepted{ID: c.ID})
}

// postCommand accepts a command signed by a key of its vehicle
// (sharing.SignedCommand).
func (s *Server) postCommand(w http.ResponseWriter, r *http.Request) error {
	if _, err := device(r); err != nil {
		return err
	}
	sc, err := parseBody(r, CBORType, sharing.ParseSignedCommand)
	if err != nil {
		return err
	}
	now := s.now()
	if now.Sub(sc.SignedAt) > s.maxAge || sc.SignedAt.Sub(now) > maxClockSkew {
		return refuse(CodeStale, "command signed at %v, outside %v of now", sc.SignedAt, s.maxAge)
	}
	cmd := sc.Command
	var c *Command
	err = s.store.Update(r.Context(), func(tx Tx) error {
		if _, err := tx.Command(CommandID(cmd.ID)); err == nil {
			return refuse(CodeDuplicate, "command %v was accepted before", CommandID(cmd.ID))
		}
		inv, err := tx.Inventory(cmd.Vehicle)
		if errors.Is(err, ErrNotFound) {
			return refuse(CodeNotFound, "no inventory of vehicle %v", cmd.Vehicle)
		}
		if err != nil {
			return err
		}
		signer, target := inv.Key(sc.SignerSlot), inv.Key(cmd.Slot)
		if signer != nil && signer.PublicKey != nil {
			if err := sc.Verify(signer.PublicKey); err != nil {
				return refuse(CodeBadSignature, "the command does not verify under key %v", sc.SignerSlot)
			}
		}
		if err := mayManage(signer, target); err != nil {
			return err
		}
		var hash [sha256.Size]byte
		switch {
		case cmd.Action != sharing.ActionTerminate && target == nil:
			return refuse(CodeNotFound, "no key %v of vehicle %v", cmd.Slot, cmd.Vehicle)
		case target != nil && target.State == dkey.KeyTerminated:
			return refuse(CodeKeyTerminated, "key %v is terminated", cmd.Slot)
		case cmd.Action == sharing.ActionResume && signer.Slot == cmd.Slot:
			return refuse(CodeForbidden, "a key does not resume itself")
		case cmd.Action == sharing.ActionTerminate:
			t, err := attest.VerifyTerminationAttestation(cmd.Termination, attest.VerifyOptions{Vehicle: cmd.Vehicle, Signers: terminationSigners(inv), Time: s.now})
			if err != nil {
				return refuseCause(refuse(CodeBadSignature, "the termination attestation does not verify"), err)
			}
			if t.Slot != cmd.Slot || (target != nil && target.KeyHash != t.KeyHash) {
				return refuse(CodeMalformed, "the termination attestation is for another key")
			}
			hash = t.KeyHash
		}
		c, err = s.accept(tx, inv, cmd, sc.Bytes(), true, hash)
		return err
	})
	if err != nil {
		return err
	}
	return s.accepted(w, r, c, cmd)
}

// postTermination accepts a termination attestation alone: the key's own
// (signed before the secure element deleted it, when its device may have no
// other key to authenticate with) or one by a key that manages the vehicle.
// No client certificate is needed; the attestation is the authority, and
// its ID the command's, so a replay is a duplicate.
func (s *Server) postTermination(w http.ResponseWriter, r *http.Request) error {
	v, err := ParseVehiclePath(r.PathValue("vehicle"))
	if err != nil {
		return err
	}
	stmt, err := readBody(r, COSEType)
	if err != nil {
		return err
	}
	var c *Command
	var cmd *sharing.KeyCommand
	err = s.store.Update(r.Context(), func(tx Tx) error {
		inv, err := tx.Inventory(v)
		if errors.Is(err, ErrNotFound) {
			return refuse(CodeNotFound, "no inventory of vehicle %v", v)
		}
		if err != nil {
			return err
		}
		t, err := attest.VerifyTerminationAttestation(stmt, attest.VerifyOptions{Vehicle: v, Signers: terminationSigners(inv), Time: s.now})
		if err != nil {
			return refuseCause(refuse(CodeBadSignature, "the termination attestation does not verify"), err)
		}
		target := inv.Key(t.Slot)
		if t.SignerSlot != t.Slot {
			if err := mayManage(inv.Key(t.SignerSlot), target); err != nil {
				return err
			}
		}
		if target != nil && target.State == dkey.KeyTerminated {
			if _, err := tx.Command(CommandID(t.ID)); err == nil {
				return refuse(CodeDuplicate, "termination %v was accepted before", t.ID)
			}
			return refuse(CodeKeyTerminated, "key %v is terminated", t.Slot)
		}
		cmd = &sharing.KeyCommand{ID: t.ID, Action: sharing.ActionTerminate, Vehicle: v, Slot: t.Slot, Termination: stmt}
		c, err = s.accept(tx, inv, cmd, stmt, true, t.KeyHash)
		return err
	})
	if err != nil {
		return err
	}
	return s.accepted(w, r, c, cmd)
}

// deviceCommandID derives the command of one key from a lost-mode request:
// a retried request queues nothing twice.
func deviceCommandID(req [16]byte, ref KeyRef) [sharing.CommandIDSize]byte {
	h := sha256.New()
	h.Write([]byte("opencarkey device state v1"))
	h.Write(req[:])
	h.Write([]byte{byte(ref.Vehicle.Len())})
	h.Write(ref.Vehicle.Bytes())
	h.Write(ref.Slot.Bytes())
	var id [sharing.CommandIDSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

// deviceState suspends or resumes every key of the requesting device (lost
// mode): one command per key, for its vehicle, all in one transaction.
func (s *Server) deviceState(w http.ResponseWriter, r *http.Request) error {
	d, err := ParseDevicePath(r.PathValue("device"))
	if err != nil {
		return err
	}
	client, err := device(r)
	if err != nil {
		return err
	}
	if client.Device != d {
		return refuse(CodeForbidden, "a device sets the state of its own keys only")
	}
	b, err := readBody(r, CBORType)
	if err != nil {
		return err
	}
	req, err := ParseDeviceStateRequest(b)
	if err != nil {
		return err
	}
	var n int
	var events []*CommandEvent
	err = s.store.Update(r.Context(), func(tx Tx) error {
		n, events = 0, nil
		refs, err := tx.DeviceKeys(d)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			inv, err := tx.Inventory(ref.Vehicle)
			if err != nil {
				return err
			}
			k := inv.Key(ref.Slot)
			if k == nil || !k.Tracked || k.Device != d || k.State == dkey.KeyTerminated {
				continue
			}
			id := deviceCommandID(req.Request, ref)
			if _, err := tx.Command(CommandID(id)); err == nil {
				n++ // a retry: queued before
				continue
			}
			cmd := &sharing.KeyCommand{ID: id, Action: req.Action, Vehicle: ref.Vehicle, Slot: ref.Slot}
			c, err := s.accept(tx, inv, cmd, b, false, k.KeyHash)
			if err != nil {
				return err
			}
			n++
			events = append(events, &CommandEvent{ID: c.ID, Action: cmd.Action, Vehicle: cmd.Vehicle, Slot: cmd.Slot, Recipients: c.Recipients, Client: client})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.hooks.Accepted != nil {
		for _, e := range events {
			s.hooks.Accepted(e)
		}
	}
	return writeCBOR(w, http.StatusOK, &Count{N: n})
}

// recipientOf returns the queue of the path, after checking that the client
// owns it.
func (s *Server) recipientOf(r *http.Request, vehicle bool) (Recipient, error) {
	if vehicle {
		v, err := ParseVehiclePath(r.PathValue("vehicle"))
		if err != nil {
			return "", err
		}
		if _, err := vehicleClient(r, v); err != nil {
			return "", err
		}
		return VehicleRecipient(v), nil
	}
	d, err := ParseDevicePath(r.PathValue("device"))
	if err != nil {
		return "", err
	}
	client, err := device(r)
	if err != nil {
		return "", err
	}
	if client.Device != d {
		return "", refuse(CodeForbidden, "a device reads its own commands only")
	}
	return DeviceRecipient(d), nil
}

func (s *Server) waitVehicle(w http.ResponseWriter, r *http.Request) error { return s.wait(w, r, true) }
func (s *Server) waitDevice(w http.ResponseWriter, r *http.Request) error  { return s.wait(w, r, false) }
func (s *Server) ackVehicle(w http.ResponseWriter, r *http.Request) error  { return s.ack(w, r, true) }
func (s *Server) ackDevice(w http.ResponseWriter, r *http.Request) error   { return s.ack(w, r, false) }

// wait answers with the queue's commands as soon as there are any, or with
// none after the wait (a long poll).
func (s *Server) wait(w http.ResponseWriter, r *http.Request, vehicle bool) error {
	rc, err := s.recipientOf(r, vehicle)
	if err != nil {
		return err
	}
	wait, err := ParseWait(r.URL.Query().Get("wait"), s.maxWait)
	if err != nil {
		return err
	}
	if len(r.URL.Query()) > 1 || (len(r.URL.Query()) == 1 && !r.URL.Query().Has("wait")) {
		return refuse(CodeMalformed, "the only query parameter is wait")
	}
	ctx := r.Context()
	notified, cancel := s.store.Subscribe(rc)
	defer cancel()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(s.poll)
	defer poll.Stop()
	for {
		var pending []Queued
		err := s.store.View(ctx, func(tx Tx) error {
			var err error
			pending, err = tx.Pending(rc, MaxDeliveries)
			return err
		})
		if err != nil {
			return err
		}
		if len(pending) > 0 || wait == 0 {
			ds := make([]Delivery, 0, len(pending))
			for _, q := range pending {
				cmd, err := sharing.ParseKeyCommand(q.Command.Wire)
				if err != nil {
					return refuseCause(refuse(CodeInternal, "a stored command does not parse"), err)
				}
				ds = append(ds, Delivery{Seq: q.Seq, Command: cmd})
			}
			b, err := MarshalDeliveries(ds)
			if err != nil {
				return err
			}
			return writeBody(w, http.StatusOK, CBORType, b)
		}
		select {
		case <-notified:
		case <-poll.C:
		case <-deadline.C:
			wait = 0
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ack removes the acknowledged commands from the queue.
func (s *Server) ack(w http.ResponseWriter, r *http.Request, vehicle bool) error {
	rc, err := s.recipientOf(r, vehicle)
	if err != nil {
		return err
	}
	a, err := parseBody(r, CBORType, ParseAck)
	if err != nil {
		return err
	}
	if err := s.store.Update(r.Context(), func(tx Tx) error { return tx.Ack(rc, a.Through) }); err != nil {
		return err
	}
	if s.hooks.Acknowledged != nil {
		s.hooks.Acknowledged(&AckEvent{Recipient: rc, Through: a.Through, Refused: a.Refused})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
