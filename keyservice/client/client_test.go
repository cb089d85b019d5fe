package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/client"
	"github.com/opencarkey/sdk/sharing"
)

func TestNew(t *testing.T) {
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*client.Config{
		nil,
		{},
		{URL: "ftp://keys.example"},
		{URL: "https://"},
		{URL: "https://keys.example?x=1"},
		{URL: "https://keys.example#f"},
		{URL: "https://keys.example", Certificate: &tls.Certificate{}},
		{URL: "https://keys.example", Certificate: &tls.Certificate{Certificate: [][]byte{{0x30}}, PrivateKey: k}},
	} {
		if _, err := client.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	c, err := client.New(&client.Config{URL: "https://keys.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Role() != 0 {
		t.Errorf("an anonymous client has role %v", c.Role())
	}
	// An anonymous client has no queue and signs nothing.
	ctx := context.Background()
	if _, err := c.Wait(ctx, 0); err == nil {
		t.Error("Wait of an anonymous client succeeded")
	}
	if err := c.Run(ctx, &client.LoopConfig{Applier: applier{}}); err == nil {
		t.Error("Run of an anonymous client succeeded")
	}
	if err := c.Run(ctx, nil); err == nil {
		t.Error("Run without an applier succeeded")
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	slot, _ := dkey.NewKeySlot([]byte("s"))
	cmd, _ := sharing.NewKeyCommand(sharing.ActionSuspend, vid, slot, nil)
	if err := c.ManageKey(ctx, cmd); err == nil {
		t.Error("ManageKey by an anonymous client succeeded")
	}
	if err := c.ReportKeys(ctx, nil); err == nil {
		t.Error("ReportKeys by an anonymous client succeeded")
	}
	if _, err := c.ManageDevice(ctx, sharing.DeviceID{}, sharing.ActionSuspend); err == nil {
		t.Error("ManageDevice by an anonymous client succeeded")
	}
	// Checks before any request.
	if _, err := c.CreateMailbox(ctx, &sharing.NewMailbox{}); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("CreateMailbox of nothing = %v", err)
	}
	if err := c.UpdateMailbox(ctx, sharing.MailboxID{}, sharing.AccessToken{}, nil); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("UpdateMailbox of nothing = %v", err)
	}
	if _, err := c.TrackKey(ctx, &sharing.TrackRequest{}); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("TrackKey without a key = %v", err)
	}
	if err := c.ManageKey(ctx, nil); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("ManageKey(nil) = %v", err)
	}
}

type applier struct{}

func (applier) ApplyCommand(*sharing.KeyCommand) error { return nil }

func TestPermanentError(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("vehicle: %w", sharing.ErrMismatch), true},
		{sharing.ErrMalformed, true},
		{fmt.Errorf("vehicle: %w", dkey.ErrUnknownKey), true},
		{&sharing.VehicleError{Check: sharing.CheckStatement, Err: &attest.VerifyError{Err: attest.ErrBadSignature}}, true},
		{&sharing.VehicleError{Check: sharing.CheckCapacity, Err: sharing.ErrStoreFull}, false},
		{errors.New("disk full"), false},
	} {
		if got := client.PermanentError(tt.err); got != tt.want {
			t.Errorf("PermanentError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestTemporary(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&keyservice.Error{Status: 503, Code: keyservice.CodeUnavailable}, true},
		{fmt.Errorf("x: %w", &keyservice.Error{Status: 500, Code: keyservice.CodeInternal}), true},
		{&keyservice.Error{Status: 403, Code: keyservice.CodeForbidden}, false},
		{errors.New("connection refused"), true},
		{context.Canceled, false},
		{keyservice.ErrMalformed, false},
		{nil, false},
	} {
		if got := client.Temporary(tt.err); got != tt.want {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
