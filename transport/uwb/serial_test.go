package uwb_test

import (
	"context"
	"testing"

	"github.com/creack/pty"

	"github.com/opencarkey/sdk/transport/uwb"
	"github.com/opencarkey/sdk/transport/uwb/uwbtest"
)

// TestOpenSerialOverPTY opens the slave side of a pseudo-terminal with
// OpenSerial, as a UART to a UWB board, while a simulated chip serves the
// master side: the host's framing runs through a real terminal device in raw
// mode.
func TestOpenSerialOverPTY(t *testing.T) {
	ctx := testContext(t)
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v", err)
	}
	defer master.Close()
	air := uwbtest.NewAir(77)
	if _, err := air.Attach(master, uwbtest.ChipConfig{}); err != nil {
		t.Fatal(err)
	}
	port, err := uwb.OpenSerial(ctx, slave.Name(), uwb.DefaultBaudRate)
	slave.Close() // the port holds its own descriptor
	if err != nil {
		t.Fatalf("OpenSerial(%s): %v", slave.Name(), err)
	}
	h := uwb.NewHost(port, nil)
	defer h.Close()
	var info uwb.GetDeviceInfoRsp
	if err := h.DeviceInfo(ctx, &info); err != nil {
		t.Fatalf("DeviceInfo over the pseudo-terminal: %v", err)
	}
	// A command long enough to need segments crosses the terminal intact.
	token, err := h.InitSession(ctx, 5, uwb.SessionCCC)
	if err != nil {
		t.Fatal(err)
	}
	c := cccConfig(true)
	var params uwb.AppConfigs
	if err := c.AppConfigs(&params); err != nil {
		t.Fatal(err)
	}
	if err := h.SetAppConfig(ctx, token, &params); err != nil {
		t.Fatal(err)
	}
	var back uwb.AppConfigs
	if err := h.GetAppConfig(ctx, token, &back); err != nil {
		t.Fatal(err)
	}
	var got uwb.CCCConfig
	if err := got.FromAppConfigs(&back); err != nil || got != c {
		t.Errorf("configuration read back over the terminal: %v, %v", got, err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestOpenSerialErrors(t *testing.T) {
	if _, err := uwb.OpenSerial(context.Background(), "/nonexistent/ttyUWB0", 0); err == nil {
		t.Errorf("OpenSerial of a missing device succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := uwb.OpenSerial(ctx, "/dev/null", 0); err == nil {
		t.Errorf("OpenSerial with a cancelled context succeeded")
	}
	if _, err := uwb.OpenSerial(context.Background(), "/dev/null", -1); err == nil {
		t.Errorf("OpenSerial with a negative baud rate succeeded")
	}
}
