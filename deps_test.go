package sdk_test

// This test enforces the package table of docs/architecture.md: what each package of the
// module may import. It is modelled on go/build/deps_test.go in the Go tree:
// the policy is data, and a violation names the package, the import and the
// rule it breaks.

import (
	"go/build"
	"io/fs"
	"os"
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
	// ble's Linux adapter opens LE L2CAP sockets through x/sys/unix (no cgo).
	{"transport/ble", []string{"transport", "dkey"}, []string{"golang.org/x/sys"}},
	// uwbtest simulates a UWB subsystem over the real UCI framing of transport/uwb.
	{"transport/uwb/uwbtest", []string{"transport/uwb", "transport", "dkey"}, nil},
	// transport/uwb opens UARTs to UWB boards through transport/internal/serialio.
	{"transport/uwb", []string{"transport/internal/serialio", "transport", "dkey"}, nil},
	// The NFC controller drivers share the polling loop and ECP frames of
	// transport/polling; serial lines go through transport/internal/serialio,
	// the one user of go.bug.st/serial. The simulated controllers and the
	// simulated field are imported by tests and examples only.
	{"transport/polling/pollingtest", []string{"transport/polling", "transport", "dkey"}, []string{"github.com/creack/pty", "golang.org/x/sys"}},
	{"transport/internal/serialio", nil, []string{"go.bug.st/serial"}},
	{"transport/pn532/pn532test", []string{"transport/pn532", "transport/polling/...", "transport", "dkey"}, nil},
	{"transport/pn532", []string{"transport/polling", "transport/internal/serialio", "transport", "dkey"}, nil},
	{"transport/nci/ncitest", []string{"transport/nci", "transport/polling/...", "transport", "dkey"}, nil},
	{"transport/nci", []string{"transport/polling", "transport/internal/serialio", "transport", "dkey"}, []string{"golang.org/x/sys"}},
	{"transport/...", []string{"transport", "dkey"}, nil},
	{"cert", []string{"dkey"}, []string{"golang.org/x/crypto"}},
	// certtest issues a PKI in memory for tests, examples and benches.
	{"cert/certtest", []string{"cert", "dkey"}, nil},
	{"attest", []string{"cert", "dkey", "internal/cborstrict"}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	{"pairing", []string{"attest", "cert", "transport", "dkey", "internal/..."}, []string{"golang.org/x/crypto"}},
	{"transaction", []string{"cert", "transport", "dkey", "internal/..."}, []string{"golang.org/x/crypto"}},
	{"sharing", []string{"attest", "cert", "transport", "dkey", "internal/..."}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	// mdoc is the ISO/IEC 18013-5 exchange of the Home Key attestation and
	// the Aliro step-up phase; device and vehicle wire it.
	{"mdoc", []string{"transport", "dkey", "internal/..."}, nil},
	// ranging: Release 3 ranging setup and the UWB key schedule (docs/architecture.md).
	{"ranging", []string{"dkey", "internal/..."}, nil},
	{"device", []string{"pairing", "transaction", "sharing", "ranging", "mdoc", "attest", "cert", "transport", "dkey", "store", "internal/..."}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	{"vehicle", []string{"pairing", "transaction", "sharing", "ranging", "mdoc", "attest", "cert", "transport", "dkey", "store", "internal/..."}, []string{"github.com/fxamacker/cbor/v2", "golang.org/x/crypto"}},
	// store knows nothing of keys or protocols; bolt is its one-file
	// implementation, the only library package that imports bbolt (the key
	// service's boltstore is the other importer).
	{"store/bolt", []string{"store"}, []string{"go.etcd.io/bbolt"}},
	{"store/...", []string{"store/..."}, nil},
	// seal keeps a role's sealed records in a store.
	{"internal/seal", []string{"store", "internal/cborstrict"}, []string{"github.com/fxamacker/cbor/v2"}},
	// apdutrace decodes recorded traces for people (dkey trace decode): it
	// names with transaction's and pairing's public types and follows the
	// secure channel with internal/securemsg and the key logs of
	// internal/keylog.
	{"apdutrace", []string{"transaction", "pairing", "transport", "dkey", "internal/..."}, nil},
	// keyuri opens keys in HSMs and KMSs by URI through go.step.sm/crypto/kms
	// (softkms; pkcs11 behind the pkcs11 build tag, as it needs cgo). It is
	// the only package that imports the kms tree (TestKMSConfined): the
	// library packages take a crypto.Signer and never import keyuri, so the
	// SDK's own dependency set stays small, and only a program that keeps
	// its keys in an HSM pulls in the library.
	{"keyuri", []string{"dkey"}, []string{"go.step.sm/crypto"}},
	// statefile opens the state files of the bench programs (cmd/vcard,
	// cmd/dkey, examples/pcsc-reader, examples/nfc-reader): a store/bolt
	// file and its key-encryption key file, and the programs' own sealed
	// records and software keys in it.
	{"internal/statefile", []string{"store/bolt", "store", "internal/seal", "dkey"}, nil},
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

// internalForPrograms lists the internal packages that examples and
// commands may import, and why: everything else they use is public API.
var internalForPrograms = map[string]string{
	// One "state file + key-encryption key file" helper for the bench
	// programs instead of a copy in each; a bench convenience (a key file
	// beside the state) that the SDK does not offer as API.
	"internal/statefile": "the bench programs' state files",
}

// forbiddenStd lists standard-library packages no library package may import.
var forbiddenStd = []string{"log", "log/slog", "unsafe", "C"}

// unsafeAllowed lists the library packages that may import unsafe, and why.
var unsafeAllowed = map[string]string{
	// The GPIO character device takes its line request and values by
	// pointer (GPIO_V2_GET_LINE_IOCTL, GPIO_V2_LINE_GET_VALUES_IOCTL);
	// golang.org/x/sys/unix has the structures but no ioctl helper for them.
	"transport/nci": "ioctl on the GPIO character device",
}

// testOnlyThird lists third-party modules that test files may import, and the
// packages allowed to do so ("" means any). The Wycheproof vectors
// (github.com/c2sp/wycheproof) are not here: their tests live in the nested
// module conformance/, so that this module's go.mod never requires them.
var testOnlyThird = map[string]string{
	"github.com/google/go-cmp": "",
	"go.step.sm/crypto":        "",
	// pseudo-terminals stand in for a UART in the serial tests.
	"github.com/creack/pty": "",
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
		if p != "." {
			// A directory with its own go.mod (conformance/) is another
			// module, outside this table, as the go command sees it.
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
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
			t.Errorf("package %s has no rule in deps_test.go: add it to the table of docs/architecture.md first", dir)
			continue
		}
		r := allowed[rule]
		for _, imp := range bp.Imports {
			switch {
			case imp == "unsafe" && unsafeAllowed[dir] != "":
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
					if strings.HasPrefix(target, "internal/") && internalForPrograms[target] == "" {
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

// TestKMSConfined checks that keyuri is the only package, commands,
// examples and tests included, that imports go.step.sm/crypto/kms, and that
// no library package imports keyuri (docs/design.md, Dependencies).
func TestKMSConfined(t *testing.T) {
	const kms = "go.step.sm/crypto/kms"
	for dir, bp := range packages(t) {
		imports := append(append(slices.Clone(bp.Imports), bp.TestImports...), bp.XTestImports...)
		for _, imp := range imports {
			if (imp == kms || strings.HasPrefix(imp, kms+"/")) && dir != "keyuri" {
				t.Errorf("%s imports %s: only keyuri may import the kms tree", dir, imp)
			}
		}
		library := !strings.HasPrefix(dir, "cmd/") && !strings.HasPrefix(dir, "examples/")
		if library && slices.Contains(bp.Imports, module+"/keyuri") {
			t.Errorf("%s imports keyuri: library packages take a crypto.Signer instead", dir)
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
