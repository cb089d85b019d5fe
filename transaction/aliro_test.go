package transaction

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transport"
)

// TestAliroStandardThenFast runs a standard transaction, checks what both
// sides derived, then fast transactions with the Kpersistent it left, and a
// fast one after the device lost it (standard again).
func TestAliroStandardThenFast(t *testing.T) {
	for _, name := range []string{"public key", "key slot"} {
		t.Run(name, func(t *testing.T) {
			tr, te, cred := aliroPair(t)
			tr.r.keySlot = name == "key slot"
			pk, res, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if name == "key slot" {
				if want, _ := dkey.Aliro.DerivedKeySlot(cred.PublicKey); res.KeySlot != want || res.PublicKey != nil {
					t.Errorf("AUTH1 result = %v, want slot %v", res, want)
				}
			} else if !res.PublicKey.Equal(cred.PublicKey) {
				t.Errorf("AUTH1 public key = %v", res.PublicKey)
			}
			if !te.s.Standard() || !tr.s.Authenticated() || tr.s.Fast() {
				t.Fatalf("sessions not authenticated")
			}
			if dev := te.persist[tr.r.ID()]; !dev.Equal(&pk) {
				t.Fatalf("Kpersistent differs between the sides")
			}
			rs, es := tr.s.StepUpKey(), te.s.StepUpKey()
			if !rs.Valid() || !rs.Equal(&es) {
				t.Fatalf("step-up keys differ")
			}
			if err := tr.finish(AliroStatusUnsecure); err != nil {
				t.Fatal(err)
			}
			if te.status != AliroStatusUnsecure || !te.s.Ended() {
				t.Errorf("device saw status %04X, ended %v", te.status, te.s.Ended())
			}

			keys := append(aliroFastKeys(t, 3), NewFastKey(cred.PublicKey, &pk))
			for range 2 {
				i, err := tr.fast(AliroPolicyUserDevice, keys)
				if err != nil || i != 3 {
					t.Fatalf("fast = %d, %v", i, err)
				}
				if !tr.s.Fast() || tr.s.FastStatus().Signaling != cred.Status.Signaling {
					t.Errorf("fast status = %+v", tr.s.FastStatus())
				}
				if err := tr.finish(AliroStatusUnsecure); err != nil {
					t.Fatal(err)
				}
			}

			delete(te.persist, tr.r.ID())
			if i, err := tr.fast(AliroPolicyUserDevice, keys); err != nil || i != -1 {
				t.Fatalf("fast without Kpersistent = %d, %v", i, err)
			}
			if _, _, err := tr.auth1(cred.PublicKey); err != nil {
				t.Fatalf("standard after a fast miss: %v", err)
			}
		})
	}
}

func aliroFastKeys(t testing.TB, n int) []FastKey {
	t.Helper()
	keys := make([]FastKey, n)
	for i := range keys {
		k, _ := dkey.GenerateSoftwareKey()
		raw := bytes.Repeat([]byte{byte(i + 1)}, 32)
		pk, _ := NewPersistentKey(raw)
		keys[i] = NewFastKey(k.PublicKey(), &pk)
	}
	return keys
}

// TestAliroCertificateFlows runs standard transactions whose reader key a CA
// certified, the certificate in LOAD CERT or in AUTH1, then a fast one: the
// fast phase binds the CA key, which the device knows before any
// certificate arrives.
func TestAliroCertificateFlows(t *testing.T) {
	for _, inAuth1 := range []bool{false, true} {
		tr, te, cred := aliroCertPair(t, inAuth1)
		pk, _, err := tr.standard(AliroPolicyForceUserAuthentication, cred.PublicKey)
		if err != nil {
			t.Fatalf("in AUTH1 %v: %v", inAuth1, err)
		}
		if err := tr.finish(AliroStatusSecure); err != nil {
			t.Fatal(err)
		}
		if te.status != AliroStatusSecure || !te.s.Ended() {
			t.Errorf("device saw status %04X", te.status)
		}
		if i, err := tr.fast(AliroPolicySecureAction, []FastKey{NewFastKey(cred.PublicKey, &pk)}); err != nil || i != 0 {
			t.Fatalf("fast after a certificate transaction = %d, %v", i, err)
		}
	}
}

// TestAliroCertificateRefusals: a device refuses a reader certificate
// signed by another CA, a certificate where it trusts a reader key, no
// certificate where it trusts a CA, an expired certificate and a signature
// by a key other than the certificate's, always with the one status word
// 6982, and a malformed certificate at LOAD CERT.
func TestAliroCertificateRefusals(t *testing.T) {
	ca, _ := dkey.GenerateSoftwareKey()
	other, _ := dkey.GenerateSoftwareKey()
	rk, _ := dkey.GenerateSoftwareKey()
	good, _ := IssueAliroCertificate(ca, &AliroCertificate{PublicKey: rk.PublicKey()})
	foreign, _ := IssueAliroCertificate(other, &AliroCertificate{PublicKey: rk.PublicKey()})
	expired, _ := IssueAliroCertificate(ca, &AliroCertificate{PublicKey: rk.PublicKey(), NotAfter: []byte("250101000000Z")})
	otherSubject, _ := IssueAliroCertificate(ca, &AliroCertificate{PublicKey: other.PublicKey()})
	for _, tt := range []struct {
		name     string
		cfg      AliroReaderConfig
		trustKey *dkey.PublicKey
		issuer   bool
	}{
		{"foreign CA", AliroReaderConfig{Key: rk, GroupKey: other.PublicKey(), Certificate: foreign.Append(nil)}, ca.PublicKey(), true},
		{"certificate for a direct trust", AliroReaderConfig{Key: rk, GroupKey: ca.PublicKey(), Certificate: good.Append(nil)}, rk.PublicKey(), false},
		{"no certificate for a CA trust", AliroReaderConfig{Key: rk}, ca.PublicKey(), true},
		{"expired", AliroReaderConfig{Key: rk, GroupKey: ca.PublicKey(), Certificate: expired.Append(nil), CertificateInAuth1: true}, ca.PublicKey(), true},
		{"wrong reader key", AliroReaderConfig{Key: rk}, other.PublicKey(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newAliroTestReader(t, &tt.cfg)
			te := newAliroTestEndpoint(t, &AliroEndpointConfig{Time: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
			te.add(t, tr.r.ID().Group, tt.trustKey, tt.issuer)
			tr.card = te
			_, _, err := tr.standard(AliroPolicyUserDevice, nil)
			if !errors.Is(err, dkey.SWSecurityNotSatisfied) || !errors.Is(te.lastErr, ErrAuthentication) {
				t.Fatalf("standard = %v (device %v), want 6982", err, te.lastErr)
			}
		})
	}
	t.Run("subject is not the signing key", func(t *testing.T) {
		// A reader cannot be configured so; send the mismatch by hand.
		tr := newAliroTestReader(t, &AliroReaderConfig{Key: rk, GroupKey: ca.PublicKey(), Certificate: good.Append(nil)})
		tr.r.cert = otherSubject.Append(nil)
		te := newAliroTestEndpoint(t, nil)
		te.add(t, tr.r.ID().Group, ca.PublicKey(), true)
		tr.card = te
		if _, _, err := tr.standard(AliroPolicyUserDevice, nil); !errors.Is(err, dkey.SWSecurityNotSatisfied) {
			t.Fatalf("standard = %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		tr := newAliroTestReader(t, &AliroReaderConfig{Key: rk, GroupKey: ca.PublicKey(), Certificate: good.Append(nil)})
		tr.r.cert = good.Append(nil)[:40]
		te := newAliroTestEndpoint(t, nil)
		te.add(t, tr.r.ID().Group, ca.PublicKey(), true)
		tr.card = te
		if _, _, err := tr.standard(AliroPolicyUserDevice, nil); !errors.Is(err, dkey.SWWrongData) {
			t.Fatalf("standard = %v, want 6A80 at LOAD CERT", err)
		}
	})
	t.Run("reader config", func(t *testing.T) {
		for _, cfg := range []AliroReaderConfig{
			{Key: rk, Certificate: good.Append(nil)},                              // no GroupKey
			{Key: other, GroupKey: ca.PublicKey(), Certificate: good.Append(nil)}, // not the subject
			{Key: rk, GroupKey: other.PublicKey(), Certificate: good.Append(nil)}, // not the issuer
			{Key: rk, GroupKey: ca.PublicKey(), Certificate: []byte{0x30, 0x00}},  // malformed
		} {
			cfg.ReaderID.Group[0] = 1
			if _, err := NewAliroReader(&cfg); !errors.Is(err, ErrCertificate) {
				t.Errorf("NewAliroReader = %v, want ErrCertificate", err)
			}
		}
	})
}

// TestAliroUnknownGroup: a device with no credential for the reader's group
// answers AUTH0 in the same shape (a random cryptogram when fast is asked)
// and fails AUTH1 with the same status word as a wrong signature, so a
// reader learns nothing of the credentials it holds (Aliro 1.0 8.3.3.2.6,
// 8.3.3.4.6).
func TestAliroUnknownGroup(t *testing.T) {
	tr, te, cred := aliroPair(t)
	te.creds = map[dkey.ReaderGroupID]*AliroCredential{}
	for _, fast := range []bool{false, true} {
		if err := tr.auth0(AliroPolicyUserDevice, fast); err != nil {
			t.Fatalf("AUTH0 (fast %v) to a device without credential: %v", fast, err)
		}
		if fast {
			if len(tr.resp) != 2+65+2+64+2 || tr.s.FindFast([]FastKey{NewFastKey(cred.PublicKey, &PersistentKey{})}) != -1 {
				t.Errorf("unknown-group AUTH0 response of %d bytes", len(tr.resp))
			}
		}
		_, _, err := tr.auth1(cred.PublicKey)
		if !errors.Is(err, dkey.SWSecurityNotSatisfied) {
			t.Fatalf("AUTH1 = %v, want 6982", err)
		}
	}
}

// TestAliroExchangeMailbox reads, writes and sets the mailbox in an atomic
// session, then hits the rights and bounds the device enforces.
func TestAliroExchangeMailbox(t *testing.T) {
	tr, te, cred := aliroPair(t)
	if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	_, err := tr.exchange(&AliroExchange{Mailbox: true, Atomic: true, Ops: []AliroMailboxOp{
		{Kind: OpWrite, Offset: 2, Data: []byte("aliro")},
		{Kind: OpFill, Offset: 10, Length: 4, Value: 0x5a},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reads, err := tr.exchange(&AliroExchange{Mailbox: true, Ops: []AliroMailboxOp{
		{Kind: OpRead, Offset: 2, Length: 5}, {Kind: OpRead, Offset: 10, Length: 4},
	}, Notify: []byte{0x82, 0x02, 0x00, 0x26}})
	if err != nil {
		t.Fatal(err)
	}
	if reads.Len() != 2 {
		t.Fatalf("%d reads", reads.Len())
	}
	a, _ := reads.Next()
	b, _ := reads.Next()
	if string(a) != "aliro" || !bytes.Equal(b, []byte{0x5a, 0x5a, 0x5a, 0x5a}) {
		t.Errorf("reads = %q, %x", a, b)
	}
	// Out of bounds: the device answers its error code and ends.
	_, err = tr.exchange(&AliroExchange{Mailbox: true, Ops: []AliroMailboxOp{{Kind: OpRead, Offset: 60, Length: 10}}})
	var xe *AliroExchangeError
	if !errors.As(err, &xe) || xe.Code != 1 {
		t.Fatalf("out-of-bounds read = %v", err)
	}
	if te.s.Authenticated() || tr.s.Authenticated() {
		t.Errorf("sessions survived an EXCHANGE error")
	}
	if err := tr.controlFlow(AliroS2NoInformation); err != nil {
		t.Fatal(err)
	}
	if te.lastCF.S1 != AliroS1Failure {
		t.Errorf("CONTROL FLOW = %+v", te.lastCF)
	}
	// No read right.
	cred.Status.Signaling = AliroMailboxWrite
	if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.exchange(&AliroExchange{Mailbox: true, Ops: []AliroMailboxOp{{Kind: OpRead, Offset: 0, Length: 1}}}); !errors.As(err, &xe) {
		t.Fatalf("read without right = %v", err)
	}
}

// TestAliroFastExchange: after a fast transaction the device takes an
// EXCHANGE under the fast keys, which authenticates the reader to it; a
// forged EXCHANGE ends the transaction.
func TestAliroFastExchange(t *testing.T) {
	tr, te, cred := aliroPair(t)
	pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := []FastKey{NewFastKey(cred.PublicKey, &pk)}
	if i, err := tr.fast(AliroPolicyUserDevice, keys); err != nil || i != 0 {
		t.Fatal(i, err)
	}
	if te.s.Authenticated() {
		t.Errorf("device authenticated the reader before any EXCHANGE")
	}
	if _, err := tr.exchange(&AliroExchange{Mailbox: true, Ops: []AliroMailboxOp{{Kind: OpWrite, Offset: 0, Data: []byte{1}}}}); err != nil {
		t.Fatal(err)
	}
	if !te.s.Authenticated() || te.mailbox[0] != 1 {
		t.Errorf("fast EXCHANGE did not apply")
	}
	// AUTH1 after a fast EXCHANGE is out of sequence on both sides.
	if _, err := tr.s.Auth1(); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("reader AUTH1 after fast EXCHANGE = %v", err)
	}
	cmd, _ := tr.s.Exchange(&AliroExchange{HasStatus: true, Status: AliroStatusUnsecure})
	cmd.Data[0] ^= 1
	r, err := tr.do(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if r.SW != dkey.SWSecureMessagingIncorrect || !errors.Is(te.lastErr, ErrChannel) {
		t.Errorf("forged EXCHANGE answered %v (%v)", r.SW, te.lastErr)
	}
}

// TestAliroStepUpKeysWithMdoc hands the step-up key of a standard
// transaction to package mdoc on both sides and runs a step-up exchange
// with it: the device's document for the credential key reaches the reader
// and verifies (Aliro 1.0 8.4.3).
func TestAliroStepUpKeysWithMdoc(t *testing.T) {
	tr, te, cred := aliroPair(t)
	if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	rk, ek := tr.s.StepUpKey(), te.s.StepUpKey()
	rs, err := mdoc.AliroStepUpKeys(rk.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	es, err := mdoc.AliroStepUpKeys(ek.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := mdoc.NewIssuer(mdoc.Aliro)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	doc, err := issuer.Issue(&mdoc.DocumentSpec{
		DocType:    mdoc.AliroAccessDocType,
		DeviceKey:  cred.PublicKey,
		Elements:   []mdoc.Element{{NameSpace: mdoc.AliroAccessDocType, Identifier: mdoc.AliroDefaultElement, Value: mdoc.EncodeBytes([]byte{1})}},
		ValidFrom:  now.Add(-time.Hour),
		ValidUntil: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	group := tr.r.ID().Group
	stored, err := mdoc.NewProvisioned(group[:], doc)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := mdoc.NewStepUpDevice(es, &mdoc.DeviceConfig{Documents: []*mdoc.Provisioned{stored}, ReaderGroup: group[:]})
	if err != nil {
		t.Fatal(err)
	}
	req, err := mdoc.NewStepUpReader(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := req.Command()
	apdu := encode(t, cmd)
	resp, err := transport.ParseResponse(dev.ProcessAPDU(nil, apdu))
	if err != nil {
		t.Fatal(err)
	}
	dr, err := req.Handle(resp)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dr.Verify(&mdoc.VerifyOptions{Issuers: []*mdoc.IssuerKey{issuer.Key()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || !v[0].DeviceKey.Equal(cred.PublicKey) {
		t.Errorf("step-up verified %d documents", len(v))
	}
}

// TestAliroSequence checks the order of calls and commands on both sides.
func TestAliroSequence(t *testing.T) {
	tr, te, cred := aliroPair(t)
	s := tr.s
	if _, err := s.Auth0(); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Auth0 before Start = %v", err)
	}
	if err := s.ReadSelect(transport.Response{SW: dkey.SWSuccess}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("ReadSelect before Start = %v", err)
	}
	if _, err := s.Exchange(&AliroExchange{URSK: true}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Exchange before authentication = %v", err)
	}
	if _, err := s.VerifyEndpoint(cred.PublicKey); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("VerifyEndpoint before AUTH1 = %v", err)
	}
	if err := s.Start(AliroPolicy(0), false); !errors.Is(err, ErrWrongParameters) {
		t.Errorf("Start with policy 0 = %v", err)
	}

	// The device refuses commands out of order with 6985.
	for _, apdu := range [][]byte{
		{0x80, 0x81, 0x00, 0x00, 0x03, 0x41, 0x01, 0x01},
		{0x80, 0xC9, 0x00, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{0x80, 0xD1, 0x00, 0x00, 0x02, 0x30, 0x00},
	} {
		resp := te.ProcessAPDU(nil, apdu)
		if sw := dkey.StatusWord(uint16(resp[len(resp)-2])<<8 | uint16(resp[len(resp)-1])); sw != dkey.SWConditionsNotSatisfied {
			t.Errorf("%X before SELECT answered %v", apdu[:2], sw)
		}
	}
	// A second AUTH0 after the first one.
	if err := tr.auth0(AliroPolicyUserDevice, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.s.Auth0(); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("reader Auth0 after ReadAuth0 = %v", err)
	}
	resp := te.ProcessAPDU(nil, []byte{0x80, 0x80, 0, 0, 3, 0x41, 1, 0})
	if resp[0] != 0x69 {
		t.Errorf("second AUTH0 answered %X", resp)
	}
	// SELECT of another AID: 6A82.
	resp = te.ProcessAPDU(nil, append([]byte{0x00, 0xA4, 0x04, 0x00, 0x09}, dkey.AIDAliroStepUp...))
	if resp[0] != 0x6A || resp[1] != 0x82 {
		t.Errorf("SELECT of the step-up AID answered %X", resp)
	}
}

// TestAliroMalformedCommands: each malformed command gets its status word
// and ends the transaction with nothing derived.
func TestAliroMalformedCommands(t *testing.T) {
	tr, te, _ := aliroPair(t)
	if err := tr.s.Start(AliroPolicyUserDevice, false); err != nil {
		t.Fatal(err)
	}
	sel := encode(t, tr.s.Select())
	r, err := tr.do(tr.s.Select())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.s.ReadSelect(r); err != nil {
		t.Fatal(err)
	}
	good, err := tr.s.Auth0()
	if err != nil {
		t.Fatal(err)
	}
	goodAuth0 := encode(t, good)
	for _, tt := range []struct {
		name string
		apdu []byte
		sw   dkey.StatusWord
	}{
		{"CLA 00", append([]byte{0x00}, goodAuth0[1:]...), dkey.SWClassNotSupported},
		{"P1 01", append([]byte{0x80, 0x80, 0x01}, goodAuth0[3:]...), dkey.SWWrongP1P2},
		{"truncated", goodAuth0[:len(goodAuth0)-10], dkey.SWWrongLength},
		{"version 2.0", bytes.Replace(goodAuth0, []byte{0x5C, 0x02, 0x01, 0x00}, []byte{0x5C, 0x02, 0x02, 0x00}, 1), dkey.SWWrongData},
		{"policy 04", bytes.Replace(goodAuth0, []byte{0x42, 0x01, 0x01}, []byte{0x42, 0x01, 0x04}, 1), dkey.SWWrongP1P2},
		{"reordered", swapFirstTLVs(goodAuth0), dkey.SWWrongData},
		{"off-curve key", bytes.Replace(goodAuth0, goodAuth0[5+12+3:5+12+3+10], make([]byte, 10), 1), dkey.SWWrongData},
	} {
		t.Run(tt.name, func(t *testing.T) {
			te.ProcessAPDU(nil, sel)
			resp := te.ProcessAPDU(nil, tt.apdu)
			if sw := dkey.StatusWord(uint16(resp[len(resp)-2])<<8 | uint16(resp[len(resp)-1])); sw != tt.sw || len(resp) != 2 {
				t.Errorf("answered %X, want %v", resp, tt.sw)
			}
			if r := te.s.RangingKey(); r.Valid() || te.s.stage != aliroStFailed && tt.sw != dkey.SWWrongLength {
				t.Errorf("session at %v after a malformed command", te.s.stage)
			}
		})
	}
}

// swapFirstTLVs swaps the 41 and 42 data objects of an AUTH0 command.
func swapFirstTLVs(apdu []byte) []byte {
	out := bytes.Clone(apdu)
	copy(out[5:8], apdu[8:11])
	copy(out[8:11], apdu[5:8])
	return out
}

// TestAliroUnknownDataObjects: data objects with unknown tags are skipped
// wherever they stand (Aliro 1.0 1.4.3), up to the limit, in commands the
// device reads and in responses the reader reads.
func TestAliroUnknownDataObjects(t *testing.T) {
	var m aliroAuth0
	m.policy, m.version, m.params = AliroPolicyUserDevice, dkey.Version1, 1
	m.readerEPK[0] = 4
	b := m.append(nil)
	withUnknown := append(append([]byte{0xC0, 0x01, 0xFF}, b[:6]...), append([]byte{0xDF, 0x30, 0x00}, b[6:]...)...)
	var got aliroAuth0
	if !got.unmarshal(withUnknown) || got.params != 1 || got.policy != AliroPolicyUserDevice {
		t.Errorf("AUTH0 with unknown data objects rejected")
	}
	many := b
	for range maxAliroUnknown + 1 {
		many = append(many, 0xC0, 0x00)
	}
	if got.unmarshal(many) {
		t.Errorf("AUTH0 with %d unknown data objects accepted", maxAliroUnknown+1)
	}
	dup := append(bytes.Clone(b), 0x41, 0x01, 0x00)
	if got.unmarshal(dup) {
		t.Errorf("AUTH0 with a repeated 41 accepted")
	}
}

// TestAliroPolicyBLE: a reader does not send the secure-action policy over
// Bluetooth LE (Aliro 1.0 Table 8-1).
func TestAliroPolicyBLE(t *testing.T) {
	tr := newAliroTestReader(t, &AliroReaderConfig{Interface: InterfaceBLE})
	if err := tr.s.Start(AliroPolicySecureAction, false); !errors.Is(err, ErrWrongParameters) {
		t.Errorf("secure action over BLE = %v", err)
	}
	if err := tr.s.Start(AliroPolicyUserDevice, false); err != nil {
		t.Error(err)
	}
}

// TestAliroTimestamps covers the tdate type.
func TestAliroTimestamps(t *testing.T) {
	when := time.Date(2026, 2, 18, 13, 30, 2, 999, time.FixedZone("x", 3600))
	ts := NewAliroTimestamp(when)
	if ts.String() != "2026-02-18T12:30:02Z" || !ts.valid() {
		t.Errorf("NewAliroTimestamp = %s", ts)
	}
	if got, err := ts.Time(); err != nil || !got.Equal(when.Truncate(time.Second)) {
		t.Errorf("Time = %v, %v", got, err)
	}
	var zero AliroTimestamp
	if _, err := zero.Time(); err == nil || zero.String() != "none" {
		t.Errorf("zero timestamp")
	}
	for _, bad := range []string{"2026-13-01T00:00:00Z", "2026-02-18 12:30:02Z", "2026-02-18T12:30:02+", "20260218T123002Z    "} {
		if ts := AliroTimestamp([]byte(bad)); ts.valid() {
			t.Errorf("%q valid", bad)
		}
	}
}

// TestAliroEndpointConfig checks the validation of the device's
// configuration and credential.
func TestAliroEndpointConfig(t *testing.T) {
	if _, err := NewAliroEndpointSession(&AliroEndpointConfig{MaxCommandAPDU: 1000}); err == nil {
		t.Errorf("one extended limit accepted")
	}
	if _, err := NewAliroEndpointSession(&AliroEndpointConfig{Auth0Extension: []byte{0x30}}); err == nil {
		t.Errorf("malformed vendor extension accepted")
	}
	if _, err := NewAliroReader(&AliroReaderConfig{}); err == nil {
		t.Errorf("reader without key accepted")
	}
	k, _ := dkey.GenerateSoftwareKey()
	if _, err := NewAliroReader(&AliroReaderConfig{Key: k}); !errors.Is(err, dkey.ErrInvalidReaderID) {
		t.Errorf("zero reader identifier = %v", err)
	}
	tr, _, cred := aliroPair(t)
	cred.MailboxSubset = []byte{}
	if err := tr.auth0(AliroPolicyUserDevice, false); !errors.Is(err, dkey.SWNoPreciseDiagnosis) {
		t.Errorf("empty mailbox subset = %v", err)
	}
	if _, err := NewVehicleParams(&VehicleConfig{Profile: dkey.Aliro}); err == nil {
		t.Errorf("NewVehicleParams accepted the Aliro profile")
	}
	if _, err := NewEndpointSession(&EndpointConfig{Profile: dkey.Aliro}); err == nil {
		t.Errorf("NewEndpointSession accepted the Aliro profile")
	}
}
