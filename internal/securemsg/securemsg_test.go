package securemsg

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/internal/cmac"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/internal/testvec"
)

// ahkrVectors is testdata/ahkr_vectors.json: channels computed with the
// secure context of kormax/apple-home-key-reader (see testdata/README.md).
type ahkrVectors struct {
	Source   string
	Channels []struct {
		Name              string
		Flow              string
		Kenc, Kmac, Krmac testvec.HexBytes
		Messages          []vectorMessage
	}
}

type vectorMessage struct {
	Type      string // "command" or "response"
	Ctr       int
	Plaintext testvec.HexBytes
	Protected testvec.HexBytes
}

func loadAHKR(t testing.TB) ahkrVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/ahkr_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v ahkrVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("testdata/ahkr_vectors.json: %v", err)
	}
	if len(v.Channels) == 0 {
		t.Fatal("testdata/ahkr_vectors.json: no channels")
	}
	return v
}

func keysOf(t testing.TB, enc, mac, rmac []byte) *Keys {
	t.Helper()
	if len(enc) != KeySize || len(mac) != KeySize || len(rmac) != KeySize {
		t.Fatalf("key sizes %d, %d, %d, want %d", len(enc), len(mac), len(rmac), KeySize)
	}
	k := new(Keys)
	copy(k.Enc[:], enc)
	copy(k.MAC[:], mac)
	copy(k.RMAC[:], rmac)
	return k
}

func flowOf(t testing.TB, s string) Flow {
	t.Helper()
	for _, f := range []Flow{CommandFirst, InitialResponse} {
		if f.String() == s {
			return f
		}
	}
	t.Fatalf("unknown flow %q", s)
	return 0
}

func newPair(t testing.TB, k *Keys, flow Flow) (*Sender, *Receiver) {
	t.Helper()
	s, err := NewSender(k, flow)
	if err != nil {
		t.Fatalf("NewSender(%v) = %v", flow, err)
	}
	r, err := NewReceiver(k, flow)
	if err != nil {
		t.Fatalf("NewReceiver(%v) = %v", flow, err)
	}
	return s, r
}

// TestVectorsAHKR runs both roles through every message of the vectors and
// checks each protected message byte for byte, in both directions.
func TestVectorsAHKR(t *testing.T) {
	v := loadAHKR(t)
	total := 0
	for _, ch := range v.Channels {
		t.Run(ch.Name, func(t *testing.T) {
			s, r := newPair(t, keysOf(t, ch.Kenc, ch.Kmac, ch.Krmac), flowOf(t, ch.Flow))
			ctr := 0
			for i, m := range ch.Messages {
				var prot, plain []byte
				var err1, err2 error
				switch m.Type {
				case "command":
					ctr++
					prot, err1 = s.ProtectCommand(nil, m.Plaintext)
					plain, err2 = r.UnprotectCommand(nil, m.Protected)
				case "response":
					prot, err1 = r.ProtectResponse(nil, m.Plaintext)
					plain, err2 = s.UnprotectResponse(nil, m.Protected)
				default:
					t.Fatalf("message %d: type %q", i, m.Type)
				}
				if m.Ctr != ctr {
					t.Fatalf("message %d: vector ctr %d, the channel's model says %d", i, m.Ctr, ctr)
				}
				if err1 != nil || !bytes.Equal(prot, m.Protected) {
					t.Errorf("message %d (%s ctr %d): protect(%x) = %x, %v, want %x", i, m.Type, m.Ctr, m.Plaintext, prot, err1, m.Protected)
				}
				if err2 != nil || !bytes.Equal(plain, m.Plaintext) {
					t.Errorf("message %d (%s ctr %d): unprotect(%x) = %x, %v, want %x", i, m.Type, m.Ctr, m.Protected, plain, err2, m.Plaintext)
				}
				total++
			}
		})
	}
	t.Logf("%d messages in %d channels", total, len(v.Channels))
}

// TestVectorHomekeyGo checks the AUTH1 response of the standard-flow vector
// of tgckpg/homekey-go: the initial response, ctr 00, zero chain, keys from
// Volatile = Kenc ‖ Kmac ‖ Krmac.
func TestVectorHomekeyGo(t *testing.T) {
	v, err := testvec.HomeKeyStandard()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Volatile) != 48 {
		t.Fatalf("volatile is %d bytes, want 48", len(v.Volatile))
	}
	s, r := newPair(t, keysOf(t, v.Volatile[:16], v.Volatile[16:32], v.Volatile[32:48]), InitialResponse)
	if got, err := s.UnprotectResponse(nil, v.Auth1ResponseData); err != nil || !bytes.Equal(got, v.Auth1ResponsePlaintext) {
		t.Errorf("UnprotectResponse(%x) = %x, %v, want %x", v.Auth1ResponseData, got, err, v.Auth1ResponsePlaintext)
	}
	if got, err := r.ProtectResponse(nil, v.Auth1ResponsePlaintext); err != nil || !bytes.Equal(got, v.Auth1ResponseData) {
		t.Errorf("ProtectResponse(%x) = %x, %v, want %x", v.Auth1ResponsePlaintext, got, err, v.Auth1ResponseData)
	}
}

func randomKeys(t testing.TB) *Keys {
	t.Helper()
	k := new(Keys)
	rand.Read(k.Enc[:])
	rand.Read(k.MAC[:])
	rand.Read(k.RMAC[:])
	return k
}

// TestRoundTrip runs random exchanges, some commands without a response,
// with plaintexts of every length up to 100 bytes and the maximum.
func TestRoundTrip(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, flow := range []Flow{CommandFirst, InitialResponse} {
		t.Run(flow.String(), func(t *testing.T) {
			s, r := newPair(t, randomKeys(t), flow)
			if flow == InitialResponse {
				exchangeResponse(t, s, r, []byte("AUTH1 response"))
			}
			for i := range 255 {
				n := i % 101
				if i == 100 {
					n = MaxPlaintextSize
				}
				p := make([]byte, n)
				rand.Read(p)
				prot, err := s.ProtectCommand(nil, p)
				if err != nil {
					t.Fatalf("command %d: ProtectCommand(%d bytes) = %v", i+1, n, err)
				}
				if len(prot) != ProtectedSize(n) {
					t.Errorf("command %d: ProtectCommand(%d bytes) gave %d bytes, want ProtectedSize = %d", i+1, n, len(prot), ProtectedSize(n))
				}
				got, err := r.UnprotectCommand(nil, prot)
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("command %d: UnprotectCommand(%x) = %x, %v, want %x", i+1, prot, got, err, p)
				}
				if rng.IntN(4) == 0 {
					continue // no response, as after an error status word
				}
				q := make([]byte, rng.IntN(70))
				rand.Read(q)
				exchangeResponse(t, s, r, q)
			}
		})
	}
}

func exchangeResponse(t *testing.T, s *Sender, r *Receiver, p []byte) {
	t.Helper()
	prot, err := r.ProtectResponse(nil, p)
	if err != nil {
		t.Fatalf("ProtectResponse(%x) = %v", p, err)
	}
	got, err := s.UnprotectResponse(nil, prot)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("UnprotectResponse(%x) = %x, %v, want %x", prot, got, err, p)
	}
}

// replay brings a fresh pair to the state just before message upTo of the
// vector channel, by running the messages before it.
func replay(t *testing.T, k *Keys, flow Flow, msgs []vectorMessage, upTo int) (*Sender, *Receiver) {
	t.Helper()
	s, r := newPair(t, k, flow)
	for _, m := range msgs[:upTo] {
		var err error
		if m.Type == "command" {
			_, err = r.UnprotectCommand(nil, m.Protected)
		} else {
			_, err = s.UnprotectResponse(nil, m.Protected)
		}
		if err != nil {
			t.Fatalf("replaying %s ctr %d: %v", m.Type, m.Ctr, err)
		}
		if m.Type == "command" {
			_, err = s.ProtectCommand(nil, m.Plaintext)
		} else {
			_, err = r.ProtectResponse(nil, m.Plaintext)
		}
		if err != nil {
			t.Fatalf("replaying %s ctr %d: %v", m.Type, m.Ctr, err)
		}
	}
	return s, r
}

// checkDead checks that every call on either direction of the end that
// rejected a message fails with ErrBroken.
func checkDead(t *testing.T, s *Sender, r *Receiver) {
	t.Helper()
	if s != nil {
		if _, err := s.ProtectCommand(nil, []byte{1}); !errors.Is(err, ErrBroken) {
			t.Errorf("ProtectCommand after failure = %v, want ErrBroken", err)
		}
		if _, err := s.UnprotectResponse(nil, make([]byte, 8)); !errors.Is(err, ErrBroken) {
			t.Errorf("UnprotectResponse after failure = %v, want ErrBroken", err)
		}
	}
	if r != nil {
		if _, err := r.UnprotectCommand(nil, make([]byte, 8)); !errors.Is(err, ErrBroken) {
			t.Errorf("UnprotectCommand after failure = %v, want ErrBroken", err)
		}
		if _, err := r.ProtectResponse(nil, []byte{1}); !errors.Is(err, ErrBroken) {
			t.Errorf("ProtectResponse after failure = %v, want ErrBroken", err)
		}
	}
}

// deliver hands msg to the end that receives message m of the vector.
func deliver(s *Sender, r *Receiver, m vectorMessage, msg []byte) ([]byte, error) {
	if m.Type == "command" {
		return r.UnprotectCommand(nil, msg)
	}
	return s.UnprotectResponse(nil, msg)
}

// TestTamper flips every bit of every protected message of the vector
// channels (commands and responses, ciphertext and MAC, empty and not), and
// delivers every strict prefix and a one-byte extension: each is rejected
// with ErrAuthentication and kills the receiving end.
func TestTamper(t *testing.T) {
	v := loadAHKR(t)
	cases := 0
	for _, ch := range v.Channels {
		k := keysOf(t, ch.Kenc, ch.Kmac, ch.Krmac)
		flow := flowOf(t, ch.Flow)
		for i, m := range ch.Messages {
			var bad [][]byte
			for bit := range 8 * len(m.Protected) {
				b := bytes.Clone(m.Protected)
				b[bit/8] ^= 1 << (bit % 8)
				bad = append(bad, b)
			}
			for n := range len(m.Protected) {
				bad = append(bad, m.Protected[:n])
			}
			bad = append(bad, append(bytes.Clone(m.Protected), 0))
			for _, b := range bad {
				s, r := replay(t, k, flow, ch.Messages, i)
				got, err := deliver(s, r, m, b)
				if !errors.Is(err, ErrAuthentication) || got != nil {
					t.Fatalf("%s message %d (%s ctr %d): tampered %x accepted: %x, %v, want ErrAuthentication", ch.Name, i, m.Type, m.Ctr, b, got, err)
				}
				if m.Type == "command" {
					checkDead(t, nil, r)
				} else {
					checkDead(t, s, nil)
				}
				// The genuine message no longer helps.
				if _, err := deliver(s, r, m, m.Protected); !errors.Is(err, ErrBroken) {
					t.Fatalf("%s message %d: genuine message after a failure = %v, want ErrBroken", ch.Name, i, err)
				}
				cases++
			}
		}
	}
	t.Logf("%d tampered messages rejected", cases)
}

// TestBadPadding sends correctly MACed ciphertexts whose padding is wrong:
// after a good MAC they still fail with the one opaque error.
func TestBadPadding(t *testing.T) {
	k := randomKeys(t)
	for _, tc := range []struct {
		name  string
		block []byte // the last plaintext block, before encryption
	}{
		{"no 80", bytes.Repeat([]byte{0x11}, 16)},
		{"all zero", make([]byte, 16)},
		{"80 then nonzero", append([]byte{0x80, 0x01}, make([]byte, 14)...)},
		{"01 at the end", append(make([]byte, 15), 0x01)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := newPair(t, k, CommandFirst)
			ct := refEncrypt(k, 0x00, 1, tc.block)
			msg := append(ct, refMAC(k.MAC[:], make([]byte, 16), ct)[:MACSize]...)
			if got, err := r.UnprotectCommand(nil, msg); !errors.Is(err, ErrAuthentication) {
				t.Errorf("UnprotectCommand(%x) = %x, %v, want ErrAuthentication", msg, got, err)
			}
			checkDead(t, nil, r)
		})
	}
	// A ciphertext of a whole padding block is empty plaintext, which a
	// conforming peer sends empty instead; it is accepted.
	_, r := newPair(t, k, CommandFirst)
	ct := refEncrypt(k, 0x00, 1, append([]byte{0x80}, make([]byte, 15)...))
	msg := append(ct, refMAC(k.MAC[:], make([]byte, 16), ct)[:MACSize]...)
	if got, err := r.UnprotectCommand(nil, msg); err != nil || len(got) != 0 {
		t.Errorf("UnprotectCommand(padding block) = %x, %v, want empty, nil", got, err)
	}
	// Not whole blocks, under a good MAC.
	_, r = newPair(t, k, CommandFirst)
	ct = make([]byte, 17)
	msg = append(ct, refMAC(k.MAC[:], make([]byte, 16), ct)[:MACSize]...)
	if _, err := r.UnprotectCommand(nil, msg); !errors.Is(err, ErrAuthentication) {
		t.Errorf("UnprotectCommand(17-byte ciphertext, good MAC) = %v, want ErrAuthentication", err)
	}
}

// refEncrypt and refMAC transcribe the table of docs/protocol.md §4.7 with the
// standard library, independently of the channel's state machine: the
// ciphertext of an already padded plaintext under the ICV AES(Kenc,
// pcb ‖ 00… ‖ ctr), and the CMAC of chain ‖ ciphertext.
func refEncrypt(k *Keys, pcb, ctr byte, padded []byte) []byte {
	b, err := aes.NewCipher(k.Enc[:])
	if err != nil {
		panic(err)
	}
	icv := make([]byte, 16)
	icv[0], icv[15] = pcb, ctr
	b.Encrypt(icv, icv)
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(b, icv).CryptBlocks(out, padded)
	return out
}

func refMAC(key, chain, ct []byte) []byte {
	c, err := cmac.New(key)
	if err != nil {
		panic(err)
	}
	return c.Sum(nil, append(bytes.Clone(chain), ct...))
}

func refPad(p []byte) []byte {
	out := append(bytes.Clone(p), 0x80)
	for len(out)%16 != 0 {
		out = append(out, 0)
	}
	return out
}

// TestCounterExhaustion sends 255 commands and checks each against the
// reference with its ctr, then checks that the 256th fails on both ends
// without wrapping, while the response to the command at FF still works.
func TestCounterExhaustion(t *testing.T) {
	for _, flow := range []Flow{CommandFirst, InitialResponse} {
		t.Run(flow.String(), func(t *testing.T) {
			k := randomKeys(t)
			s, r := newPair(t, k, flow)
			chain := make([]byte, 16)
			for ctr := 1; ctr <= 255; ctr++ {
				p := []byte{byte(ctr), 0xC0}
				prot, err := s.ProtectCommand(nil, p)
				if err != nil {
					t.Fatalf("ProtectCommand #%d = %v", ctr, err)
				}
				ct := refEncrypt(k, 0x00, byte(ctr), refPad(p))
				mac := refMAC(k.MAC[:], chain, ct)
				want := append(ct, mac[:MACSize]...)
				if !bytes.Equal(prot, want) {
					t.Fatalf("ProtectCommand #%d(%x) = %x, want %x (ctr %02x)", ctr, p, prot, want, ctr)
				}
				chain = mac
				if _, err := r.UnprotectCommand(nil, prot); err != nil {
					t.Fatalf("UnprotectCommand #%d = %v", ctr, err)
				}
				if ctr%3 == 0 {
					continue
				}
				rp := []byte{0xAA, byte(ctr)}
				resp, err := r.ProtectResponse(nil, rp)
				if err != nil {
					t.Fatalf("ProtectResponse #%d = %v", ctr, err)
				}
				rct := refEncrypt(k, 0x80, byte(ctr), refPad(rp))
				if want := append(rct, refMAC(k.RMAC[:], chain, rct)[:MACSize]...); !bytes.Equal(resp, want) {
					t.Fatalf("ProtectResponse #%d(%x) = %x, want %x", ctr, rp, resp, want)
				}
				if _, err := s.UnprotectResponse(nil, resp); err != nil {
					t.Fatalf("UnprotectResponse #%d = %v", ctr, err)
				}
			}
			for range 2 {
				if _, err := s.ProtectCommand(nil, []byte{1}); !errors.Is(err, ErrCounterExhausted) {
					t.Errorf("ProtectCommand #256 = %v, want ErrCounterExhausted", err)
				}
				if _, err := s.ProtectCommand(nil, nil); !errors.Is(err, ErrCounterExhausted) {
					t.Errorf("ProtectCommand #256 (empty) = %v, want ErrCounterExhausted", err)
				}
				// Any 256th command, even one that would wrap to ctr 00 with
				// the right chain, is refused before it is looked at.
				wrapped := refEncrypt(k, 0x00, 0x00, refPad([]byte{1}))
				wrapped = append(wrapped, refMAC(k.MAC[:], chain, wrapped)[:MACSize]...)
				if _, err := r.UnprotectCommand(nil, wrapped); !errors.Is(err, ErrCounterExhausted) {
					t.Errorf("UnprotectCommand #256 = %v, want ErrCounterExhausted", err)
				}
			}
			// The command at FF was answered (255 % 3 == 0 skipped it, so
			// answer it now): exhaustion did not kill the channel.
			exchangeResponse(t, s, r, []byte("last"))
			if _, err := r.ProtectResponse(nil, nil); !errors.Is(err, ErrNoCommand) {
				t.Errorf("second response to FF = %v, want ErrNoCommand", err)
			}
		})
	}
}

func TestStateErrors(t *testing.T) {
	k := randomKeys(t)
	t.Run("zero value", func(t *testing.T) {
		var s Sender
		var r Receiver
		for name, err := range map[string]error{
			"ProtectCommand":    second(s.ProtectCommand(nil, nil)),
			"UnprotectResponse": second(s.UnprotectResponse(nil, make([]byte, 8))),
			"UnprotectCommand":  second(r.UnprotectCommand(nil, make([]byte, 8))),
			"ProtectResponse":   second(r.ProtectResponse(nil, nil)),
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s on zero value = %v, want ErrClosed", name, err)
			}
		}
	})
	t.Run("response before command", func(t *testing.T) {
		s, r := newPair(t, k, CommandFirst)
		if _, err := r.ProtectResponse(nil, []byte{1}); !errors.Is(err, ErrNoCommand) {
			t.Errorf("ProtectResponse first = %v, want ErrNoCommand", err)
		}
		if _, err := s.UnprotectResponse(nil, make([]byte, 8)); !errors.Is(err, ErrNoCommand) {
			t.Errorf("UnprotectResponse first = %v, want ErrNoCommand", err)
		}
		// Neither error killed the channel.
		prot, err := s.ProtectCommand(nil, []byte{1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.UnprotectCommand(nil, prot); err != nil {
			t.Errorf("UnprotectCommand after ErrNoCommand = %v", err)
		}
	})
	t.Run("two responses", func(t *testing.T) {
		for _, flow := range []Flow{CommandFirst, InitialResponse} {
			s, r := newPair(t, k, flow)
			if flow == CommandFirst {
				prot, _ := s.ProtectCommand(nil, nil)
				if _, err := r.UnprotectCommand(nil, prot); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := r.ProtectResponse(nil, nil)
			if err != nil {
				t.Fatalf("%v: ProtectResponse = %v", flow, err)
			}
			if _, err := r.ProtectResponse(nil, nil); !errors.Is(err, ErrNoCommand) {
				t.Errorf("%v: second ProtectResponse = %v, want ErrNoCommand", flow, err)
			}
			if _, err := s.UnprotectResponse(nil, resp); err != nil {
				t.Fatalf("%v: UnprotectResponse = %v", flow, err)
			}
			if _, err := s.UnprotectResponse(nil, resp); !errors.Is(err, ErrNoCommand) {
				t.Errorf("%v: replayed response = %v, want ErrNoCommand", flow, err)
			}
		}
	})
	t.Run("initial response not after a command", func(t *testing.T) {
		s, r := newPair(t, k, InitialResponse)
		initial, err := r.ProtectResponse(nil, []byte("auth1"))
		if err != nil {
			t.Fatal(err)
		}
		// The vehicle skips the initial response and sends a command: the
		// initial response is no longer acceptable in place of the answer.
		s2, _ := newPair(t, k, InitialResponse)
		if _, err := s2.ProtectCommand(nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.UnprotectResponse(nil, initial); !errors.Is(err, ErrAuthentication) {
			t.Errorf("initial response after a command = %v, want ErrAuthentication", err)
		}
		if _, err := s.UnprotectResponse(nil, initial); err != nil {
			t.Errorf("initial response = %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		s, r := newPair(t, k, CommandFirst)
		big := make([]byte, MaxPlaintextSize+1)
		if _, err := s.ProtectCommand(nil, big); !errors.Is(err, ErrTooLarge) {
			t.Errorf("ProtectCommand(%d bytes) = %v, want ErrTooLarge", len(big), err)
		}
		// The refused command did not use a counter value.
		prot, err := s.ProtectCommand(nil, []byte{7})
		if err != nil {
			t.Fatal(err)
		}
		ct := refEncrypt(k, 0, 1, refPad([]byte{7}))
		if want := append(ct, refMAC(k.MAC[:], make([]byte, 16), ct)[:MACSize]...); !bytes.Equal(prot, want) {
			t.Errorf("ProtectCommand after ErrTooLarge = %x, want the ctr 01 command %x", prot, want)
		}
		if _, err := r.UnprotectCommand(nil, prot); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ProtectResponse(nil, big); !errors.Is(err, ErrTooLarge) {
			t.Errorf("ProtectResponse(%d bytes) = %v, want ErrTooLarge", len(big), err)
		}
		exchangeResponse(t, s, r, []byte{8})
	})
	t.Run("too long to unprotect", func(t *testing.T) {
		_, r := newPair(t, k, CommandFirst)
		if _, err := r.UnprotectCommand(nil, make([]byte, MaxMessageSize+16)); !errors.Is(err, ErrAuthentication) {
			t.Errorf("UnprotectCommand(%d bytes) = %v, want ErrAuthentication", MaxMessageSize+16, err)
		}
	})
	t.Run("close and init", func(t *testing.T) {
		s, r := newPair(t, k, CommandFirst)
		prot, _ := s.ProtectCommand(nil, []byte{1})
		s.Close()
		s.Close()
		if _, err := s.ProtectCommand(nil, nil); !errors.Is(err, ErrClosed) {
			t.Errorf("ProtectCommand after Close = %v, want ErrClosed", err)
		}
		var zero channel
		if diff := cmp.Diff(zero, s.ch, cmp.AllowUnexported(channel{})); diff != "" {
			t.Errorf("state after Close differs from zero (-want +got):\n%s", diff)
		}
		// A broken channel comes back with Init.
		if _, err := r.UnprotectCommand(nil, make([]byte, 8)); !errors.Is(err, ErrAuthentication) {
			t.Fatal(err)
		}
		if err := r.Init(k, CommandFirst); err != nil {
			t.Fatal(err)
		}
		if _, err := r.UnprotectCommand(nil, prot); err != nil {
			t.Errorf("UnprotectCommand after re-Init = %v", err)
		}
	})
	t.Run("bad init", func(t *testing.T) {
		if _, err := NewSender(nil, CommandFirst); err == nil {
			t.Errorf("NewSender(nil keys) succeeded")
		}
		for _, f := range []Flow{0, 3, 255} {
			if _, err := NewReceiver(k, f); err == nil {
				t.Errorf("NewReceiver(%v) succeeded", f)
			}
		}
		s, _ := newPair(t, k, CommandFirst)
		if err := s.Init(k, 0); err == nil {
			t.Fatal("Init(Flow(0)) succeeded")
		}
		if _, err := s.ProtectCommand(nil, nil); !errors.Is(err, ErrClosed) {
			t.Errorf("ProtectCommand after a failed Init = %v, want ErrClosed", err)
		}
	})
}

func second(_ []byte, err error) error { return err }

func TestAuthFailureWipes(t *testing.T) {
	_, r := newPair(t, randomKeys(t), CommandFirst)
	if _, err := r.UnprotectCommand(nil, make([]byte, 24)); !errors.Is(err, ErrAuthentication) {
		t.Fatal(err)
	}
	want := channel{status: broken}
	if diff := cmp.Diff(want, r.ch, cmp.AllowUnexported(channel{})); diff != "" {
		t.Errorf("state after failure (-want +got):\n%s", diff)
	}
}

func TestProtectedSize(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 8}, {1, 24}, {15, 24}, {16, 40}, {17, 40}, {239, 248}, {MaxPlaintextSize, MaxMessageSize}, {MaxPlaintextSize + 1, MaxMessageSize + 16},
	} {
		if got := ProtectedSize(tc.n); got != tc.want {
			t.Errorf("ProtectedSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	if MaxMessageSize > 65535 || ProtectedSize(MaxPlaintextSize+1) <= 65535 {
		t.Errorf("MaxMessageSize = %d, ProtectedSize(MaxPlaintextSize+1) = %d: want the largest that fits an extended Lc", MaxMessageSize, ProtectedSize(MaxPlaintextSize+1))
	}
	if ProtectedSize(239) > 255 || ProtectedSize(240) <= 255 {
		t.Errorf("ProtectedSize(239) = %d, ProtectedSize(240) = %d: the short-APDU limit of the docs is wrong", ProtectedSize(239), ProtectedSize(240))
	}
}

// TestAliasing protects and unprotects in place, and with dst overlapping
// the input at an offset.
func TestAliasing(t *testing.T) {
	k := randomKeys(t)
	for _, off := range []int{0, 3, -5} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			s, r := newPair(t, k, CommandFirst)
			s2, r2 := newPair(t, k, CommandFirst)
			p := make([]byte, 45)
			rand.Read(p)
			want, _ := s2.ProtectCommand(nil, p)
			buf := make([]byte, 200)
			at := 50
			copy(buf[at:], p)
			got, err := s.ProtectCommand(buf[at+off:at+off], buf[at:at+len(p)])
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("ProtectCommand aliased at %d = %x, %v, want %x", off, got, err, want)
			}
			copy(buf[at:], want)
			plain, err := r.UnprotectCommand(buf[at+off:at+off], buf[at:at+len(want)])
			if err != nil || !bytes.Equal(plain, p) {
				t.Fatalf("UnprotectCommand aliased at %d = %x, %v, want %x", off, plain, err, p)
			}
			_, _ = r2.UnprotectCommand(nil, want)
		})
	}
}

func TestAppends(t *testing.T) {
	s, r := newPair(t, randomKeys(t), CommandFirst)
	prefix := []byte("hdr")
	prot, err := s.ProtectCommand(prefix, []byte("data"))
	if err != nil || !bytes.HasPrefix(prot, prefix) || len(prot) != 3+ProtectedSize(4) {
		t.Fatalf("ProtectCommand(%q, data) = %x, %v", prefix, prot, err)
	}
	got, err := r.UnprotectCommand([]byte("x"), prot[3:])
	if err != nil || string(got) != "xdata" {
		t.Errorf("UnprotectCommand(x, …) = %q, %v, want %q", got, err, "xdata")
	}
}

// snapshot and restore let the allocation test and the benchmarks repeat one
// message without exhausting the counter or re-keying.
type snapshot struct {
	chain      [16]byte
	ctr        byte
	exhausted  bool
	answerable bool
}

func (c *channel) snapshot() snapshot {
	return snapshot{c.chain, c.ctr, c.exhausted, c.answerable}
}

func (c *channel) restore(s snapshot) {
	c.chain, c.ctr, c.exhausted, c.answerable = s.chain, s.ctr, s.exhausted, s.answerable
}

func TestAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	s, r := newPair(t, randomKeys(t), CommandFirst)
	p := make([]byte, 64)
	n := ProtectedSize(64)
	cmdBuf := make([]byte, n)
	respBuf := make([]byte, n)
	plainBuf := make([]byte, 0, n)
	s0, r0 := s.ch.snapshot(), r.ch.snapshot()
	var errs [4]error
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"ProtectCommand/64", func() { s.ch.restore(s0); _, errs[0] = s.ProtectCommand(cmdBuf[:0], p) }},
		{"UnprotectCommand/64", func() { r.ch.restore(r0); _, errs[1] = r.UnprotectCommand(plainBuf[:0], cmdBuf) }},
		{"ProtectResponse/64", func() { _, errs[2] = r.ProtectResponse(respBuf[:0], p); r.ch.answerable = true }},
		{"UnprotectResponse/64", func() { _, errs[3] = s.UnprotectResponse(plainBuf[:0], respBuf); s.ch.answerable = true }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s allocated %v times, want 0", tc.name, n)
		}
	}
	// The runs above really exchanged messages.
	if err := errors.Join(errs[:]...); err != nil {
		t.Errorf("exchange during the allocation runs: %v", err)
	}
	if got, err := s.UnprotectResponse(nil, respBuf); err != nil || !bytes.Equal(got, p) {
		t.Errorf("UnprotectResponse after the allocation runs = %x, %v, want %x", got, err, p)
	}
}

func FuzzUnprotect(f *testing.F) {
	v := loadAHKR(f)
	ch := v.Channels[0]
	if ch.Flow != "InitialResponse" || ch.Messages[0].Type != "response" || ch.Messages[1].Type != "command" {
		f.Fatalf("the first vector channel must start with an initial response and a command")
	}
	k := keysOf(f, ch.Kenc, ch.Kmac, ch.Krmac)
	initial, first := ch.Messages[0], ch.Messages[1]
	for _, m := range ch.Messages {
		f.Add([]byte(m.Protected))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 8))
	f.Add(make([]byte, 24))
	f.Fuzz(func(t *testing.T, msg []byte) {
		// A command at ctr 01 and the initial response at ctr 00: whatever
		// the bytes, they verify only if they are the genuine message.
		_, r := newPair(t, k, InitialResponse)
		got, err := r.UnprotectCommand(nil, msg)
		if bytes.Equal(msg, first.Protected) {
			if err != nil || !bytes.Equal(got, first.Plaintext) {
				t.Fatalf("genuine command rejected: %v", err)
			}
		} else {
			if !errors.Is(err, ErrAuthentication) || got != nil {
				t.Fatalf("UnprotectCommand(%x) = %x, %v, want ErrAuthentication", msg, got, err)
			}
			checkDead(t, nil, r)
		}
		s, _ := newPair(t, k, InitialResponse)
		got, err = s.UnprotectResponse(nil, msg)
		if bytes.Equal(msg, initial.Protected) {
			if err != nil || !bytes.Equal(got, initial.Plaintext) {
				t.Fatalf("genuine initial response rejected: %v", err)
			}
		} else {
			if !errors.Is(err, ErrAuthentication) || got != nil {
				t.Fatalf("UnprotectResponse(%x) = %x, %v, want ErrAuthentication", msg, got, err)
			}
			checkDead(t, s, nil)
		}
	})
}

func BenchmarkProtectCommand(b *testing.B) {
	b.Run("64", func(b *testing.B) {
		s, _ := newPair(b, randomKeys(b), CommandFirst)
		p := make([]byte, 64)
		dst := make([]byte, 0, ProtectedSize(64))
		s0 := s.ch.snapshot()
		b.ReportAllocs()
		b.SetBytes(64)
		for b.Loop() {
			s.ch.restore(s0)
			if _, err := s.ProtectCommand(dst[:0], p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUnprotectResponse(b *testing.B) {
	b.Run("64", func(b *testing.B) {
		s, r := newPair(b, randomKeys(b), CommandFirst)
		cmd, _ := s.ProtectCommand(nil, nil)
		if _, err := r.UnprotectCommand(nil, cmd); err != nil {
			b.Fatal(err)
		}
		resp, err := r.ProtectResponse(nil, make([]byte, 64))
		if err != nil {
			b.Fatal(err)
		}
		s0 := s.ch.snapshot()
		dst := make([]byte, 0, len(resp))
		b.ReportAllocs()
		b.SetBytes(64)
		for b.Loop() {
			s.ch.restore(s0)
			if _, err := s.UnprotectResponse(dst[:0], resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
