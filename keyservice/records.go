package keyservice

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/cborstrict"
	"github.com/opencarkey/sdk/sharing"
)

// The persisted records. Both stores keep each record as one versioned CBOR
// array (Core Deterministic Encoding, decoded strictly), so a record read
// back is the record written, whatever the store:
//
//	mailbox = [1, id: bstr .size 16, sender: bstr .size 32, expires: uint,
//	           display: bstr, sender-content: bstr, receiver-content: bstr,
//	           sender-token: bstr .size 32, fetch-token: bstr .size 32,
//	           receiver-token: bstr .size (0 / 32)]        ; tokens as SHA-256
//	inventory = [1, vehicle: bstr, reported: uint, [* key]]
//	key = [slot: bstr, key: bstr .size (0 / 65), key-hash: bstr .size 32,
//	       role: uint, entitlements: uint, speed: uint, state: uint,
//	       not-before: uint, not-after: uint, flags: uint,
//	       device: bstr .size (0 / 32), receipt: bstr, updated: uint]
//	command = [1, id: bstr .size 16, command: bstr, authority: bstr,
//	           accepted: uint, [* recipient: tstr]]
//
// Times are seconds since the epoch, 0 for none. The key flags are 1
// reported by the vehicle, 2 tracked by its device, 4 pending (the state is
// the service's decision, which the vehicle has not reported applied).

// recordVersion is the version of every record.
const recordVersion = 1

// Limits of the records.
const (
	// MaxInventoryKeys bounds the keys of one vehicle's inventory, what a
	// vehicle reports and what the service keeps.
	MaxInventoryKeys = 64
	// MaxDeviceKeys bounds the keys one device holds across vehicles, the
	// reach of a lost-mode request.
	MaxDeviceKeys = 256
	maxRecipients = 2
	maxTime       = 253402300799 // 9999-12-31T23:59:59Z
)

var (
	encMode = cborstrict.EncMode()
	decMode = cborstrict.DecMode(cbor.TagsForbidden, MaxInventoryKeys)
)

// errNotDeterministic is the detail of an encoding that decodes but is not
// the deterministic one.
var errNotDeterministic = errors.New("not in Core Deterministic Encoding")

// decodeStrict decodes b into v and checks that b is exactly what the
// encoder writes for v.
func decodeStrict(b []byte, v any) error {
	if err := decMode.Unmarshal(b, v); err != nil {
		return err
	}
	again, err := encMode.Marshal(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(again, b) {
		return errNotDeterministic
	}
	return nil
}

func seconds(t time.Time) uint64 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	return uint64(min(t.Unix(), maxTime))
}

func fromSeconds(s uint64) (time.Time, error) {
	switch {
	case s == 0:
		return time.Time{}, nil
	case s > maxTime:
		return time.Time{}, errors.New("time after 9999")
	}
	return time.Unix(int64(s), 0).UTC(), nil
}

// TokenHash is the SHA-256 of an access token, which is what the stores
// keep: a copy of the database does not open any mailbox.
type TokenHash [sha256.Size]byte

// HashToken returns the hash of t.
func HashToken(t sharing.AccessToken) TokenHash { return sha256.Sum256(t[:]) }

// Mailbox is a relay mailbox as the stores keep it.
type Mailbox struct {
	ID sharing.MailboxID
	// Sender is the device that created the mailbox.
	Sender  sharing.DeviceID
	Expires time.Time
	Display []byte
	// SenderContent is the sender's latest content, the invitation until
	// it is fetched; ReceiverContent the receiver's. Nil when none.
	SenderContent, ReceiverContent []byte
	// The hashes of the tokens; ReceiverToken is zero until the fetch.
	SenderToken, FetchToken, ReceiverToken TokenHash
}

// Fetched reports whether the invitation was fetched.
func (m *Mailbox) Fetched() bool { return m.ReceiverToken != TokenHash{} }

type mailboxEncoding struct {
	_               struct{} `cbor:",toarray"`
	Version         uint64
	ID              []byte
	Sender          []byte
	Expires         uint64
	Display         []byte
	SenderContent   []byte
	ReceiverContent []byte
	SenderToken     []byte
	FetchToken      []byte
	ReceiverToken   []byte
}

// MarshalBinary returns the persisted form of m.
func (m *Mailbox) MarshalBinary() ([]byte, error) {
	e := mailboxEncoding{
		Version: recordVersion, ID: m.ID[:], Sender: m.Sender[:], Expires: seconds(m.Expires),
		Display: m.Display, SenderContent: m.SenderContent, ReceiverContent: m.ReceiverContent,
		SenderToken: m.SenderToken[:], FetchToken: m.FetchToken[:],
	}
	if m.Fetched() {
		e.ReceiverToken = m.ReceiverToken[:]
	}
	return encMode.Marshal(e)
}

// ParseMailbox parses the persisted form of a mailbox. Anything but the
// exact encoding MarshalBinary writes is an error wrapping ErrCorrupt.
func ParseMailbox(b []byte) (*Mailbox, error) {
	var e mailboxEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, fmt.Errorf("%w: mailbox: %w", ErrCorrupt, err)
	}
	m := new(Mailbox)
	var err error
	switch {
	case e.Version != recordVersion:
		err = fmt.Errorf("version %d", e.Version)
	case len(e.ID) != len(m.ID) || len(e.Sender) != len(m.Sender) || len(e.SenderToken) != sha256.Size || len(e.FetchToken) != sha256.Size:
		err = errors.New("field sizes")
	case len(e.ReceiverToken) != 0 && len(e.ReceiverToken) != sha256.Size:
		err = errors.New("receiver token")
	case len(e.Display) > sharing.MaxDisplaySize || len(e.SenderContent) > sharing.MaxSealedSize || len(e.ReceiverContent) > sharing.MaxSealedSize:
		err = errors.New("content sizes")
	}
	if err == nil {
		m.Expires, err = fromSeconds(e.Expires)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: mailbox: %w", ErrCorrupt, err)
	}
	copy(m.ID[:], e.ID)
	copy(m.Sender[:], e.Sender)
	m.Display, m.SenderContent, m.ReceiverContent = nonEmpty(e.Display), nonEmpty(e.SenderContent), nonEmpty(e.ReceiverContent)
	copy(m.SenderToken[:], e.SenderToken)
	copy(m.FetchToken[:], e.FetchToken)
	copy(m.ReceiverToken[:], e.ReceiverToken)
	return m, nil
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Key flags of the persisted form.
const (
	flagReported = 1
	flagTracked  = 2
	flagPending  = 4
	knownFlags   = flagReported | flagTracked | flagPending
)

// Key is one key of a vehicle's inventory: what the vehicle reported
// (Reported: enrolled, with its role and profile, which only the vehicle
// knows for sure) merged with what the service learnt (Tracked: a device
// registered it and got a receipt) and did (State: suspended or terminated
// by a command the service accepted, which the vehicle may not have
// applied yet).
type Key struct {
	Slot dkey.KeySlot
	// PublicKey is the key; nil when the service knows only its hash (a
	// termination of a key it never saw).
	PublicKey *dkey.PublicKey
	KeyHash   [sha256.Size]byte
	Role      dkey.KeyRole
	Profile   dkey.AccessProfile
	State     dkey.KeyState
	// NotBefore and NotAfter are the validity the vehicle enforces; zero
	// means unbounded.
	NotBefore, NotAfter time.Time
	// Reported: the vehicle reported the key in its last inventory.
	Reported bool
	// Pending: State is a decision of the service (a command it
	// accepted) that the vehicle has not reported applied yet.
	Pending bool
	// Tracked: a device registered the key (TrackKey); Device is that
	// device and Receipt the tracking receipt it got.
	Tracked bool
	Device  sharing.DeviceID
	Receipt []byte
	// Updated is when the record last changed.
	Updated time.Time
}

// Inventory is the key inventory of one vehicle, in slot order.
type Inventory struct {
	Vehicle dkey.VehicleID
	// Reported is when the vehicle last reported its keys; zero if never.
	Reported time.Time
	Keys     []Key
}

// Key returns the key in slot, or nil.
func (inv *Inventory) Key(slot dkey.KeySlot) *Key {
	for i := range inv.Keys {
		if inv.Keys[i].Slot == slot {
			return &inv.Keys[i]
		}
	}
	return nil
}

// put adds or replaces k, keeping slot order. When the inventory is full,
// the terminated key the vehicle no longer reports that changed least
// recently makes room.
func (inv *Inventory) put(k Key) error {
	if p := inv.Key(k.Slot); p != nil {
		*p = k
		return nil
	}
	if len(inv.Keys) >= MaxInventoryKeys {
		old := -1
		for i, e := range inv.Keys {
			if e.State == dkey.KeyTerminated && !e.Reported && (old < 0 || e.Updated.Before(inv.Keys[old].Updated)) {
				old = i
			}
		}
		if old < 0 {
			return fmt.Errorf("%w: %d keys", ErrCapacity, MaxInventoryKeys)
		}
		inv.Keys = slices.Delete(inv.Keys, old, old+1)
	}
	inv.Keys = append(inv.Keys, k)
	slices.SortFunc(inv.Keys, func(a, b Key) int { return bytes.Compare(a.Slot.Bytes(), b.Slot.Bytes()) })
	return nil
}

type keyEncoding struct {
	_            struct{} `cbor:",toarray"`
	Slot         []byte
	Key          []byte
	KeyHash      []byte
	Role         uint64
	Entitlements uint64
	Speed        uint64
	State        uint64
	NotBefore    uint64
	NotAfter     uint64
	Flags        uint64
	Device       []byte
	Receipt      []byte
	Updated      uint64
}

type inventoryEncoding struct {
	_        struct{} `cbor:",toarray"`
	Version  uint64
	Vehicle  []byte
	Reported uint64
	Keys     []keyEncoding
}

// MarshalBinary returns the persisted form of inv, whose keys must be in
// slot order, each slot once.
func (inv *Inventory) MarshalBinary() ([]byte, error) {
	if len(inv.Keys) > MaxInventoryKeys {
		return nil, fmt.Errorf("%w: %d keys", ErrCapacity, len(inv.Keys))
	}
	e := inventoryEncoding{Version: recordVersion, Vehicle: inv.Vehicle.Bytes(), Reported: seconds(inv.Reported), Keys: make([]keyEncoding, len(inv.Keys))}
	for i, k := range inv.Keys {
		if i > 0 && bytes.Compare(inv.Keys[i-1].Slot.Bytes(), k.Slot.Bytes()) >= 0 {
			return nil, errors.New("keyservice: inventory keys not in slot order")
		}
		e.Keys[i] = k.encode()
	}
	return encMode.Marshal(e)
}

// encode returns the persisted form of k.
func (k *Key) encode() keyEncoding {
	ke := keyEncoding{
		Slot: k.Slot.Bytes(), KeyHash: k.KeyHash[:], Role: uint64(k.Role),
		Entitlements: uint64(k.Profile.Entitlements), Speed: uint64(k.Profile.MaxSpeed), State: uint64(k.State),
		NotBefore: seconds(k.NotBefore), NotAfter: seconds(k.NotAfter), Receipt: k.Receipt, Updated: seconds(k.Updated),
	}
	if k.PublicKey != nil {
		ke.Key = k.PublicKey.Bytes()
	}
	if k.Reported {
		ke.Flags |= flagReported
	}
	if k.Pending {
		ke.Flags |= flagPending
	}
	if k.Tracked {
		ke.Flags |= flagTracked
		ke.Device = k.Device[:]
	}
	return ke
}

// ParseInventory parses the persisted form of an inventory. Anything but
// the exact encoding MarshalBinary writes is an error wrapping ErrCorrupt.
func ParseInventory(b []byte) (*Inventory, error) {
	inv, err := parseInventory(b)
	if err != nil {
		return nil, fmt.Errorf("%w: inventory: %w", ErrCorrupt, err)
	}
	return inv, nil
}

func parseInventory(b []byte) (*Inventory, error) {
	var e inventoryEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, err
	}
	if e.Version != recordVersion {
		return nil, fmt.Errorf("version %d", e.Version)
	}
	inv := new(Inventory)
	var err error
	if inv.Vehicle, err = dkey.NewVehicleID(e.Vehicle); err != nil {
		return nil, err
	}
	if inv.Reported, err = fromSeconds(e.Reported); err != nil {
		return nil, err
	}
	for i, ke := range e.Keys {
		k, err := parseKey(&ke)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if i > 0 && bytes.Compare(e.Keys[i-1].Slot, ke.Slot) >= 0 {
			return nil, fmt.Errorf("key %d: slots out of order", i)
		}
		inv.Keys = append(inv.Keys, k)
	}
	return inv, nil
}

func parseKey(ke *keyEncoding) (Key, error) {
	var k Key
	var err error
	if k.Slot, err = dkey.NewKeySlot(ke.Slot); err != nil {
		return k, err
	}
	if len(ke.KeyHash) != sha256.Size {
		return k, errors.New("key hash")
	}
	copy(k.KeyHash[:], ke.KeyHash)
	if len(ke.Key) > 0 {
		if k.PublicKey, err = dkey.ParsePublicKey(ke.Key); err != nil {
			return k, err
		}
		if attest.KeyHash(k.PublicKey) != k.KeyHash {
			return k, errors.New("key hash of another key")
		}
	}
	switch {
	case ke.Role > uint64(dkey.RoleFriend):
		return k, fmt.Errorf("role %d", ke.Role)
	case ke.State < uint64(dkey.KeyActive) || ke.State > uint64(dkey.KeyTerminated):
		return k, fmt.Errorf("state %d", ke.State)
	case ke.Entitlements > 0xFFFFFFFF || !dkey.Entitlements(ke.Entitlements).Known() || ke.Speed > 0xFFFF:
		return k, errors.New("profile")
	case ke.Flags&^knownFlags != 0:
		return k, fmt.Errorf("flags %x", ke.Flags)
	case (ke.Flags&flagTracked != 0) != (len(ke.Device) == sha256.Size) || (len(ke.Device) != 0 && len(ke.Device) != sha256.Size):
		return k, errors.New("device")
	case len(ke.Receipt) > attest.MaxStatementSize:
		return k, errors.New("receipt")
	}
	k.Role, k.State = dkey.KeyRole(ke.Role), dkey.KeyState(ke.State)
	k.Profile = dkey.AccessProfile{Entitlements: dkey.Entitlements(ke.Entitlements), MaxSpeed: uint16(ke.Speed)}
	k.Reported, k.Tracked, k.Pending = ke.Flags&flagReported != 0, ke.Flags&flagTracked != 0, ke.Flags&flagPending != 0
	copy(k.Device[:], ke.Device)
	k.Receipt = nonEmpty(ke.Receipt)
	if k.NotBefore, err = fromSeconds(ke.NotBefore); err != nil {
		return k, err
	}
	if k.NotAfter, err = fromSeconds(ke.NotAfter); err != nil {
		return k, err
	}
	if k.Updated, err = fromSeconds(ke.Updated); err != nil {
		return k, err
	}
	return k, nil
}

// Recipient names a command queue: a vehicle's or a device's. Its string
// form, "vehicle/<hex>" or "device/<hex>", is what the stores key queues by.
type Recipient string

// VehicleRecipient returns the queue of a vehicle.
func VehicleRecipient(v dkey.VehicleID) Recipient { return Recipient("vehicle/" + v.String()) }

// DeviceRecipient returns the queue of a device.
func DeviceRecipient(d sharing.DeviceID) Recipient {
	return Recipient("device/" + hex.EncodeToString(d[:]))
}

// ParseRecipient parses the string form of a recipient.
func ParseRecipient(s string) (Recipient, error) {
	kind, h, ok := strings.Cut(s, "/")
	if !ok || h != strings.ToLower(h) {
		return "", fmt.Errorf("keyservice: recipient %q", s)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", fmt.Errorf("keyservice: recipient %q", s)
	}
	switch kind {
	case "vehicle":
		v, err := dkey.NewVehicleID(b)
		if err != nil {
			return "", fmt.Errorf("keyservice: recipient %q: %w", s, err)
		}
		return VehicleRecipient(v), nil
	case "device":
		if len(b) != sha256.Size {
			return "", fmt.Errorf("keyservice: recipient %q", s)
		}
		return DeviceRecipient(sharing.DeviceID(b)), nil
	}
	return "", fmt.Errorf("keyservice: recipient %q", s)
}

// CommandID identifies a command: the KeyCommand's ID.
type CommandID [sharing.CommandIDSize]byte

// String returns the identifier in hexadecimal.
func (id CommandID) String() string { return hex.EncodeToString(id[:]) }

// Command is a key command the service accepted, as the stores keep it,
// for as long as the service keeps command identifiers (replays of it are
// refused meanwhile).
type Command struct {
	ID CommandID
	// Wire is the KeyCommand's wire form, what the recipients receive.
	Wire []byte
	// Authority is what authorised it: the signed command, the
	// termination attestation, or the lost-mode request.
	Authority []byte
	Accepted  time.Time
	// Recipients are the queues it went to.
	Recipients []Recipient
}

type commandEncoding struct {
	_          struct{} `cbor:",toarray"`
	Version    uint64
	ID         []byte
	Wire       []byte
	Authority  []byte
	Accepted   uint64
	Recipients []string
}

// MarshalBinary returns the persisted form of c.
func (c *Command) MarshalBinary() ([]byte, error) {
	rs := make([]string, len(c.Recipients))
	for i, r := range c.Recipients {
		rs[i] = string(r)
	}
	return encMode.Marshal(commandEncoding{Version: recordVersion, ID: c.ID[:], Wire: c.Wire, Authority: c.Authority, Accepted: seconds(c.Accepted), Recipients: rs})
}

// ParseCommand parses the persisted form of a command. Anything but the
// exact encoding MarshalBinary writes is an error wrapping ErrCorrupt.
func ParseCommand(b []byte) (*Command, error) {
	var e commandEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, fmt.Errorf("%w: command: %w", ErrCorrupt, err)
	}
	c := new(Command)
	var err error
	switch {
	case e.Version != recordVersion:
		err = fmt.Errorf("version %d", e.Version)
	case len(e.ID) != len(c.ID):
		err = errors.New("identifier")
	case len(e.Recipients) > maxRecipients:
		err = errors.New("recipients")
	case len(e.Authority) > maxAuthority:
		err = errors.New("authority")
	}
	if err == nil {
		_, err = sharing.ParseKeyCommand(e.Wire)
	}
	if err == nil {
		c.Accepted, err = fromSeconds(e.Accepted)
	}
	for _, r := range e.Recipients {
		if err != nil {
			break
		}
		var p Recipient
		if p, err = ParseRecipient(r); err == nil {
			c.Recipients = append(c.Recipients, p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: command: %w", ErrCorrupt, err)
	}
	copy(c.ID[:], e.ID)
	c.Wire, c.Authority = e.Wire, nonEmpty(e.Authority)
	return c, nil
}

// maxAuthority bounds what authorised a command.
const maxAuthority = sharing.MaxSignedCommandSize

// Queued is a command waiting in a queue, with its sequence number there.
type Queued struct {
	Seq     uint64
	Command *Command
}

// KeyRef names one key of one vehicle, as the device index lists them.
type KeyRef struct {
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
}
