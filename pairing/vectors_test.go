package pairing

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSystemKeys checks the SystemKeys derivation against values computed
// outside this package: HKDF-SHA256 written with Python's hmac module
// (RFC 5869 §2.2–2.3 by hand), salt nil, info "SystemKeys", 64 bytes; see
// testdata/README.md.
func TestSystemKeys(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		sk                     string
		enc, mac, rmac, secret string
	}{
		{"counting", "000102030405060708090a0b0c0d0e0f",
			"7fa14b6f73ffef3b60830eaf035f8157", "84d5c7d2e24ca54c7d336f0710099494",
			"92db5c5ec2bf4514b3b9433ea4ef546f", "79eca81a3fd39c0867f20827ef73e4c1"},
		{"descending", "ffeeddccbbaa99887766554433221100",
			"4d6c67250208de9e12da1fb47c64b43c", "f7cc3ed818d046ee0993be61a6751820",
			"4fa4b6597ab78da1b47772fafb40c8ed", "aa2cf221e081694360e22eb8d4b0c1fe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var k systemKeys
			if err := k.derive(unhex(t, tt.sk)); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				got  []byte
				want string
			}{
				{"Kenc", k.channel.Enc[:], tt.enc}, {"Kmac", k.channel.MAC[:], tt.mac},
				{"Krmac", k.channel.RMAC[:], tt.rmac}, {"LONG_TERM_SHARED_SECRET", k.ltss[:], tt.secret},
			} {
				if want := unhex(t, c.want); !bytes.Equal(c.got, want) {
					t.Errorf("SystemKeys(%s) %s = %x, want %x", tt.sk, c.name, c.got, want)
				}
			}
			k.zeroize()
			if k != (systemKeys{}) {
				t.Errorf("zeroize left %x", k)
			}
		})
	}
}

// TestMessageEncodings checks each message against bytes assembled by hand
// from the tables of docs/protocol.md §2.2, §3.2, §5.3 and §5.4 (and the
// project's choices documented in doc.go).
func TestMessageEncodings(t *testing.T) {
	v1 := defaultVersions(dkeyVersionList())
	var salt [SaltSize]byte
	copy(salt[:], "0123456789abcdef")
	var x [pointSize]byte
	x[0] = 0x04
	var m1, m2 [evidenceSize]byte
	m1[15], m2[0] = 0x11, 0x22
	kc := DefaultOwnerKeyConfig()
	kcm := keyConfiguration{mailboxes: kc.Mailboxes, option1: 0x81, option2: 0x02}
	copy(kcm.vehicleID[:], "VIN00001")
	for _, tt := range []struct {
		name string
		got  []byte
		want string
	}{
		{"SELECT response", (&selectResponse{frameworkTag: tagFrameworkVersionsR3, framework: v1, applet: v1, state: stateReady}).append(nil),
			"5a020100" + "5c020100" + "d40102"},
		{"SPAKE2+ REQUEST", (&spakeRequest{framework: v1, applet: v1, salt: salt, params: ScryptParams{N: 32768, R: 8, P: 1}, brand: 0x0042}).append(nil),
			"5b020100" + "5c020100" + "7f5020" + "c010" + hex.EncodeToString(salt[:]) + "c10400008000" + "c2020008" + "c3020001" + "d6020042"},
		{"confirmation info", (&spakeRequest{framework: v1, applet: v1}).confirmationInfo(nil), "5b020100" + "5c020100"},
		{"SPAKE2+ REQUEST response", (&spakeResponse{x: x}).append(nil), "5041" + "04" + zeros(64)},
		{"SPAKE2+ VERIFY", (&verifyCommand{y: x, m1: m1}).append(nil), "5241" + "04" + zeros(64) + "5710" + zeros(15) + "11"},
		{"SPAKE2+ VERIFY response", (&verifyResponse{m2: m2}).append(nil), "5810" + "22" + zeros(15)},
		{"7F4D", appendMapping(nil, &kc.Mapping), "7f4d14" + "c3020003" + "d0020000" + "d1020200" + "d2020010" + "d40201fd"},
		{"7F4E", kcm.append(nil), "7f4e20" + "4a06" + "0040" + "0000" + "0010" + "4b06" + "0200" + "0000" + "0003" + "4d08" + hex.EncodeToString([]byte("VIN00001")) + "d70181" + "d80102"},
	} {
		if want := unhex(t, tt.want); !bytes.Equal(tt.got, want) {
			t.Errorf("%s = %x, want %x", tt.name, tt.got, want)
		}
	}
}

func zeros(n int) string { return hex.EncodeToString(make([]byte, n)) }

// goldenRun is what TestGolden keeps besides the transcript.
type goldenRun struct {
	Slot           string `json:"slot"`
	EndpointKey    string `json:"endpoint_key"`
	LongTermSecret string `json:"long_term_shared_secret"`
}

// TestGolden runs whole pairings with a deterministic random source and
// compares every APDU, and the resulting key and secret, with the golden
// files in testdata, so that any change of the wire format or the key
// schedule shows. Regenerate with go test -run TestGolden -update.
//
// Each pairing runs twice from the same seed: with crypto/rand (Rand nil),
// as the golden files were recorded, and with both sides' Rand reading the
// seeded stream and both logging keys. Both runs must give the golden
// transcript byte for byte (drawing from Rand consumes the stream as the
// crypto/rand path does), and the second one the golden key log
// (pairing-*.keylog), which cmd/dkey uses to decrypt these transcripts.
func TestGolden(t *testing.T) {
	got := map[string]goldenRun{}
	for _, tt := range []struct {
		name     string
		evidence Evidence
		inter    bool
	}{
		{"own-share", EvidenceOwnShare, false},
		{"peer-share", EvidencePeerShare, false},
		{"intermediates", EvidenceOwnShare, true},
	} {
		for _, fromRand := range []bool{false, true} {
			name := tt.name
			if fromRand {
				name += "/Rand"
			}
			t.Run(name, func(t *testing.T) {
				cryptotest.SetGlobalRandom(t, 1)
				f := newFixture(t, "123456", tt.inter)
				f.vcfg.Evidence, f.card.cfg.Evidence = tt.evidence, tt.evidence
				var vlog, dlog bytes.Buffer
				if fromRand {
					f.vcfg.Rand, f.card.cfg.Rand = globalRand{}, globalRand{}
					f.vcfg.KeyLog, f.card.cfg.KeyLog = &vlog, &dlog
				}
				rec := transporttest.NewRecorder(f.link)
				p, err := NewVehicleSession(f.vcfg, f.verifier)
				if err != nil {
					t.Fatal(err)
				}
				res, err := drive(context.Background(), rec, p)
				if err != nil {
					t.Fatal(err)
				}
				transporttest.CheckGolden(t, filepath.Join("testdata", "pairing-"+tt.name+".txt"), rec.Transcript(), *update && !fromRand)
				run := goldenRun{
					Slot: res.Slot.String(), EndpointKey: hex.EncodeToString(res.PublicKey.Bytes()),
					LongTermSecret: hex.EncodeToString(res.LongTermSecret[:]),
				}
				if !fromRand {
					got[tt.name] = run
					return
				}
				if run != got[tt.name] {
					t.Errorf("with Rand: result %+v, with crypto/rand %+v", run, got[tt.name])
				}
				if !bytes.Equal(vlog.Bytes(), dlog.Bytes()) || vlog.Len() == 0 {
					t.Errorf("vehicle and device key logs differ or are empty:\n%s\n%s", vlog.Bytes(), dlog.Bytes())
				}
				path := filepath.Join("testdata", "pairing-"+tt.name+".keylog")
				text := append([]byte("# Pairing channel keys of pairing-"+tt.name+".txt, from TestGolden.\n"), vlog.Bytes()...)
				if *update {
					if err := os.WriteFile(path, text, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				if want, err := os.ReadFile(path); err != nil || !bytes.Equal(want, text) {
					t.Errorf("key log differs from %s (%v); run with -update:\n%s", path, err, text)
				}
			})
		}
	}
	path := filepath.Join("testdata", "pairing-results.json")
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]goldenRun
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pairing results differ from %s (-want +got):\n%s", path, d)
	}
}

// globalRand reads crypto/rand when called, so that it follows
// testing/cryptotest.SetGlobalRandom.
type globalRand struct{}

func (globalRand) Read(b []byte) (int, error) { return rand.Read(b) }
