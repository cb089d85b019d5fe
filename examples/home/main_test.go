package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `home: one reader group, two locks (front door, back door); the front door trusts one issuer
phone: one key for the reader group, with its attestation document
front door unlock              attestation the phone's key, control flow 40A0 (long processing)
front door lock                fast        the phone's key, control flow 0100 (success)
front door user authentication standard    the phone's key, control flow 0100 (success)
front door enrolled the key by attestation: issuer is the member's true, fast next time true
back door: the home's controller enrolled the same key
back door  unlock              standard    the phone's key, control flow 0100 (success)
back door  unlock              fast        the phone's key, control flow 0100 (success)
back door  user authentication standard    the phone's key, control flow 0100 (success)
front door unlock              fast        the phone's key, control flow 0100 (success)
phone: one key, fast at 2 locks
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
