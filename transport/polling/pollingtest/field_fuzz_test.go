package pollingtest_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// Operations of FuzzField, one per byte of its script (modulo fieldOps);
// some take their argument from the bytes after them.
const (
	opOn         = iota
	opOff        // switch the field off
	opFrame      // a frame of arbitrary bytes: length byte, then the bytes
	opValidFrame // the phone's own ECP frame
	opFlipFrame  // the phone's frame with one byte changed: index, xor mask
	opCutFrame   // a strict prefix of the phone's frame: length
	opActivate
	opExchange // an APDU: length byte, then the bytes
	opDeactivate
	opLeave
	opEnter
	fieldOps
)

// FuzzField drives a field holding a phone with a script of operations and
// arbitrary frames, and checks it against a model: the phone accepts a frame
// exactly when it is, byte for byte, the ECP frame of its pass (a changed
// byte or a strict prefix never parses), an express phone answers polling
// only after such a frame since the field came on, exchanges succeed only in
// an open session, the card is reset exactly when its session is torn down
// (field off during a session, DESELECT, the phone leaving), and the
// statistics count every frame, activation and exchange.
func FuzzField(f *testing.F) {
	ecp := polling.HomeKey([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	want := ecp.Append(nil)
	f.Add(true, []byte{opOn, opActivate, opValidFrame, opActivate, opExchange, 4, 0x00, 0xA4, 0x04, 0x00, opDeactivate, opActivate, opOff, opOn, opActivate})
	f.Add(true, []byte{opOn, opFrame, 1, 0x26, opFlipFrame, 3, 0x01, opCutFrame, 20, opActivate, opExchange, 0, opLeave, opValidFrame, opEnter, opValidFrame, opActivate})
	f.Add(false, []byte{opActivate, opOn, opActivate, opExchange, 2, 0x80, 0x80, opOff, opExchange, 0, opLeave, opLeave, opEnter, opOn, opActivate, opEnter})
	frame := append([]byte{opOn, opFrame, byte(len(want))}, want...)
	f.Add(true, append(frame, opActivate, opActivate, opOff, opOff))
	f.Add(true, append([]byte{opOn, opFrame, byte(len(want) + 1)}, append(bytes.Clone(want), 0x00)...))

	f.Fuzz(func(t *testing.T, express bool, script []byte) {
		card := &countingCard{}
		phone := &pollingtest.Phone{Card: card, Express: express, Accept: pollingtest.AcceptFrame(ecp)}
		fd := pollingtest.NewField()
		fd.Enter(phone)
		// The model.
		var st pollingtest.Stats
		on, present, seen, active := false, true, false, false
		cmds, resets := 0, 0
		drop := func() { // the phone leaves or enters again
			if present {
				resets++
			}
			seen, active = false, false
		}
		next := func() byte {
			if len(script) == 0 {
				return 0
			}
			b := script[0]
			script = script[1:]
			return b
		}
		take := func() []byte {
			n := min(int(next()), len(script))
			b := script[:n]
			script = script[n:]
			return b
		}
		frame := func(raw []byte) {
			fd.Frame(raw)
			if on && present && bytes.Equal(raw, want) {
				seen = true
				st.Accepted++
				return
			}
			st.Rejected++
		}
		for len(script) > 0 {
			switch op := next() % fieldOps; op {
			case opOn, opOff:
				if on && op == opOff && present {
					if active {
						resets++
					}
					seen, active = false, false
				}
				on = op == opOn
				fd.SetOn(on)
			case opFrame:
				frame(take())
			case opValidFrame:
				frame(bytes.Clone(want))
			case opFlipFrame:
				raw := bytes.Clone(want)
				i, mask := int(next())%len(raw), next()|1 // never 0: always a change
				raw[i] ^= mask
				frame(raw)
			case opCutFrame:
				frame(bytes.Clone(want[:int(next())%len(want)]))
			case opActivate:
				info, ok := fd.Activate()
				wantOK := on && present && !active && (!express || seen)
				if ok != wantOK {
					t.Fatalf("Activate = %v, want %v (on %v, phone %v, session %v, ECP seen %v)", ok, wantOK, on, present, active, seen)
				}
				if ok {
					active = true
					st.Activations++
					if !pollingtest.EqualInfo(info, pollingtest.DefaultInfo) {
						t.Fatalf("Activate answered %+v", info)
					}
				}
			case opExchange:
				apdu := take()
				resp, err := fd.Exchange([]byte{0xEE}, apdu)
				if on && present && active {
					cmds++
					st.Exchanges++
					if err != nil || !bytes.Equal(resp, []byte{0xEE, 0x90, 0x00}) {
						t.Fatalf("Exchange in a session = % X, %v", resp, err)
					}
				} else if !errors.Is(err, pollingtest.ErrGone) || !bytes.Equal(resp, []byte{0xEE}) {
					t.Fatalf("Exchange without a session = % X, %v; want ErrGone", resp, err)
				}
			case opDeactivate:
				if active && present {
					resets++
				}
				active = false
				fd.Deactivate()
			case opLeave:
				drop()
				present = false
				fd.Leave()
			case opEnter:
				drop()
				present = true
				fd.Enter(phone)
			}
			if got := fd.Stats(); got != st {
				t.Fatalf("Stats() = %+v, want %+v", got, st)
			}
			if card.cmds != cmds || card.resets != resets {
				t.Fatalf("the card saw %d commands and %d resets, want %d and %d", card.cmds, card.resets, cmds, resets)
			}
			if fd.On() != on || fd.HasPhone() != present || fd.Present() != (on && present && active) {
				t.Fatalf("On %v, HasPhone %v, Present %v; want %v, %v, %v", fd.On(), fd.HasPhone(), fd.Present(), on, present, on && present && active)
			}
		}
	})
}
