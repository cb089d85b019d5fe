package transporttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// CheckGolden compares got with the transcript in the golden file at path
// and reports a line diff through t.Errorf when they differ. With update it
// writes got to path instead (creating its directory), so that a test
// regenerates its golden files when run with its -update flag.
//
// transporttest defines no flag: each test package declares its own, as in
//
//	var update = flag.Bool("update", false, "rewrite the golden transcripts")
//
// and passes *update. The comparison is on the parsed transcripts, so a
// golden file edited by hand may differ from the canonical text form in
// spacing and letter case.
func CheckGolden(t testing.TB, path string, got Transcript, update bool) {
	t.Helper()
	text := got.String()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Errorf("CheckGolden: %v", err)
			return
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Errorf("CheckGolden: %v", err)
			return
		}
		t.Logf("CheckGolden: wrote %s", path)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("CheckGolden: %v (run the test with -update to create it)", err)
		return
	}
	want, err := ParseTranscript(b)
	if err != nil {
		t.Errorf("CheckGolden: %s: %v", path, err)
		return
	}
	if diff := cmp.Diff(lines(want.String()), lines(text)); diff != "" {
		t.Errorf("CheckGolden: transcript differs from %s (-want +got):\n%s\nRun the test with -update to accept the new transcript.", path, diff)
	}
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
