package sharing_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/sharing"
)

func TestMailboxAreaRoundTrip(t *testing.T) {
	ka, term, rcpt := bytes.Repeat([]byte{0xA1}, 300), bytes.Repeat([]byte{0xB2}, 200), []byte{0xC3}
	for _, tt := range []struct {
		name    string
		entries []sharing.MailboxEntry
		signal  byte
	}{
		{"empty", nil, 0},
		{"one key attestation", []sharing.MailboxEntry{{Kind: sharing.KindKeyAttestation, Statement: ka}}, 0x08},
		{"all kinds", []sharing.MailboxEntry{
			{Kind: sharing.KindTermination, Statement: term},
			{Kind: sharing.KindKeyAttestation, Statement: ka},
			{Kind: sharing.KindTrackingReceipt, Statement: rcpt},
			{Kind: sharing.KindKeyAttestation, Statement: ka},
		}, 0xC8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := sharing.AppendMailboxArea([]byte("prefix"), tt.entries...)
			if err != nil {
				t.Fatal(err)
			}
			b = b[len("prefix"):]
			if b[0] != tt.signal {
				t.Errorf("signal %02x, want %02x", b[0], tt.signal)
			}
			n, err := sharing.ParseAreaHeader(b[:3])
			if err != nil || n != len(b)-3 {
				t.Fatalf("ParseAreaHeader(%x) = %d, %v; want %d", b[:3], n, err, len(b)-3)
			}
			// What follows the area in the mailbox is ignored.
			got, err := sharing.ParseMailbox(append(b, 0xEE, 0xEE))
			if err != nil {
				t.Fatalf("ParseMailbox: %v", err)
			}
			if diff := cmp.Diff(tt.entries, got, cmp.Comparer(bytes.Equal)); diff != "" && len(tt.entries)+len(got) > 0 {
				t.Errorf("ParseMailbox (-want +got):\n%s", diff)
			}
			for i := 3; i < len(b); i++ {
				if _, err := sharing.ParseMailbox(b[:i]); !errors.Is(err, sharing.ErrMalformed) {
					t.Fatalf("ParseMailbox of the %d-byte prefix = %v, want ErrMalformed", i, err)
				}
			}
		})
	}
}

func TestParseMailboxErrors(t *testing.T) {
	st := strings.Repeat("aa", 4)
	for _, tt := range []struct{ name, hex string }{
		{"short header", "0800"},
		{"signal without area", "080000"},
		{"area without signal", "000007" + "010004" + st},
		{"area of another owner's bits only", "050007" + "010004" + st},
		{"signal of another kind", "400007" + "010004" + st},
		{"signal missing a kind", "080014" + "010004" + st + "020004" + st + "0000000000"},
		{"kind 0", "080007" + "000004" + st},
		{"kind 4", "080007" + "040004" + st},
		{"empty statement", "080003" + "010000"},
		{"truncated entry header", "08000a" + "010004" + st + "0100"},
		{"truncated statement", "080007" + "010005" + st},
		{"statement above attest.MaxStatementSize", "080403" + "010401" + strings.Repeat("00", 1025)},
		{"area above MaxAreaSize", "082001"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sharing.ParseMailbox(b); !errors.Is(err, sharing.ErrMalformed) {
				t.Errorf("ParseMailbox(%x) = %v, want ErrMalformed", b, err)
			}
		})
	}
	many := make([]sharing.MailboxEntry, sharing.MaxAreaEntries+1)
	for i := range many {
		many[i] = sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: []byte{1}}
	}
	b, err := sharing.AppendMailboxArea(nil, many[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	b[2] += 4
	b = append(b, 2, 0, 1, 1)
	if _, err := sharing.ParseMailbox(b); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("ParseMailbox of %d entries = %v, want ErrMalformed", len(many), err)
	}
}

func TestAppendMailboxAreaErrors(t *testing.T) {
	big := make([]byte, 1000)
	nine := make([]sharing.MailboxEntry, 9)
	for i := range nine {
		nine[i] = sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: big}
	}
	for _, tt := range []struct {
		name    string
		entries []sharing.MailboxEntry
	}{
		{"unknown kind", []sharing.MailboxEntry{{Kind: 9, Statement: []byte{1}}}},
		{"empty statement", []sharing.MailboxEntry{{Kind: sharing.KindTermination}}},
		{"statement too long", []sharing.MailboxEntry{{Kind: sharing.KindTermination, Statement: make([]byte, 1025)}}},
		{"too many entries", make([]sharing.MailboxEntry, sharing.MaxAreaEntries+1)},
		{"area too long", nine},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sharing.AppendMailboxArea(nil, tt.entries...); !errors.Is(err, sharing.ErrMalformed) {
				t.Errorf("AppendMailboxArea = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestClearMailboxArea(t *testing.T) {
	area, err := sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: []byte{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	mb := append(area, 0x77, 0x77)
	mb[0] |= 0x05 // bits of others
	sharing.ClearMailboxArea(mb)
	if want := []byte{0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0x77, 0x77}; !bytes.Equal(mb, want) {
		t.Errorf("ClearMailboxArea = %x, want %x", mb, want)
	}
	// A length beyond the mailbox clears up to its end and no further.
	short := []byte{0x08, 0xFF, 0xFF, 1, 2}
	sharing.ClearMailboxArea(short)
	if !bytes.Equal(short, make([]byte, 5)) {
		t.Errorf("ClearMailboxArea(short) = %x", short)
	}
	sharing.ClearMailboxArea([]byte{0x08}) // too short: no panic, no change
}

func TestAppendMailboxEntry(t *testing.T) {
	area, err := sharing.AppendMailboxEntry([]byte{0, 0, 0}, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: []byte{7}})
	if err != nil {
		t.Fatal(err)
	}
	area, err = sharing.AppendMailboxEntry(area, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: []byte{8}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(area), "480008"+"02000107"+"01000108"; got != want {
		t.Errorf("area = %s, want %s", got, want)
	}
	if _, err := sharing.AppendMailboxEntry([]byte{8, 0, 0}, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: []byte{7}}); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("AppendMailboxEntry to a malformed area = %v", err)
	}
}

func TestFriendMailboxes(t *testing.T) {
	m := sharing.FriendMailboxes()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.PrivateSize < sharing.MinFriendPrivateMailbox || m.PrivateAuth1.Length != sharing.MinFriendPrivateMailbox || m.PrivateAuth1.End() > int(m.PrivateSize) {
		t.Errorf("FriendMailboxes() = %+v", m)
	}
}
