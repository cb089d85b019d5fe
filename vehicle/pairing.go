package vehicle

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transport"
)

// DefaultPairingAttempts is the number of wrong pairing passwords a vehicle
// accepts before it refuses to pair ([YB]: at most 7, docs/protocol.md §3.2).
const DefaultPairingAttempts = 7

// PairingConfig configures owner pairing (docs/protocol.md §3). The vehicle's
// identifier, key and clock come from the reader's Config.
type PairingConfig struct {
	// VehicleRoot is the Vehicle OEM root certificate (DER), which the
	// device keeps as the vehicle's trust anchor.
	VehicleRoot []byte
	// Certificates is the vehicle chain (DER), leaf first: the vehicle
	// certificate for Config.Key, then at most two intermediates.
	Certificates [][]byte
	// DeviceRoots are the Device OEM roots that owner endpoint chains must
	// lead to.
	DeviceRoots *x509.CertPool
	// MaxAttempts is the number of wrong pairing passwords accepted before
	// pairing is refused until a new verifier is installed; 0 means
	// DefaultPairingAttempts.
	MaxAttempts int
	// Brand is the vehicle brand identifier sent to the device.
	Brand uint16
	// KeyConfig is the owner key's mailbox configuration; nil means
	// pairing.DefaultOwnerKeyConfig. Its immobilizer-token length sizes the
	// token the reader provisions at offset 0 of the confidential mailbox.
	// The private mailbox starts with the statement area in which the
	// owner's device queues statements for the vehicle (terminations, about
	// 200 bytes each, and a device change's re-issued key attestations,
	// about 330): size it for them. A private AUTH1 subset covering offsets
	// 0 to 3 saves the EXCHANGE that reads the area header in every
	// standard transaction of the owner key.
	KeyConfig *pairing.OwnerKeyConfig
	// Evidence selects what the SPAKE2+ evidence MACs; devices must use the
	// same (see pairing.Evidence).
	Evidence pairing.Evidence
}

// PairResult is the outcome of a successful pairing.
type PairResult struct {
	// Slot and PublicKey are the new owner key.
	Slot      dkey.KeySlot
	PublicKey *dkey.PublicKey
	// Replaced lists the previous owner keys that ReplaceOwner or
	// ReplaceOwnerDevice removed.
	Replaced []dkey.KeySlot
	// RemovedShares lists the keys shared from them that ReplaceOwner (a
	// change of owner) removed.
	RemovedShares []dkey.KeySlot
	// FirstTransaction is the result of the first standard transaction
	// (AUTH0 P1 04 P2 07), which provisions the immobilizer token.
	FirstTransaction Result
}

// initPairing validates the pairing configuration once, at NewReader.
func (r *Reader) initPairing(cfg *Config) error {
	pc := cfg.Pairing
	if pc == nil {
		return nil
	}
	if cfg.Profile != dkey.CCC {
		return fmt.Errorf("vehicle: owner pairing needs the CCC profile, not %v", cfg.Profile)
	}
	r.pairCfg = &pairing.VehicleConfig{
		VehicleID: r.ID(), VehicleKey: r.PublicKey(), VehicleRoot: slices.Clone(pc.VehicleRoot),
		DeviceRoots: pc.DeviceRoots, Time: r.now, Brand: pc.Brand, Evidence: pc.Evidence, Rand: cfg.Rand, KeyLog: cfg.KeyLog,
	}
	for _, c := range pc.Certificates {
		r.pairCfg.Certificates = append(r.pairCfg.Certificates, slices.Clone(c))
	}
	if pc.KeyConfig != nil {
		kc := *pc.KeyConfig
		r.pairCfg.KeyConfig = &kc
	}
	if err := r.pairCfg.Validate(); err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	r.maxAttempts = pc.MaxAttempts
	if r.maxAttempts <= 0 {
		r.maxAttempts = DefaultPairingAttempts
	}
	return nil
}

// InstallVerifier puts the vehicle in pairing mode with the verifier the
// vehicle OEM server derived from the owner's pairing password
// (docs/protocol.md §3.1 phase 0). It returns ErrOwnerExists if the vehicle has
// an owner key: use ReplaceOwner or ReplaceOwnerDevice. The reader keeps a
// copy, stored with the attempts spent against it; the verifier is
// forgotten when a pairing succeeds.
//
// A new verifier gets the full attempt count. Installing the verifier the
// reader holds, or the last one it held, again keeps the attempts spent:
// the count goes back only with a new password (or a completed pairing),
// whatever restarts or re-installs happen in between.
func (r *Reader) InstallVerifier(v *pairing.Verifier) error {
	return r.installVerifier(v, replaceNone)
}

// ReplaceOwner is InstallVerifier for a vehicle that changes owner (it was
// sold): the next successful pairing enrols the new owner key and removes
// every previous owner key, and every key shared from them (KeyInfo.
// SharedFrom: friends' keys and their re-shares), each recorded as revoked
// so that no attestation admits it again; their next transaction tells
// the device to delete them. Until then the previous owner and the keys
// shared keep working. For the same owner moving to a new device, use
// ReplaceOwnerDevice, which keeps the shared keys.
func (r *Reader) ReplaceOwner(v *pairing.Verifier) error {
	return r.installVerifier(v, replaceOwner)
}

// ReplaceOwnerDevice is InstallVerifier for the same owner moving to a new
// device (docs/protocol.md §7, sharing.PlanDeviceChange): the next successful
// pairing enrols the new owner key and removes the previous owner keys,
// recorded as revoked, while the keys shared from them stay enrolled and
// are from then on shared from the new owner key (KeyInfo.SharedFrom).
func (r *Reader) ReplaceOwnerDevice(v *pairing.Verifier) error {
	return r.installVerifier(v, replaceDevice)
}

func (r *Reader) installVerifier(v *pairing.Verifier, mode replaceMode) error {
	if r.v == nil {
		return ErrNotInitialized
	}
	if r.pairCfg == nil {
		return ErrPairingUnavailable
	}
	b, err := v.MarshalBinary()
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	own, err := pairing.ParseVerifier(b)
	fp := sha256.Sum256(b)
	clear(b)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fail := func(err error) error {
		own.Zeroize()
		return err
	}
	switch {
	case r.closed:
		return fail(ErrClosed)
	case r.pairingBusy:
		return fail(ErrPairingBusy)
	case mode == replaceNone && r.hasOwnerLocked():
		return fail(ErrOwnerExists)
	}
	ops, p, err := r.pairingOps(nil, func(p *pairingState) {
		p.verifier, p.replace = own, mode
		if subtle.ConstantTimeCompare(p.fingerprint[:], fp[:]) != 1 {
			// A new password: the full count.
			p.fingerprint, p.spent = fp, 0
		}
	})
	if err != nil {
		return fail(err)
	}
	if err := r.commitLocked(ops, nil); err != nil {
		return fail(err)
	}
	r.setPairingLocked(p)
	return nil
}

// RemoveVerifier leaves pairing mode: the verifier is erased. The attempts
// spent against it are remembered, should it be installed again.
func (r *Reader) RemoveVerifier() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.v == nil:
		return ErrNotInitialized
	case r.closed:
		return ErrClosed
	case r.verifier == nil:
		return nil
	case r.pairingBusy:
		return ErrPairingBusy
	}
	ops, p, err := r.pairingOps(nil, func(p *pairingState) { p.verifier, p.replace = nil, replaceNone })
	if err != nil {
		return err
	}
	if err := r.commitLocked(ops, nil); err != nil {
		return err
	}
	r.setPairingLocked(p)
	return nil
}

// PairingAttempts returns the number of pairing attempts left with the
// installed verifier, 0 when none is installed or the counter ran out.
func (r *Reader) PairingAttempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verifier == nil {
		return 0
	}
	return max(r.maxAttempts-r.spent, 0)
}

func (r *Reader) hasOwnerLocked() bool {
	for _, k := range r.keys {
		if k.info.Role == dkey.RoleOwner {
			return true
		}
	}
	return false
}

// Pair runs owner pairing with the device behind t (docs/protocol.md §3.1 phases
// 1 to 4): SPAKE2+ with the installed verifier, the pairing channel, the
// certificate exchange; then it enrols the owner key (owner profile, the
// key configuration, a new random immobilizer token) and runs the first
// standard transaction, AUTH0 P1 04 P2 07, which writes the token and ends
// with CONTROL FLOW 01 81.
//
// Nothing is enrolled unless the device confirmed the end of pairing (OP
// CONTROL FLOW 11 11). Every SPAKE2+ VERIFY sent spends one attempt, counted
// before it is sent; from then on a failure returns a *pairing.AttemptsError
// with the attempts left, and with none left Pair refuses (abort 12 0D)
// until a new verifier is installed. A successful pairing uses the verifier
// up. When only the first transaction fails, Pair returns the PairResult
// and an error: the key is enrolled, and the next standard transaction
// provisions the token; if the device turns out to hold no key (it missed
// the end of pairing), the enrolment is rolled back.
func (r *Reader) Pair(ctx context.Context, t transport.Transceiver) (PairResult, error) {
	r.mu.Lock()
	switch {
	case r.v == nil:
		r.mu.Unlock()
		return PairResult{}, ErrNotInitialized
	case r.pairCfg == nil:
		r.mu.Unlock()
		return PairResult{}, ErrPairingUnavailable
	case r.pairingBusy:
		r.mu.Unlock()
		return PairResult{}, ErrPairingBusy
	case r.verifier == nil:
		r.mu.Unlock()
		return PairResult{}, ErrNoVerifier
	case r.replace == replaceNone && r.hasOwnerLocked():
		r.mu.Unlock()
		return PairResult{}, ErrOwnerExists
	}
	v := r.verifier
	r.pairingBusy = true
	left := max(r.maxAttempts-r.spent, 0)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.pairingBusy = false
		r.mu.Unlock()
	}()
	start := r.hooks.pairingStart(left)

	p, err := pairing.NewVehicleSession(r.pairCfg, v)
	if err != nil {
		return r.hooks.pairingDone(PairResult{}, fmt.Errorf("vehicle: %w", err), start)
	}
	res, err := r.runPairing(ctx, r.newClient(t), p)
	if err != nil {
		return r.hooks.pairingDone(PairResult{}, err, start)
	}
	out, err := r.enrollOwner(ctx, t, res)
	return r.hooks.pairingDone(out, err, start)
}

// runPairing moves the APDUs of p and keeps the attempt counter.
func (r *Reader) runPairing(ctx context.Context, c *transport.Client, p *pairing.VehicleSession) (*pairing.VehicleResult, error) {
	var buf []byte
	abort := func(cmd transport.Command, ok bool) {
		if ok {
			_, _ = c.Do(ctx, &cmd, buf[:0])
		}
	}
	cmd, err := p.Start()
	if err != nil {
		return nil, fmt.Errorf("vehicle: %w", err)
	}
	r.mu.Lock()
	exhausted := r.spent >= r.maxAttempts
	r.mu.Unlock()
	if exhausted {
		// Tell the device why, without running SPAKE2+ (abort 12 0D).
		if resp, err := c.Do(ctx, &cmd, nil); err == nil {
			_, _ = p.Next(resp)
			abort(p.AbortWith(pairing.OpAbortAttemptsExhausted))
		}
		return nil, &pairing.AttemptsError{Remaining: 0, Err: pairing.ErrAttemptsExhausted}
	}
	// remaining is the attempts left once the attempt in flight counts;
	// -1 while no SPAKE2+ VERIFY is in flight.
	remaining := -1
	for {
		resp, err := c.Do(ctx, &cmd, buf[:0])
		if err != nil {
			err = fmt.Errorf("vehicle: pairing: %w", err)
			if remaining >= 0 {
				return nil, &pairing.AttemptsError{Remaining: remaining, Err: err}
			}
			return nil, err
		}
		buf = resp.Data[:0]
		st, err := p.Next(resp)
		if err != nil {
			abort(p.Abort())
			if remaining >= 0 {
				return nil, &pairing.AttemptsError{Remaining: remaining, Err: err}
			}
			return nil, err
		}
		// SPAKE2+ succeeded: the password was right, and later failures
		// are not password attempts. The attempt stays spent until the
		// pairing completes: the count only goes down.
		remaining = -1
		if st.Done {
			res, _ := p.Result()
			return res, nil
		}
		if st.Attempt {
			if remaining, err = r.spendAttempt(); err != nil {
				if ae := (*pairing.AttemptsError)(nil); errors.As(err, &ae) {
					abort(p.AbortWith(pairing.OpAbortAttemptsExhausted))
				} else {
					abort(p.Abort())
				}
				return nil, err
			}
			r.hooks.pairingAttempt(remaining)
		}
		cmd = st.Command
	}
}

// spendAttempt counts one password attempt, durably, before SPAKE2+
// VERIFY goes out: pulling the power while the device and the vehicle
// verify still costs the attempt. It returns the attempts left after this
// one, or a *pairing.AttemptsError when none is left.
func (r *Reader) spendAttempt() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spent >= r.maxAttempts {
		return 0, &pairing.AttemptsError{Remaining: 0, Err: pairing.ErrAttemptsExhausted}
	}
	ops, p, err := r.pairingOps(nil, func(p *pairingState) { p.spent++ })
	if err == nil {
		err = r.commitLocked(ops, nil)
	}
	if err != nil {
		return 0, fmt.Errorf("vehicle: recording the pairing attempt: %w", err)
	}
	r.setPairingLocked(p)
	return r.maxAttempts - r.spent, nil
}

// enrollOwner enrols the key of a completed pairing and uses the verifier
// up, in one batch that also records what the pairing replaces; runs the
// first transaction; and carries out the replacement of the previous owner
// keys (finishReplacement), or rolls the enrolment back when the device
// turns out not to hold the key.
func (r *Reader) enrollOwner(ctx context.Context, t transport.Transceiver, res *pairing.VehicleResult) (PairResult, error) {
	token := make([]byte, res.KeyConfig.Mapping.ImmobilizerTokenLength)
	if err := r.readRand(token); err != nil {
		return PairResult{}, fmt.Errorf("vehicle: immobilizer token: %w", err)
	}
	e := Enrollment{
		PublicKey: res.PublicKey, Slot: res.Slot, Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: token, TokenOffset: 0, Mailboxes: res.KeyConfig.Mailboxes,
		// The key configuration maps a signaling bitmap at offset 0: the
		// owner's device queues sharing statements there.
		StatementArea: true,
	}
	if len(token) == 0 {
		e.ImmobilizerToken = nil
	}
	var pair *pairingState
	_, err := r.enroll(e, &res.LongTermSecret, func(ops []store.Op, k *enrolled) ([]store.Op, error) {
		var err error
		// The BLE keys of the first approach (ble.go) are stored with
		// the key.
		if ops, err = r.bleOps(ops, res.Slot, &res.BLE); err != nil {
			return ops, err
		}
		ops, pair, err = r.pairingOps(ops, func(p *pairingState) {
			if p.replace != replaceNone {
				pr := &pendingReplace{slot: res.Slot, mode: p.replace}
				for _, o := range r.keys {
					if o.info.Role == dkey.RoleOwner {
						pr.previous = append(pr.previous, o.info.Slot)
					}
				}
				p.pending = pr
			}
			// The verifier is used up, and the attempts with it.
			p.verifier, p.replace, p.spent = nil, replaceNone, 0
		})
		return ops, err
	})
	clear(token)
	clear(res.LongTermSecret[:])
	bleKeys := res.BLE
	res.BLE.Zeroize()
	if err != nil {
		bleKeys.Zeroize()
		// The device holds a key the vehicle cannot take (an owner or the
		// same key enrolled meanwhile): mark it removed, so that its next
		// transaction tells the device to delete it.
		if rerr := r.rememberRemoved(KeyInfo{Slot: res.Slot, PublicKey: res.PublicKey, Role: dkey.RoleOwner}); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return PairResult{}, fmt.Errorf("vehicle: enrolling the owner key: %w", err)
	}
	r.mu.Lock()
	r.setPairingLocked(pair)
	if r.ble == nil {
		r.ble = map[dkey.KeySlot]*pairing.BLEKeys{}
	}
	r.ble[res.Slot] = &bleKeys
	r.mu.Unlock()

	out := PairResult{Slot: res.Slot, PublicKey: res.PublicKey}
	tx, err := r.Transact(ctx, t, dkey.ActionOwnerPairingFirst)
	out.FirstTransaction = tx
	if err != nil && errors.Is(err, ErrRefused) && errors.Is(err, dkey.SWFileNotFound) {
		// The device has no key for this vehicle: it did not commit (it
		// missed OP CONTROL FLOW 11 11). Roll the enrolment back; the
		// previous owner stays.
		if ferr := r.forget(res.Slot); ferr != nil {
			return PairResult{}, fmt.Errorf("vehicle: the device did not keep the new key, and rolling the enrolment back failed: %w", errors.Join(err, ferr))
		}
		return PairResult{}, fmt.Errorf("vehicle: the device did not keep the new key, enrolment rolled back: %w", err)
	}
	r.mu.Lock()
	pending := r.pending
	r.mu.Unlock()
	if pending != nil {
		replaced, shares, ferr := r.replacePrevious(pending)
		out.Replaced, out.RemovedShares = replaced, shares
		if ferr != nil {
			err = errors.Join(err, ferr)
		}
	}
	if err != nil {
		return out, fmt.Errorf("vehicle: owner key enrolled, first transaction failed (the next standard transaction provisions the immobilizer token): %w", err)
	}
	return out, nil
}

// rememberRemoved records a key the vehicle never enrolled as removed, so
// that its next transaction tells the device to delete it.
func (r *Reader) rememberRemoved(info KeyInfo) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.removedLocked()
	ops, err := r.addRemoved(nil, l, info)
	if err == nil {
		err = r.commitLocked(ops, nil)
	}
	if err != nil {
		return err
	}
	r.setRemovedLocked(l)
	return nil
}

// finishReplacement carries out a replacement of owner keys that a
// restart interrupted: the new owner key is enrolled, so the pairing
// completed, and the previous owner keys go as ReplaceOwner or
// ReplaceOwnerDevice said. When the new key is not enrolled (its
// enrolment was rolled back), the replacement is dropped.
func (r *Reader) finishReplacement() error {
	r.mu.Lock()
	pending := r.pending
	r.mu.Unlock()
	if pending == nil {
		return nil
	}
	_, _, err := r.replacePrevious(pending)
	return err
}

// replacePrevious removes the previous owner keys of a completed pairing,
// with the keys shared from them on a change of owner, or moves those to
// the new owner key on a device change, and clears the pending
// replacement, in one batch. It returns the owner keys and the shared
// keys removed.
func (r *Reader) replacePrevious(p *pendingReplace) (replaced, shares []dkey.KeySlot, err error) {
	r.mu.Lock()
	newKey := r.lookup(p.slot)
	var slots []dkey.KeySlot
	var moved []*enrolled
	for _, k := range r.keys {
		switch {
		case newKey == nil:
		case k.info.Slot != p.slot && k.info.Role == dkey.RoleOwner && slices.Contains(p.previous, k.info.Slot):
			slots = append(slots, k.info.Slot)
			replaced = append(replaced, k.info.Slot)
		case !k.info.SharedFrom.IsZero() && slices.Contains(p.previous, k.info.SharedFrom):
			if p.mode == replaceOwner {
				slots = append(slots, k.info.Slot)
				shares = append(shares, k.info.Slot)
			} else {
				moved = append(moved, k)
			}
		}
	}
	ops, pair, err := r.pairingOps(nil, func(ps *pairingState) { ps.pending = nil })
	for _, k := range moved {
		if err != nil {
			break
		}
		c := *k
		c.info.SharedFrom = p.slot
		ops, err = r.keyOps(ops, &c)
	}
	r.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	err = r.removeAll(slots, ops, func() {
		r.setPairingLocked(pair)
		for _, k := range moved {
			k.info.SharedFrom = p.slot
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("vehicle: replacing the previous owner keys: %w", err)
	}
	return replaced, shares, nil
}

// forget deletes an enrolment without a trace, for a pairing rolled back,
// with the replacement it would have done.
func (r *Reader) forget(slot dkey.KeySlot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(slot)
	ops, pair, err := r.pairingOps(nil, func(ps *pairingState) {
		if ps.pending != nil && ps.pending.slot == slot {
			ps.pending = nil
		}
	})
	if err != nil {
		return err
	}
	keys := r.keys
	if i >= 0 {
		ops = r.sec.Delete(ops, keyName(slot))
		ops = r.keyGoneOps(ops, slot)
		keys = slices.Delete(slices.Clone(r.keys), i, i+1)
	}
	if err := r.commitLocked(ops, keys); err != nil {
		return err
	}
	r.setPairingLocked(pair)
	if i >= 0 {
		r.keyGoneLocked(slot)
		r.fast[i].Zeroize()
		r.keys[i].zeroize()
		r.keys = slices.Delete(r.keys, i, i+1)
		r.fast = slices.Delete(r.fast, i, i+1)
	}
	return nil
}
