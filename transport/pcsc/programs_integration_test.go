package pcsc_test

// The programs a user runs, built from this module and run against the
// private pcscd: examples/pcsc-reader (the vehicle side) and cmd/vcard
// -card applet (the phone, as a virtual card). Their test lives here rather
// than in examples/pcsc-reader because every test that uses vpcd's readers
// must be in one package: `go test ./...` runs packages in parallel.

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/internal/race"
)

// proc is a program started by a test; its output, stdout and stderr
// interleaved by line, is collected as it comes.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, once done is closed

	mu    sync.Mutex
	lines []string
}

// buildPrograms builds the packages (paths relative to the module root)
// into a temporary directory and returns the binaries' paths, by package.
// Under the race detector the programs are built with it too, which reuses
// the packages compiled for the test.
func buildPrograms(t *testing.T, pkgs ...string) map[string]string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the programs needs the go command: %v", err)
	}
	dir := t.TempDir()
	bins := map[string]string{}
	for _, pkg := range pkgs {
		bin := filepath.Join(dir, filepath.Base(pkg))
		args := []string{"build", "-o", bin}
		if race.Enabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(gotool, append(args, "./"+pkg)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./%s: %v\n%s", pkg, err, out)
		}
		bins[pkg] = bin
	}
	return bins
}

// start starts the program at path; it is killed, if still running, when
// the test ends.
func start(t *testing.T, path string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(path), cmd: exec.Command(path, args...), done: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		readers.Go(func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				p.mu.Lock()
				p.lines = append(p.lines, sc.Text())
				p.mu.Unlock()
			}
		})
	}
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// output returns what the program printed so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// count returns how many lines so far contain s.
func (p *proc) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// waitFor waits, for up to 15 seconds, until n lines of the output contain
// s.
func (p *proc) waitFor(t *testing.T, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for p.count(s) < n {
		select {
		case <-p.done:
			if p.count(s) >= n {
				return
			}
			t.Fatalf("%s exited (%v) before printing %q %d times:\n%s", p.name, p.err, s, n, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q %d times in 15 s:\n%s", p.name, s, n, p.output())
		}
	}
}

// wait waits, for up to 20 seconds, until the program exits, and returns
// its exit status.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still running after 20 s:\n%s", p.name, p.output())
		return nil
	}
}

// interrupt stops the program as Ctrl-C does and returns its exit status.
func (p *proc) interrupt(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupting %s: %v", p.name, err)
	}
	return p.wait(t)
}

// exitCode returns the exit code of a finished program's status.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// demoSlotHex is the demo key's slot, "DEMOKEY1", as the example prints it.
const demoSlotHex = "44454d4f4b455931"

// TestIntegrationPCSCReaderExample runs `examples/pcsc-reader` against
// `cmd/vcard -card applet` through pcscd: the demo vehicle unlocks with the
// demo key, once and tap after tap, on either reader, and reports the
// failures a user meets.
func TestIntegrationPCSCReaderExample(t *testing.T) {
	requirePCSC(t)
	bins := buildPrograms(t, "cmd/vcard", "examples/pcsc-reader")
	vcard, reader := bins["cmd/vcard"], bins["examples/pcsc-reader"]

	t.Run("once on the first reader", func(t *testing.T) {
		card := start(t, vcard, "-card", "applet", "-host", "127.0.0.1", "-port", "35963")
		card.waitFor(t, `card "applet" inserted`, 1)
		r := start(t, reader, "-once", "-timeout", "15s")
		if err := r.wait(t); err != nil {
			t.Fatalf("pcsc-reader -once = %v, want success:\n%s", err, r.output())
		}
		out := r.output()
		for _, want := range []string{
			`reader "` + reader0 + `": waiting for a card`,
			"unlock: OK, standard transaction in ",
			"owner key " + demoSlotHex + ", protocol 1.0, control flow 0100 (success)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("pcsc-reader -once printed\n%s\nwant a line with %q", out, want)
			}
		}
		if err := card.interrupt(t); err != nil {
			t.Errorf("vcard after Ctrl-C = %v, want success", err)
		}
		waitEmpty(t, 0)
	})

	t.Run("tap after tap on the second reader", func(t *testing.T) {
		r := start(t, reader, "-reader", reader1)
		r.waitFor(t, `reader "`+reader1+`": waiting for a card`, 1)
		for tap := 1; tap <= 2; tap++ {
			// Each vcard run is a phone entering the field; stopping it
			// takes the phone away. A new vcard is a new applet, without
			// Kpersistent: each tap is a standard transaction.
			card := start(t, vcard, "-card", "applet", "-host", "127.0.0.1", "-port", "35964")
			r.waitFor(t, "unlock: OK, standard transaction", tap)
			if err := card.interrupt(t); err != nil {
				t.Errorf("vcard after Ctrl-C = %v, want success", err)
			}
			r.waitFor(t, "waiting for the next card", tap)
		}
		if err := r.interrupt(t); err != nil {
			t.Errorf("pcsc-reader after Ctrl-C = %v, want success:\n%s", err, r.output())
		}
		if n := r.count("unlock:"); n != 2 {
			t.Errorf("pcsc-reader reported %d transactions for 2 taps:\n%s", n, r.output())
		}
	})

	for _, tt := range []struct {
		name string
		card []string // vcard's arguments; nil means no card
		args []string
		want string
	}{
		{
			name: "card without the demo key",
			card: []string{"-card", "demo", "-host", "127.0.0.1", "-port", "35963"},
			args: []string{"-once", "-timeout", "15s"},
			want: "unlock: failed after ",
		},
		{
			name: "no card",
			args: []string{"-once", "-reader", reader1, "-timeout", "500ms"},
			want: "no card within 500ms",
		},
		{
			name: "unknown reader",
			args: []string{"-once", "-reader", "No Such Reader"},
			want: `no reader "No Such Reader"`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.card != nil {
				card := start(t, vcard, tt.card...)
				defer func() {
					card.interrupt(t)
					waitEmpty(t, 0)
				}()
			}
			r := start(t, reader, tt.args...)
			err := r.wait(t)
			if exitCode(err) != 1 || !strings.Contains(r.output(), tt.want) {
				t.Errorf("pcsc-reader %q = %v, want exit status 1 and %q:\n%s", tt.args, err, tt.want, r.output())
			}
		})
	}
}
