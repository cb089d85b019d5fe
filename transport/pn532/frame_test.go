package pn532_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport/pn532"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Frames quoted by public sources, independent of this package.
var knownFrames = []struct {
	name string
	hex  string
	want pn532.Frame
}{
	// GetFirmwareVersion and its answer for a PN532 1.6 (UM0701-02 §7.2.2;
	// the answer header 00 FF 06 FA D5 03 is what Adafruit's and Espressif
	// drivers compare against, pn532response_firmwarevers).
	{"GetFirmwareVersion", "0000ff02fed4022a00", pn532.Frame{Kind: pn532.Information, TFI: 0xD4, Data: []byte{0x02}}},
	{"firmware 1.6", "0000ff06fad50332010607e800", pn532.Frame{Kind: pn532.Information, TFI: 0xD5, Data: []byte{0x03, 0x32, 0x01, 0x06, 0x07}}},
	// ACK, NACK and error frames (UM0701-02 §6.2.1.3-5, libnfc pn53x.c).
	{"ACK", "0000ff00ff00", pn532.Frame{Kind: pn532.ACK}},
	{"NACK", "0000ffff0000", pn532.Frame{Kind: pn532.NACK}},
	{"error", "0000ff01ff7f8100", pn532.Frame{Kind: pn532.ErrorFrame}},
}

func TestParseKnownFrames(t *testing.T) {
	for _, tt := range knownFrames {
		b := mustHex(t, tt.hex)
		f, err := pn532.ParseFrame(b)
		if err != nil {
			t.Errorf("%s: ParseFrame(%X) = %v", tt.name, b, err)
			continue
		}
		if f.Kind != tt.want.Kind || f.TFI != tt.want.TFI || !bytes.Equal(f.Data, tt.want.Data) || f.Extended {
			t.Errorf("%s: ParseFrame(%X) = %+v, want %+v", tt.name, b, f, tt.want)
		}
		got, err := f.Append(nil)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: Append = %X, %v; want %X", tt.name, got, err, b)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 100, pn532.MaxNormalData, pn532.MaxNormalData + 1, pn532.MaxData} {
		for _, ext := range []bool{false, true} {
			if !ext && n > pn532.MaxNormalData {
				continue
			}
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			for _, tfi := range []byte{pn532.TFIHost, pn532.TFIController} {
				f := pn532.Frame{Kind: pn532.Information, Extended: ext, TFI: tfi, Data: data}
				b, err := f.Append(nil)
				if err != nil {
					t.Fatalf("Append(%d bytes, extended %v) = %v", n, ext, err)
				}
				g, err := pn532.ParseFrame(b)
				if err != nil || g.Extended != ext || g.TFI != tfi || !bytes.Equal(g.Data, data) {
					t.Errorf("ParseFrame(Append(%d bytes, extended %v)) = %+v, %v", n, ext, g.Kind, err)
				}
				// No strict prefix parses.
				for i := range len(b) {
					if _, err := pn532.ParseFrame(b[:i]); err == nil {
						t.Fatalf("ParseFrame(prefix of %d of %d bytes) succeeded", i, len(b))
					}
				}
			}
		}
	}
	// AppendFrame picks the extended frame only when it must.
	for _, n := range []int{pn532.MaxNormalData, pn532.MaxNormalData + 1} {
		b, _ := pn532.AppendFrame(nil, pn532.TFIHost, make([]byte, n))
		if ext := b[3] == 0xFF && b[4] == 0xFF; ext != (n > pn532.MaxNormalData) {
			t.Errorf("AppendFrame(%d bytes) extended = %v", n, ext)
		}
	}
}

func TestFrameErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		hex  string
		want error
	}{
		{"bad length checksum", "0000ff02fdd4022a00", pn532.ErrChecksum},
		{"bad data checksum", "0000ff02fed4022b00", pn532.ErrChecksum},
		{"bad extended length checksum", "0000ffffff0002fdd4022a00", pn532.ErrChecksum},
		{"extended length beyond 265", "0000ffffff010af5d4", pn532.ErrFrameTooLong},
		{"zero length", "0000ff0000", pn532.ErrMalformedFrame},
		{"TFI without command code", "0000ff01ffd42c00", pn532.ErrMalformedFrame},
		{"unknown TFI", "0000ff02fe1102ed00", pn532.ErrMalformedFrame},
		{"no preamble", "00ff02fed4022a00", pn532.ErrMalformedFrame},
		{"no postamble", "0000ff02fed4022a", pn532.ErrMalformedFrame},
		{"bytes after the postamble", "0000ff02fed4022a0000", pn532.ErrMalformedFrame},
		{"noise before the start code", "00aa00ff02fed4022a00", pn532.ErrMalformedFrame},
		{"empty", "", pn532.ErrMalformedFrame},
	} {
		_, err := pn532.ParseFrame(mustHex(t, tt.hex))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseFrame(%s) = %v, want %v", tt.name, tt.hex, err, tt.want)
		}
	}
	if _, err := pn532.AppendFrame(nil, pn532.TFIHost, make([]byte, pn532.MaxData+1)); !errors.Is(err, pn532.ErrFrameTooLong) {
		t.Errorf("AppendFrame(%d bytes) = %v, want %v", pn532.MaxData+1, err, pn532.ErrFrameTooLong)
	}
	if _, err := (pn532.Frame{Kind: pn532.Information, TFI: pn532.TFIHost, Data: make([]byte, pn532.MaxNormalData+1)}).Append(nil); !errors.Is(err, pn532.ErrFrameTooLong) {
		t.Errorf("normal frame of %d bytes = %v, want %v", pn532.MaxNormalData+1, err, pn532.ErrFrameTooLong)
	}
	if _, err := pn532.AppendFrame(nil, pn532.TFIHost, nil); !errors.Is(err, pn532.ErrMalformedFrame) {
		t.Errorf("AppendFrame(no data) = %v, want %v", err, pn532.ErrMalformedFrame)
	}
	if _, err := (pn532.Frame{}).Append(nil); !errors.Is(err, pn532.ErrMalformedFrame) {
		t.Errorf("Frame{}.Append = %v, want %v", err, pn532.ErrMalformedFrame)
	}
}

// TestScanFrameStream feeds a stream byte by byte: the wake-up bytes, noise,
// a corrupted frame and good ones, and checks what comes out.
func TestScanFrameStream(t *testing.T) {
	var stream []byte
	stream = append(stream, 0x55, 0x55, 0x00, 0x00, 0x00, 0x13, 0x37)
	stream = pn532.AppendACK(stream)
	bad, _ := pn532.AppendFrame(nil, pn532.TFIController, []byte{0x03, 1, 2, 3, 4})
	bad[len(bad)-2] ^= 0xFF
	stream = append(stream, bad...)
	stream, _ = pn532.AppendFrame(stream, pn532.TFIController, []byte{0x03, 0x32, 0x01, 0x06, 0x07})
	stream, _ = pn532.AppendFrame(stream, pn532.TFIController, make([]byte, 260))
	stream = append(stream, 0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00)
	stream = pn532.AppendNACK(stream)

	var kinds []pn532.FrameKind
	var checksumErrors int
	var buf []byte
	for _, c := range stream {
		buf = append(buf, c)
		for {
			f, n, err := pn532.ScanFrame(buf)
			buf = buf[n:]
			if err != nil {
				if !errors.Is(err, pn532.ErrChecksum) {
					t.Fatalf("ScanFrame = %v", err)
				}
				checksumErrors++
				continue
			}
			if f.Kind == 0 {
				break
			}
			kinds = append(kinds, f.Kind)
		}
	}
	want := []pn532.FrameKind{pn532.ACK, pn532.Information, pn532.Information, pn532.ErrorFrame, pn532.NACK}
	if len(kinds) != len(want) || checksumErrors != 1 {
		t.Fatalf("frames %v and %d checksum errors, want %v and 1", kinds, checksumErrors, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Errorf("frame %d: %v, want %v", i, kinds[i], want[i])
		}
	}
	if len(buf) > 1 {
		t.Errorf("%d bytes left", len(buf))
	}
}

func TestFrameKindString(t *testing.T) {
	for k, want := range map[pn532.FrameKind]string{pn532.Information: "information", pn532.ACK: "ACK", pn532.NACK: "NACK", pn532.ErrorFrame: "error", 9: "FrameKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("FrameKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestFrameAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	data := make([]byte, 200)
	buf := make([]byte, 0, pn532.MaxFrameLen)
	frame, _ := pn532.AppendFrame(nil, pn532.TFIController, data)
	if n := testing.AllocsPerRun(100, func() {
		pn532.AppendFrame(buf[:0], pn532.TFIHost, data)
		pn532.ScanFrame(frame)
	}); n > 0 {
		t.Errorf("AppendFrame and ScanFrame allocated %v times, want 0", n)
	}
}

func BenchmarkFrame(b *testing.B) {
	data := make([]byte, 200)
	buf := make([]byte, 0, pn532.MaxFrameLen)
	frame, _ := pn532.AppendFrame(nil, pn532.TFIController, data)
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pn532.AppendFrame(buf[:0], pn532.TFIHost, data)
		}
	})
	b.Run("Scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pn532.ScanFrame(frame)
		}
	})
}

func FuzzScanFrame(f *testing.F) {
	for _, k := range knownFrames {
		f.Add(mustHex(f, k.hex))
	}
	ext, _ := pn532.AppendFrame(nil, pn532.TFIController, make([]byte, 260))
	f.Add(ext)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := pn532.ScanFrame(b)
		if n < 0 || n > len(b) {
			t.Fatalf("ScanFrame consumed %d of %d bytes", n, len(b))
		}
		if err != nil {
			if !errors.Is(err, pn532.ErrChecksum) && !errors.Is(err, pn532.ErrFrameTooLong) && !errors.Is(err, pn532.ErrMalformedFrame) {
				t.Fatalf("ScanFrame error %v of no documented kind", err)
			}
			if n == 0 {
				t.Fatal("ScanFrame returned an error without consuming the bad header")
			}
			return
		}
		if fr.Kind == pn532.Information && (len(fr.Data) == 0 || len(fr.Data) > pn532.MaxData) {
			t.Fatalf("information frame with %d data bytes", len(fr.Data))
		}
		// ParseFrame accepts exactly what Append writes.
		if p, err := pn532.ParseFrame(b); err == nil {
			out, err := p.Append(nil)
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("Append(ParseFrame(%X)) = %X, %v", b, out, err)
			}
		}
	})
}
