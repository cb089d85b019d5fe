package vehicle

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transport"
)

// DefaultPairingAttempts is the number of wrong pairing passwords a vehicle
// accepts before it refuses to pair ([YB]: at most 7, PROTOCOL.md §3.2).
const DefaultPairingAttempts = 7

// PairingConfig configures owner pairing (PROTOCOL.md §3). The vehicle's
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
	// pairing.DefaultKeyConfig. Its immobilizer-token length sizes the
	// token the reader provisions at offset 0 of the confidential mailbox.
	// The private mailbox starts with the statement area in which the
	// owner's device queues statements for the vehicle (terminations, about
	// 200 bytes each, and a device change's re-issued key attestations,
	// about 330): size it for them. A private AUTH1 subset covering offsets
	// 0 to 3 saves the EXCHANGE that reads the area header in every
	// standard transaction of the owner key.
	KeyConfig *pairing.KeyConfig
	// Evidence selects what the SPAKE2+ evidence MACs; devices must use the
	// same (see pairing.Evidence).
	Evidence pairing.Evidence
}

// PairResult is the outcome of a successful pairing.
type PairResult struct {
	// Slot and PublicKey are the new owner key.
	Slot      dkey.KeySlot
	PublicKey *dkey.PublicKey
	// Replaced lists the previous owner keys that ReplaceOwner removed.
	Replaced []dkey.KeySlot
	// FirstTransaction is the result of the first standard transaction
	// (AUTH0 P1 04 P2 07), which provisions the immobilizer token.
	FirstTransaction Result
}

// ownerSecret is the LONG_TERM_SHARED_SECRET of an owner key.
type ownerSecret struct {
	slot dkey.KeySlot
	ltss [pairing.LongTermSecretSize]byte
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
		DeviceRoots: pc.DeviceRoots, Time: r.now, Brand: pc.Brand, Evidence: pc.Evidence,
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
// (PROTOCOL.md §3.1 phase 0), and resets the attempt counter. It returns
// ErrOwnerExists if the vehicle has an owner key: use ReplaceOwner. The
// reader keeps a copy; the verifier is forgotten when a pairing succeeds.
func (r *Reader) InstallVerifier(v *pairing.Verifier) error {
	return r.installVerifier(v, false)
}

// ReplaceOwner is InstallVerifier for a vehicle that changes owner: the
// next successful pairing enrols the new owner key and removes every
// previous owner key (their next transaction tells the device to delete
// them). Until then the previous owner keeps working.
func (r *Reader) ReplaceOwner(v *pairing.Verifier) error {
	return r.installVerifier(v, true)
}

func (r *Reader) installVerifier(v *pairing.Verifier, replace bool) error {
	if r.pairCfg == nil {
		return ErrPairingUnavailable
	}
	b, err := v.MarshalBinary()
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	own, err := pairing.ParseVerifier(b)
	clear(b)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pairingBusy {
		own.Zeroize()
		return ErrPairingBusy
	}
	if !replace && r.hasOwnerLocked() {
		own.Zeroize()
		return ErrOwnerExists
	}
	if r.verifier != nil {
		r.verifier.Zeroize()
	}
	r.verifier, r.replaceOwner, r.spent = own, replace, 0
	return nil
}

// RemoveVerifier leaves pairing mode: the verifier is erased.
func (r *Reader) RemoveVerifier() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verifier != nil && !r.pairingBusy {
		r.verifier.Zeroize()
		r.verifier, r.replaceOwner = nil, false
	}
}

// PairingAttempts returns the number of pairing attempts left with the
// installed verifier, 0 when none is installed or the counter ran out.
func (r *Reader) PairingAttempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verifier == nil {
		return 0
	}
	return r.maxAttempts - r.spent
}

func (r *Reader) hasOwnerLocked() bool {
	for _, k := range r.keys {
		if k.info.Role == dkey.RoleOwner {
			return true
		}
	}
	return false
}

// Pair runs owner pairing with the device behind t (PROTOCOL.md §3.1 phases
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
	case r.pairCfg == nil:
		r.mu.Unlock()
		return PairResult{}, ErrPairingUnavailable
	case r.pairingBusy:
		r.mu.Unlock()
		return PairResult{}, ErrPairingBusy
	case r.verifier == nil:
		r.mu.Unlock()
		return PairResult{}, ErrNoVerifier
	case !r.replaceOwner && r.hasOwnerLocked():
		r.mu.Unlock()
		return PairResult{}, ErrOwnerExists
	}
	v := r.verifier
	r.pairingBusy = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.pairingBusy = false
		r.mu.Unlock()
	}()

	p, err := pairing.NewVehicle(r.pairCfg, v)
	if err != nil {
		return PairResult{}, fmt.Errorf("vehicle: %w", err)
	}
	res, err := r.runPairing(ctx, transport.NewClient(t, r.link), p)
	if err != nil {
		return PairResult{}, err
	}
	return r.enrollOwner(ctx, t, res)
}

// runPairing moves the APDUs of p and keeps the attempt counter.
func (r *Reader) runPairing(ctx context.Context, c *transport.Client, p *pairing.Vehicle) (*pairing.VehicleResult, error) {
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
		if remaining >= 0 {
			// SPAKE2+ succeeded: the password was right.
			r.mu.Lock()
			r.spent, remaining = 0, -1
			r.mu.Unlock()
		}
		if st.Done {
			res, _ := p.Result()
			return res, nil
		}
		if st.Attempt {
			r.mu.Lock()
			if r.spent >= r.maxAttempts {
				r.mu.Unlock()
				abort(p.AbortWith(pairing.OpAbortAttemptsExhausted))
				return nil, &pairing.AttemptsError{Remaining: 0, Err: pairing.ErrAttemptsExhausted}
			}
			r.spent++
			remaining = r.maxAttempts - r.spent
			r.mu.Unlock()
		}
		cmd = st.Command
	}
}

// enrollOwner enrols the key of a completed pairing, uses the verifier up,
// runs the first transaction and retires the previous owner keys.
func (r *Reader) enrollOwner(ctx context.Context, t transport.Transceiver, res *pairing.VehicleResult) (PairResult, error) {
	token := make([]byte, res.KeyConfig.Mapping.ImmobilizerTokenLength)
	if _, err := rand.Read(token); err != nil {
		return PairResult{}, fmt.Errorf("vehicle: immobilizer token: %w", err)
	}
	e := Enrollment{
		PublicKey: res.PublicKey, Slot: res.Slot, Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: token, TokenOffset: 0, Mailboxes: res.KeyConfig.Mailboxes,
		// The key configuration maps a signaling bitmap at offset 0: the
		// owner's device queues sharing statements there.
		StatementArea: true,
	}
	err := r.Enroll(e)
	clear(token)
	if err != nil {
		// The device holds a key the vehicle cannot take (an owner or the
		// same key enrolled meanwhile): mark it removed, so that its next
		// transaction tells the device to delete it.
		r.mu.Lock()
		r.rememberRemoved(KeyInfo{Slot: res.Slot, PublicKey: res.PublicKey, Role: dkey.RoleOwner, State: dkey.KeyTerminated})
		r.mu.Unlock()
		return PairResult{}, fmt.Errorf("vehicle: enrolling the owner key: %w", err)
	}
	r.mu.Lock()
	var previous []dkey.KeySlot
	if r.replaceOwner {
		for _, k := range r.keys {
			if k.info.Role == dkey.RoleOwner && k.info.Slot != res.Slot {
				previous = append(previous, k.info.Slot)
			}
		}
	}
	if r.verifier != nil {
		r.verifier.Zeroize()
	}
	r.verifier, r.replaceOwner, r.spent = nil, false, 0
	r.ownerSecrets = append(r.ownerSecrets, ownerSecret{slot: res.Slot, ltss: res.LongTermSecret})
	clear(res.LongTermSecret[:])
	r.mu.Unlock()

	out := PairResult{Slot: res.Slot, PublicKey: res.PublicKey}
	tx, err := r.Transact(ctx, t, dkey.ActionOwnerPairingFirst)
	out.FirstTransaction = tx
	if err != nil && errors.Is(err, ErrRefused) && errors.Is(err, dkey.SWFileNotFound) {
		// The device has no key for this vehicle: it did not commit (it
		// missed OP CONTROL FLOW 11 11). Roll the enrolment back; the
		// previous owner stays.
		r.forget(res.Slot)
		return PairResult{}, fmt.Errorf("vehicle: the device did not keep the new key, enrolment rolled back: %w", err)
	}
	for _, s := range previous {
		if r.Remove(s) == nil {
			out.Replaced = append(out.Replaced, s)
		}
	}
	r.pruneSecrets()
	if err != nil {
		return out, fmt.Errorf("vehicle: owner key enrolled, first transaction failed (the next standard transaction provisions the immobilizer token): %w", err)
	}
	return out, nil
}

// forget deletes an enrolment without a trace, for a pairing rolled back.
func (r *Reader) forget(slot dkey.KeySlot) {
	r.mu.Lock()
	if i := r.index(slot); i >= 0 {
		r.fast[i].Zeroize()
		clear(r.keys[i].token)
		r.keys = slices.Delete(r.keys, i, i+1)
		r.fast = slices.Delete(r.fast, i, i+1)
	}
	r.mu.Unlock()
	r.pruneSecrets()
}

// pruneSecrets erases the secrets of owner keys no longer enrolled.
func (r *Reader) pruneSecrets() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ownerSecrets = slices.DeleteFunc(r.ownerSecrets, func(s ownerSecret) bool {
		if r.index(s.slot) < 0 {
			clear(s.ltss[:])
			return true
		}
		return false
	})
}
