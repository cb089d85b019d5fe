package sdk_test

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// modLines returns the non-empty lines of a go.mod file, trimmed.
func modLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestGoDirective keeps the module usable from any Go 1.26 release: go.mod
// asks for Go 1.26 (1.26 or 1.26.0, the forms go mod tidy writes), names no
// toolchain, and does not require the Wycheproof vectors, whose own go.mod
// asks for a later patch release. Their tests live in the nested module
// conformance/, which must test this tree, not a published version.
func TestGoDirective(t *testing.T) {
	lines := modLines(t, "go.mod")
	if !slices.Contains(lines, "go 1.26") && !slices.Contains(lines, "go 1.26.0") {
		t.Errorf("go.mod must ask for go 1.26 or go 1.26.0, not a patch release: %q", lines)
	}
	for _, line := range lines {
		if strings.HasPrefix(line, "toolchain") {
			t.Errorf("go.mod: %q: no toolchain line", line)
		}
		if strings.Contains(line, "github.com/c2sp/wycheproof") {
			t.Errorf("go.mod: %q: the Wycheproof vectors belong to conformance/go.mod", line)
		}
	}
	const replace = "replace github.com/opencarkey/sdk => ../"
	if !slices.Contains(modLines(t, "conformance/go.mod"), replace) {
		t.Errorf("conformance/go.mod has no line %q", replace)
	}
}
