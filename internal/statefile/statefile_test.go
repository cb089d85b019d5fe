package statefile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/vehicle"
)

func mustOpen(t *testing.T, path, kek string) *File {
	t.Helper()
	f, err := Open(path, kek)
	if err != nil {
		t.Fatalf("Open(%q, %q) = %v", path, kek, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestOpenCreatesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "car.db")
	f := mustOpen(t, path, "")
	if !f.Created || !f.KEKCreated || f.KEKPath != path+".kek" || f.Path != path {
		t.Errorf("new file: Created %v, KEKCreated %v, KEKPath %q", f.Created, f.KEKCreated, f.KEKPath)
	}
	fi, err := os.Stat(path + ".kek")
	if err != nil || fi.Size() != KEKSize || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	if err := f.Put("config", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get("absent"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(absent) = %v, want store.ErrNotFound", err)
	}
	key, created, err := f.SigningKey("vehicle")
	if err != nil || !created {
		t.Fatalf("SigningKey = %v, created %v", err, created)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	kek1, _ := os.ReadFile(path + ".kek")

	g := mustOpen(t, path, "")
	if g.Created || g.KEKCreated {
		t.Error("reopened file reported as created")
	}
	if kek2, _ := os.ReadFile(path + ".kek"); !bytes.Equal(kek1, kek2) {
		t.Error("reopening replaced the key file")
	}
	if b, err := g.Get("config"); err != nil || string(b) != "hello" {
		t.Errorf("Get(config) after reopening = %q, %v", b, err)
	}
	again, created, err := g.SigningKey("vehicle")
	if err != nil || created || !again.PublicKey().Equal(key.PublicKey()) {
		t.Errorf("SigningKey after reopening = %v, created %v: not the stored key", err, created)
	}
	other, created, err := g.SigningKey("other")
	if err != nil || !created || other.PublicKey().Equal(key.PublicKey()) {
		t.Errorf("a second key = %v, created %v", err, created)
	}
}

func TestOpenRefusals(t *testing.T) {
	dir := t.TempDir()
	// A state file without its key file.
	path := filepath.Join(dir, "orphan.db")
	f := mustOpen(t, path, "")
	f.Close()
	os.Remove(path + ".kek")
	if _, err := Open(path, ""); !errors.Is(err, ErrNoKEK) {
		t.Errorf("Open without the key file = %v, want ErrNoKEK", err)
	}
	if _, err := os.Stat(path + ".kek"); err == nil {
		t.Error("Open created a key file for an existing state file")
	}
	// A key file of the wrong size.
	short := filepath.Join(dir, "short.kek")
	os.WriteFile(short, make([]byte, 16), 0o600)
	if _, err := Open(filepath.Join(dir, "short.db"), short); !errors.Is(err, ErrKEKFile) {
		t.Errorf("Open with a 16-byte key = %v, want ErrKEKFile", err)
	}
	// The key file of another state file: nothing opens.
	a := filepath.Join(dir, "a.db")
	fa := mustOpen(t, a, "")
	fa.Put("x", []byte("secret"))
	fa.Close()
	fb := mustOpen(t, filepath.Join(dir, "b.db"), "")
	fb.Close()
	wrong := mustOpen(t, a, filepath.Join(dir, "b.db.kek"))
	if _, err := wrong.Get("x"); !errors.Is(err, seal.ErrKEK) {
		t.Errorf("Get under another state file's key = %v, want seal.ErrKEK", err)
	}
	if _, _, err := wrong.SigningKey("v"); !errors.Is(err, seal.ErrKEK) {
		t.Errorf("SigningKey under another state file's key = %v, want seal.ErrKEK", err)
	}
	wrong.Close()
	// A state file that cannot be made leaves no key file made for it,
	// and keeps one that was there.
	kek := filepath.Join(dir, "x.kek")
	if _, err := Open(filepath.Join(dir, "missing", "x.db"), kek); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	if _, err := os.Stat(kek); err == nil {
		t.Error("a failed Open left the key file it created")
	}
	shared := filepath.Join(dir, "shared.kek")
	os.WriteFile(shared, make([]byte, KEKSize), 0o600)
	if _, err := Open(filepath.Join(dir, "missing", "x.db"), shared); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	if _, err := os.Stat(shared); err != nil {
		t.Errorf("a failed Open removed a key file it did not create: %v", err)
	}
	g := mustOpen(t, filepath.Join(dir, "second.db"), shared)
	if !g.Created || g.KEKCreated {
		t.Errorf("a new state file with an existing key file: Created %v, KEKCreated %v", g.Created, g.KEKCreated)
	}
	// No name, a missing directory.
	if _, err := Open("", ""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := Open(filepath.Join(dir, "missing", "x.db"), ""); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestSigningKeyRecord(t *testing.T) {
	f := mustOpen(t, filepath.Join(t.TempDir(), "x.db"), "")
	for _, bad := range [][]byte{nil, make([]byte, 31), make([]byte, 33), make([]byte, 32), bytes.Repeat([]byte{0xFF}, 32)} {
		if err := f.Put(keyPrefix+"bad", bad); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.SigningKey("bad"); !errors.Is(err, ErrRecord) {
			t.Errorf("SigningKey of record %x = %v, want ErrRecord", bad, err)
		}
	}
}

// TestSharedWithReader: the role's section and the program's live in one
// file: a reader restored from it finds its key, whose long-term key the
// file keeps too.
func TestSharedWithReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "car.db")
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	open := func() (*vehicle.Reader, *dkey.SoftwareKey) {
		f := mustOpen(t, path, "")
		key, _, err := f.SigningKey("vehicle")
		if err != nil {
			t.Fatal(err)
		}
		r, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: key, Store: f.Store, KEK: f.KEK})
		if err != nil {
			t.Fatal(err)
		}
		return r, key
	}
	r, _ := open()
	phone, _ := dkey.GenerateSoftwareKey()
	slot, _ := dkey.NewKeySlot([]byte("SLOT0001"))
	if err := r.Enroll(vehicle.Enrollment{PublicKey: phone.PublicKey(), Slot: slot, Profile: dkey.OwnerProfile()}); err != nil {
		t.Fatal(err)
	}
	pub := r.PublicKey()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ = open()
	defer r.Close()
	if keys := r.Keys(); len(keys) != 1 || keys[0].Slot != slot || !r.PublicKey().Equal(pub) {
		t.Errorf("restored reader: keys %v, public key %v, want %v", keys, r.PublicKey(), pub)
	}
}
