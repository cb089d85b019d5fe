package keyservice

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// ErrMalformed reports a request or response body, header, path or query
// parameter outside its format or limits.
var ErrMalformed = errors.New("keyservice: malformed message")

// The bodies of the API (doc.go, "API"), in CBOR with integer keys, in Core
// Deterministic Encoding, decoded strictly: each ParseXxx accepts exactly
// what the MarshalBinary of its type writes, and refuses anything else with
// an error wrapping ErrMalformed.

func malformed(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}

// MailboxRequest creates a relay mailbox (POST /v1/relay/mailboxes):
//
//	{1 => bstr .size (1..MaxSealedSize), ? 2 => bstr .size (1..256), 3 => uint}
//
// content, display information, expiry in seconds since the epoch.
type MailboxRequest struct {
	Content []byte
	Display []byte
	Expires time.Time
}

type mailboxRequestEncoding struct {
	Content []byte `cbor:"1,keyasint"`
	Display []byte `cbor:"2,keyasint,omitempty"`
	Expires uint64 `cbor:"3,keyasint"`
}

// MarshalBinary returns the body.
func (r *MailboxRequest) MarshalBinary() ([]byte, error) {
	return encMode.Marshal(mailboxRequestEncoding{Content: r.Content, Display: r.Display, Expires: seconds(r.Expires)})
}

// ParseMailboxRequest parses the body of a mailbox creation.
func ParseMailboxRequest(b []byte) (*MailboxRequest, error) {
	var e mailboxRequestEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("mailbox request", err)
	}
	exp, err := fromSeconds(e.Expires)
	if err != nil || e.Expires == 0 || len(e.Content) == 0 || len(e.Content) > sharing.MaxSealedSize || len(e.Display) > sharing.MaxDisplaySize {
		return nil, malformed("mailbox request fields", err)
	}
	return &MailboxRequest{Content: e.Content, Display: nonEmpty(e.Display), Expires: exp}, nil
}

// MailboxCreated answers a mailbox creation:
//
//	{1 => bstr .size 16, 2 => bstr .size 16, 3 => bstr .size 16}
//
// the mailbox identifier, the sender's token, the fetch token.
type MailboxCreated sharing.CreatedMailbox

type mailboxCreatedEncoding struct {
	ID     []byte `cbor:"1,keyasint"`
	Sender []byte `cbor:"2,keyasint"`
	Fetch  []byte `cbor:"3,keyasint"`
}

// MarshalBinary returns the body.
func (r *MailboxCreated) MarshalBinary() ([]byte, error) {
	return encMode.Marshal(mailboxCreatedEncoding{ID: r.ID[:], Sender: r.Sender[:], Fetch: r.Fetch[:]})
}

// ParseMailboxCreated parses the answer to a mailbox creation.
func ParseMailboxCreated(b []byte) (*MailboxCreated, error) {
	var e mailboxCreatedEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("mailbox created", err)
	}
	r := new(MailboxCreated)
	if len(e.ID) != len(r.ID) || len(e.Sender) != len(r.Sender) || len(e.Fetch) != len(r.Fetch) {
		return nil, malformed("mailbox created fields", nil)
	}
	copy(r.ID[:], e.ID)
	copy(r.Sender[:], e.Sender)
	copy(r.Fetch[:], e.Fetch)
	return r, nil
}

// Fetched answers the fetch of an invitation
// (POST /v1/relay/mailboxes/{id}/fetch):
//
//	{1 => bstr .size (1..MaxSealedSize), 2 => bstr .size 16}
//
// the sealed invitation and the receiver's token.
type Fetched struct {
	Content  []byte
	Receiver sharing.AccessToken
}

type fetchedEncoding struct {
	Content  []byte `cbor:"1,keyasint"`
	Receiver []byte `cbor:"2,keyasint"`
}

// MarshalBinary returns the body.
func (r *Fetched) MarshalBinary() ([]byte, error) {
	return encMode.Marshal(fetchedEncoding{Content: r.Content, Receiver: r.Receiver[:]})
}

// ParseFetched parses the answer to a fetch.
func ParseFetched(b []byte) (*Fetched, error) {
	var e fetchedEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("fetched", err)
	}
	r := new(Fetched)
	if len(e.Content) == 0 || len(e.Content) > sharing.MaxSealedSize || len(e.Receiver) != len(r.Receiver) {
		return nil, malformed("fetched fields", nil)
	}
	r.Content = e.Content
	copy(r.Receiver[:], e.Receiver)
	return r, nil
}

// TrackKeyRequest registers the key of the requesting device (POST
// /v1/keys), which must be the key its client certificate certifies:
//
//	{1 => bstr .size (8 / 16), 2 => bstr .size (1..8), 3 => bstr .size 65, 4 => uint}
//
// vehicle identifier, key slot, public key, role (1 owner, 2 friend). The
// answer is the tracking receipt (attest.TrackingReceipt), as
// application/cose.
type TrackKeyRequest struct {
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
	Key     *dkey.PublicKey
	Role    dkey.KeyRole
}

type trackEncoding struct {
	Vehicle []byte `cbor:"1,keyasint"`
	Slot    []byte `cbor:"2,keyasint"`
	Key     []byte `cbor:"3,keyasint"`
	Role    uint64 `cbor:"4,keyasint"`
}

// MarshalBinary returns the body.
func (r *TrackKeyRequest) MarshalBinary() ([]byte, error) {
	if r.Key == nil {
		return nil, malformed("track request without a key", nil)
	}
	return encMode.Marshal(trackEncoding{Vehicle: r.Vehicle.Bytes(), Slot: r.Slot.Bytes(), Key: r.Key.Bytes(), Role: uint64(r.Role)})
}

// ParseTrackKeyRequest parses the body of a key registration.
func ParseTrackKeyRequest(b []byte) (*TrackKeyRequest, error) {
	var e trackEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("track request", err)
	}
	r := new(TrackKeyRequest)
	var err error
	if r.Vehicle, err = dkey.NewVehicleID(e.Vehicle); err != nil {
		return nil, malformed("track request vehicle", err)
	}
	if r.Slot, err = dkey.NewKeySlot(e.Slot); err != nil {
		return nil, malformed("track request slot", err)
	}
	if r.Key, err = dkey.ParsePublicKey(e.Key); err != nil {
		return nil, malformed("track request key", err)
	}
	if e.Role != uint64(dkey.RoleOwner) && e.Role != uint64(dkey.RoleFriend) {
		return nil, malformed("track request role", nil)
	}
	r.Role = dkey.KeyRole(e.Role)
	return r, nil
}

// ReportedKey is one key of a vehicle's report of its keys (PUT
// /v1/vehicles/{vehicle}/keys):
//
//	report = {1 => [* reported-key]}                      ; at most MaxInventoryKeys
//	reported-key = {1 => bstr .size (1..8), 2 => bstr .size 65, 3 => uint,
//	                4 => uint .size 4, ? 5 => uint .size 2, 6 => uint,
//	                ? 7 => uint, ? 8 => uint}
//
// slot, public key, role, entitlements, speed limit, state (1 active, 2
// suspended), not before and not after (seconds; absent when unbounded).
// The report lists every key the vehicle has enrolled; a key it no longer
// lists was removed.
type ReportedKey struct {
	Slot                dkey.KeySlot
	PublicKey           *dkey.PublicKey
	Role                dkey.KeyRole
	Profile             dkey.AccessProfile
	State               dkey.KeyState
	NotBefore, NotAfter time.Time
}

type reportedKeyEncoding struct {
	Slot         []byte `cbor:"1,keyasint"`
	Key          []byte `cbor:"2,keyasint"`
	Role         uint64 `cbor:"3,keyasint"`
	Entitlements uint64 `cbor:"4,keyasint"`
	Speed        uint64 `cbor:"5,keyasint,omitempty"`
	State        uint64 `cbor:"6,keyasint"`
	NotBefore    uint64 `cbor:"7,keyasint,omitempty"`
	NotAfter     uint64 `cbor:"8,keyasint,omitempty"`
}

type reportEncoding struct {
	Keys []reportedKeyEncoding `cbor:"1,keyasint"`
}

// MarshalReport returns the body of a vehicle's report of keys.
func MarshalReport(keys []ReportedKey) ([]byte, error) {
	if len(keys) > MaxInventoryKeys {
		return nil, malformed("report of more than MaxInventoryKeys keys", nil)
	}
	e := reportEncoding{Keys: make([]reportedKeyEncoding, len(keys))}
	for i, k := range keys {
		if k.PublicKey == nil {
			return nil, malformed("reported key without a public key", nil)
		}
		e.Keys[i] = reportedKeyEncoding{
			Slot: k.Slot.Bytes(), Key: k.PublicKey.Bytes(), Role: uint64(k.Role),
			Entitlements: uint64(k.Profile.Entitlements), Speed: uint64(k.Profile.MaxSpeed), State: uint64(k.State),
			NotBefore: seconds(k.NotBefore), NotAfter: seconds(k.NotAfter),
		}
	}
	return encMode.Marshal(e)
}

// ParseReport parses the body of a vehicle's report of keys: at most
// MaxInventoryKeys keys, each slot once.
func ParseReport(b []byte) ([]ReportedKey, error) {
	var e reportEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("report", err)
	}
	out := make([]ReportedKey, 0, len(e.Keys))
	seen := make(map[dkey.KeySlot]bool, len(e.Keys))
	for i, ke := range e.Keys {
		k, err := parseReportedKey(&ke)
		if err != nil {
			return nil, malformed("reported key "+strconv.Itoa(i), err)
		}
		if seen[k.Slot] {
			return nil, malformed("slot reported twice", nil)
		}
		seen[k.Slot] = true
		out = append(out, k)
	}
	return out, nil
}

func parseReportedKey(ke *reportedKeyEncoding) (ReportedKey, error) {
	var k ReportedKey
	var err error
	if k.Slot, err = dkey.NewKeySlot(ke.Slot); err != nil {
		return k, err
	}
	if k.PublicKey, err = dkey.ParsePublicKey(ke.Key); err != nil {
		return k, err
	}
	switch {
	case ke.Role != uint64(dkey.RoleOwner) && ke.Role != uint64(dkey.RoleFriend):
		return k, fmt.Errorf("role %d", ke.Role)
	case ke.State != uint64(dkey.KeyActive) && ke.State != uint64(dkey.KeySuspended):
		return k, fmt.Errorf("state %d", ke.State)
	case ke.Entitlements == 0 || ke.Entitlements > 0xFFFFFFFF || !dkey.Entitlements(ke.Entitlements).Known() || ke.Speed > 0xFFFF:
		return k, errors.New("profile")
	}
	k.Role, k.State = dkey.KeyRole(ke.Role), dkey.KeyState(ke.State)
	k.Profile = dkey.AccessProfile{Entitlements: dkey.Entitlements(ke.Entitlements), MaxSpeed: uint16(ke.Speed)}
	if k.NotBefore, err = fromSeconds(ke.NotBefore); err != nil {
		return k, err
	}
	if k.NotAfter, err = fromSeconds(ke.NotAfter); err != nil {
		return k, err
	}
	return k, nil
}

// KeyList answers a request for a vehicle's inventory (GET
// /v1/vehicles/{vehicle}/keys):
//
//	{1 => bstr .size (8 / 16), ? 2 => uint, 3 => [* key-status]}   ; in slot order
//	key-status = {1 => bstr .size (1..8), ? 2 => bstr .size 65, 3 => bstr .size 32,
//	              ? 4 => uint, ? 5 => uint .size 4, ? 6 => uint .size 2, 7 => uint,
//	              ? 8 => uint, ? 9 => uint, ? 10 => uint}
//
// vehicle, when it last reported; per key: slot, public key (absent when
// only its hash is known), key hash, role, entitlements, speed limit, state
// (the service's: 3 when it accepted a termination), not before, not after,
// flags (1 reported by the vehicle, 2 tracked, 4 pending: the state is the
// service's decision, not yet applied by the vehicle).
type KeyList struct {
	Vehicle  dkey.VehicleID
	Reported time.Time
	// Keys are the inventory's keys, without what only the service keeps:
	// Device, Receipt and Updated are zero.
	Keys []Key
}

type keyStatusEncoding struct {
	Slot         []byte `cbor:"1,keyasint"`
	Key          []byte `cbor:"2,keyasint,omitempty"`
	KeyHash      []byte `cbor:"3,keyasint"`
	Role         uint64 `cbor:"4,keyasint,omitempty"`
	Entitlements uint64 `cbor:"5,keyasint,omitempty"`
	Speed        uint64 `cbor:"6,keyasint,omitempty"`
	State        uint64 `cbor:"7,keyasint"`
	NotBefore    uint64 `cbor:"8,keyasint,omitempty"`
	NotAfter     uint64 `cbor:"9,keyasint,omitempty"`
	Flags        uint64 `cbor:"10,keyasint,omitempty"`
}

type keyListEncoding struct {
	Vehicle  []byte              `cbor:"1,keyasint"`
	Reported uint64              `cbor:"2,keyasint,omitempty"`
	Keys     []keyStatusEncoding `cbor:"3,keyasint"`
}

// listOf returns the KeyList of an inventory.
func listOf(inv *Inventory) *KeyList {
	l := &KeyList{Vehicle: inv.Vehicle, Reported: inv.Reported, Keys: make([]Key, len(inv.Keys))}
	for i, k := range inv.Keys {
		k.Device, k.Receipt, k.Updated = sharing.DeviceID{}, nil, time.Time{}
		l.Keys[i] = k
	}
	return l
}

// MarshalBinary returns the body.
func (l *KeyList) MarshalBinary() ([]byte, error) {
	e := keyListEncoding{Vehicle: l.Vehicle.Bytes(), Reported: seconds(l.Reported), Keys: make([]keyStatusEncoding, len(l.Keys))}
	for i := range l.Keys {
		ke := l.Keys[i].encode()
		e.Keys[i] = keyStatusEncoding{
			Slot: ke.Slot, Key: ke.Key, KeyHash: ke.KeyHash, Role: ke.Role, Entitlements: ke.Entitlements, Speed: ke.Speed,
			State: ke.State, NotBefore: ke.NotBefore, NotAfter: ke.NotAfter, Flags: ke.Flags,
		}
	}
	return encMode.Marshal(e)
}

// ParseKeyList parses the answer to an inventory request.
func ParseKeyList(b []byte) (*KeyList, error) {
	var e keyListEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("key list", err)
	}
	l := new(KeyList)
	var err error
	if l.Vehicle, err = dkey.NewVehicleID(e.Vehicle); err != nil {
		return nil, malformed("key list vehicle", err)
	}
	if l.Reported, err = fromSeconds(e.Reported); err != nil {
		return nil, malformed("key list time", err)
	}
	for i, ke := range e.Keys {
		// A tracked key's record names its device; the list does not.
		k, err := parseKey(&keyEncoding{
			Slot: ke.Slot, Key: ke.Key, KeyHash: ke.KeyHash, Role: ke.Role, Entitlements: ke.Entitlements, Speed: ke.Speed,
			State: ke.State, NotBefore: ke.NotBefore, NotAfter: ke.NotAfter, Flags: ke.Flags &^ flagTracked,
		})
		if err != nil || ke.Flags&^knownFlags != 0 {
			return nil, malformed("key status "+strconv.Itoa(i), err)
		}
		k.Tracked = ke.Flags&flagTracked != 0
		l.Keys = append(l.Keys, k)
	}
	return l, nil
}

// Delivery is one command delivered to a recipient, with its sequence
// number in the recipient's queue. The answer to a wait for commands (GET
// /v1/vehicles/{vehicle}/commands, GET /v1/devices/{device}/commands):
//
//	{1 => [* [uint, bstr]]}                  ; at most MaxDeliveries, oldest first
//
// sequence number and the key-command (sharing.KeyCommand wire form).
type Delivery struct {
	Seq     uint64
	Command *sharing.KeyCommand
}

// MaxDeliveries bounds the commands of one delivery.
const MaxDeliveries = 32

type deliveryEncoding struct {
	_       struct{} `cbor:",toarray"`
	Seq     uint64
	Command []byte
}

type deliveriesEncoding struct {
	Commands []deliveryEncoding `cbor:"1,keyasint"`
}

// MarshalDeliveries returns the body of a delivery.
func MarshalDeliveries(ds []Delivery) ([]byte, error) {
	if len(ds) > MaxDeliveries {
		return nil, malformed("more than MaxDeliveries commands", nil)
	}
	e := deliveriesEncoding{Commands: make([]deliveryEncoding, len(ds))}
	for i, d := range ds {
		c, err := d.Command.MarshalBinary()
		if err != nil {
			return nil, err
		}
		e.Commands[i] = deliveryEncoding{Seq: d.Seq, Command: c}
	}
	return encMode.Marshal(e)
}

// ParseDeliveries parses the body of a delivery: at most MaxDeliveries
// commands in increasing sequence order.
func ParseDeliveries(b []byte) ([]Delivery, error) {
	var e deliveriesEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("deliveries", err)
	}
	if len(e.Commands) > MaxDeliveries {
		return nil, malformed("more than MaxDeliveries commands", nil)
	}
	out := make([]Delivery, 0, len(e.Commands))
	for i, de := range e.Commands {
		if de.Seq == 0 || (i > 0 && de.Seq <= e.Commands[i-1].Seq) {
			return nil, malformed("sequence numbers", nil)
		}
		c, err := sharing.ParseKeyCommand(de.Command)
		if err != nil {
			return nil, malformed("delivered command", err)
		}
		out = append(out, Delivery{Seq: de.Seq, Command: c})
	}
	return out, nil
}

// Ack acknowledges delivered commands (POST .../commands/ack):
//
//	{1 => uint, ? 2 => [* [uint, tstr .size (1..256)]]}
//
// the sequence number up to which the recipient applied (or refused) the
// commands, and the ones it refused, with why: a refused command is not
// delivered again either, since it would be refused again; the service
// records the refusal.
type Ack struct {
	Through uint64
	Refused []Refusal
}

// Refusal is a command a recipient refused, and why.
type Refusal struct {
	Seq    uint64
	Reason string
}

// maxReason bounds the reason of a refusal.
const maxReason = 256

type refusalEncoding struct {
	_      struct{} `cbor:",toarray"`
	Seq    uint64
	Reason string
}

type ackEncoding struct {
	Through uint64            `cbor:"1,keyasint"`
	Refused []refusalEncoding `cbor:"2,keyasint,omitempty"`
}

// MarshalBinary returns the body; reasons longer than 256 bytes are cut.
func (a *Ack) MarshalBinary() ([]byte, error) {
	e := ackEncoding{Through: a.Through}
	for _, r := range a.Refused {
		reason := r.Reason
		if len(reason) > maxReason {
			reason = strings.ToValidUTF8(reason[:maxReason], "")
		}
		if reason == "" {
			reason = "refused"
		}
		e.Refused = append(e.Refused, refusalEncoding{Seq: r.Seq, Reason: reason})
	}
	if len(e.Refused) > MaxDeliveries {
		return nil, malformed("more than MaxDeliveries refusals", nil)
	}
	return encMode.Marshal(e)
}

// ParseAck parses the body of an acknowledgement: refusals at most
// MaxDeliveries, none after Through.
func ParseAck(b []byte) (*Ack, error) {
	var e ackEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("ack", err)
	}
	if e.Through == 0 || len(e.Refused) > MaxDeliveries {
		return nil, malformed("ack fields", nil)
	}
	a := &Ack{Through: e.Through}
	for _, r := range e.Refused {
		if r.Seq == 0 || r.Seq > e.Through || len(r.Reason) == 0 || len(r.Reason) > maxReason {
			return nil, malformed("refusal", nil)
		}
		a.Refused = append(a.Refused, Refusal{Seq: r.Seq, Reason: r.Reason})
	}
	return a, nil
}

// DeviceStateRequest suspends or resumes every key of the requesting device
// at every vehicle (lost mode; POST /v1/devices/{device}/state):
//
//	{1 => uint, 2 => bstr .size 16}
//
// the action (1 suspend, 2 resume) and a request identifier of the device's
// choosing, which makes a retry idempotent. The answer is {1 => uint}, the
// number of keys.
type DeviceStateRequest struct {
	Action  sharing.KeyAction
	Request [16]byte
}

type deviceStateEncoding struct {
	Action  uint64 `cbor:"1,keyasint"`
	Request []byte `cbor:"2,keyasint"`
}

// MarshalBinary returns the body.
func (r *DeviceStateRequest) MarshalBinary() ([]byte, error) {
	return encMode.Marshal(deviceStateEncoding{Action: uint64(r.Action), Request: r.Request[:]})
}

// ParseDeviceStateRequest parses the body of a lost-mode request.
func ParseDeviceStateRequest(b []byte) (*DeviceStateRequest, error) {
	var e deviceStateEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("device state request", err)
	}
	r := new(DeviceStateRequest)
	if (e.Action != uint64(sharing.ActionSuspend) && e.Action != uint64(sharing.ActionResume)) || len(e.Request) != len(r.Request) {
		return nil, malformed("device state request fields", nil)
	}
	r.Action = sharing.KeyAction(e.Action)
	copy(r.Request[:], e.Request)
	return r, nil
}

// Count is the answer to a lost-mode request: {1 => uint}.
type Count struct{ N int }

type countEncoding struct {
	N uint64 `cbor:"1,keyasint"`
}

// MarshalBinary returns the body.
func (c *Count) MarshalBinary() ([]byte, error) {
	return encMode.Marshal(countEncoding{N: uint64(c.N)})
}

// ParseCount parses the answer to a lost-mode request.
func ParseCount(b []byte) (*Count, error) {
	var e countEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("count", err)
	}
	if e.N > MaxDeviceKeys {
		return nil, malformed("count", nil)
	}
	return &Count{N: int(e.N)}, nil
}

// Accepted is the answer to an accepted command or termination:
// {1 => bstr .size 16}, the command's identifier.
type Accepted struct{ ID CommandID }

type acceptedEncoding struct {
	ID []byte `cbor:"1,keyasint"`
}

// MarshalBinary returns the body.
func (a *Accepted) MarshalBinary() ([]byte, error) {
	return encMode.Marshal(acceptedEncoding{ID: a.ID[:]})
}

// ParseAccepted parses the answer to an accepted command.
func ParseAccepted(b []byte) (*Accepted, error) {
	var e acceptedEncoding
	if err := decodeStrict(b, &e); err != nil {
		return nil, malformed("accepted", err)
	}
	a := new(Accepted)
	if len(e.ID) != len(a.ID) {
		return nil, malformed("accepted identifier", nil)
	}
	copy(a.ID[:], e.ID)
	return a, nil
}

// ParseVehiclePath parses the {vehicle} of a path: the identifier in
// lowercase hexadecimal, 16 or 32 digits.
func ParseVehiclePath(s string) (dkey.VehicleID, error) {
	b, err := parseHex(s)
	if err != nil {
		return dkey.VehicleID{}, malformed("vehicle in path", err)
	}
	v, err := dkey.NewVehicleID(b)
	if err != nil {
		return dkey.VehicleID{}, malformed("vehicle in path", err)
	}
	return v, nil
}

// ParseDevicePath parses the {device} of a path: the DeviceID in lowercase
// hexadecimal, 64 digits.
func ParseDevicePath(s string) (sharing.DeviceID, error) {
	b, err := parseHex(s)
	if err != nil || len(b) != sha256.Size {
		return sharing.DeviceID{}, malformed("device in path", err)
	}
	return sharing.DeviceID(b), nil
}

// DevicePath returns the {device} of a path.
func DevicePath(d sharing.DeviceID) string { return hex.EncodeToString(d[:]) }

// parseHex decodes lowercase hexadecimal only, so that one value has one
// path.
func parseHex(s string) ([]byte, error) {
	if s != strings.ToLower(s) || len(s) > 64 {
		return nil, errors.New("not lowercase hexadecimal of at most 64 digits")
	}
	return hex.DecodeString(s)
}

// AuthorizationHeader returns the value of the Authorization header that
// carries a relay token.
func AuthorizationHeader(t sharing.AccessToken) string { return "Bearer " + t.Text() }

// ParseAuthorization parses the Authorization header of a relay request:
// "Bearer " and the token in unpadded base64url (RFC 6750 §2.1).
func ParseAuthorization(h string) (sharing.AccessToken, error) {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return sharing.AccessToken{}, malformed("authorization header", nil)
	}
	t, err := sharing.ParseAccessToken(tok)
	if err != nil {
		return t, malformed("authorization header", err)
	}
	return t, nil
}

// ParseWait parses the wait query parameter of a wait for commands: whole
// seconds, 0 to max, without sign or leading zeros; empty means 0.
func ParseWait(s string, max time.Duration) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) > 4 || (len(s) > 1 && s[0] == '0') {
		return 0, malformed("wait", nil)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, malformed("wait", err)
	}
	d := time.Duration(n) * time.Second
	if d > max {
		return 0, malformed("wait over the maximum of "+max.String(), nil)
	}
	return d, nil
}
