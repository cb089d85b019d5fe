package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProgramsCommandLine builds every program of the module (the main
// packages under cmd/ and examples/) and runs each as a user would: -h
// prints a usage line first and exits 0, and an unknown flag exits 2 with
// a first line that names the flag.
func TestProgramsCommandLine(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "./cmd/...", "./examples/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d programs, want every one under cmd/ and examples/: %q", len(pkgs), pkgs)
	}
	bin := t.TempDir()
	build := exec.Command("go", append([]string{"build", "-o", bin + string(filepath.Separator)}, pkgs...)...)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	for _, pkg := range pkgs {
		name := pkg[strings.LastIndex(pkg, "/")+1:]
		t.Run(name, func(t *testing.T) {
			code, first := runProgram(t, filepath.Join(bin, name), "-h")
			if code != 0 || !strings.HasPrefix(strings.ToLower(first), "usage") {
				t.Errorf("%s -h: exit %d, first line %q; want exit 0 and a usage line", name, code, first)
			}
			code, first = runProgram(t, filepath.Join(bin, name), "-no-such-flag")
			if code != 2 || !strings.Contains(first, "-no-such-flag") {
				t.Errorf("%s -no-such-flag: exit %d, first line %q; want exit 2 and a line naming the flag", name, code, first)
			}
		})
	}
}

// runProgram runs path with args in an empty directory and returns its exit
// status and the first line it printed (standard output and error together).
func runProgram(t *testing.T, path string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %q: %v", path, args, err)
		}
		code = ee.ExitCode()
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	return code, first
}
