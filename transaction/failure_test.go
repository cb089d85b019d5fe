package transaction

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// endpointRun sends raw commands to a fresh endpoint after SELECT.
func selectedEndpoint(t *testing.T, p dkey.Profile) (*testVehicle, *testEndpoint) {
	t.Helper()
	tv, te := pair(t, p)
	if err := tv.s.Start(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	r, err := tv.do(tv.s.Select())
	if err != nil || tv.s.ReadSelect(r) != nil {
		t.Fatalf("SELECT: %v", err)
	}
	return tv, te
}

func TestEndpointRejectsVehicleSignature(t *testing.T) {
	// A vehicle whose key the endpoint does not hold: the endpoint refuses
	// AUTH1 with 6982 and keeps its Kpersistent.
	tv, te := pair(t, dkey.CCC)
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	before := te.cred.Persistent
	impostor := newTestVehicle(t, dkey.CCC)
	impostor.card = te
	_, _, err := impostor.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
	wantErr(t, "AUTH1 from an unknown vehicle key", err, dkey.SWSecurityNotSatisfied)
	wantErr(t, "endpoint error", te.lastErr, ErrAuthentication)
	if !before.Equal(&te.cred.Persistent) {
		t.Errorf("refused AUTH1 changed Kpersistent")
	}
}

func TestVehicleRejectsUnenrolledEndpoint(t *testing.T) {
	tv, _ := pair(t, dkey.HomeKey)
	other, _ := dkey.GenerateSoftwareKey()
	_, _, err := tv.standard(dkey.ActionUnlock, 0, other.PublicKey())
	wantErr(t, "endpoint signature checked with another key", err, ErrAuthentication)
	if tv.s.Authenticated() {
		t.Error("session authenticated after a bad signature")
	}
	if k := tv.s.RangingKey(); k.Valid() {
		t.Error("ranging key available after a bad signature")
	}
}

func TestAuth1Replay(t *testing.T) {
	// An AUTH1 command recorded in one transaction is refused in the next:
	// the signature covers both ephemeral keys and the transaction id.
	tv, te := pair(t, dkey.CCC)
	if err := tv.auth0(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	old, err := tv.s.Auth1()
	if err != nil {
		t.Fatal(err)
	}
	recorded, _ := old.Append(nil)
	if err := tv.auth0(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	resp := te.ProcessAPDU(nil, recorded)
	r, _ := transport.ParseResponse(resp)
	if r.SW != dkey.SWSecurityNotSatisfied || !errors.Is(te.lastErr, ErrAuthentication) {
		t.Errorf("replayed AUTH1 answered %v (%v)", r.SW, te.lastErr)
	}
	if te.cred.Persistent.Valid() {
		t.Error("replayed AUTH1 produced a Kpersistent")
	}
}

func TestTamperedCryptogram(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	pk, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := []FastKey{NewFastKey(te.cred.PublicKey, &pk)}
	for bit := 0; bit < 8*cryptogramSize; bit++ {
		if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
			t.Fatal(err)
		}
		tv.s.resp.cryptogram[bit/8] ^= 1 << (bit % 8)
		if i := tv.s.FindFast(keys); i != -1 {
			t.Fatalf("cryptogram with bit %d flipped matched key %d", bit, i)
		}
		if tv.s.Authenticated() {
			t.Fatal("authenticated without a match")
		}
	}
}

func TestAuth1ResponseTampering(t *testing.T) {
	// Every bit of the AUTH1 response (ciphertext and MAC) is covered.
	tv, te := pair(t, dkey.CCC)
	if err := tv.auth0(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	cmd, err := tv.s.Auth1()
	if err != nil {
		t.Fatal(err)
	}
	r, err := tv.do(cmd)
	if err != nil {
		t.Fatal(err)
	}
	good := bytes.Clone(r.Data)
	// Keep the session state right after AUTH0 to replay ReadAuth1.
	saved := *tv.s
	for i := range good {
		for bit := 0; bit < 8; bit++ {
			*tv.s = saved
			bad := bytes.Clone(good)
			bad[i] ^= 1 << bit
			_, err := tv.s.ReadAuth1(transport.Response{Data: bad, SW: dkey.SWSuccess})
			if !errors.Is(err, ErrChannel) {
				t.Fatalf("byte %d bit %d flipped: ReadAuth1 = %v, want ErrChannel", i, bit, err)
			}
		}
	}
	*tv.s = saved
	if _, err := tv.s.ReadAuth1(transport.Response{Data: good, SW: dkey.SWSuccess}); err != nil {
		t.Fatalf("untampered response: %v", err)
	}
	if _, err := tv.s.VerifyEndpoint(te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
}

func TestDowngrade(t *testing.T) {
	// A Home Key endpoint offers 2.0 and 1.0; an AUTH0 naming 3.0 (not
	// offered) is refused, and so is a CCC endpoint asked for 2.0.
	for _, tt := range []struct {
		name    string
		profile dkey.Profile
		version dkey.Version
	}{
		{"not offered", dkey.HomeKey, 0x0300},
		{"ccc asked for 2.0", dkey.CCC, dkey.Version2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tv, te := selectedEndpoint(t, tt.profile)
			tv.s.t.version = tt.version
			cmd, err := tv.s.Auth0()
			if err != nil {
				t.Fatal(err)
			}
			r, err := tv.do(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if r.SW != dkey.SWWrongData || !errors.Is(te.lastErr, ErrVersion) {
				t.Errorf("AUTH0 with version %v answered %v (%v)", tt.version, r.SW, te.lastErr)
			}
		})
	}
	// The vehicle refuses an endpoint that offers nothing it speaks.
	tv, _ := pair(t, dkey.CCC)
	if err := tv.s.Start(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	err := tv.s.ReadSelect(transport.Response{Data: []byte{0x5C, 0x02, 0x02, 0x00}, SW: dkey.SWSuccess})
	wantErr(t, "SELECT offering only 2.0 to a CCC vehicle", err, ErrVersion)
	// A default Home Key vehicle speaks 2.0 alone: a SELECT response
	// stripped down to 1.0 is refused, not settled for.
	tv, _ = pair(t, dkey.HomeKey)
	if err := tv.s.Start(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	err = tv.s.ReadSelect(transport.Response{Data: []byte{0x5C, 0x02, 0x01, 0x00}, SW: dkey.SWSuccess})
	wantErr(t, "SELECT offering only 1.0 to a default Home Key vehicle", err, ErrVersion)
}

func TestUnknownVehicleID(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	te.vehicle, _ = dkey.NewVehicleID([]byte("another!"))
	err := tv.auth0(dkey.ActionUnlock, 0)
	wantErr(t, "AUTH0 for an unknown vehicle", err, dkey.SWFileNotFound)
}

func TestStaleExchangeCounter(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	cmd, err := tv.s.Exchange([]MailboxOp{{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Offset: 0, Data: []byte{1}}})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := cmd.Append(nil)
	if r, _ := transport.ParseResponse(te.ProcessAPDU(nil, first)); r.SW != dkey.SWSuccess {
		t.Fatalf("first EXCHANGE: %v", r.SW)
	}
	// The same command again carries a stale counter and chain.
	r, _ := transport.ParseResponse(te.ProcessAPDU(nil, first))
	if r.SW != dkey.SWSecureMessagingIncorrect || !errors.Is(te.lastErr, ErrChannel) {
		t.Errorf("replayed EXCHANGE answered %v (%v)", r.SW, te.lastErr)
	}
	// The channel is dead: a fresh, correct command fails too.
	_, err = tv.exchange(MailboxOp{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Offset: 0, Length: 1})
	if err == nil {
		t.Error("EXCHANGE succeeded on a channel killed by a replay")
	}
}

func TestOutOfSequence(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	// AUTH1 before AUTH0.
	if err := tv.s.Start(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	r, _ := tv.do(tv.s.Select())
	_ = tv.s.ReadSelect(r)
	auth1 := transport.Command{CLA: claDK, INS: insAuth1, Data: make([]byte, 66), Ne: 256}
	auth1.Data[0], auth1.Data[1] = 0x9E, 0x40
	apdu, _ := auth1.Append(nil)
	r, _ = transport.ParseResponse(te.ProcessAPDU(nil, apdu))
	if r.SW != dkey.SWConditionsNotSatisfied {
		t.Errorf("AUTH1 before AUTH0 answered %v", r.SW)
	}
	// EXCHANGE before authentication.
	tv, te = pair(t, dkey.CCC)
	if err := tv.auth0(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	ex := transport.Command{CLA: claSecure, INS: insExchange, Data: make([]byte, 24), Ne: 256}
	apdu, _ = ex.Append(nil)
	r, _ = transport.ParseResponse(te.ProcessAPDU(nil, apdu))
	if r.SW != dkey.SWConditionsNotSatisfied {
		t.Errorf("EXCHANGE before AUTH1 answered %v", r.SW)
	}
	// Vehicle-side misuse.
	vs := newTestVehicle(t, dkey.CCC).s
	if _, err := vs.Auth0(); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Auth0 before Start = %v", err)
	}
	if _, err := vs.Exchange([]MailboxOp{{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Length: 1}}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Exchange before authentication = %v", err)
	}
	if err := vs.Start(0x7F, 0); !errors.Is(err, ErrWrongParameters) {
		t.Errorf("Start with an invalid action = %v", err)
	}
	if err := vs.Start(dkey.ActionUnlock, 0x80); !errors.Is(err, ErrWrongParameters) {
		t.Errorf("Start with unknown flags = %v", err)
	}
}

// TestMalformedAuth0 sends truncated, extended and reordered AUTH0 data.
func TestMalformedAuth0(t *testing.T) {
	tv, _ := selectedEndpoint(t, dkey.CCC)
	good, err := tv.s.Auth0()
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Clone(good.Data)
	cases := map[string][]byte{
		"empty":          nil,
		"trailing byte":  append(bytes.Clone(data), 0x00),
		"trailing tlv":   append(bytes.Clone(data), 0x9F, 0x01, 0x00),
		"homekey length": append(bytes.Clone(data[:len(data)-10]), append([]byte{0x4D, 0x10}, make([]byte, 16)...)...),
		"reordered":      append(bytes.Clone(data[4:]), data[:4]...),
		"long version":   append([]byte{0x5C, 0x04, 0x01, 0x00, 0x01, 0x00}, data[4:]...),
		"off-curve key":  func() []byte { b := bytes.Clone(data); b[70] ^= 1; return b }(),
	}
	for i := 1; i < len(data); i++ {
		cases[fmt.Sprintf("prefix %d", i)] = data[:i]
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			_, te := selectedEndpoint(t, dkey.CCC)
			cmd := good
			cmd.Data = d
			_, err := te.s.ReadAuth0(&cmd)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ReadAuth0(%x) = %v, want ErrMalformed", d, err)
			}
			if StatusWordFor(err) != dkey.SWWrongData {
				t.Errorf("status word %v", StatusWordFor(err))
			}
		})
	}
	for _, p := range []struct{ p1, p2 byte }{{0x02, 0x01}, {0x80, 0x01}, {0x00, 0x00}, {0x00, 0x09}, {0x00, 0xFF}} {
		_, te := selectedEndpoint(t, dkey.CCC)
		cmd := good
		cmd.P1, cmd.P2 = p.p1, p.p2
		if _, err := te.s.ReadAuth0(&cmd); !errors.Is(err, ErrWrongParameters) {
			t.Errorf("AUTH0 P1 %02X P2 %02X = %v, want ErrWrongParameters", p.p1, p.p2, err)
		}
	}
}

func TestMalformedResponses(t *testing.T) {
	// AUTH0 responses the vehicle must refuse.
	pt, _ := dkey.GenerateSoftwareKey()
	epk := pt.PublicKey().Bytes()
	good := append([]byte{0x86, 0x41}, epk...)
	for name, d := range map[string][]byte{
		"empty":              nil,
		"truncated":          good[:60],
		"trailing":           append(bytes.Clone(good), 0),
		"cryptogram unasked": append(bytes.Clone(good), append([]byte{0x9D, 0x10}, make([]byte, 16)...)...),
		"short cryptogram":   append(bytes.Clone(good), append([]byte{0x9D, 0x0F}, make([]byte, 15)...)...),
		"off-curve":          append([]byte{0x86, 0x41, 0x04}, make([]byte, 64)...),
		"compressed key":     append([]byte{0x86, 0x21}, epk[:33]...),
		"cryptogram first":   append(append([]byte{0x9D, 0x10}, make([]byte, 16)...), good...),
	} {
		t.Run("AUTH0/"+name, func(t *testing.T) {
			tv, _ := selectedEndpoint(t, dkey.CCC)
			if _, err := tv.s.Auth0(); err != nil {
				t.Fatal(err)
			}
			err := tv.s.ReadAuth0(transport.Response{Data: d, SW: dkey.SWSuccess})
			wantErr(t, "ReadAuth0", err, ErrMalformed)
		})
	}
	// Status words end the transaction with an error that names them.
	tv, _ := selectedEndpoint(t, dkey.CCC)
	err := tv.s.ReadAuth0(transport.Response{SW: dkey.SWFileNotFound})
	wantErr(t, "AUTH0 answered 6A82", err, dkey.SWFileNotFound)

	// SELECT responses.
	for name, d := range map[string][]byte{
		"empty": nil, "odd list": {0x5C, 0x03, 1, 0, 1}, "no list": {0x5C, 0x00}, "trailing": {0x5C, 0x02, 1, 0, 0},
		"wrong tag": {0x5D, 0x02, 1, 0},
	} {
		if _, err := parseSelectResponse(d); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseSelectResponse(%s) = %v", name, err)
		}
	}
}

func TestMalformedAuth1Plaintext(t *testing.T) {
	sig := bytes.Repeat([]byte{1}, 64)
	for name, d := range map[string][]byte{
		"empty":         nil,
		"no signature":  {0x4E, 0x01, 0x01},
		"empty slot":    append([]byte{0x4E, 0x00, 0x9E, 0x40}, sig...),
		"long slot":     append(append([]byte{0x4E, 0x09}, make([]byte, 9)...), append([]byte{0x9E, 0x40}, sig...)...),
		"short sig":     append([]byte{0x4E, 0x01, 0x01, 0x9E, 0x3F}, sig[:63]...),
		"empty subset":  append(append([]byte{0x4E, 0x01, 0x01, 0x9E, 0x40}, sig...), 0x4A, 0x00),
		"subsets order": append(append([]byte{0x4E, 0x01, 0x01, 0x9E, 0x40}, sig...), 0x4B, 0x01, 0x00, 0x4A, 0x01, 0x00),
		"unknown tag":   append(append([]byte{0x4E, 0x01, 0x01, 0x9E, 0x40}, sig...), 0x57, 0x01, 0x00),
	} {
		var m auth1Response
		if m.unmarshal(d) {
			t.Errorf("%s: AUTH1 plaintext %x parsed", name, d)
		}
	}
}

func TestMalformedAuth1Command(t *testing.T) {
	for name, mut := range map[string]func(*transport.Command){
		"short":       func(c *transport.Command) { c.Data = c.Data[:65] },
		"long":        func(c *transport.Command) { c.Data = append(bytes.Clone(c.Data), 0) },
		"wrong tag":   func(c *transport.Command) { c.Data = bytes.Clone(c.Data); c.Data[0] = 0x9D },
		"wrong P1":    func(c *transport.Command) { c.P1 = 1 },
		"zero r":      func(c *transport.Command) { c.Data = bytes.Clone(c.Data); clear(c.Data[2:34]) },
		"flipped sig": func(c *transport.Command) { c.Data = bytes.Clone(c.Data); c.Data[40] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			tv, te := pair(t, dkey.CCC)
			if err := tv.auth0(dkey.ActionUnlock, 0); err != nil {
				t.Fatal(err)
			}
			cmd, err := tv.s.Auth1()
			if err != nil {
				t.Fatal(err)
			}
			mut(&cmd)
			r, err := tv.do(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if r.SW.OK() || te.cred.Persistent.Valid() {
				t.Errorf("mutated AUTH1 answered %v", r.SW)
			}
			// After a failure the endpoint needs a new SELECT.
			if _, err := te.s.OpenExchange(&transport.Command{CLA: claSecure, INS: insExchange}); !errors.Is(err, ErrOutOfSequence) {
				t.Errorf("session usable after a failed AUTH1: %v", err)
			}
		})
	}
}

func TestExchangeOps(t *testing.T) {
	ops := []MailboxOp{
		{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Offset: 1, Length: 2},
		{Kind: OpWrite, Mailbox: dkey.ConfidentialMailbox, Offset: 300, Data: bytes.Repeat([]byte{9}, 200)},
		{Kind: OpFill, Mailbox: dkey.PrivateMailbox, Offset: 0, Length: 10, Value: 0xFF},
	}
	enc, err := appendOps(nil, ops)
	if err != nil {
		t.Fatal(err)
	}
	var out [MaxExchangeOps]MailboxOp
	n, err := parseOps(&out, enc)
	if err != nil || n != len(ops) {
		t.Fatalf("parseOps = %d, %v", n, err)
	}
	for i := range ops {
		if out[i].Kind != ops[i].Kind || out[i].Mailbox != ops[i].Mailbox || out[i].Offset != ops[i].Offset ||
			out[i].Length != ops[i].Length || !bytes.Equal(out[i].Data, ops[i].Data) || out[i].Value != ops[i].Value {
			t.Errorf("op %d = %+v, want %+v", i, out[i], ops[i])
		}
	}
	for i := 0; i < len(enc); i++ {
		if _, err := parseOps(&out, enc[:i]); err == nil && i != 0 {
			// A prefix that ends exactly after an operation is a valid,
			// shorter list; any other prefix must fail.
			if !(i == 7 || i == 7+3+203) {
				t.Errorf("prefix of %d bytes parsed", i)
			}
		}
	}
	for name, bad := range map[string][]MailboxOp{
		"none":          {},
		"too many":      make([]MailboxOp, MaxExchangeOps+1),
		"zero read":     {{Kind: OpRead, Mailbox: dkey.PrivateMailbox}},
		"bad mailbox":   {{Kind: OpRead, Mailbox: 3, Length: 1}},
		"bad kind":      {{Kind: 0x42, Mailbox: dkey.PrivateMailbox, Length: 1}},
		"empty write":   {{Kind: OpWrite, Mailbox: dkey.PrivateMailbox}},
		"huge write":    {{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Data: make([]byte, MaxExchangeData+1)}},
		"past 64K":      {{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Offset: 65535, Length: 2}},
		"too much data": {{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Data: make([]byte, 1000)}, {Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Data: make([]byte, 100)}},
	} {
		if _, err := appendOps(nil, bad); !errors.Is(err, ErrInvalidOp) {
			t.Errorf("appendOps(%s) = %v, want ErrInvalidOp", name, err)
		}
	}
}

func TestStatusWordFor(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want dkey.StatusWord
	}{
		{nil, dkey.SWSuccess},
		{ErrOutOfSequence, dkey.SWConditionsNotSatisfied},
		{ErrMalformed, dkey.SWWrongData},
		{ErrVersion, dkey.SWWrongData},
		{ErrWrongParameters, dkey.SWWrongP1P2},
		{ErrAuthentication, dkey.SWSecurityNotSatisfied},
		{ErrChannel, dkey.SWSecureMessagingIncorrect},
		{dkey.ErrUnknownVehicle, dkey.SWFileNotFound},
		{dkey.ErrKeySuspended, dkey.SWConditionsNotSatisfied},
		{dkey.SWReferencedDataNotFound, dkey.SWReferencedDataNotFound},
		{errors.New("other"), dkey.SWNoPreciseDiagnosis},
	} {
		if got := StatusWordFor(tt.err); got != tt.want {
			t.Errorf("StatusWordFor(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestExchangeSizeLimits(t *testing.T) {
	read := func(n uint16) MailboxOp { return MailboxOp{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Length: n} }
	for _, tt := range []struct {
		name string
		ops  []MailboxOp
		ok   bool
	}{
		{"one full read", []MailboxOp{read(MaxReadLength)}, true},
		{"read too long", []MailboxOp{read(MaxReadLength + 1)}, false},
		{"two reads overflow", []MailboxOp{read(600), read(600)}, false},
		{"two reads fit", []MailboxOp{read(500), read(500)}, true},
		{"write and full read", []MailboxOp{{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Data: []byte{1}}, read(MaxReadLength)}, true},
		{"full write", []MailboxOp{{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Data: make([]byte, MaxWriteLength)}}, true},
		{"write too long", []MailboxOp{{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Data: make([]byte, MaxWriteLength+1)}}, false},
	} {
		_, err := appendOps(nil, tt.ops)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidOp)) {
			t.Errorf("%s: appendOps = %v, want ok=%v", tt.name, err, tt.ok)
		}
		// The endpoint's parser applies the same bound to encodings built by
		// hand.
		var enc []byte
		for _, op := range tt.ops {
			one, err := appendOps(nil, []MailboxOp{op})
			if err != nil {
				enc = nil
				break
			}
			enc = append(enc, one...)
		}
		if enc != nil {
			var out [MaxExchangeOps]MailboxOp
			if _, err := parseOps(&out, enc); (err == nil) != tt.ok {
				t.Errorf("%s: parseOps = %v, want ok=%v", tt.name, err, tt.ok)
			}
		}
	}
	// A full read through a real channel: the response fits.
	tv, te := pair(t, dkey.CCC)
	te.priv = make([]byte, 2048)
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	got, err := tv.exchange(read(MaxReadLength))
	if err != nil {
		t.Fatalf("full read: %v", err)
	}
	rr := NewReadResults(got)
	if d, ok := rr.Next(); !ok || len(d) != MaxReadLength || !rr.Done() {
		t.Errorf("full read returned %d bytes", len(d))
	}
}
