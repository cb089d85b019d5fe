package sharing_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/sharing"
)

func TestCheckActivationCode(t *testing.T) {
	for _, tt := range []struct {
		code string
		ok   bool
	}{
		{"4711-0815", true},
		{"47110815", true},
		{"4711 0815", true},
		{"4711-081", false}, // 7 digits: 23.3 bits
		{"k7q2mx", true},    // 6 of 36: 31.0 bits
		{"k7q2m", false},    // 5 of 36: 25.8 bits
		{"K7Q-2MX", true},
		{"00000000", false},
		{"01234567", false},
		{"98765432", false},
		{"ABCDEFGH", false},
		{"zyxwvu", false},
		{"12121212", true},
		{"----------", false},
		{"", false},
		{"4711_0815", false},
		{"4711.0815", false},
		{"4711\x000815", false},
		{"४७११०८१५४७", false}, // Devanagari digits
		{strings.Repeat("47", sharing.MaxCodeLen/2), true},
		{strings.Repeat("47", sharing.MaxCodeLen/2) + "1", false},
	} {
		err := sharing.CheckActivationCode(tt.code)
		if tt.ok && err != nil {
			t.Errorf("CheckActivationCode(%q) = %v", tt.code, err)
		}
		if !tt.ok && !errors.Is(err, sharing.ErrInvalidCode) {
			t.Errorf("CheckActivationCode(%q) = %v, want ErrInvalidCode", tt.code, err)
		}
	}
}

// TestActivationCodeNormalized: separators and case do not change the code
// the answer is bound to.
func TestActivationCodeNormalized(t *testing.T) {
	k := mustRecipient(t)
	sealed, err := sharing.SealForTest(k.PublicKey(), sharing.PurposeToOwner, "k7q-2mx", make([]byte, 10))
	if err != nil {
		t.Fatal(err)
	}
	if sealed[1] != 0x01 {
		t.Errorf("flags %02x, want 01", sealed[1])
	}
	for _, code := range []string{"K7Q2MX", "k7q 2mx", "-K7Q-2MX-"} {
		if _, err := sharing.OpenForTest(k, sharing.PurposeToOwner, code, sealed); err != nil {
			t.Errorf("OpenForTest(%q) = %v", code, err)
		}
	}
	if _, err := sharing.OpenForTest(k, sharing.PurposeToOwner, "k7q2my", sealed); err != sharing.ErrDecrypt {
		t.Errorf("OpenForTest(wrong code) = %v, want ErrDecrypt", err)
	}
	if _, err := sharing.OpenForTest(k, sharing.PurposeToOwner, "", sealed); !errors.Is(err, sharing.ErrCodeRequired) {
		t.Errorf("OpenForTest(no code) = %v, want ErrCodeRequired", err)
	}
	// A flag in the wrong direction is refused before any decryption.
	inv, err := sharing.SealForTest(k.PublicKey(), sharing.PurposeInvitation, "k7q-2mx", make([]byte, 10))
	if err != nil {
		t.Fatal(err)
	}
	if inv[1] != 0x02 || len(inv) != 2+65+256+16 {
		t.Errorf("invitation flags %02x, %d bytes: want 02 and no salt", inv[1], len(inv))
	}
	for _, tt := range []struct {
		p      byte
		sealed []byte
	}{
		{sharing.PurposeInvitation, sealed},
		{sharing.PurposeToFriend, sealed},
		{sharing.PurposeToOwner, inv},
		{sharing.PurposeToFriend, inv},
	} {
		if _, err := sharing.OpenForTest(k, tt.p, "k7q-2mx", tt.sealed); !errors.Is(err, sharing.ErrMalformed) {
			t.Errorf("OpenForTest(purpose %d, flags %02x) = %v, want ErrMalformed", tt.p, tt.sealed[1], err)
		}
	}
	// The invitation does not depend on the code.
	for _, code := range []string{"k7q-2mx", "4711-0815"} {
		if _, err := sharing.OpenForTest(k, sharing.PurposeInvitation, code, inv); err != nil {
			t.Errorf("OpenForTest(invitation, %q) = %v", code, err)
		}
	}
}

// ExampleNewActivationCode draws a code for the owner to give the friend by
// another channel than the link.
func ExampleNewActivationCode() {
	code, err := sharing.NewActivationCode()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(code), code[4:5], sharing.CheckActivationCode(code))
	fmt.Println(sharing.CheckActivationCode("1234-5678"))
	// Output:
	// 9 - <nil>
	// sharing: invalid activation code: a repeated character or a run
}
