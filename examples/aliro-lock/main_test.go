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
	want := `controller: SetAliroReaderConfig, group "ACME HQ doors   ", versions [0100], 64 endpoint keys
controller: SetCredential AliroNonEvictableEndpointKey 1 for Alice (user 1)
Mon 09:30 Alice    unlock standard granted, status 0101
Mon 09:30 Alice    unlock fast     granted, status 0101
Mon 09:30 Alice    lock   fast     granted, status 0100
controller: SetCredential AliroCredentialIssuerKey 1 for the building's issuer (user 2)
issuer: Bob's access document: unlock on weekdays 09:00-17:00 UTC, lock at any time
Mon 09:30 Bob      unlock step-up  granted, status 0101, key learned (AliroEvictableEndpointKey 1, user 2)
Mon 09:30 Bob      unlock fast     granted, status 0101
Mon 20:00 Bob      unlock fast     refused, status 0025
Mon 20:00 Bob      lock   fast     granted, status 0100
issuer: revokes Bob's key; Carol's phone carries the revocation document
Tue 10:00 Carol    unlock step-up  granted, status 0101, key learned (AliroEvictableEndpointKey 1, user 2), 1 revocation applied
Tue 10:00 Bob      unlock step-up  refused, status 0003
Tue 10:00 Alice    unlock fast     granted, status 0101
lock: 2 endpoint keys
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
