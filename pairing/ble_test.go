package pairing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestSystemKeysBLE checks Kble_intro and Kble_oob_master, bytes 64 to 95
// of the 96-byte SystemKeys, against values computed outside the package
// (testdata/systemkeys-ble.json says how), and that deriving them leaves
// the first 64 bytes as TestSystemKeys has them.
func TestSystemKeysBLE(t *testing.T) {
	raw, err := os.ReadFile("testdata/systemkeys-ble.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			SK        string `json:"sk"`
			Intro     string `json:"kble_intro"`
			OOBMaster string `json:"kble_oob_master"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range file.Vectors {
		t.Run(v.SK, func(t *testing.T) {
			var k systemKeys
			if err := k.derive(unhex(t, v.SK)); err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, v.Intro); !bytes.Equal(k.bleIntro[:], want) {
				t.Errorf("SystemKeys(%s) Kble_intro = %x, want %x", v.SK, k.bleIntro, want)
			}
			if want := unhex(t, v.OOBMaster); !bytes.Equal(k.bleOOB[:], want) {
				t.Errorf("SystemKeys(%s) Kble_oob_master = %x, want %x", v.SK, k.bleOOB, want)
			}
			k.zeroize()
			if k != (systemKeys{}) {
				t.Error("zeroize left key material")
			}
		})
	}
}

// TestPairingBLEKeys checks that both sides of an owner pairing end with
// the same, non-zero BLE keys, distinct from each other and from
// LONG_TERM_SHARED_SECRET.
func TestPairingBLEKeys(t *testing.T) {
	f := newFixture(t, "123456", false)
	res, err := f.pair(t)
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	d := f.card.store.committed[0]
	var zero [BLEKeySize]byte
	switch {
	case d.BLE != res.BLE:
		t.Error("device and vehicle BLE keys differ")
	case res.BLE.Intro == zero || res.BLE.OOBMaster == zero:
		t.Error("a BLE key is zero")
	case res.BLE.Intro == res.BLE.OOBMaster || res.BLE.Intro == res.LongTermSecret:
		t.Error("BLE keys repeat another key")
	}
}

// TestBLEKeysRedacted checks that no formatting verb shows the keys.
func TestBLEKeysRedacted(t *testing.T) {
	k := BLEKeys{Intro: [BLEKeySize]byte{0xAB, 0xCD}, OOBMaster: [BLEKeySize]byte{0xEF, 0x01}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{k, &k, DeviceResult{BLE: k}.BLE, struct{ K BLEKeys }{k}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), "abcd") || strings.Contains(out, "171") || strings.Contains(strings.ToLower(out), "ef01") {
				t.Errorf("Sprintf(%q, %T) = %s: shows key bytes", verb, v, out)
			}
		}
	}
	k.Zeroize()
	if k != (BLEKeys{}) {
		t.Error("Zeroize left key bytes")
	}
}
