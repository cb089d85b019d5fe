package transaction

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/internal/testvec"
	"github.com/opencarkey/sdk/transport"
)

// The Aliro parsers skip unknown data objects (Aliro 1.0 1.4.3) and accept
// a non-shortest length in one place, so an accepted input need not
// re-encode to itself. Their fuzz targets check instead that the encoding
// of what they accept is accepted again and is a fixed point: parse,
// encode, parse and encode give the same bytes.

// fixedPoint checks that what parse accepts encodes to bytes that parse
// accepts again and that encode to themselves.
func fixedPoint[M any](t *testing.T, what string, data []byte, parse func(*M, []byte) bool, encode func(*M, []byte) []byte) {
	t.Helper()
	var m, again M
	if !parse(&m, data) {
		return
	}
	enc := encode(&m, nil)
	if !parse(&again, enc) || !bytes.Equal(encode(&again, nil), enc) {
		t.Fatalf("%s %x re-encodes as %x, not a fixed point", what, data, enc)
	}
}

// aliroSeedTransactions returns the published and cross-checked Aliro
// transactions, for seeds.
func aliroSeedTransactions() []*testvec.AliroTransaction {
	var out []*testvec.AliroTransaction
	for _, load := range []func() (*testvec.AliroTransaction, error){
		testvec.AliroSpecStandard, testvec.AliroSpecFast, testvec.AliroSpecStandardCertificate, testvec.AliroNXPFast,
	} {
		if v, err := load(); err == nil {
			out = append(out, v)
		}
	}
	if x, err := testvec.AliroXCheck(); err == nil {
		out = append(out, &x.Standard, &x.Fast)
	}
	return out
}

// commandData returns the data field of a command APDU, nil if it is none.
func commandData(apdu []byte) []byte {
	cmd, err := transport.ParseCommand(apdu)
	if err != nil {
		return nil
	}
	return cmd.Data
}

// responseData returns a response APDU without its status word.
func responseData(resp []byte) []byte {
	if len(resp) < 2 {
		return nil
	}
	return resp[:len(resp)-2]
}

// FuzzAliroSelectResponse feeds arbitrary SELECT response data to the
// reader's FCI parser: what it accepts has a version, an A5 data object
// that is part of the input, and re-encodes to an FCI that parses to the
// same versions and limits.
func FuzzAliroSelectResponse(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		f.Add(responseData(v.SelectResponse))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m aliroFCI
		if !m.unmarshal(data) {
			return
		}
		if m.versions.Len() == 0 || len(m.a5) < 2 || m.a5[0] != byte(aliroTagProprietary) || !bytes.Contains(data, m.a5) {
			t.Fatalf("FCI %x parsed to %+v", data, m)
		}
		enc, _, _ := appendAliroFCI(nil, m.versions, m.maxCommand, m.maxResponse)
		var again aliroFCI
		if !again.unmarshal(enc) || again.versions != m.versions || again.maxCommand != m.maxCommand || again.maxResponse != m.maxResponse {
			t.Fatalf("FCI %x re-encodes as %x, which parses differently", data, enc)
		}
	})
}

// FuzzAliroAuth0 feeds arbitrary AUTH0 command data to the device's
// parser.
func FuzzAliroAuth0(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		f.Add(commandData(v.Auth0Command))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fixedPoint(t, "AUTH0", data, (*aliroAuth0).unmarshal, (*aliroAuth0).append)
	})
}

// FuzzAliroAuth0Response feeds arbitrary AUTH0 response data to the
// reader's parser.
func FuzzAliroAuth0Response(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		f.Add(responseData(v.Auth0Response))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fixedPoint(t, "AUTH0 response", data, (*aliroAuth0Response).unmarshal, (*aliroAuth0Response).append)
	})
}

// FuzzAliroAuth1 feeds arbitrary AUTH1 command data (with the lenient
// certificate length) to the device's parser.
func FuzzAliroAuth1(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		f.Add(commandData(v.Auth1Command))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m aliroAuth1
		if m.unmarshal(data) && len(m.cert) > MaxAliroCertificate {
			t.Fatalf("certificate of %d bytes accepted", len(m.cert))
		}
		fixedPoint(t, "AUTH1", data, (*aliroAuth1).unmarshal, (*aliroAuth1).append)
	})
}

// FuzzAliroAuth1Response feeds arbitrary AUTH1 response plaintexts to the
// reader's parser, in both identifications (key slot, public key).
func FuzzAliroAuth1Response(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		if v.Auth1Plaintext != nil {
			f.Add([]byte(v.Auth1Plaintext), v.Auth1Plaintext[0] == byte(aliroTagPublicKey))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, publicKey bool) {
		var m aliroAuth1Response
		if !m.unmarshal(data, publicKey) {
			return
		}
		if len(m.subset) > MaxAliroMailboxSubset {
			t.Fatalf("mailbox subset of %d bytes accepted", len(m.subset))
		}
		enc := m.append(nil)
		var again aliroAuth1Response
		if !again.unmarshal(enc, publicKey) || !bytes.Equal(again.append(nil), enc) {
			t.Fatalf("AUTH1 plaintext %x re-encodes as %x, not a fixed point", data, enc)
		}
	})
}

// FuzzAliroCryptogramPayload feeds arbitrary cryptogram plaintexts to the
// reader's parser.
func FuzzAliroCryptogramPayload(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		if v.CryptogramPlaintext != nil {
			f.Add([]byte(v.CryptogramPlaintext))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var st AliroStatus
		if !parseAliroPayload(data, &st) {
			return
		}
		enc := appendAliroPayload(nil, &st)
		var again AliroStatus
		if !parseAliroPayload(enc, &again) || again != st {
			t.Fatalf("cryptogram plaintext %x re-encodes as %x, which parses differently", data, enc)
		}
	})
}

// FuzzAliroCertificate feeds arbitrary compressed reader certificates to
// ParseAliroCertificate.
func FuzzAliroCertificate(f *testing.F) {
	if c, err := testvec.AliroSpecCertificates(); err == nil {
		for _, d := range c.Demos {
			f.Add([]byte(d.Compressed))
		}
	}
	for _, v := range aliroSeedTransactions() {
		if v.ReaderCertificate != nil {
			f.Add([]byte(v.ReaderCertificate))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseAliroCertificate(data)
		if err != nil {
			return
		}
		enc := c.Append(nil)
		again, err := ParseAliroCertificate(enc)
		if err != nil || !bytes.Equal(again.Append(nil), enc) {
			t.Fatalf("certificate %x re-encodes as %x, not a fixed point (%v)", data, enc, err)
		}
	})
}

// FuzzAliroExchange feeds arbitrary EXCHANGE plaintexts to the device's
// parser: what it accepts is within the limits and re-encodes to a fixed
// point.
func FuzzAliroExchange(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		for _, x := range v.Exchanges {
			f.Add([]byte(x.CommandPlaintext))
		}
	}
	seed, _ := (&AliroExchange{Mailbox: true, Atomic: true, Ops: []AliroMailboxOp{
		{Kind: OpRead, Offset: 1, Length: 2}, {Kind: OpWrite, Offset: 3, Data: []byte("ab")}, {Kind: OpFill, Length: 4, Value: 9},
	}, Notify: []byte{0x82, 0x00}, HasStatus: true, URSK: true, UpdateDocument: []byte{1}}).append(nil)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var x AliroExchange
		var ops [MaxAliroMailboxOps]AliroMailboxOp
		if !parseAliroExchange(&x, &ops, data) {
			return
		}
		enc, err := x.append(nil)
		if err != nil {
			t.Fatalf("accepted EXCHANGE %x does not re-encode: %v", data, err)
		}
		var y AliroExchange
		var ops2 [MaxAliroMailboxOps]AliroMailboxOp
		if !parseAliroExchange(&y, &ops2, enc) {
			t.Fatalf("EXCHANGE %x re-encodes as %x, which is refused", data, enc)
		}
		if again, _ := y.append(nil); !bytes.Equal(again, enc) {
			t.Fatalf("EXCHANGE %x: %x is not a fixed point", data, enc)
		}
	})
}

// FuzzAliroExchangeResponse feeds arbitrary EXCHANGE response plaintexts to
// the reader's parser: the reads it yields and the status re-encode to the
// input.
func FuzzAliroExchangeResponse(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		for _, x := range v.Exchanges {
			f.Add([]byte(x.ResponsePlaintext))
		}
	}
	f.Add(append(AppendAliroReadResult(AppendAliroReadResult(nil, []byte("abc")), nil), 0, 2, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		reads, status, ok := parseAliroExchangeResponse(data)
		if !ok {
			return
		}
		var enc []byte
		for r, more := reads.Next(); more; r, more = reads.Next() {
			enc = AppendAliroReadResult(enc, r)
		}
		enc = append(enc, 0, 2, byte(status>>8), byte(status))
		if !bytes.Equal(enc, data) {
			t.Fatalf("EXCHANGE response %x re-encodes as %x", data, enc)
		}
	})
}

// FuzzAliroControlFlow feeds arbitrary CONTROL FLOW data to the device's
// parser.
func FuzzAliroControlFlow(f *testing.F) {
	f.Add([]byte{0x41, 0x01, 0x00, 0x42, 0x01, 0x27})
	f.Add([]byte{0x41, 0x01, 0x00, 0x42, 0x01, 0x00, 0x63, 0x04, 0xB5, 0x02, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		fixedPoint(t, "CONTROL FLOW", data, (*AliroControlFlow).unmarshal, (*AliroControlFlow).append)
	})
}

// FuzzAliroEndpointSession drives a device holding a credential and a
// Kpersistent with arbitrary command sequences (split on a marker byte): it
// never panics, every answer is a response APDU, and the Kpersistent
// changes only through an AUTH1 signed by the reader, which the fuzzer
// cannot forge.
func FuzzAliroEndpointSession(f *testing.F) {
	tr, te, cred := aliroPair(f)
	if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		f.Fatal(err)
	}
	id := tr.r.ID()
	keep := te.persist[id]
	sel := encode(f, tr.s.Select())
	_ = tr.s.Start(AliroPolicyUserDevice, true)
	r, _ := tr.do(tr.s.Select())
	_ = tr.s.ReadSelect(r)
	a0, _ := tr.s.Auth0()
	a0APDU := encode(f, a0)
	auth1 := append([]byte{0x80, 0x81, 0, 0, 0x45, 0x41, 0x01, 0x01, 0x9E, 0x40}, bytes.Repeat([]byte{0x11}, 64)...)
	exchange := append([]byte{0x80, 0xC9, 0, 0, 0x14}, bytes.Repeat([]byte{0x22}, 20)...)
	sep := []byte{0xFE, 0xED}
	f.Add(bytes.Join([][]byte{sel, a0APDU, append(auth1, 0x00), {0x80, 0x3C, 0, 0, 6, 0x41, 1, 0, 0x42, 1, 0}}, sep))
	f.Add(bytes.Join([][]byte{sel, a0APDU, exchange}, sep))
	f.Add(bytes.Join([][]byte{sel, a0APDU, {0x80, 0xD1, 0, 0, 2, 0x30, 0}}, sep))
	f.Fuzz(func(t *testing.T, script []byte) {
		te.persist[id] = keep
		te.s.Deselect()
		for _, apdu := range bytes.Split(script, sep) {
			resp := te.ProcessAPDU(nil, apdu)
			if _, err := transport.ParseResponse(resp); err != nil {
				t.Fatalf("response %x to %x is not an APDU response", resp, apdu)
			}
			if got := te.persist[id]; !keep.Equal(&got) {
				t.Fatalf("Kpersistent changed by forged input %x", apdu)
			}
		}
	})
}

// FuzzAliroReaderSession feeds arbitrary SELECT and AUTH0 responses to a
// reader session: it never panics and never reports a fast match, which
// needs the Kpersistent the fuzzer does not have.
func FuzzAliroReaderSession(f *testing.F) {
	for _, v := range aliroSeedTransactions() {
		f.Add([]byte(v.SelectResponse), []byte(v.Auth0Response))
	}
	tr := newAliroTestReader(f, &AliroReaderConfig{})
	k, _ := NewPersistentKey(bytes.Repeat([]byte{7}, 32))
	keys := []FastKey{NewFastKey(tr.r.PublicKey(), &k)}
	f.Fuzz(func(t *testing.T, sel, auth0 []byte) {
		s := tr.s
		if err := s.Start(AliroPolicyUserDevice, true); err != nil {
			t.Fatal(err)
		}
		r, err := transport.ParseResponse(sel)
		if err != nil || s.ReadSelect(r) != nil {
			return
		}
		if _, err := s.Auth0(); err != nil {
			t.Fatal(err)
		}
		if r, err = transport.ParseResponse(auth0); err != nil || s.ReadAuth0(r) != nil {
			return
		}
		if s.FindFast(keys) != -1 {
			t.Fatalf("fast match from forged responses")
		}
	})
}
