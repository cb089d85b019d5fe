//go:build linux

package ble

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestHardware runs the L2CAP adapter on a real Bluetooth controller. It is
// opt-in: OPENCARKEY_BLE_ADAPTER names the controller by its address; the
// package documentation says how to run it.
func TestHardware(t *testing.T) {
	env := os.Getenv("OPENCARKEY_BLE_ADAPTER")
	if env == "" {
		t.Skip("hardware test: set OPENCARKEY_BLE_ADAPTER to a controller's address to run it")
	}
	adapter, err := ParseAddress(env)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &L2CAPConfig{Adapter: adapter}
	l, err := ListenL2CAP(0x00F5, cfg)
	if err != nil {
		t.Fatalf("ListenL2CAP on %v: %v", adapter, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	if _, _, err := l.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Accept with nobody connecting: %v", err)
	}
	cancel()
	l.Close()

	peerEnv := os.Getenv("OPENCARKEY_BLE_PEER")
	if peerEnv == "" {
		return
	}
	peer, err := ParseAddress(peerEnv)
	if err != nil {
		t.Fatal(err)
	}
	spsm := DefaultSPSM
	if s := os.Getenv("OPENCARKEY_BLE_SPSM"); s != "" {
		v, err := strconv.ParseUint(s, 0, 16)
		if err != nil {
			t.Fatal(err)
		}
		spsm = SPSM(v)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := DialL2CAP(ctx, peer, spsm, cfg)
	if err != nil {
		t.Fatalf("DialL2CAP(%v, %v): %v", peer, spsm, err)
	}
	defer conn.Close()
	t.Logf("connected to %v on SPSM %v, peer MTU %d", peer, spsm, conn.SendMTU())
	// As the device, send a Time_Sync, then log what the vehicle sends
	// first (it starts the APDU session with a DK_APDU_RQ).
	ch := NewChannel(conn, nil)
	ts := TimeSync{Success: true}
	if err := ch.Send(ctx, KindTimeSync, ts.Append(nil)); err != nil {
		t.Fatalf("sending Time_Sync: %v", err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	m, err := ch.Receive(rctx)
	if err != nil {
		t.Logf("no message from the vehicle: %v", err)
		return
	}
	t.Logf("vehicle sent %v (%v numbering): %X", m.Kind, m.Numbering, m.Data)
}
