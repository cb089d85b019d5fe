package client

import "testing"

// TestRecent: the loop remembers the last recentSize commands it applied.
func TestRecent(t *testing.T) {
	var r recent
	id := func(i int) [16]byte { return [16]byte{byte(i), byte(i >> 8), 1} }
	for i := range recentSize + 10 {
		r.add(id(i))
		r.add(id(i)) // twice is once
	}
	for i := range 10 {
		if r.has(id(i)) {
			t.Errorf("id %d kept after %d later ones", i, recentSize)
		}
	}
	for i := 10; i < recentSize+10; i++ {
		if !r.has(id(i)) {
			t.Fatalf("id %d forgotten", i)
		}
	}
	if len(r.set) != recentSize {
		t.Errorf("%d ids remembered, want %d", len(r.set), recentSize)
	}
}
