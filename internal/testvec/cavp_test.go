package testvec

import "testing"

// The trimmed files hold two sections of 10 records (X9.63) and two of 40
// (KBKDF); a change in the parser that drops records must fail here.
func TestCAVPCounts(t *testing.T) {
	x, err := X963SHA256()
	if err != nil {
		t.Fatalf("X963SHA256() = %v", err)
	}
	if len(x) != 20 {
		t.Errorf("X963SHA256() returned %d vectors, want 20", len(x))
	}
	k, err := KBKDFCounterCMAC()
	if err != nil {
		t.Fatalf("KBKDFCounterCMAC() = %v", err)
	}
	perPRF := map[string]int{}
	for _, v := range k {
		perPRF[v.PRF]++
	}
	if len(k) != 80 || perPRF["CMAC_AES128"] != 40 || perPRF["CMAC_AES256"] != 40 {
		t.Errorf("KBKDFCounterCMAC() returned %d vectors %v, want 40 per PRF", len(k), perPRF)
	}
}
