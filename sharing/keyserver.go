package sharing

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
)

// KeyAction is what a key-management command does to a key (docs/protocol.md §7,
// the manageKey actions of [APIFOX]).
type KeyAction uint8

// Key actions.
const (
	ActionSuspend   KeyAction = 1 // suspend the key (lost mode) until resumed
	ActionResume    KeyAction = 2 // resume a suspended key
	ActionTerminate KeyAction = 3 // terminate the key for good; carries a termination attestation
)

// String returns the name of the action.
func (a KeyAction) String() string {
	switch a {
	case ActionSuspend:
		return "suspend"
	case ActionResume:
		return "resume"
	case ActionTerminate:
		return "terminate"
	}
	return "KeyAction(" + strconv.Itoa(int(a)) + ")"
}

// CommandIDSize is the size of a command identifier.
const CommandIDSize = 16

// KeyCommand is what the automaker's server sends a vehicle (by telematics)
// to manage one of its keys. A termination carries the termination
// attestation, which the vehicle verifies itself; suspension and
// resumption rest on the authenticated channel between server and vehicle,
// which is outside this package.
type KeyCommand struct {
	// ID identifies the command, so that the vehicle can acknowledge it
	// and ignore a repeat.
	ID [CommandIDSize]byte
	// Action is what to do.
	Action KeyAction
	// Vehicle and Slot name the key.
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
	// Termination is the termination attestation of ActionTerminate, and
	// empty otherwise.
	Termination []byte
}

// keyCommandEncoding is the wire form (CDDL in doc.go).
type keyCommandEncoding struct {
	ID          []byte `cbor:"1,keyasint"`
	Action      uint64 `cbor:"2,keyasint"`
	Vehicle     []byte `cbor:"3,keyasint"`
	Slot        []byte `cbor:"4,keyasint"`
	Termination []byte `cbor:"5,keyasint,omitempty"`
}

// check validates c.
func (c *KeyCommand) check() error {
	switch {
	case c.ID == [CommandIDSize]byte{}:
		return fmt.Errorf("%w: key command without identifier", ErrMalformed)
	case c.Action < ActionSuspend || c.Action > ActionTerminate:
		return fmt.Errorf("%w: key action %d", ErrMalformed, c.Action)
	case c.Vehicle.IsZero() || c.Slot.IsZero():
		return fmt.Errorf("%w: key command without vehicle or slot", ErrMalformed)
	case (c.Action == ActionTerminate) != (len(c.Termination) > 0):
		return fmt.Errorf("%w: a termination attestation comes with ActionTerminate only", ErrMalformed)
	case len(c.Termination) > attest.MaxStatementSize:
		return fmt.Errorf("%w: termination attestation of %d bytes", ErrMalformed, len(c.Termination))
	}
	return nil
}

// MarshalBinary returns the wire form of c.
func (c *KeyCommand) MarshalBinary() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return encMode.Marshal(keyCommandEncoding{
		ID: c.ID[:], Action: uint64(c.Action), Vehicle: c.Vehicle.Bytes(), Slot: c.Slot.Bytes(), Termination: c.Termination,
	})
}

// MaxKeyCommandSize bounds the wire form of a key command.
const MaxKeyCommandSize = attest.MaxStatementSize + 64

// ParseKeyCommand parses the wire form of a key command, strictly: any other
// encoding than MarshalBinary's is an error wrapping ErrMalformed. The result
// does not alias b.
func ParseKeyCommand(b []byte) (*KeyCommand, error) {
	if len(b) > MaxKeyCommandSize {
		return nil, fmt.Errorf("%w: key command of %d bytes", ErrMalformed, len(b))
	}
	var e keyCommandEncoding
	if err := decMode.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: key command: %w", ErrMalformed, err)
	}
	c := new(KeyCommand)
	if len(e.ID) != CommandIDSize || e.Action > 0xff {
		return nil, fmt.Errorf("%w: key command identifier or action", ErrMalformed)
	}
	copy(c.ID[:], e.ID)
	c.Action = KeyAction(e.Action)
	var err error
	if c.Vehicle, err = dkey.NewVehicleID(e.Vehicle); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if c.Slot, err = dkey.NewKeySlot(e.Slot); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	c.Termination = e.Termination
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := checkCanonical(b, e); err != nil {
		return nil, fmt.Errorf("%w: key command: %w", ErrMalformed, err)
	}
	return c, nil
}

// NewKeyCommand returns a command with a random ID.
func NewKeyCommand(action KeyAction, vehicle dkey.VehicleID, slot dkey.KeySlot, termination []byte) (*KeyCommand, error) {
	c := &KeyCommand{Action: action, Vehicle: vehicle, Slot: slot, Termination: slices.Clone(termination)}
	if _, err := rand.Read(c.ID[:]); err != nil {
		return nil, fmt.Errorf("sharing: command identifier: %w", err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// VehicleKeys is what VehicleIntake.Apply needs of the vehicle's key store;
// vehicle.Reader has these methods.
type VehicleKeys interface {
	// SetState suspends (dkey.KeySuspended) or resumes (dkey.KeyActive)
	// the key in slot.
	SetState(slot dkey.KeySlot, s dkey.KeyState) error
	// Remove removes the key in slot for good; an error wrapping
	// dkey.ErrUnknownKey when there is none.
	Remove(slot dkey.KeySlot) error
}

// Apply carries out a key-management command on keys: suspend or resume the
// key, or verify the termination attestation (VehicleIntake.ProcessTermination,
// with signers the enrolled keys), record it, and remove the key if it is
// enrolled. A command for another vehicle, or whose termination names
// another slot, is refused with ErrMismatch.
func (v *VehicleIntake) Apply(cmd *KeyCommand, signers []attest.Signer, keys VehicleKeys) error {
	if err := cmd.check(); err != nil {
		return err
	}
	if !cmd.Vehicle.Equal(v.id) {
		return fmt.Errorf("sharing: %w: command for vehicle %v", ErrMismatch, cmd.Vehicle)
	}
	switch cmd.Action {
	case ActionSuspend:
		return keys.SetState(cmd.Slot, dkey.KeySuspended)
	case ActionResume:
		return keys.SetState(cmd.Slot, dkey.KeyActive)
	}
	if _, err := v.terminate(cmd.Termination, signers, &cmd.Slot); err != nil {
		return err
	}
	if err := keys.Remove(cmd.Slot); err != nil && !errors.Is(err, dkey.ErrUnknownKey) {
		return err
	}
	return nil
}

// DeviceID identifies a device (one applet instance) across vehicles: the
// SHA-256 of its instance CA public key (the [E] certificate of every
// endpoint chain it issues, docs/protocol.md §10.1).
type DeviceID [sha256.Size]byte

// DeviceIDOf returns the DeviceID of the device whose instance CA key is k.
func DeviceIDOf(instanceCA *dkey.PublicKey) DeviceID { return DeviceID(attest.KeyHash(instanceCA)) }

// TrackRequest registers a key with the automaker's key tracking service
// (docs/protocol.md §6.5).
type TrackRequest struct {
	// Vehicle, Slot and Key are the key.
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
	Key     *dkey.PublicKey
	// Role is owner or friend.
	Role dkey.KeyRole
	// Device is the device holding the key, so that lost mode can reach
	// every key of a device.
	Device DeviceID
}

// KeyServer is the automaker's key management (docs/protocol.md §6.5, §7; the
// trackKey and manageKey operations of [APIFOX]): it tracks keys and
// returns signed receipts, and it relays suspension, resumption and
// termination to vehicles. MemoryKeyServer implements it in memory;
// keyservice/client over HTTP, against the key service of package
// keyservice, which authenticates its callers: there a device tracks its
// own key, ManageKey goes signed by the caller's key (SignedCommand) or,
// for a termination, as its termination attestation, ManageDevice is for
// the caller's own device, and Commands for the caller's own vehicle (whose
// command loop, keyservice/client.Client.Run, acknowledges after applying
// rather than on receipt).
//
// Errors: ErrNotFound for a key that is not tracked where one must be;
// dkey.ErrKeyTerminated for a command on a terminated key (other than a
// repeated termination); ErrMalformed for a command that does not check;
// ErrCapacity when the server is full; the context's error when it is done.
// Implementations are safe for concurrent use.
type KeyServer interface {
	// TrackKey registers a key and returns the signed tracking receipt
	// (attest.TrackingReceipt), which the device hands to the vehicle.
	TrackKey(ctx context.Context, req *TrackRequest) ([]byte, error)
	// ManageKey queues cmd for its vehicle and records the key's new
	// state.
	ManageKey(ctx context.Context, cmd *KeyCommand) error
	// ManageDevice queues a suspension or resumption of every live key the
	// device holds (lost mode), in every vehicle, and returns how many.
	// Keys of other devices, the friends' keys this device shared among
	// them, are untouched.
	ManageDevice(ctx context.Context, device DeviceID, action KeyAction) (int, error)
	// Commands returns and removes the commands queued for vehicle, oldest
	// first.
	Commands(ctx context.Context, vehicle dkey.VehicleID) ([]*KeyCommand, error)
}

// MemoryKeyServerConfig configures a MemoryKeyServer.
type MemoryKeyServerConfig struct {
	// Key is the tracking service's signing key (P-256); vehicles verify
	// receipts with its public key (attest.VerifyOptions.TrackingKeys).
	Key crypto.Signer
	// MaxKeys bounds the tracked keys and MaxPending the commands queued
	// per vehicle; 0 means 4096 and 256.
	MaxKeys, MaxPending int
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
}

// MemoryKeyServer is a KeyServer in memory, for tests and examples:
// bounded and safe for concurrent use.
type MemoryKeyServer struct {
	key             crypto.Signer
	maxKeys, maxCmd int
	now             func() time.Time

	mu      sync.Mutex
	tracked map[trackedID]*trackedKey
	pending map[dkey.VehicleID][]*KeyCommand
}

type trackedID struct {
	vehicle dkey.VehicleID
	slot    dkey.KeySlot
}

type trackedKey struct {
	req   TrackRequest
	state dkey.KeyState
}

var _ KeyServer = (*MemoryKeyServer)(nil)

// NewMemoryKeyServer returns a key server with no keys.
func NewMemoryKeyServer(cfg *MemoryKeyServerConfig) (*MemoryKeyServer, error) {
	if cfg == nil || cfg.Key == nil {
		return nil, errors.New("sharing: the key server needs a signing key")
	}
	if _, err := dkey.PublicKeyOf(cfg.Key); err != nil {
		return nil, fmt.Errorf("sharing: key server: %w", err)
	}
	s := &MemoryKeyServer{
		key: cfg.Key, maxKeys: 4096, maxCmd: 256, now: time.Now,
		tracked: make(map[trackedID]*trackedKey), pending: make(map[dkey.VehicleID][]*KeyCommand),
	}
	if cfg.MaxKeys > 0 {
		s.maxKeys = cfg.MaxKeys
	}
	if cfg.MaxPending > 0 {
		s.maxCmd = cfg.MaxPending
	}
	if cfg.Time != nil {
		s.now = cfg.Time
	}
	return s, nil
}

// TrackKey implements KeyServer.
func (s *MemoryKeyServer) TrackKey(ctx context.Context, req *TrackRequest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req == nil || req.Vehicle.IsZero() || req.Slot.IsZero() || req.Key == nil {
		return nil, fmt.Errorf("%w: track request needs a vehicle, a slot and a key", ErrMalformed)
	}
	id := trackedID{req.Vehicle, req.Slot}
	s.mu.Lock()
	if t, ok := s.tracked[id]; ok {
		if t.state == dkey.KeyTerminated || !t.req.Key.Equal(req.Key) {
			s.mu.Unlock()
			return nil, fmt.Errorf("sharing: %w: slot %v", dkey.ErrKeyTerminated, req.Slot)
		}
	} else if len(s.tracked) >= s.maxKeys {
		s.mu.Unlock()
		return nil, ErrCapacity
	}
	if _, ok := s.tracked[id]; !ok {
		s.tracked[id] = &trackedKey{req: *req, state: dkey.KeyActive}
	}
	s.mu.Unlock()
	r := &attest.TrackingReceipt{ID: attest.NewID(), VehicleID: req.Vehicle, Slot: req.Slot, KeyHash: attest.KeyHash(req.Key), RegisteredAt: s.now()}
	return r.Sign(s.key)
}

// ManageKey implements KeyServer.
func (s *MemoryKeyServer) ManageKey(ctx context.Context, cmd *KeyCommand) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cmd == nil {
		return fmt.Errorf("%w: no command", ErrMalformed)
	}
	if err := cmd.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tracked[trackedID{cmd.Vehicle, cmd.Slot}]
	switch {
	case !ok && cmd.Action != ActionTerminate:
		return fmt.Errorf("%w: key %v of vehicle %v", ErrNotFound, cmd.Slot, cmd.Vehicle)
	case ok && t.state == dkey.KeyTerminated && cmd.Action != ActionTerminate:
		return fmt.Errorf("sharing: %w: slot %v", dkey.ErrKeyTerminated, cmd.Slot)
	}
	if err := s.queueLocked(cmd); err != nil {
		return err
	}
	if ok {
		t.state = stateAfter(cmd.Action)
	}
	return nil
}

func stateAfter(a KeyAction) dkey.KeyState {
	switch a {
	case ActionSuspend:
		return dkey.KeySuspended
	case ActionTerminate:
		return dkey.KeyTerminated
	}
	return dkey.KeyActive
}

func (s *MemoryKeyServer) queueLocked(cmd *KeyCommand) error {
	q := s.pending[cmd.Vehicle]
	if len(q) >= s.maxCmd {
		return ErrCapacity
	}
	c := *cmd
	c.Termination = slices.Clone(cmd.Termination)
	s.pending[cmd.Vehicle] = append(q, &c)
	return nil
}

// ManageDevice implements KeyServer.
func (s *MemoryKeyServer) ManageDevice(ctx context.Context, device DeviceID, action KeyAction) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if action != ActionSuspend && action != ActionResume {
		return 0, fmt.Errorf("%w: a device is suspended or resumed, its keys terminated one by one", ErrMalformed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cmds []*KeyCommand
	var keys []*trackedKey
	for _, t := range s.tracked {
		if t.req.Device != device || t.state == dkey.KeyTerminated {
			continue
		}
		c, err := NewKeyCommand(action, t.req.Vehicle, t.req.Slot, nil)
		if err != nil {
			return 0, err
		}
		cmds, keys = append(cmds, c), append(keys, t)
	}
	// All or nothing: check the queues first.
	need := make(map[dkey.VehicleID]int)
	for _, c := range cmds {
		need[c.Vehicle]++
	}
	for v, n := range need {
		if len(s.pending[v])+n > s.maxCmd {
			return 0, ErrCapacity
		}
	}
	for i, c := range cmds {
		s.pending[c.Vehicle] = append(s.pending[c.Vehicle], c)
		keys[i].state = stateAfter(action)
	}
	return len(cmds), nil
}

// Commands implements KeyServer.
func (s *MemoryKeyServer) Commands(ctx context.Context, vehicle dkey.VehicleID) ([]*KeyCommand, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.pending[vehicle]
	delete(s.pending, vehicle)
	return q, nil
}

// State returns the state the server records for a tracked key.
func (s *MemoryKeyServer) State(vehicle dkey.VehicleID, slot dkey.KeySlot) (dkey.KeyState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tracked[trackedID{vehicle, slot}]
	if !ok {
		return 0, false
	}
	return t.state, true
}
