package pollingtest

import (
	"context"
	"errors"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/polling"
)

// Probe polls r for d, with ecp if not nil, and reports every target that
// answers and its answer to SELECT of the Home Key applet through logf: the
// body of the drivers' hardware tests, which show that a real controller
// finds a real phone. It returns the number of targets, or the first
// controller error.
func Probe(ctx context.Context, r polling.Reader, ecp *polling.ECP, d time.Duration, logf func(format string, args ...any)) (int, error) {
	loop, err := polling.NewLoop(r, &polling.Config{ECP: ecp})
	if err != nil {
		return 0, err
	}
	pctx, stop := context.WithTimeout(ctx, d)
	defer stop()
	sel := transport.Command{INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDHomeKey), Ne: 256}
	apdu, err := sel.Append(nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for target, err := range loop.Targets(pctx) {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		i := target.Info()
		logf("target: SENS_RES %X SEL_RES %02X NFCID1 %X ATS %X", i.SENSRes, i.SELRes, i.NFCID1, i.ATS)
		resp, err := target.Transceive(pctx, nil, apdu)
		logf("SELECT Home Key: %X, %v", resp, err)
	}
	return n, nil
}
