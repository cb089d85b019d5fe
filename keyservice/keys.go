package keyservice

import (
	"errors"
	"net/http"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
)

// Key tracking and the key inventory (docs/protocol.md §6.5). The vehicle is
// the authority on which keys it has enrolled, with which role and
// profile: it reports them (PUT /v1/vehicles/{vehicle}/keys), and only a
// key it reported signs commands. Devices register their own keys and get
// signed receipts (POST /v1/keys). The service adds what it decided: a
// suspension or a termination it accepted, before the vehicle applied it.

// inventory returns the inventory of the vehicle, or an empty one.
func inventory(tx Tx, v dkey.VehicleID) (*Inventory, error) {
	inv, err := tx.Inventory(v)
	if errors.Is(err, ErrNotFound) {
		return &Inventory{Vehicle: v}, nil
	}
	return inv, err
}

func (s *Server) trackKey(w http.ResponseWriter, r *http.Request) error {
	client, err := device(r)
	if err != nil {
		return err
	}
	req, err := parseBody(r, CBORType, ParseTrackKeyRequest)
	if err != nil {
		return err
	}
	// A device registers the key its certificate certifies, nothing else:
	// what it says of other keys is not its to say.
	if !req.Vehicle.Equal(client.Vehicle) || req.Slot != client.Slot || !req.Key.Equal(client.Key) {
		return refuse(CodeForbidden, "a device registers the key of its client certificate only")
	}
	now := s.now()
	fresh, err := (&attest.TrackingReceipt{ID: attest.NewID(), VehicleID: req.Vehicle, Slot: req.Slot, KeyHash: attest.KeyHash(req.Key), RegisteredAt: now}).Sign(s.trackingKey)
	if err != nil {
		return refuseCause(refuse(CodeInternal, "signing the receipt"), err)
	}
	var receipt []byte
	err = s.store.Update(r.Context(), func(tx Tx) error {
		inv, err := inventory(tx, req.Vehicle)
		if err != nil {
			return err
		}
		hash := attest.KeyHash(req.Key)
		k := inv.Key(req.Slot)
		switch {
		case k == nil:
			k = &Key{Slot: req.Slot, KeyHash: hash, Role: req.Role, State: dkey.KeyActive}
		case k.State == dkey.KeyTerminated || k.KeyHash != hash:
			return refuse(CodeKeyTerminated, "slot %v is terminated or holds another key", req.Slot)
		}
		nk := *k
		nk.PublicKey, nk.Tracked, nk.Device, nk.Updated = req.Key, true, client.Device, now
		if nk.Receipt == nil {
			nk.Receipt = fresh
		}
		receipt = nk.Receipt
		if err := inv.put(nk); err != nil {
			return err
		}
		return tx.PutInventory(inv)
	})
	if err != nil {
		return err
	}
	return writeBody(w, http.StatusOK, COSEType, receipt)
}

func (s *Server) reportKeys(w http.ResponseWriter, r *http.Request) error {
	v, err := ParseVehiclePath(r.PathValue("vehicle"))
	if err != nil {
		return err
	}
	if _, err := vehicleClient(r, v); err != nil {
		return err
	}
	keys, err := parseBody(r, CBORType, ParseReport)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.Update(r.Context(), func(tx Tx) error {
		inv, err := inventory(tx, v)
		if err != nil {
			return err
		}
		listed := make(map[dkey.KeySlot]bool, len(keys))
		for _, rk := range keys {
			listed[rk.Slot] = true
			hash := attest.KeyHash(rk.PublicKey)
			k := Key{Slot: rk.Slot, State: rk.State}
			if old := inv.Key(rk.Slot); old != nil && old.KeyHash == hash {
				k = *old
				switch {
				case !old.Pending:
					k.State = rk.State
				case old.State == rk.State:
					// The vehicle applied the service's decision.
					k.Pending = false
				}
				// Otherwise the service's decision stands until the
				// vehicle applies it.
			}
			k.PublicKey, k.KeyHash, k.Role, k.Profile = rk.PublicKey, hash, rk.Role, rk.Profile
			k.NotBefore, k.NotAfter, k.Reported, k.Updated = rk.NotBefore, rk.NotAfter, true, now
			if err := inv.put(k); err != nil {
				return err
			}
		}
		// A key the vehicle reported before and lists no more, it removed.
		for i := range inv.Keys {
			k := &inv.Keys[i]
			if k.Reported && !listed[k.Slot] {
				k.Reported, k.State, k.Pending, k.Updated = false, dkey.KeyTerminated, false, now
			}
		}
		inv.Reported = now
		return tx.PutInventory(inv)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	v, err := ParseVehiclePath(r.PathValue("vehicle"))
	if err != nil {
		return err
	}
	client, err := identity(r.Context())
	if err != nil {
		return refuseCause(refuse(CodeUnauthenticated, "a client certificate is required"), err)
	}
	var out *KeyList
	err = s.store.View(r.Context(), func(tx Tx) error {
		inv, err := tx.Inventory(v)
		if errors.Is(err, ErrNotFound) {
			return refuse(CodeNotFound, "no inventory of vehicle %v", v)
		}
		if err != nil {
			return err
		}
		// The vehicle, or a key the vehicle reported that manages its keys
		// (an owner's device), reads the inventory; a friend does not
		// learn the other keys.
		if client.Role == RoleDevice {
			k := inv.Key(client.Slot)
			if !client.Vehicle.Equal(v) || k == nil || !k.Reported || k.State != dkey.KeyActive || k.PublicKey == nil ||
				!k.PublicKey.Equal(client.Key) || !k.Profile.Entitlements.Has(dkey.EntitleManage) {
				return refuse(CodeForbidden, "only the vehicle and the keys that manage it read its inventory")
			}
		} else if !client.Vehicle.Equal(v) {
			return refuse(CodeForbidden, "only vehicle %v reads its inventory", v)
		}
		out = listOf(inv)
		return nil
	})
	if err != nil {
		return err
	}
	return writeCBOR(w, http.StatusOK, out)
}
