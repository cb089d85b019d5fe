package keyservice_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// codec is one body format: a valid encoding, its parser and its encoder.
type codec struct {
	name    string
	valid   func(t testing.TB) [][]byte
	roundTr func(b []byte) ([]byte, error) // parse, then encode
	err     error                          // what every refusal wraps
}

func slotOf(t testing.TB, s string) dkey.KeySlot {
	return must[dkey.KeySlot](t)(dkey.NewKeySlot([]byte(s)))
}

func vidOf(t testing.TB, s string) dkey.VehicleID {
	return must[dkey.VehicleID](t)(dkey.NewVehicleID([]byte(s)))
}

func enc(t testing.TB, v interface{ MarshalBinary() ([]byte, error) }) []byte {
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func codecs() []codec {
	rt := func(b []byte, v interface{ MarshalBinary() ([]byte, error) }, err error) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		return v.MarshalBinary()
	}
	return []codec{
		{"MailboxRequest", func(t testing.TB) [][]byte {
			return [][]byte{
				enc(t, &keyservice.MailboxRequest{Content: bytes.Repeat([]byte{7}, 339), Display: []byte("A key from Alice"), Expires: t0}),
				enc(t, &keyservice.MailboxRequest{Content: []byte{1}, Expires: t0}),
			}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseMailboxRequest(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"MailboxCreated", func(t testing.TB) [][]byte {
			return [][]byte{enc(t, &keyservice.MailboxCreated{ID: sharing.MailboxID{1}, Sender: sharing.AccessToken{2}, Fetch: sharing.AccessToken{3}})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseMailboxCreated(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"Fetched", func(t testing.TB) [][]byte {
			return [][]byte{enc(t, &keyservice.Fetched{Content: make([]byte, 339), Receiver: sharing.AccessToken{4}})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseFetched(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"TrackKeyRequest", func(t testing.TB) [][]byte {
			return [][]byte{enc(t, &keyservice.TrackKeyRequest{Vehicle: vidOf(t, "VIN00001"), Slot: slotOf(t, "owner001"), Key: mustKey(t).PublicKey(), Role: dkey.RoleOwner})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseTrackKeyRequest(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"Report", func(t testing.TB) [][]byte {
			keys := []keyservice.ReportedKey{
				{Slot: slotOf(t, "owner001"), PublicKey: mustKey(t).PublicKey(), Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(), State: dkey.KeyActive},
				{Slot: slotOf(t, "f"), PublicKey: mustKey(t).PublicKey(), Role: dkey.RoleFriend, Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock, MaxSpeed: 80}, State: dkey.KeySuspended, NotBefore: t0, NotAfter: t0.Add(time.Hour)},
			}
			return [][]byte{must[[]byte](t)(keyservice.MarshalReport(keys)), must[[]byte](t)(keyservice.MarshalReport(nil))}
		}, func(b []byte) ([]byte, error) {
			v, err := keyservice.ParseReport(b)
			if err != nil {
				return nil, err
			}
			return keyservice.MarshalReport(v)
		}, keyservice.ErrMalformed},
		{"KeyList", func(t testing.TB) [][]byte {
			k := mustKey(t).PublicKey()
			return [][]byte{enc(t, &keyservice.KeyList{Vehicle: vidOf(t, "VIN00001"), Reported: t0, Keys: []keyservice.Key{
				{Slot: slotOf(t, "a"), PublicKey: k, KeyHash: attest.KeyHash(k), Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(), State: dkey.KeyActive, Reported: true, Tracked: true},
				{Slot: slotOf(t, "b"), KeyHash: [32]byte{1}, State: dkey.KeyTerminated, Pending: true},
			}})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseKeyList(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"Deliveries", func(t testing.TB) [][]byte {
			c1 := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, vidOf(t, "VIN00001"), slotOf(t, "f"), nil))
			c2 := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionTerminate, vidOf(t, "VIN00001"), slotOf(t, "f"), []byte{0xD2, 0x84}))
			return [][]byte{must[[]byte](t)(keyservice.MarshalDeliveries([]keyservice.Delivery{{Seq: 3, Command: c1}, {Seq: 9, Command: c2}})), must[[]byte](t)(keyservice.MarshalDeliveries(nil))}
		}, func(b []byte) ([]byte, error) {
			v, err := keyservice.ParseDeliveries(b)
			if err != nil {
				return nil, err
			}
			return keyservice.MarshalDeliveries(v)
		}, keyservice.ErrMalformed},
		{"Ack", func(t testing.TB) [][]byte {
			return [][]byte{enc(t, &keyservice.Ack{Through: 7}), enc(t, &keyservice.Ack{Through: 7, Refused: []keyservice.Refusal{{Seq: 6, Reason: "vehicle: sharing: content does not match"}}})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseAck(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"DeviceStateRequest", func(t testing.TB) [][]byte {
			return [][]byte{enc(t, &keyservice.DeviceStateRequest{Action: sharing.ActionSuspend, Request: [16]byte{5}})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseDeviceStateRequest(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"Count", func(t testing.TB) [][]byte { return [][]byte{enc(t, &keyservice.Count{N: 3})} },
			func(b []byte) ([]byte, error) { v, err := keyservice.ParseCount(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"Accepted", func(t testing.TB) [][]byte {
			return [][]byte{enc(t, &keyservice.Accepted{ID: keyservice.CommandID{9}})}
		},
			func(b []byte) ([]byte, error) { v, err := keyservice.ParseAccepted(b); return rt(b, v, err) }, keyservice.ErrMalformed},
		{"Mailbox record", func(t testing.TB) [][]byte {
			return [][]byte{
				enc(t, &keyservice.Mailbox{ID: sharing.MailboxID{1}, Sender: sharing.DeviceID{2}, Expires: t0, Display: []byte("x"), SenderContent: []byte{3}, SenderToken: keyservice.TokenHash{4}, FetchToken: keyservice.TokenHash{5}}),
				enc(t, &keyservice.Mailbox{ID: sharing.MailboxID{1}, Sender: sharing.DeviceID{2}, Expires: t0, ReceiverContent: []byte{3}, SenderToken: keyservice.TokenHash{4}, FetchToken: keyservice.TokenHash{5}, ReceiverToken: keyservice.TokenHash{6}}),
			}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseMailbox(b); return rt(b, v, err) }, keyservice.ErrCorrupt},
		{"Inventory record", func(t testing.TB) [][]byte {
			k := mustKey(t).PublicKey()
			return [][]byte{enc(t, &keyservice.Inventory{Vehicle: vidOf(t, "VIN00001"), Reported: t0, Keys: []keyservice.Key{
				{Slot: slotOf(t, "a"), PublicKey: k, KeyHash: attest.KeyHash(k), Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(), State: dkey.KeyActive, Reported: true, Tracked: true, Device: sharing.DeviceID{1}, Receipt: []byte{0xD2}, Updated: t0},
				{Slot: slotOf(t, "b"), KeyHash: [32]byte{1}, State: dkey.KeyTerminated, Pending: true, NotBefore: t0, NotAfter: t0},
			}})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseInventory(b); return rt(b, v, err) }, keyservice.ErrCorrupt},
		{"Command record", func(t testing.TB) [][]byte {
			c := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionResume, vidOf(t, "VIN00001"), slotOf(t, "f"), nil))
			w := must[[]byte](t)(c.MarshalBinary())
			return [][]byte{enc(t, &keyservice.Command{ID: keyservice.CommandID(c.ID), Wire: w, Authority: []byte{1}, Accepted: t0,
				Recipients: []keyservice.Recipient{keyservice.VehicleRecipient(c.Vehicle), keyservice.DeviceRecipient(sharing.DeviceID{7})}})}
		}, func(b []byte) ([]byte, error) { v, err := keyservice.ParseCommand(b); return rt(b, v, err) }, keyservice.ErrCorrupt},
	}
}

// TestCodecs: every body and record round-trips, and no strict prefix nor
// any changed byte parses to something that encodes otherwise.
func TestCodecs(t *testing.T) {
	for _, c := range codecs() {
		t.Run(c.name, func(t *testing.T) {
			for _, b := range c.valid(t) {
				out, err := c.roundTr(b)
				if err != nil || !bytes.Equal(out, b) {
					t.Fatalf("round trip of %x = %x, %v", b, out, err)
				}
				for i := range len(b) {
					if _, err := c.roundTr(b[:i]); !errors.Is(err, c.err) {
						t.Fatalf("the %d-byte prefix = %v, want %v", i, err, c.err)
					}
				}
				for i := range len(b) {
					x := bytes.Clone(b)
					x[i] ^= 0x80
					out, err := c.roundTr(x)
					if err == nil && !bytes.Equal(out, x) {
						t.Fatalf("byte %d changed: parsed to %x", i, out)
					}
					if err != nil && !errors.Is(err, c.err) {
						t.Fatalf("byte %d changed: %v does not wrap %v", i, err, c.err)
					}
				}
				// Trailing bytes and a second encoding of a value.
				if _, err := c.roundTr(append(bytes.Clone(b), 0)); !errors.Is(err, c.err) {
					t.Errorf("a trailing byte = %v", err)
				}
			}
		})
	}
}

// fuzzCodec is the fuzz target of a codec: no panic, a refusal wraps the
// codec's sentinel, and whatever parses encodes back to the same bytes.
func fuzzCodec(f *testing.F, name string) {
	var c codec
	for _, x := range codecs() {
		if x.name == name {
			c = x
		}
	}
	for _, b := range c.valid(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := c.roundTr(b)
		if err != nil {
			if !errors.Is(err, c.err) {
				t.Fatalf("%v does not wrap %v", err, c.err)
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("%x parsed, and encodes to %x", b, out)
		}
	})
}

func FuzzMailboxRequest(f *testing.F)     { fuzzCodec(f, "MailboxRequest") }
func FuzzMailboxCreated(f *testing.F)     { fuzzCodec(f, "MailboxCreated") }
func FuzzFetched(f *testing.F)            { fuzzCodec(f, "Fetched") }
func FuzzTrackKeyRequest(f *testing.F)    { fuzzCodec(f, "TrackKeyRequest") }
func FuzzReport(f *testing.F)             { fuzzCodec(f, "Report") }
func FuzzKeyList(f *testing.F)            { fuzzCodec(f, "KeyList") }
func FuzzDeliveries(f *testing.F)         { fuzzCodec(f, "Deliveries") }
func FuzzAck(f *testing.F)                { fuzzCodec(f, "Ack") }
func FuzzDeviceStateRequest(f *testing.F) { fuzzCodec(f, "DeviceStateRequest") }
func FuzzCount(f *testing.F)              { fuzzCodec(f, "Count") }
func FuzzAccepted(f *testing.F)           { fuzzCodec(f, "Accepted") }
func FuzzMailboxRecord(f *testing.F)      { fuzzCodec(f, "Mailbox record") }
func FuzzInventoryRecord(f *testing.F)    { fuzzCodec(f, "Inventory record") }
func FuzzCommandRecord(f *testing.F)      { fuzzCodec(f, "Command record") }

// FuzzRequestHeaders covers the decoders of the request line and headers:
// the Authorization header, the path parameters, the wait, the recipients.
func FuzzRequestHeaders(f *testing.F) {
	tok := sharing.AccessToken{1, 2, 3}
	for _, s := range []string{keyservice.AuthorizationHeader(tok), "Bearer ", "Basic x", "25", "0", "030", "5658", "564e3030303031", keyservice.DevicePath(sharing.DeviceID{1}), "vehicle/56494e3030303031", "device/00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tok, err := keyservice.ParseAuthorization(s); err == nil {
			if keyservice.AuthorizationHeader(tok) != s {
				t.Fatalf("ParseAuthorization(%q) = %v", s, tok)
			}
		} else if !errors.Is(err, keyservice.ErrMalformed) {
			t.Fatalf("ParseAuthorization(%q) = %v", s, err)
		}
		if d, err := keyservice.ParseWait(s, 30*time.Second); err == nil {
			if s != "" && fmt.Sprint(int(d/time.Second)) != s {
				t.Fatalf("ParseWait(%q) = %v", s, d)
			}
		} else if !errors.Is(err, keyservice.ErrMalformed) {
			t.Fatalf("ParseWait(%q) = %v", s, err)
		}
		if v, err := keyservice.ParseVehiclePath(s); err == nil {
			if v.String() != s {
				t.Fatalf("ParseVehiclePath(%q) = %v", s, v)
			}
		} else if !errors.Is(err, keyservice.ErrMalformed) {
			t.Fatalf("ParseVehiclePath(%q) = %v", s, err)
		}
		if d, err := keyservice.ParseDevicePath(s); err == nil {
			if keyservice.DevicePath(d) != s {
				t.Fatalf("ParseDevicePath(%q) = %x", s, d)
			}
		} else if !errors.Is(err, keyservice.ErrMalformed) {
			t.Fatalf("ParseDevicePath(%q) = %v", s, err)
		}
		if r, err := keyservice.ParseRecipient(s); err == nil && string(r) != s {
			t.Fatalf("ParseRecipient(%q) = %q", s, r)
		}
		if id, err := sharing.ParseMailboxID(s); err == nil && id.String() != s {
			t.Fatalf("ParseMailboxID(%q) = %v", s, id)
		}
	})
}

// FuzzErrorBody covers the client's decoder of error bodies.
func FuzzErrorBody(f *testing.F) {
	f.Add(must[[]byte](f)((&keyservice.Error{Status: 403, Code: keyservice.CodeForbidden, Detail: "no"}).MarshalJSON()))
	f.Add([]byte(`{"status":500}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := keyservice.ParseError(b)
		if err != nil {
			return
		}
		if e.Status < 400 || e.Status > 599 || e.Code == "" {
			t.Fatalf("ParseError(%q) = %+v", b, e)
		}
		again := must[[]byte](t)(e.MarshalJSON())
		if e2, err := keyservice.ParseError(again); err != nil || *e2 != *e {
			t.Fatalf("ParseError of the re-encoding = %+v, %v", e2, err)
		}
	})
}

func TestParseWait(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"25", 25 * time.Second, true}, {"30", 30 * time.Second, true},
		{"31", 0, false}, {"-1", 0, false}, {"+5", 0, false}, {"05", 0, false}, {"1s", 0, false}, {"99999", 0, false},
	} {
		d, err := keyservice.ParseWait(tt.s, 30*time.Second)
		if (err == nil) != tt.ok || d != tt.want {
			t.Errorf("ParseWait(%q) = %v, %v", tt.s, d, err)
		}
	}
}

func TestErrorUnwrap(t *testing.T) {
	for _, tt := range []struct {
		code keyservice.Code
		want error
	}{
		{keyservice.CodeNotFound, sharing.ErrNotFound},
		{keyservice.CodeAccessDenied, sharing.ErrAccessDenied},
		{keyservice.CodeUnauthenticated, sharing.ErrAccessDenied},
		{keyservice.CodeMalformed, sharing.ErrMalformed},
		{keyservice.CodeTooLarge, sharing.ErrMalformed},
		{keyservice.CodeCapacity, sharing.ErrCapacity},
		{keyservice.CodeKeyTerminated, dkey.ErrKeyTerminated},
	} {
		e := &keyservice.Error{Status: tt.code.Status(), Code: tt.code}
		if !errors.Is(e, tt.want) {
			t.Errorf("%s does not match %v", tt.code, tt.want)
		}
	}
	if (&keyservice.Error{Code: keyservice.CodeUnavailable}).Temporary() != true || (&keyservice.Error{Code: keyservice.CodeForbidden}).Temporary() {
		t.Error("Temporary")
	}
	for _, b := range []string{"", "{}", `{"status":200,"code":"x"}`, `{"status":403}`, "[", `{"status":403,"code":"x","extra":` + fmt.Sprint(make([]int, 2000)) + `}`} {
		if _, err := keyservice.ParseError([]byte(b)); err == nil {
			t.Errorf("ParseError(%.40q) succeeded", b)
		}
	}
}
