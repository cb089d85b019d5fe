package transaction_test

import (
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Example_aliro runs a standard Aliro transaction and then a fast one
// between the two sans-I/O sessions, moving the APDUs by hand: what the
// Aliro applet and reader will do over a real link.
func Example_aliro() {
	var id dkey.ReaderID
	copy(id.Group[:], "front-door group")
	copy(id.SubGroup[:], "front-door lock1")
	readerKey, _ := dkey.GenerateSoftwareKey()
	r, _ := transaction.NewAliroReader(&transaction.AliroReaderConfig{ReaderID: id, Key: readerKey})
	rs := r.NewSession()

	// The device holds an Access Credential bound to the reader's group.
	credKey, _ := dkey.GenerateSoftwareKey()
	cred := transaction.AliroCredential{Key: credKey, PublicKey: credKey.PublicKey(), ReaderKey: r.PublicKey()}
	es, _ := transaction.NewAliroEndpointSession(&transaction.AliroEndpointConfig{})

	// card answers one command the way an applet would.
	card := func(cmd transport.Command) transport.Response {
		var data []byte
		var err error
		switch cmd.INS {
		case 0xA4:
			data, err = es.Select(nil, &cmd)
		case 0x80:
			var req transaction.AliroAuth0Request
			if req, err = es.ReadAuth0(&cmd); err == nil && req.ReaderID.Group == id.Group {
				data, err = es.Auth0(nil, &cred)
			}
		case 0x81:
			var pk transaction.PersistentKey
			if data, pk, err = es.Auth1(nil, &cmd); err == nil {
				cred.Persistent = pk // stored for the reader's sub-group
			}
		case 0xC9:
			if _, err = es.OpenExchange(&cmd); err == nil {
				data, err = es.SealExchange(nil, nil)
			}
		}
		return transport.Response{Data: data, SW: transaction.StatusWordFor(err)}
	}
	done := &transaction.AliroExchange{HasStatus: true, Status: transaction.AliroStatusUnsecure}

	// Standard: SELECT, AUTH0, AUTH1, EXCHANGE with the final status.
	_ = rs.Start(transaction.AliroPolicyUserDevice, false)
	_ = rs.ReadSelect(card(rs.Select()))
	auth0, _ := rs.Auth0()
	_ = rs.ReadAuth0(card(auth0))
	auth1, _ := rs.Auth1()
	res, _ := rs.ReadAuth1(card(auth1))
	pk, err := rs.VerifyEndpoint(res.PublicKey) // after checking that the key is enrolled
	step := rs.StepUpKey()                      // for mdoc.AliroStepUpKeys
	x, _ := rs.Exchange(done)
	_, _ = rs.ReadExchange(card(x))
	fmt.Println("standard:", rs.Version(), err, pk.Equal(&cred.Persistent), step.Valid())

	// Fast: the cryptogram in the AUTH0 response names the credential.
	_ = rs.Start(transaction.AliroPolicyUserDevice, true)
	_ = rs.ReadSelect(card(rs.Select()))
	auth0, _ = rs.Auth0()
	_ = rs.ReadAuth0(card(auth0))
	i := rs.FindFast([]transaction.FastKey{transaction.NewFastKey(credKey.PublicKey(), &pk)})
	fast := rs.Fast()
	x, _ = rs.Exchange(done) // authenticates the reader to the device
	_, err = rs.ReadExchange(card(x))
	fmt.Println("fast:", i, fast, err)
	// Output:
	// standard: 1.0 <nil> true true
	// fast: 0 true <nil>
}
