package keylog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/internal/redacttest"
)

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// sample is a log with one entry of every label.
func sample() []byte {
	var b []byte
	b = append(b, "# a comment\n\n"...)
	for l := Label(1); l <= maxLabel; l++ {
		b = AppendLine(b, l, seq(l.IDSize(), byte(l)), seq(l.SecretSize(), 0x80+byte(l)))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	text := sample()
	entries, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != int(maxLabel) {
		t.Fatalf("Parse gave %d entries, want %d", len(entries), maxLabel)
	}
	var again []byte
	again = append(again, "# a comment\n\n"...)
	for i, e := range entries {
		if want := Label(i + 1); e.Label != want {
			t.Errorf("entry %d label %v, want %v", i, e.Label, want)
		}
		again = AppendLine(again, e.Label, e.ID, e.Secret)
	}
	if !bytes.Equal(again, text) {
		t.Errorf("re-encoded log differs:\n%s\nwant\n%s", again, text)
	}
	// Upper case and CRLF are read too.
	upper := strings.ReplaceAll(strings.ToUpper(string(text)), "\n", "\r\n")
	upper = strings.ReplaceAll(upper, "# A COMMENT", "# a comment")
	for _, l := range labels[1:] {
		upper = strings.ReplaceAll(upper, strings.ToUpper(l.name), l.name)
	}
	e2, err := Parse([]byte(upper))
	if err != nil {
		t.Fatalf("upper case, CRLF: %v", err)
	}
	for i := range entries {
		if !bytes.Equal(e2[i].Secret, entries[i].Secret) || !bytes.Equal(e2[i].ID, entries[i].ID) {
			t.Errorf("upper-case entry %d differs", i)
		}
	}
}

func TestLabels(t *testing.T) {
	for _, tt := range []struct {
		l          Label
		name       string
		id, secret int
	}{
		{TransactionKenc, "TRANSACTION_KENC", 16, 16},
		{TransactionKpersistent, "TRANSACTION_KPERSISTENT", 16, 32},
		{TransactionURSK, "TRANSACTION_URSK", 16, 32},
		{FastKrmac, "FAST_KRMAC", 16, 16},
		{PairingKmac, "PAIRING_KMAC", 65, 16},
		{0, "Label(0)", 0, 0},
		{AliroStepUpSK, "ALIRO_STEPUP_SK", 16, 32},
		{AliroFastSKDevice, "ALIRO_FAST_SKDEVICE", 16, 32},
		{maxLabel + 1, "Label(17)", 0, 0},
	} {
		if got := tt.l.String(); got != tt.name {
			t.Errorf("Label(%d).String() = %q, want %q", tt.l, got, tt.name)
		}
		if tt.l.IDSize() != tt.id || tt.l.SecretSize() != tt.secret {
			t.Errorf("%v sizes = %d, %d, want %d, %d", tt.l, tt.l.IDSize(), tt.l.SecretSize(), tt.id, tt.secret)
		}
	}
}

func TestDuplicates(t *testing.T) {
	id, k1, k2 := seq(16, 1), seq(16, 0x40), seq(16, 0x50)
	same := AppendLine(AppendLine(nil, TransactionKenc, id, k1), TransactionKenc, id, k1)
	entries, err := Parse(same)
	if err != nil || len(entries) != 1 {
		t.Fatalf("Parse(two identical entries) = %d entries, %v; want 1, nil", len(entries), err)
	}
	conflict := AppendLine(AppendLine(nil, TransactionKenc, id, k1), TransactionKenc, id, k2)
	if _, err := Parse(conflict); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Parse(conflicting entries) = %v, want ErrSyntax at line 2", err)
	}
	// The same identifier under another label is another secret.
	other := AppendLine(AppendLine(nil, TransactionKenc, id, k1), TransactionKmac, id, k2)
	if entries, err := Parse(other); err != nil || len(entries) != 2 {
		t.Errorf("Parse(two labels) = %d, %v", len(entries), err)
	}
}

func TestParseErrors(t *testing.T) {
	good := string(AppendLine(nil, TransactionKenc, seq(16, 1), seq(16, 2)))
	line := strings.TrimSuffix(good, "\n")
	for _, tt := range []struct {
		name, text, want string
	}{
		{"unknown label", strings.Replace(line, "TRANSACTION_KENC", "TRANSACTION_KEN", 1), "unknown label"},
		{"lower-case label", strings.Replace(line, "TRANSACTION_KENC", "transaction_kenc", 1), "unknown label"},
		{"two fields", "TRANSACTION_KENC 00", "2 fields"},
		{"four fields", line + " 00", "4 fields"},
		{"double space", strings.Replace(line, " ", "  ", 1), "4 fields"},
		{"leading space", " " + line, "4 fields"},
		{"tab", strings.Replace(line, " ", "\t", 1), "2 fields"},
		{"short identifier", strings.Replace(line, " 0102", " 01", 1), "identifier: 30 hexadecimal digits, want 32"},
		{"long secret", line + "00", "secret: 34 hexadecimal digits"},
		{"truncated", line[:len(line)-1], "secret: 31 hexadecimal digits"},
		{"not hex", strings.Replace(line, "0102", "zz02", 1), "identifier: not hexadecimal"},
		{"pairing with transaction id", strings.Replace(line, "TRANSACTION_KENC", "PAIRING_KENC", 1), "identifier: 32 hexadecimal digits, want 130"},
		{"long line", strings.Repeat("#", 400) + "\n" + strings.Repeat("A", 400), "line 2 is longer"},
		{"second line bad", good + "FAST_KENC x y\n", "line 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.text))
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v, want ErrSyntax containing %q", tt.text, err, tt.want)
			}
		})
	}
	if _, err := Parse(make([]byte, MaxSize+1)); !errors.Is(err, ErrSyntax) {
		t.Errorf("Parse(oversize) = %v, want ErrSyntax", err)
	}
}

func TestAppendLinePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AppendLine with a short secret did not panic")
		}
	}()
	AppendLine(nil, TransactionKenc, seq(16, 0), seq(15, 0))
}

func TestEntryRedacted(t *testing.T) {
	e := Entry{Label: TransactionKpersistent, ID: seq(16, 1), Secret: seq(32, 0x90)}
	redacttest.Check(t, e, e.Secret)
	redacttest.Check(t, &e, e.Secret)
	if got := e.String(); !strings.Contains(got, "TRANSACTION_KPERSISTENT 0102") {
		t.Errorf("String() = %q, want the label and identifier", got)
	}
}

// FuzzParse checks that Parse never panics, that what it accepts
// re-encodes to a log it parses to the same entries, and that every error
// wraps ErrSyntax.
func FuzzParse(f *testing.F) {
	f.Add(sample())
	f.Add([]byte("# only a comment\n"))
	f.Add(AppendLine(nil, PairingKrmac, seq(65, 4), seq(16, 9)))
	f.Fuzz(func(t *testing.T, text []byte) {
		entries, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse error %v does not wrap ErrSyntax", err)
			}
			return
		}
		var again []byte
		for _, e := range entries {
			again = AppendLine(again, e.Label, e.ID, e.Secret)
		}
		e2, err := Parse(again)
		if err != nil || len(e2) != len(entries) {
			t.Fatalf("re-encoded log: %d entries, %v; want %d", len(e2), err, len(entries))
		}
		for i := range e2 {
			if e2[i].Label != entries[i].Label || !bytes.Equal(e2[i].ID, entries[i].ID) || !bytes.Equal(e2[i].Secret, entries[i].Secret) {
				t.Fatalf("entry %d changed in the round trip", i)
			}
		}
	})
}

func TestChannel(t *testing.T) {
	for l := Label(0); l <= maxLabel+1; l++ {
		first, which, ok := l.Channel()
		wantOK := l.Valid() && l != TransactionKpersistent && l != TransactionURSK && l < AliroSKReader
		if ok != wantOK {
			t.Errorf("%v.Channel() ok = %v, want %v", l, ok, wantOK)
			continue
		}
		if ok && (first+Label(which) != l || !strings.HasSuffix(l.String(), [...]string{"KENC", "KMAC", "KRMAC"}[which]) ||
			strings.Split(first.String(), "_")[0] != strings.Split(l.String(), "_")[0]) {
			t.Errorf("%v.Channel() = %v, %d", l, first, which)
		}
	}
	var enc, mac, rmac [16]byte
	enc[0], mac[0], rmac[0] = 1, 2, 3
	id := seq(65, 0)
	got := AppendChannelKeys(nil, PairingKenc, id, &enc, &mac, &rmac)
	want := AppendLine(AppendLine(AppendLine(nil, PairingKenc, id, enc[:]), PairingKmac, id, mac[:]), PairingKrmac, id, rmac[:])
	if !bytes.Equal(got, want) {
		t.Errorf("AppendChannelKeys = %s, want %s", got, want)
	}
}
