package sdk_test

// This test enforces the package table of DESIGN.md: what each package of the
// module may import. It is modelled on go/build/deps_test.go in the Go tree:
// the policy is data, and a violation names the package, the import and the
// rule it breaks.

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/opencarkey/sdk"

// allowed maps a package pattern to the module packages it may import besides
// the standard library. A pattern ending in "/..." matches the packages below
// it. The first matching pattern wins, so specific patterns come first.
var allowed = []struct {
	pkg   string
	may   []string
	third []string // third-party modules the package may import
}{
	{"dkey", nil, nil},
	{"transport", []string{"dkey"}, nil},
	// transporttest is imported by tests only; its golden helper diffs with go-cmp.
	{"transport/transporttest", []string{"transport", "dkey"}, []string{"github.com/google/go-cmp"}},
	{"transport/...", []string{"transport", "dkey"}, nil},
	{"cert", []string{"dkey"}, []string{"golang.org/x/crypto"}},
	{"attest", []string{"cert", "dkey", "internal/cborstrict"}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	{"pairing", []string{"attest", "cert", "transport", "dkey", "internal/..."}, []string{"golang.org/x/crypto"}},
	{"transaction", []string{"cert", "transport", "dkey", "internal/..."}, []string{"golang.org/x/crypto"}},
	{"sharing", []string{"attest", "cert", "transport", "dkey", "internal/..."}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	{"device", []string{"pairing", "transaction", "sharing", "attest", "cert", "transport", "dkey", "internal/..."}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	{"vehicle", []string{"pairing", "transaction", "sharing", "attest", "cert", "transport", "dkey", "internal/..."}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	// The key service: the server and its API types (CBOR bodies), its stores (bbolt, PostgreSQL, the
	// conformance suite, the private test database), its HTTP client.
	{"keyservice", []string{"attest", "cert", "sharing", "dkey", "internal/cborstrict"}, []string{"github.com/fxamacker/cbor/v2"}},
	{"keyservice/boltstore", []string{"keyservice", "sharing", "dkey"}, []string{"go.etcd.io/bbolt"}},
	{"keyservice/pgstore/...", []string{"keyservice", "sharing", "dkey"}, []string{"github.com/jackc/pgx/v5"}},
	{"keyservice/...", []string{"keyservice/...", "attest", "cert", "sharing", "dkey"}, nil},
	// cborstrict holds the one strict CBOR configuration of the project's own formats.
	{"internal/cborstrict", nil, []string{"github.com/fxamacker/cbor/v2"}},
	{"internal/...", []string{"internal/..."}, []string{"golang.org/x/crypto", "filippo.io/nistec"}},
	{"examples/...", []string{"*public*"}, nil},
	{"cmd/...", []string{"*public*"}, nil},
}

// forbiddenStd lists standard-library packages no library package may import.
var forbiddenStd = []string{"log", "log/slog", "unsafe", "C"}

// testOnlyThird lists third-party modules that test files may import, and the
// packages allowed to do so ("" means any).
var testOnlyThird = map[string]string{
	"github.com/google/go-cmp":   "",
	"go.step.sm/crypto":          "",
	"github.com/c2sp/wycheproof": "internal/wycheproof",
}

func match(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pattern == pkg
}

func isStd(importPath string) bool {
	first, _, _ := strings.Cut(importPath, "/")
	return !strings.Contains(first, ".")
}

func thirdPartyAllowed(imp string, mods []string) bool {
	for _, m := range mods {
		if imp == m || strings.HasPrefix(imp, m+"/") {
			return true
		}
	}
	return false
}

// packages returns the module-relative directories that hold Go packages.
func packages(t *testing.T) map[string]*build.Package {
	t.Helper()
	pkgs := map[string]*build.Package{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
			return filepath.SkipDir
		}
		bp, err := build.ImportDir(p, build.ImportComment)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			t.Errorf("%s: %v", p, err)
			return nil
		}
		pkgs[filepath.ToSlash(p)] = bp
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func TestDependencies(t *testing.T) {
	pkgs := packages(t)
	if len(pkgs) < 3 {
		t.Fatalf("found only %d packages; is the test running at the module root?", len(pkgs))
	}
	for dir, bp := range pkgs {
		if dir == "." {
			continue
		}
		rule := -1
		for i, r := range allowed {
			if match(r.pkg, dir) {
				rule = i
				break
			}
		}
		if rule < 0 {
			t.Errorf("package %s has no rule in deps_test.go: add it to the table of DESIGN.md first", dir)
			continue
		}
		r := allowed[rule]
		for _, imp := range bp.Imports {
			switch {
			case slices.Contains(forbiddenStd, imp) && !strings.HasPrefix(dir, "examples/") && !strings.HasPrefix(dir, "cmd/"):
				t.Errorf("%s imports %s: library packages must not log or use unsafe/cgo", dir, imp)
			case isStd(imp):
			case strings.HasPrefix(imp, module+"/"):
				target := strings.TrimPrefix(imp, module+"/")
				if strings.HasPrefix(target, "examples/") || strings.HasPrefix(target, "cmd/") {
					t.Errorf("%s imports %s: nothing imports examples or commands", dir, imp)
					continue
				}
				if slices.Contains(r.may, "*public*") {
					if strings.HasPrefix(target, "internal/") {
						t.Errorf("%s imports %s: examples and commands use the public API only", dir, imp)
					}
					continue
				}
				ok := false
				for _, m := range r.may {
					if match(m, target) {
						ok = true
						break
					}
				}
				if !ok {
					t.Errorf("%s imports %s: not allowed by rule %q (may import %v)", dir, target, r.pkg, r.may)
				}
			default:
				if slices.Contains(r.may, "*public*") || thirdPartyAllowed(imp, r.third) {
					continue
				}
				t.Errorf("%s imports third-party %s: not allowed by rule %q", dir, imp, r.pkg)
			}
		}
		for _, imp := range append(slices.Clone(bp.TestImports), bp.XTestImports...) {
			if isStd(imp) || strings.HasPrefix(imp, module+"/") {
				if strings.HasPrefix(imp, module+"/examples/") {
					t.Errorf("%s tests import %s: nothing imports examples", dir, imp)
				}
				continue
			}
			if thirdPartyAllowed(imp, r.third) {
				continue
			}
			okTest := false
			for mod, only := range testOnlyThird {
				if (imp == mod || strings.HasPrefix(imp, mod+"/")) && (only == "" || only == dir) {
					okTest = true
				}
			}
			if !okTest {
				t.Errorf("%s tests import third-party %s: not allowed", dir, imp)
			}
		}
	}
}

// TestNoImportCycleThroughProtocols checks the rule that the protocol
// packages never import each other, whatever the table above says.
func TestNoImportCycleThroughProtocols(t *testing.T) {
	pkgs := packages(t)
	protocols := []string{"pairing", "transaction", "sharing"}
	for _, p := range protocols {
		bp, ok := pkgs[p]
		if !ok {
			continue
		}
		for _, imp := range bp.Imports {
			target := strings.TrimPrefix(imp, module+"/")
			if target != p && slices.Contains(protocols, target) {
				t.Errorf("%s imports %s: pairing, transaction and sharing never import each other", p, target)
			}
		}
	}
}
