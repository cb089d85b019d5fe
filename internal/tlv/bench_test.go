package tlv

import (
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

func BenchmarkAUTH0(b *testing.B) {
	payload := appendAUTH0(nil)
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		buf := make([]byte, 0, 128)
		for b.Loop() {
			buf = appendAUTH0(buf[:0])
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		var m auth0
		for b.Loop() {
			if !m.unmarshal(payload) {
				b.Fatal("unmarshal failed")
			}
		}
	})
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if err := Validate(payload, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAppendConstructed(b *testing.B) {
	value := pattern(300)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendConstructed(buf[:0], 0x7F4E, func(b []byte) []byte {
			return AppendTLV(b, 0xC5, value) // moves 304 bytes for the 82 form
		})
	}
}

func TestAUTH0Allocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	payload := appendAUTH0(nil)
	buf := make([]byte, 0, 128)
	var m auth0
	if n := testing.AllocsPerRun(100, func() { buf = appendAUTH0(buf[:0]) }); n > 0 {
		t.Errorf("building AUTH0 allocated %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { m.unmarshal(payload) }); n > 0 {
		t.Errorf("parsing AUTH0 allocated %v times, want 0", n)
	}
}
