package spake2plus_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/opencarkey/sdk/internal/spake2plus"
)

// Owner pairing's SPAKE2+ in the CCC profile, both sides in one process.
func Example() {
	password := []byte("314159")
	salt := []byte("0123456789abcdef")
	params := spake2plus.DefaultScryptParams()

	// The vehicle OEM server derives the record and installs it in the
	// vehicle; the password goes to the owner.
	oem, err := spake2plus.DeriveCCCSecret(password, salt, params)
	if err != nil {
		log.Fatal(err)
	}
	record := oem.Record()
	oem.Zeroize()

	// Both sides bind the versions the vehicle offered.
	profile := spake2plus.CCC{ConfirmationInfo: []byte{0x5b, 0x02, 0x01, 0x00, 0x5c, 0x02, 0x01, 0x00}}

	// SPAKE2+ REQUEST: the device derives its secret with the vehicle's salt
	// and parameters and answers with X (tag 50).
	secret, err := spake2plus.DeriveCCCSecret(password, salt, params)
	if err != nil {
		log.Fatal(err)
	}
	device, err := spake2plus.NewProver(profile, secret)
	if err != nil {
		log.Fatal(err)
	}
	x := device.Share()

	// SPAKE2+ VERIFY: the vehicle sends Y (tag 52) and M1 (tag 57).
	vehicle, err := spake2plus.NewVerifier(profile, record, x)
	if err != nil {
		log.Fatal(err)
	}
	y, m1 := vehicle.Share(), vehicle.Confirmation()

	// The device checks M1 and answers with M2 (tag 58).
	m2, deviceSK, err := device.Finish(y, m1)
	if err != nil {
		log.Fatal(err)
	}
	vehicleSK, err := vehicle.Finish(m2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("X %d bytes, Y %d, M1 %d, M2 %d\n", len(x), len(y), len(m1), len(m2))
	fmt.Printf("SK %d bytes, same on both sides: %v\n", len(deviceSK), bytes.Equal(deviceSK, vehicleSK))
	// Output:
	// X 65 bytes, Y 65, M1 16, M2 16
	// SK 16 bytes, same on both sides: true
}

// A device with the wrong password fails at the vehicle's evidence, with the
// one opaque error.
func ExampleProver_Finish_wrongPassword() {
	salt := []byte("0123456789abcdef")
	params := spake2plus.ScryptParams{N: spake2plus.MinScryptN, R: 8, P: 1}
	oem, _ := spake2plus.DeriveCCCSecret([]byte("314159"), salt, params)
	guess, _ := spake2plus.DeriveCCCSecret([]byte("314158"), salt, params)

	device, _ := spake2plus.NewProver(spake2plus.CCC{}, guess)
	vehicle, err := spake2plus.NewVerifier(spake2plus.CCC{}, oem.Record(), device.Share())
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = device.Finish(vehicle.Share(), vehicle.Confirmation())
	fmt.Println(err)
	// Output: spake2plus: authentication failed
}

// SPAKE2+ exactly as RFC 9383, with its recommended identities and context.
func ExampleRFC9383() {
	pbkdfOutput := bytes.Repeat([]byte{0x42}, 80) // w0s ‖ w1s from the application's password hash
	secret, err := spake2plus.ProverSecretFromPBKDF(pbkdfOutput)
	if err != nil {
		log.Fatal(err)
	}
	profile := spake2plus.RFC9383{Context: []byte("example v1"), IDProver: []byte("alice"), IDVerifier: []byte("server")}

	prover, _ := spake2plus.NewProver(profile, secret)
	verifier, err := spake2plus.NewVerifier(profile, secret.Record(), prover.Share())
	if err != nil {
		log.Fatal(err)
	}
	confirmP, proverKey, err := prover.Finish(verifier.Share(), verifier.Confirmation())
	if err != nil {
		log.Fatal(err)
	}
	verifierKey, err := verifier.Finish(confirmP)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(proverKey), bytes.Equal(proverKey, verifierKey))
	// Output: 32 true
}
