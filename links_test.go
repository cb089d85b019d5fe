package sdk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdLink matches a Markdown inline link or image: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// pathRef matches a file or directory path in prose: segments of letters,
// digits, dots, dashes, underscores and glob stars joined by slashes, or a
// bare name ending in .md.
var pathRef = regexp.MustCompile(`(?:^|[\s(\x60"'])((?:[A-Za-z0-9_.*-]+/)+[A-Za-z0-9_.*-]*[A-Za-z0-9_*-]|[A-Za-z0-9_-]+\.md)`)

// url matches a web address, which the prose check leaves alone.
var url = regexp.MustCompile(`[a-z]+://\S+`)

// symbol matches the end of a Go identifier reference such as
// transport/transporttest.Card: the package path is checked, not the name.
var symbol = regexp.MustCompile(`\.[A-Z][A-Za-z0-9_.]*$`)

// external lists the paths the prose names in other projects' trees (whose
// first segment happens to be a directory of this module too) and the
// strings that look like paths but name no file: each is checked as not
// ours. A new mention of another tree's path goes here, with its reason.
var external = map[string]string{
	"device/se":                               "a store section name (device/stored_element.go)",
	"vehicle/friend":                          "prose: the vehicle or friend secure element",
	"vehicle/reader":                          "prose: the vehicle or reader key",
	"vehicle/56494e3030303031":                "a key-service HTTP path in an example",
	"draft-bar-cfrg-spake2plus.md":            "a file of github.com/chris-wood/draft-bar-cfrg-spake2plus",
	"internal/nfcauth/auth.go":                "a file of github.com/tgckpg/homekey-go",
	"internal/nfcauth/testdata/standard.json": "a file of github.com/tgckpg/homekey-go",
	"examples/nfc/reader/stepup.py":           "a file of the aliro-access-control aliro-actuator repository",
	"CHIPS.md":                                "a file of github.com/kormax/apple-enhanced-contactless-polling",
	"examples/traces/apple_iphone14pm_ios17_backgroundreadersession_nfca_1.log": "a file of github.com/kormax/apple-enhanced-contactless-polling",
}

// TestFileReferences checks that every relative link of the Markdown files,
// and every file reference of the Markdown files and the Go comments that
// names a place in this module (its first segment is a directory of the
// module root or of the referring file's directory, or it is a bare .md
// name), resolves to a file or directory that ships in the module: the docs
// cite docs/protocol.md, docs/design.md and docs/architecture.md, never the
// development tree's notes, and a file that moves takes its references
// with it.
func TestFileReferences(t *testing.T) {
	roots := map[string]bool{}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			roots[e.Name()] = true
		}
	}
	check := func(file, ref string) {
		ref, _, _ = strings.Cut(ref, "#")
		ref = strings.TrimRight(ref, ".,:;")
		ref = symbol.ReplaceAllString(ref, "")
		if ref == "" || external[ref] != "" || strings.Contains(ref, "://") || strings.HasPrefix(ref, "/") || strings.Contains(ref, "...") {
			return
		}
		dir := filepath.Dir(file)
		first, _, _ := strings.Cut(ref, "/")
		local := exists(filepath.Join(dir, first))
		bareMD := !strings.Contains(ref, "/") && strings.HasSuffix(ref, ".md")
		if !bareMD && !roots[first] && !local {
			return // not a place in this module (another repository's path, a Go import path)
		}
		for _, base := range []string{dir, "."} {
			if m, _ := filepath.Glob(filepath.Join(base, ref)); len(m) > 0 {
				return
			}
		}
		t.Errorf("%s: %q resolves to no file of the module", file, ref)
	}
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch path.Ext(p) {
		case ".md":
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
				check(p, m[1])
			}
			for _, m := range pathRef.FindAllStringSubmatch(url.ReplaceAllString(string(b), ""), -1) {
				check(p, m[1])
			}
		case ".go":
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, cg := range f.Comments {
				for _, m := range pathRef.FindAllStringSubmatch(url.ReplaceAllString(commentText(cg), ""), -1) {
					check(p, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func commentText(cg *ast.CommentGroup) string {
	var b strings.Builder
	for _, c := range cg.List {
		b.WriteString(c.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
