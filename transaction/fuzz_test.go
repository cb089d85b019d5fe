package transaction

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/testvec"
	"github.com/opencarkey/sdk/transport"
)

// FuzzAuth0 feeds arbitrary AUTH0 data to the endpoint parser: it never
// panics, and what it accepts re-encodes to the input.
func FuzzAuth0(f *testing.F) {
	if v, err := testvec.HomeKeyReaderAuth(); err == nil {
		if cmd, err := transport.ParseCommand(v.Auth0Command); err == nil {
			f.Add(cmd.Data, true)
		}
	}
	tv, _ := pair(f, dkey.CCC)
	_ = tv.s.Start(dkey.ActionUnlock, 0)
	tv.s.t.version = dkey.Version1
	tv.s.stage = stageSelected
	cmd, _ := tv.s.Auth0()
	f.Add(bytes.Clone(cmd.Data), false)
	f.Fuzz(func(t *testing.T, data []byte, homeKey bool) {
		p := dkey.CCC
		if homeKey {
			p = dkey.HomeKey
		}
		var m auth0
		if !m.unmarshal(data, p.VehicleIDLen()) {
			return
		}
		if got := m.append(nil); !bytes.Equal(got, data) {
			t.Fatalf("AUTH0 %x re-encodes as %x", data, got)
		}
	})
}

// FuzzAuth0Response feeds arbitrary AUTH0 response data to the vehicle
// parser.
func FuzzAuth0Response(f *testing.F) {
	if v, err := testvec.HomeKeyReaderAuth(); err == nil {
		f.Add([]byte(v.Auth0Response[:len(v.Auth0Response)-2]))
	}
	f.Add(append([]byte{0x86, 0x41, 0x04}, make([]byte, 64)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m auth0Response
		if !m.unmarshal(data) {
			return
		}
		if got := m.append(nil); !bytes.Equal(got, data) {
			t.Fatalf("AUTH0 response %x re-encodes as %x", data, got)
		}
	})
}

// FuzzAuth1Response feeds arbitrary AUTH1 plaintexts to the vehicle parser.
func FuzzAuth1Response(f *testing.F) {
	if v, err := testvec.HomeKeyStandard(); err == nil {
		f.Add([]byte(v.Auth1ResponsePlaintext))
	}
	m := auth1Response{confidential: []byte("token"), private: []byte{1}}
	m.slot, _ = dkey.NewKeySlot([]byte{1, 2, 3})
	f.Add(m.append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m auth1Response
		if !m.unmarshal(data) {
			return
		}
		if got := m.append(nil); !bytes.Equal(got, data) {
			t.Fatalf("AUTH1 plaintext %x re-encodes as %x", data, got)
		}
	})
}

// FuzzExchangeOps feeds arbitrary EXCHANGE plaintexts to the endpoint parser:
// what it accepts is within bounds and re-encodes to the input.
func FuzzExchangeOps(f *testing.F) {
	enc, _ := appendOps(nil, []MailboxOp{
		{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Offset: 1, Length: 2},
		{Kind: OpWrite, Mailbox: dkey.ConfidentialMailbox, Offset: 3, Data: []byte("abc")},
		{Kind: OpFill, Mailbox: dkey.PrivateMailbox, Length: 4, Value: 9},
	})
	f.Add(enc)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ops [MaxExchangeOps]MailboxOp
		n, err := parseOps(&ops, data)
		if err != nil {
			return
		}
		for i := range ops[:n] {
			if err := ops[i].Check(dkey.MaxMailboxSize); err != nil {
				t.Fatalf("parsed op %+v fails Check: %v", ops[i], err)
			}
		}
		got, err := appendOps(nil, ops[:n])
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("ops %x re-encode as %x, %v", data, got, err)
		}
	})
}

// FuzzEndpointSession drives an endpoint session that holds Kpersistent with
// arbitrary command sequences (split on a marker byte): it never panics, the
// credential's Kpersistent changes only through a valid AUTH1, which the
// fuzzer cannot forge, and every answer is a well-formed response APDU.
func FuzzEndpointSession(f *testing.F) {
	tv, te := pair(f, dkey.CCC)
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		f.Fatal(err)
	}
	sel := tv.s.Select()
	selAPDU, _ := sel.Append(nil)
	_ = tv.auth0(dkey.ActionUnlock, FlagFast)
	a0, _ := tv.s.Auth0()
	tv.s.stage = stageSelected
	a0APDU, _ := a0.Append(nil)
	auth1 := append([]byte{0x80, 0x81, 0, 0, 0x42, 0x9E, 0x40}, bytes.Repeat([]byte{0x11}, 64)...)
	f.Add(bytes.Join([][]byte{selAPDU, a0APDU, append(auth1, 0x00), {0x80, 0x3C, 1, 0}}, []byte{0xFE, 0xED}))
	f.Add(bytes.Join([][]byte{selAPDU, a0APDU, {0x84, 0xC9, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}}, []byte{0xFE, 0xED}))
	keep := te.cred.Persistent
	f.Fuzz(func(t *testing.T, script []byte) {
		te.cred.Persistent = keep
		te.s.Deselect()
		for _, apdu := range bytes.Split(script, []byte{0xFE, 0xED}) {
			resp := te.ProcessAPDU(nil, apdu)
			if _, err := transport.ParseResponse(resp); err != nil {
				t.Fatalf("response %x to %x is not an APDU response", resp, apdu)
			}
			if !keep.Equal(&te.cred.Persistent) {
				t.Fatalf("Kpersistent changed by forged input %x", apdu)
			}
		}
	})
}

// FuzzSelectResponse feeds arbitrary SELECT response data to the vehicle
// parser: what it accepts re-encodes to the input.
func FuzzSelectResponse(f *testing.F) {
	f.Add([]byte{0x5C, 0x04, 0x02, 0x00, 0x01, 0x00})
	f.Add([]byte{0x5C, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseSelectResponse(data)
		if err != nil {
			return
		}
		if got := appendSelectResponse(nil, l); !bytes.Equal(got, data) {
			t.Fatalf("SELECT response %x re-encodes as %x", data, got)
		}
	})
}

// FuzzReadResults feeds arbitrary EXCHANGE response plaintexts to the
// read-results iterator: it never panics, and the results it yields
// re-encode to the consumed input.
func FuzzReadResults(f *testing.F) {
	f.Add(AppendReadResult(AppendReadResult(nil, []byte("abc")), bytes.Repeat([]byte{1}, 200)))
	f.Add([]byte{0x53, 0x81, 0x7F})
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := NewReadResults(data)
		var re []byte
		for {
			d, ok := rr.Next()
			if !ok {
				break
			}
			re = AppendReadResult(re, d)
		}
		if rr.Done() && !bytes.Equal(re, data) {
			t.Fatalf("read results %x re-encode as %x", data, re)
		}
		if !rr.Done() && !bytes.HasPrefix(data, re) {
			t.Fatalf("consumed results %x are not a prefix of %x", re, data)
		}
	})
}
