package transaction

import (
	"bytes"
	"crypto/sha1"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/internal/testvec"
	"github.com/opencarkey/sdk/transport"
)

// hkTranscript builds the transcript of a Home Key vector.
func hkTranscript(t *testing.T, v *testvec.HomeKeyTransaction) *transcript {
	t.Helper()
	versions, err := dkey.ParseVersionList(v.EndpointVersions)
	if err != nil {
		t.Fatal(err)
	}
	tr := &transcript{
		profile: dkey.HomeKey, iface: v.Interface[0], flags: Flags(v.Flags[0]), action: dkey.Action(v.Flags[1]),
		version: dkey.Version(uint16(v.ProtocolVersion[0])<<8 | uint16(v.ProtocolVersion[1])), endpointVersions: versions,
	}
	copy(tr.vehicleEPKX[:], v.ReaderEphemeralPublicKey[1:33])
	copy(tr.endpointEPKX[:], v.EndpointEphemeralPublicKey[1:33])
	copy(tr.txID[:], v.TransactionIdentifier)
	return tr
}

// TestHomeKeyStandardKeySchedule checks the standard key schedule of
// docs/protocol.md §4.4 byte for byte against the homekey-go vector (provenance in
// internal/testvec/testdata/homekey/README.md).
func TestHomeKeyStandardKeySchedule(t *testing.T) {
	v, err := testvec.HomeKeyStandard()
	if err != nil {
		t.Fatal(err)
	}
	tr := hkTranscript(t, v)
	if got := tr.appendInfo(nil, labelVolatile); !bytes.Equal(got, v.InfoVolatile) {
		t.Errorf("Volatile info = %x, want %x", got, v.InfoVolatile)
	}
	if got := tr.appendInfo(nil, labelPersistent); !bytes.Equal(got, v.InfoPersistent) {
		t.Errorf("Persistent info = %x, want %x", got, v.InfoPersistent)
	}
	var ks keySchedule
	ks.init()
	z := [32]byte(v.SharedSecret)
	ks.deriveStandard(tr, &z)
	if !bytes.Equal(ks.kdh[:], v.Kdh) {
		t.Errorf("Kdh = %x, want %x", ks.kdh, v.Kdh)
	}
	if !bytes.Equal(ks.volatile[:volatileSize], v.Volatile) {
		t.Errorf("Volatile = %x, want %x", ks.volatile[:volatileSize], v.Volatile)
	}
	if !bytes.Equal(ks.persist[:], v.Persistent) {
		t.Errorf("Persistent = %x, want %x", ks.persist, v.Persistent)
	}
	if ks.urskOK {
		t.Errorf("Home Key derived a ranging key")
	}

	// The AUTH1 response: protected by the endpoint byte for byte, opened
	// and parsed by the vehicle.
	var keys securemsg.Keys
	ks.standardKeys(&keys)
	if !bytes.Equal(keys.Enc[:], v.Kenc) || !bytes.Equal(keys.MAC[:], v.Kmac) || !bytes.Equal(keys.RMAC[:], v.Krmac) {
		t.Fatalf("session keys = %x %x %x", keys.Enc, keys.MAC, keys.RMAC)
	}
	var m auth1Response
	if !m.unmarshal(v.Auth1ResponsePlaintext) {
		t.Fatalf("AUTH1 plaintext %x does not parse", v.Auth1ResponsePlaintext)
	}
	if got := m.append(nil); !bytes.Equal(got, v.Auth1ResponsePlaintext) {
		t.Errorf("AUTH1 plaintext re-encodes as %x", got)
	}
	rcv, err := securemsg.NewReceiver(&keys, securemsg.InitialResponse)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rcv.ProtectResponse(nil, m.append(nil))
	if err != nil || !bytes.Equal(got, v.Auth1ResponseData) {
		t.Errorf("protected AUTH1 response = %x, %v, want %x", got, err, v.Auth1ResponseData)
	}
	snd, err := securemsg.NewSender(&keys, securemsg.InitialResponse)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := snd.UnprotectResponse(nil, v.Auth1ResponseData)
	if err != nil || !bytes.Equal(plain, v.Auth1ResponsePlaintext) {
		t.Errorf("unprotected AUTH1 response = %x, %v", plain, err)
	}
}

// TestHomeKeyReaderSignature checks the vehicle's AUTH1 signed data against a
// signature that a real iPhone accepted (kormax km trace with the reader's
// private key), and that our session produces the same AUTH1 shape.
func TestHomeKeyReaderSignature(t *testing.T) {
	v, err := testvec.HomeKeyReaderAuth()
	if err != nil {
		t.Fatal(err)
	}
	vid, err := dkey.NewVehicleID(v.ReaderIdentifier)
	if err != nil {
		t.Fatal(err)
	}
	txID := [txIDSize]byte(v.TransactionIdentifier)
	signed := appendSignedData(nil, vid, v.EndpointEphemeralPublicKey[1:33], v.ReaderEphemeralPublicKey[1:33], &txID, &usageVehicle)
	if !bytes.Equal(signed, v.ReaderSignatureInput) {
		t.Errorf("signed data = %x, want %x", signed, v.ReaderSignatureInput)
	}
	reader, err := dkey.NewSoftwareKey(v.ReaderPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := dkey.ParseSignature(v.ReaderSignature)
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.PublicKey().Verify(signed, &sig); err != nil {
		t.Errorf("real reader signature does not verify over our signed data: %v", err)
	}
	// The endpoint usage constant must not verify the same signature.
	wrong := appendSignedData(nil, vid, v.EndpointEphemeralPublicKey[1:33], v.ReaderEphemeralPublicKey[1:33], &txID, &usageEndpoint)
	if reader.PublicKey().Verify(wrong, &sig) == nil {
		t.Errorf("reader signature verifies with the endpoint usage constant")
	}

	// The real AUTH0 command parses with our endpoint parser, and the real
	// AUTH0 response with our vehicle parser.
	s, _ := NewEndpointSession(&EndpointConfig{Profile: dkey.HomeKey})
	s.Select(nil)
	cmd, err := transport.ParseCommand(v.Auth0Command)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAuth0(&cmd)
	if err != nil || got != vid || s.Flags() != FlagFast || s.Action() != dkey.ActionUnlock {
		t.Errorf("ReadAuth0(real AUTH0) = %v, %v (flags %v action %v)", got, err, s.Flags(), s.Action())
	}
	r, err := transport.ParseResponse(v.Auth0Response)
	if err != nil {
		t.Fatal(err)
	}
	var m auth0Response
	if !m.unmarshal(r.Data) || !m.hasCryptogram || !bytes.Equal(m.cryptogram[:], v.Cryptogram) {
		t.Errorf("real AUTH0 response does not parse: %x", r.Data)
	}
	// Our AUTH0 command for the same values is the real one, byte for byte.
	a := auth0{version: dkey.Version2, vehicleEPK: [65]byte(v.ReaderEphemeralPublicKey), txID: txID, vehicleID: vid}
	ours, err := (&transport.Command{CLA: claDK, INS: insAuth0, P1: byte(FlagFast), P2: byte(dkey.ActionUnlock), Data: a.append(nil), Ne: responseNe}).Append(nil)
	if err != nil || !bytes.Equal(ours, v.Auth0Command) {
		t.Errorf("AUTH0 = %x, want %x", ours, v.Auth0Command)
	}
	// And the AUTH1 command.
	ours, err = (&transport.Command{CLA: claDK, INS: insAuth1, Data: append([]byte{0x9E, 0x40}, sig[:]...), Ne: responseNe}).Append(nil)
	if err != nil || !bytes.Equal(ours, v.Auth1Command) {
		t.Errorf("AUTH1 = %x, want %x", ours, v.Auth1Command)
	}
	// The SELECT of a Home Key session is the real one.
	tv := newTestVehicle(t, dkey.HomeKey)
	selCmd := tv.s.Select()
	sel, _ := selCmd.Append(nil)
	if !bytes.Equal(sel, v.SelectCommand) {
		t.Errorf("SELECT = %x, want %x", sel, v.SelectCommand)
	}
	versions, err := parseSelectResponse(v.SelectResponse[:len(v.SelectResponse)-2])
	if err != nil || versions != dkey.HomeKey.Versions() {
		t.Errorf("real SELECT response = %v, %v", versions, err)
	}
}

// TestHomeKeyWatchEndpointSignature checks the endpoint's signed data and key
// slot rule against a real Apple Watch transaction.
func TestHomeKeyWatchEndpointSignature(t *testing.T) {
	v, err := testvec.HomeKeyWatchStandard()
	if err != nil {
		t.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID(v.ReaderIdentifier)
	txID := [txIDSize]byte(v.TransactionIdentifier)
	signed := appendSignedData(nil, vid, v.EndpointEphemeralX, v.ReaderEphemeralX, &txID, &usageEndpoint)
	if !bytes.Equal(signed, v.EndpointSignatureInput) {
		t.Errorf("endpoint signed data = %x, want %x", signed, v.EndpointSignatureInput)
	}
	pub, err := dkey.ParsePublicKey(v.EndpointPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var m auth1Response
	if !m.unmarshal(v.Auth1ResponsePlaintext) {
		t.Fatalf("real AUTH1 plaintext does not parse")
	}
	if err := pub.Verify(signed, &m.sig); err != nil {
		t.Errorf("real endpoint signature does not verify: %v", err)
	}
	h := sha1.Sum(v.EndpointPublicKey)
	if !m.slot.EqualBytes(h[:6]) || !m.slot.EqualBytes(v.EndpointIdentifier) {
		t.Errorf("slot %v is not SHA-1(endpoint key)[:6]", m.slot)
	}
}

// TestHomeKeyTraces runs the APDUs of real Home Key transactions through our
// parsers: every command parses as an APDU, every AUTH0 command parses with
// the endpoint parser, and every AUTH0 response with the vehicle parser.
func TestHomeKeyTraces(t *testing.T) {
	traces, err := testvec.HomeKeyTraces()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range traces {
		t.Run(tr.Name, func(t *testing.T) {
			for i, a := range tr.APDUs {
				cmd, err := transport.ParseCommand(a.Command)
				if err != nil {
					t.Fatalf("APDU %d: %v", i, err)
				}
				r, err := transport.ParseResponse(a.Response)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				switch {
				case cmd.CLA == claDK && cmd.INS == insAuth0:
					s, _ := NewEndpointSession(&EndpointConfig{Profile: dkey.HomeKey})
					s.Select(nil)
					if _, err := s.ReadAuth0(&cmd); err != nil {
						t.Errorf("AUTH0 %x: %v", a.Command, err)
					}
					var m auth0Response
					if !a.Redacted && !m.unmarshal(r.Data) {
						t.Errorf("AUTH0 response %x does not parse", r.Data)
					}
				case cmd.CLA == claDK && cmd.INS == insControl:
					s, _ := NewEndpointSession(&EndpointConfig{Profile: dkey.HomeKey})
					if _, err := s.ReadControlFlow(&cmd); err != nil {
						t.Errorf("CONTROL FLOW %x: %v", a.Command, err)
					}
				}
			}
		})
	}
}
