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
	want := `provisioned one owner key
unlock       standard owner key, protocol 1.0, control flow 0100 (success)
unlock       fast     owner key, protocol 1.0, control flow 0100 (success)
engine start standard owner key, protocol 1.0, control flow 0100 (success)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
