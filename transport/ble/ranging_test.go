package ble_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/ble"
)

// recorder is a vehicle-side BLE Conn that keeps a copy of every SDU the
// vehicle sends.
type recorder struct {
	ble.Conn
	mu   sync.Mutex
	sent [][]byte
}

func (r *recorder) WriteSDU(ctx context.Context, b []byte) error {
	r.mu.Lock()
	r.sent = append(r.sent, bytes.Clone(b))
	r.mu.Unlock()
	return r.Conn.WriteSDU(ctx, b)
}

// noCard answers every APDU 6D00: the link of these tests carries only
// ranging messages.
type noCard struct{}

func (noCard) ProcessAPDU(dst, _ []byte) []byte {
	return transport.AppendResponse(dst, nil, dkey.SWInstructionNotSupported)
}

// TestOverBLE runs the setup, a suspend and a configurable recovery over
// an in-process BLE link in both numberings: the vehicle's RangingLink
// reads its channel, the device's is fed by the APDU tunnel's Serve loop,
// as on a phone. The frames on the wire are DK messages of type 2 with the
// IDs of the numbering configured (docs/protocol.md §8.3).
func TestOverBLE(t *testing.T) {
	id := ranging.SessionID{0x0B, 0xAD, 0xCA, 0xFE}
	for _, tc := range []struct {
		num      ble.Numbering
		recovery string // the Configurable_Ranging_Recovery_RQ on the wire
	}{
		{ble.PerType, "020b0005 0badcafe 03"},
		{ble.Global, "02120005 0badcafe 03"},
	} {
		t.Run(tc.num.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var ursk ranging.URSK
			vkeys, _ := ranging.NewMemoryKeyStore(1, time.Hour, nil)
			dkeys, _ := ranging.NewMemoryKeyStore(1, time.Hour, nil)
			_ = vkeys.Put(id, &ursk)
			_ = dkeys.Put(id, &ursk)
			v, err := ranging.NewVehicle(&ranging.VehicleConfig{Responders: 2, Keys: vkeys})
			if err != nil {
				t.Fatal(err)
			}
			d, err := ranging.NewDevice(&ranging.DeviceConfig{Keys: dkeys})
			if err != nil {
				t.Fatal(err)
			}

			a, b := ble.Pipe(0)
			rec := &recorder{Conn: a}
			cfg := &ble.Config{Numbering: tc.num}
			dch := ble.NewChannel(b, cfg)
			dlink := ble.NewRangingLink(dch, &ble.RangingLinkConfig{Fed: true})
			served, rserved := make(chan error, 1), make(chan error, 1)
			go func() { rserved <- d.Serve(ctx, dlink) }()
			go func() {
				served <- ble.Serve(ctx, dch, noCard{}, &ble.ServerConfig{Handle: func(ctx context.Context, m ble.Message) error {
					return dlink.Deliver(ctx, m)
				}})
				dlink.Close()
			}()

			link := ble.NewRangingLink(ble.NewChannel(rec, cfg), nil)
			s, err := v.Run(ctx, link, id)
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
			if err := v.Request(ctx, link, v.Suspend); err != nil {
				t.Fatalf("suspend: %v", err)
			}
			if err := v.Request(ctx, link, func(dst []byte) (ranging.MessageID, []byte, error) { return v.RecoverWith(dst, 3) }); err != nil {
				t.Fatalf("configurable recovery: %v", err)
			}
			if s.State() != ranging.StateRecovered || d.Session().Params() != s.Params() {
				t.Errorf("vehicle %v %+v, device %+v", s.State(), s.Params(), d.Session().Params())
			}
			a.Close()
			if err := <-served; !errors.Is(err, ble.ErrLinkClosed) {
				t.Errorf("Serve = %v, want ErrLinkClosed", err)
			}
			if err := <-rserved; !errors.Is(err, ble.ErrLinkClosed) {
				t.Errorf("the device's ranging Serve = %v, want ErrLinkClosed", err)
			}

			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.sent) != 5 {
				t.Fatalf("the vehicle sent %d messages, want 5", len(rec.sent))
			}
			want, _ := hex.DecodeString(removeSpaces(tc.recovery))
			if !bytes.Equal(rec.sent[4], want) {
				t.Errorf("configurable recovery on the wire = %x, want %x", rec.sent[4], want)
			}
			for i, wid := range []ranging.MessageID{ranging.MsgCapabilityRQ, ranging.MsgSessionRQ, ranging.MsgSetupRQ, ranging.MsgSuspendRQ} {
				if m := rec.sent[i]; m[0] != 0x02 || m[1] != byte(wid) {
					t.Errorf("message %d on the wire = %x, want type 02, ID %02x", i, m, byte(wid))
				}
			}
		})
	}
}

func removeSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

// TestLinkRefusals checks the RangingLink's limits: an ID of no ranging
// message and an oversize payload are refused before anything is sent, a
// message of another type is not taken for a ranging one, and a fed link
// refuses other types and ends when closed.
func TestLinkRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := ble.Pipe(0)
	defer a.Close()
	link := ble.NewRangingLink(ble.NewChannel(a, nil), nil)
	if err := link.SendRanging(ctx, 0x12, nil); !errors.Is(err, ble.ErrUnknownID) {
		t.Errorf("SendRanging(12) = %v, want ErrUnknownID (the per-type ID names the message)", err)
	}
	if err := link.SendRanging(ctx, byte(ranging.MsgSuspendRQ), make([]byte, ble.MaxRangingData+1)); !errors.Is(err, ble.ErrTooLarge) {
		t.Errorf("SendRanging(oversize) = %v, want ErrTooLarge", err)
	}
	peer := ble.NewChannel(b, nil)
	if err := peer.Send(ctx, ble.KindTimeSync, make([]byte, 18)); err != nil {
		t.Fatal(err)
	}
	var um *ble.UnexpectedMessageError
	if _, _, err := link.ReceiveRanging(ctx, nil); !errors.As(err, &um) || um.Got != ble.KindTimeSync {
		t.Errorf("ReceiveRanging of a time sync = %v, want an UnexpectedMessageError", err)
	}
	if err := peer.Send(ctx, ble.KindRangingSuspendRQ, make([]byte, ble.MaxRangingData+1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := link.ReceiveRanging(ctx, nil); !errors.Is(err, ble.ErrMalformed) {
		t.Errorf("ReceiveRanging of an oversize message = %v, want ErrMalformed", err)
	}

	fed := ble.NewRangingLink(peer, &ble.RangingLinkConfig{Fed: true})
	if err := fed.Deliver(ctx, ble.Message{Kind: ble.KindTimeSync}); !errors.Is(err, ble.ErrMalformed) {
		t.Errorf("Deliver(time sync) = %v, want ErrMalformed", err)
	}
	if err := link.Deliver(ctx, ble.Message{Kind: ble.KindRangingSuspendRQ}); !errors.Is(err, ble.ErrUnsupported) {
		t.Errorf("Deliver to a link that reads its channel = %v, want ErrUnsupported", err)
	}
	fed.Close()
	if _, _, err := fed.ReceiveRanging(ctx, nil); !errors.Is(err, ble.ErrLinkClosed) {
		t.Errorf("ReceiveRanging on a closed fed link = %v, want ErrLinkClosed", err)
	}
	if err := fed.Deliver(ctx, ble.Message{Kind: ble.KindRangingSuspendRQ}); !errors.Is(err, ble.ErrLinkClosed) {
		t.Errorf("Deliver on a closed fed link = %v, want ErrLinkClosed", err)
	}
}

// TestRangingKind checks that every ranging message maps to its kind by
// its per-type ID, and nothing else does.
func TestRangingKind(t *testing.T) {
	for b := range 256 {
		k, err := ble.RangingKind(byte(b))
		if b >= 1 && b <= 0x0C {
			if err != nil || k.Type() != ble.TypeRanging || k.ID(ble.PerType) != byte(b) {
				t.Errorf("RangingKind(%02x) = %v, %v", b, k, err)
			}
			if _, perr := ranging.ParseMessageID(byte(b)); perr != nil {
				t.Errorf("ranging.ParseMessageID(%02x) = %v: the two tables disagree", b, perr)
			}
			continue
		}
		if !errors.Is(err, ble.ErrUnknownID) {
			t.Errorf("RangingKind(%02x) = %v, %v, want ErrUnknownID", b, k, err)
		}
	}
}

// BenchmarkRangingSetup runs the ranging setup of §8.4 (capability,
// session, setup: three round trips) between the two roles of package
// ranging, in memory and over the BLE link with the device's side fed by
// the APDU tunnel's Serve loop, as on a phone.
func BenchmarkRangingSetup(b *testing.B) {
	id := ranging.SessionID{0x0B, 0xAD, 0xCA, 0xFE}
	var ursk ranging.URSK
	keys, _ := ranging.NewMemoryKeyStore(1, time.Hour, nil)
	_ = keys.Put(id, &ursk)
	// A ranging.Vehicle runs one setup; the device's side runs them all.
	vehicle := func(b *testing.B) *ranging.Vehicle {
		v, err := ranging.NewVehicle(&ranging.VehicleConfig{Responders: 2, Keys: keys})
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	newDevice := func(b *testing.B) *ranging.Device {
		d, err := ranging.NewDevice(&ranging.DeviceConfig{Keys: keys, UWBTime0: func() (uint64, error) { return 1_000_000, nil }})
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	b.Run("memory", func(b *testing.B) {
		d := newDevice(b)
		var vbuf, dbuf [ranging.MaxPayload]byte
		b.ReportAllocs()
		for b.Loop() {
			v := vehicle(b)
			mid, msg, err := v.Start(vbuf[:0], id)
			for err == nil && mid != 0 {
				if mid, msg, err = d.Handle(dbuf[:0], mid, msg); err == nil {
					mid, msg, err = v.Handle(vbuf[:0], mid, msg)
				}
			}
			if err != nil {
				b.Fatal(err)
			}
			v.Session().Close()
		}
	})
	b.Run("BLE", func(b *testing.B) {
		d := newDevice(b)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, c := ble.Pipe(0)
		defer a.Close()
		dch := ble.NewChannel(c, nil)
		dlink := ble.NewRangingLink(dch, &ble.RangingLinkConfig{Fed: true})
		go func() { _ = d.Serve(ctx, dlink) }()
		go func() {
			_ = ble.Serve(ctx, dch, noCard{}, &ble.ServerConfig{Handle: func(ctx context.Context, m ble.Message) error { return dlink.Deliver(ctx, m) }})
			dlink.Close()
		}()
		link := ble.NewRangingLink(ble.NewChannel(a, nil), nil)
		b.ReportAllocs()
		for b.Loop() {
			s, err := vehicle(b).Run(ctx, link, id)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
}

// FuzzRangingLink sends arbitrary SDUs to a RangingLink: it never panics,
// returns what is a ranging message of at most MaxRangingData bytes with
// its per-type ID and its data, and refuses the rest with a documented
// error.
func FuzzRangingLink(f *testing.F) {
	f.Add([]byte("\x02\x0b\x00\x05\x0b\xad\xca\xfe\x03"))
	f.Add([]byte("\x02\x12\x00\x05\x0b\xad\xca\xfe\x03"))
	f.Add([]byte("\x02\x01\x00\x08\x02\x01\x00\x02\x00\x01\x01\x12"))
	f.Add([]byte("\x05\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, sdu []byte) {
		if len(sdu) > ble.DefaultMaxSDU {
			return
		}
		ctx := t.Context()
		a, b := ble.Pipe(0)
		defer a.Close()
		if err := b.WriteSDU(ctx, sdu); err != nil {
			t.Fatal(err)
		}
		id, data, err := ble.NewRangingLink(ble.NewChannel(a, nil), nil).ReceiveRanging(ctx, nil)
		m, perr := ble.ParseMessage(sdu)
		if err != nil {
			var u *ble.UnexpectedMessageError
			switch {
			case perr != nil && (errors.Is(err, ble.ErrMalformed) || errors.Is(err, ble.ErrUnknownType) || errors.Is(err, ble.ErrUnknownID)):
			case perr == nil && m.Kind.Type() != ble.TypeRanging && errors.As(err, &u):
			case perr == nil && len(m.Data) > ble.MaxRangingData && errors.Is(err, ble.ErrMalformed):
			default:
				t.Fatalf("ReceiveRanging(%X) = %v (parse: %v)", sdu, err, perr)
			}
			return
		}
		k, kerr := ble.RangingKind(id)
		if perr != nil || kerr != nil || k != m.Kind || !bytes.Equal(data, m.Data) {
			t.Fatalf("ReceiveRanging(%X) = %02X %X, the message is %v %X", sdu, id, data, m.Kind, m.Data)
		}
	})
}
