package ble

import (
	"bytes"
	"errors"
	"testing"
)

// isParseError reports whether err is one of the documented parse errors.
func isParseError(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnknownType) || errors.Is(err, ErrUnknownID) ||
		errors.Is(err, ErrUnknownValue) || errors.Is(err, ErrUnsupported)
}

func FuzzParseMessage(f *testing.F) {
	f.Add(unhex(f, selectDK))
	for _, s := range []string{"000B0002C0DE", "020C0002C0DE", "02130002C0DE", "03110002C0DE", "05150002C0DE", "06180002C0DE", "070100 00", "81 0B 00 00", "01 0B 00 05 00"} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			if !isParseError(err) {
				t.Fatalf("ParseMessage(%X): undocumented error %v", b, err)
			}
			return
		}
		out, err := m.Append(nil)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("ParseMessage(%X) re-encodes to %X, %v", b, out, err)
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{"0100", "0183", "01FF", "0207", "0302",
		"05 7F70 07 80 02 0110 81 01 01", "04 7F71 0A 80 02 0001 81 01 00 82 01 F6", "0600", "04 7F72 00"} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			if !isParseError(err) {
				t.Fatalf("ParseEvent(%X): undocumented error %v", b, err)
			}
			return
		}
		out, err := e.Append(nil)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("ParseEvent(%X) = %+v re-encodes to %X, %v", b, e, out, err)
		}
	})
}

func FuzzParseRKERequest(f *testing.F) {
	f.Add(unhex(f, "7F70 07 80 02 0110 81 01 01"))
	f.Add(unhex(f, "7F70 07 80 02 0001 81 01 00"))
	f.Add(unhex(f, "7F70 81 07 80 02 0001 81 01 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRKERequest(b)
		if err != nil {
			if !isParseError(err) {
				t.Fatalf("ParseRKERequest(%X): undocumented error %v", b, err)
			}
			return
		}
		if out := r.Append(nil); !bytes.Equal(out, b) {
			t.Fatalf("ParseRKERequest(%X) = %v re-encodes to %X", b, r, out)
		}
	})
}

// FuzzSupplementary feeds the same bytes to the parsers of the
// supplementary messages and the GATT value: Time_Sync, First_Approach,
// the RKE challenge and response, the SPSM.
func FuzzSupplementary(f *testing.F) {
	f.Add(unhex(f, "0102030405060708 1112131415161718 21 01 3132 00 4142"))
	f.Add(make([]byte, OOBDataSize))
	f.Add(make([]byte, OOBDataSize+FirstApproachMACSize))
	f.Add(make([]byte, ChallengeSize))
	f.Add(bytes.Repeat([]byte{0x11}, 64))
	f.Add([]byte{0x00, 0x81})
	keys := &OwnerKeys{Intro: [16]byte{1}}
	f.Fuzz(func(t *testing.T, b []byte) {
		if ts, err := ParseTimeSync(b); err == nil {
			if out := ts.Append(nil); !bytes.Equal(out, b) {
				t.Fatalf("ParseTimeSync(%X) re-encodes to %X", b, out)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseTimeSync(%X): %v", b, err)
		}
		if fa, err := ParseFirstApproach(b); err == nil {
			if out := fa.Append(nil); !bytes.Equal(out, b) {
				t.Fatalf("ParseFirstApproach(%X) re-encodes to %X", b, out)
			}
			if err := fa.Verify(keys, KindFirstApproachRQ); err != nil && !errors.Is(err, ErrMAC) {
				t.Fatalf("Verify: %v", err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseFirstApproach(%X): %v", b, err)
		}
		if c, err := ParseChallenge(b); err == nil && !bytes.Equal(c[:], b) {
			t.Fatalf("ParseChallenge(%X) = %X", b, c)
		}
		if sig, err := ParseRKEResponse(b); err == nil && !bytes.Equal(sig[:], b) {
			t.Fatalf("ParseRKEResponse(%X) = %X", b, sig)
		} else if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseRKEResponse(%X): %v", b, err)
		}
		if s, err := ParseSPSM(b); err == nil && !bytes.Equal(s.Append(nil), b) {
			t.Fatalf("ParseSPSM(%X) = %v", b, s)
		}
	})
}

// FuzzServe sends arbitrary SDUs to a device's Serve loop: it never
// panics, answers every well-formed APDU request, and ends with a
// documented error on anything else.
func FuzzServe(f *testing.F) {
	f.Add(unhex(f, selectDK))
	f.Add([]byte{0x01, 0x0B, 0x00, 0x04, 0x90, 0xD4, 0x00, 0x00})
	f.Add([]byte{0x01, 0x0B, 0x00, 0x01, 0x00})
	f.Add([]byte{0x05, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, sdu []byte) {
		if len(sdu) > DefaultMaxSDU {
			return
		}
		ctx := t.Context()
		a, b := Pipe(0)
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, NewChannel(b, nil), &testCard{}, nil) }()
		ch := NewChannel(a, nil)
		if err := a.WriteSDU(ctx, sdu); err != nil {
			t.Fatal(err)
		}
		m, perr := ParseMessage(sdu)
		if perr == nil && (m.Kind == KindDKAPDURQ || m.Kind == KindFrameworkAPDURQ) {
			r, err := ch.Receive(ctx)
			if err != nil || (r.Kind != KindDKAPDURS && r.Kind != KindFrameworkAPDURS) || len(r.Data) < 2 {
				t.Fatalf("answer to %X: %v %X %v", sdu, r.Kind, r.Data, err)
			}
			a.Close()
			<-done
			return
		}
		err := <-done
		var u *UnexpectedMessageError
		if !isParseError(err) && !errors.As(err, &u) {
			t.Fatalf("Serve after %X: %v", sdu, err)
		}
		a.Close()
	})
}
