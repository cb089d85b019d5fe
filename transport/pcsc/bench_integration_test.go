package pcsc_test

import (
	"context"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// benchTransactions runs the whole-transaction benchmarks over the
// transceiver that connect returns for the world's applet:
//
//   - standard: an engine start, which always takes a standard transaction
//     (ECDH, both signatures, Kpersistent rotation). The immobilizer token
//     comes back in the AUTH1 response, so the APDUs are those of a standard
//     unlock: SELECT, AUTH0, AUTH1, CONTROL FLOW.
//   - fast: an unlock with the cryptogram from Kpersistent: SELECT, AUTH0,
//     CONTROL FLOW.
//
// Both sides run in this process: the numbers are the vehicle's work, the
// device's, and the transport's.
func benchTransactions(b *testing.B, connect func(b *testing.B, w *world) transport.Transceiver) {
	for _, bb := range []struct {
		name   string
		action dkey.Action
		fast   bool
	}{
		{"standard", dkey.ActionEngineStart, false},
		{"fast", dkey.ActionUnlock, true},
	} {
		b.Run(bb.name, func(b *testing.B) {
			w := newWorld(b, worldConfig{mailboxes: subsetMailboxes})
			t := connect(b, w)
			w.transact(b, t, dkey.ActionUnlock, false, w.slot) // Kpersistent and token in place
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				res, err := w.vehicle.Transact(ctx, t, bb.action)
				if err != nil || res.Fast != bb.fast {
					b.Fatalf("Transact(%v) = fast %v, %v; want fast %v", bb.action, res.Fast, err, bb.fast)
				}
			}
		})
	}
}

// BenchmarkPCSCTransaction is a whole transaction through pcscd and vpcd:
// the vehicle on a pcsc.Conn, the device applet served to vpcd.
func BenchmarkPCSCTransaction(b *testing.B) {
	requirePCSC(b)
	c := establish(b)
	benchTransactions(b, func(b *testing.B, w *world) transport.Transceiver {
		serveCard(b, 0, w.applet)
		return connectCard(b, c, 0)
	})
}

// BenchmarkMemoryTransaction is the same transaction in memory
// (transporttest.NewCard), beside BenchmarkPCSCTransaction: the difference
// is the cost of the PC/SC stack.
func BenchmarkMemoryTransaction(b *testing.B) {
	benchTransactions(b, func(b *testing.B, w *world) transport.Transceiver {
		return transporttest.NewCard(w.applet)
	})
}
