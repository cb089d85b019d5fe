package ranging

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// TestPrintKeyScheduleValue: a KeySchedule prints its description, never a
// key, through a pointer or as a value copy (*ks), whatever the verb.
func TestPrintKeyScheduleValue(t *testing.T) {
	var ursk URSK
	for i := range ursk {
		ursk[i] = byte(0x3C + i)
	}
	ks, err := NewKeySchedule(&ursk, SaltProjectKDF)
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	mupsk1, mupsk2, mursk, salt := ks.MUPSK1(), ks.MUPSK2(), ks.MURSK(), ks.Salt()
	secrets := [][]byte{ursk[:], mupsk1[:], mupsk2[:], mursk[:], salt[:]}
	const want = "ranging.KeySchedule{profile: project-kdf, set up: false, closed: false}"
	for name, v := range map[string]any{"*KeySchedule": ks, "KeySchedule": *ks} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			got := fmt.Sprintf(verb, v)
			if got != want {
				t.Errorf("%s %s = %q, want %q", name, verb, got, want)
			}
			for _, s := range secrets {
				dec := strings.Trim(fmt.Sprint(s[:4]), "[]")
				if strings.Contains(strings.ToLower(got), hex.EncodeToString(s[:4])) || strings.Contains(got, dec) {
					t.Errorf("%s %s = %q shows key bytes", name, verb, got)
				}
			}
		}
	}
}
