package sharing_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// Fuzz targets for every message that comes from a relay, a server, a
// mailbox or storage. The sealed messages are fuzzed twice: as envelopes
// (almost every input stops at the AEAD), and as plaintexts sealed properly
// for each input, so that the fuzzer reaches the decoders and the checks
// behind the encryption.

// fuzzSessions is an exchange stopped at each point a message arrives.
type fuzzSessions struct {
	w      *world
	lk     *sharing.RecipientPrivateKey
	sealed []byte                 // the genuine invitation
	owner  *sharing.OwnerSession  // waiting for the signing request
	friend *sharing.FriendSession // waiting for the import
	inv    sharing.Invitation
	plain  map[sharing.DataType][]byte
}

func newFuzzSessions(f *testing.F) *fuzzSessions {
	w := newWorld(f)
	s := &fuzzSessions{w: w, lk: mustRecipient(f)}
	var err error
	s.owner, s.sealed, err = sharing.Invite(w.ownerConfig(), w.unlockOnly(), s.lk.PublicKey())
	if err != nil {
		f.Fatal(err)
	}
	if s.friend, err = sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, s.lk, "", s.sealed); err != nil {
		f.Fatal(err)
	}
	s.inv = s.friend.Invitation()
	if _, err := s.friend.SigningRequest(w.friend); err != nil {
		f.Fatal(err)
	}
	// A second session signs an attestation for the friend's key, so that
	// the import seed verifies.
	s.plain = plaintexts(f)
	ck := s.friend.Created()
	id := s.inv.ID
	ksr, err := sharing.MarshalForTest(sharing.TypeKeySigningRequest, ksrBody(id, ck, mustRecipient(f)))
	if err != nil {
		f.Fatal(err)
	}
	s.plain[sharing.TypeKeySigningRequest] = ksr
	o := s.owner.CloneForTest()
	req, err := o.ReadSigningRequest(mustSeal(f, s.inv.ResponseKeyForTest(), sharing.PurposeToOwner, ksr))
	if err != nil {
		f.Fatal(err)
	}
	issued, err := o.Sign(req)
	if err != nil {
		f.Fatal(err)
	}
	s.plain[sharing.TypeImportRequest], err = sharing.MarshalForTest(sharing.TypeImportRequest, map[uint64]any{1: id[:], 2: issued.Statement})
	if err != nil {
		f.Fatal(err)
	}
	// The seeds reach the end of each path.
	fs := s.friend.CloneForTest()
	if _, err := fs.Import(mustSeal(f, fs.ResponseKeyForTest(), sharing.PurposeToFriend, s.plain[sharing.TypeImportRequest])); err != nil {
		f.Fatalf("import seed: %v", err)
	}
	if _, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, s.lk, "", mustSeal(f, s.lk.PublicKey(), sharing.PurposeInvitation, s.plain[sharing.TypeKeyCreationRequest])); err != nil {
		f.Fatalf("invitation seed: %v", err)
	}
	for _, typ := range []sharing.DataType{sharing.TypeSenderCancel, sharing.TypeReceiverCancel} {
		if s.plain[typ], err = sharing.MarshalForTest(typ, map[uint64]any{1: id[:], 2: uint64(sharing.CodeCancelledByFriend)}); err != nil {
			f.Fatal(err)
		}
	}
	return s
}

func mustSeal(t testing.TB, to *sharing.RecipientKey, p byte, plain []byte) []byte {
	t.Helper()
	b, err := sharing.SealForTest(to, p, "", plain)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *fuzzSessions) seed(f *testing.F) {
	for _, p := range s.plain {
		f.Add(p)
	}
}

// checkProtocolError fails unless err is one a session documents for a
// message that opened: an *Error with a known code.
func checkProtocolError(t *testing.T, err error) {
	t.Helper()
	var se *sharing.Error
	if err != nil && (!errors.As(err, &se) || !se.Code.Known()) {
		t.Fatalf("error %v (%T) is not an *Error with a known code", err, err)
	}
}

func FuzzEnvelope(f *testing.F) {
	s := newFuzzSessions(f)
	f.Add(s.sealed)
	f.Add(s.sealed[:100])
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := sharing.OpenInvitation(nil, s.lk, "", b)
		if err == nil && !bytes.Equal(b, s.sealed) {
			t.Fatalf("OpenInvitation(%x) opened", b)
		}
		if err != nil && err != sharing.ErrDecrypt && err != sharing.ErrCodeRequired {
			checkProtocolError(t, err)
		}
	})
}

func FuzzInvitation(f *testing.F) {
	s := newFuzzSessions(f)
	s.seed(f)
	f.Fuzz(func(t *testing.T, plain []byte) {
		if len(plain) >= sharing.MaxMessageSize {
			return
		}
		_, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: s.w.clock.Now}, s.lk, "", mustSeal(t, s.lk.PublicKey(), sharing.PurposeInvitation, plain))
		checkProtocolError(t, err)
	})
}

func FuzzSigningRequest(f *testing.F) {
	s := newFuzzSessions(f)
	s.seed(f)
	f.Fuzz(func(t *testing.T, plain []byte) {
		if len(plain) >= sharing.MaxMessageSize {
			return
		}
		o := s.owner.CloneForTest()
		req, err := o.ReadSigningRequest(mustSeal(t, s.inv.ResponseKeyForTest(), sharing.PurposeToOwner, plain))
		checkProtocolError(t, err)
		if err == nil && (req.Endpoint == nil || !req.Endpoint.Key.Equal(req.Key)) {
			t.Fatalf("accepted a request whose chain does not certify its key")
		}
	})
}

func FuzzImport(f *testing.F) {
	s := newFuzzSessions(f)
	s.seed(f)
	f.Fuzz(func(t *testing.T, plain []byte) {
		if len(plain) >= sharing.MaxMessageSize {
			return
		}
		fs := s.friend.CloneForTest()
		imp, err := fs.Import(mustSeal(t, fs.ResponseKeyForTest(), sharing.PurposeToFriend, plain))
		checkProtocolError(t, err)
		if err == nil && (imp.Attestation.Profile != s.inv.Profile || !imp.Attestation.FriendKey.Equal(s.friend.Created().PublicKey)) {
			t.Fatalf("imported an attestation that is not the offer")
		}
	})
}

func FuzzParseMailbox(f *testing.F) {
	a, _ := sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: []byte("attestation")},
		sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: []byte("termination")})
	f.Add(a)
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0x80, 0, 4, 3, 0, 1, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := sharing.ParseMailbox(b)
		if err != nil {
			if !errors.Is(err, sharing.ErrMalformed) {
				t.Fatalf("ParseMailbox(%x) = %v, want ErrMalformed", b, err)
			}
			return
		}
		again, err := sharing.AppendMailboxArea(nil, entries...)
		if err != nil {
			t.Fatal(err)
		}
		// The bits of others (01, 02, 04, 10, 20) are not ours to keep.
		if again[0] != b[0]&0xC8 || !bytes.Equal(again[1:], b[1:len(again)]) {
			t.Fatalf("ParseMailbox(%x) then AppendMailboxArea = %x", b, again)
		}
	})
}

func FuzzParseKeyCommand(f *testing.F) {
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	for _, a := range []sharing.KeyAction{sharing.ActionSuspend, sharing.ActionTerminate} {
		var term []byte
		if a == sharing.ActionTerminate {
			term = []byte("termination attestation")
		}
		c, _ := sharing.NewKeyCommand(a, vid, slot("slot"), term)
		b, _ := c.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sharing.ParseKeyCommand(b)
		if err != nil {
			if !errors.Is(err, sharing.ErrMalformed) {
				t.Fatalf("ParseKeyCommand(%x) = %v, want ErrMalformed", b, err)
			}
			return
		}
		again, err := c.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("ParseKeyCommand(%x) then MarshalBinary = %x, %v", b, again, err)
		}
	})
}

func FuzzParseRevocationStore(f *testing.F) {
	s := sharing.NewRevocationStore(0)
	_ = s.Revoke(sharing.Revocation{Slot: slot("s"), KeyHash: [32]byte{1}, ID: [16]byte{2}, At: t0})
	_ = s.Revoke(sharing.Revocation{KeyHash: [32]byte{3}, At: t0})
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := sharing.ParseRevocationStore(b, 64)
		if err != nil {
			if !errors.Is(err, sharing.ErrMalformed) && !errors.Is(err, sharing.ErrStoreFull) {
				t.Fatalf("ParseRevocationStore(%x) = %v", b, err)
			}
			return
		}
		again, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("ParseRevocationStore(%x) then MarshalBinary = %x, %v", b, again, err)
		}
	})
}

func FuzzParseLink(f *testing.F) {
	l, _ := sharing.NewLink()
	f.Add(l.Text())
	f.Add("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := sharing.ParseLink(s)
		if err != nil {
			if !errors.Is(err, sharing.ErrMalformed) {
				t.Fatalf("ParseLink(%q) = %v", s, err)
			}
			return
		}
		if l.Text() != s {
			t.Fatalf("ParseLink(%q).Text() = %q", s, l.Text())
		}
	})
}

// FuzzVehicleIntake feeds statements to the vehicle as a first friend
// transaction or a server would: every refusal is a *VehicleError and
// leaves the revocation store as it was.
func FuzzVehicleIntake(f *testing.F) {
	w := newWorld(f)
	issued := w.share(f, w.unlockOnly())
	term, _, err := (&sharing.Termination{Vehicle: w.car.id, Slot: w.ownerK.Slot, Key: w.ownerK.PublicKey}).Sign(w.owner.se.signer(w.ownerK.PublicKey), w.ownerK.Slot)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(issued.Statement)
	f.Add(term)
	signers := w.car.signers()
	f.Fuzz(func(t *testing.T, b []byte) {
		gen := w.car.store.Generation()
		if _, err := w.car.sharing.AdmitFriend(b, dkey.KeySlot{}, signers); err != nil {
			var ve *sharing.VehicleError
			if !errors.As(err, &ve) {
				t.Fatalf("AdmitFriend(%x) = %v (%T)", b, err, err)
			}
		}
		if _, err := w.car.sharing.ProcessTermination(b, signers); err != nil {
			var ve *sharing.VehicleError
			if !errors.As(err, &ve) {
				t.Fatalf("ProcessTermination(%x) = %v (%T)", b, err, err)
			}
			if w.car.store.Generation() != gen {
				t.Fatalf("a refused termination changed the store")
			}
		}
	})
}
