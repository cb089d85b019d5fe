package wycheproof_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/internal/testvec"
)

const aesGCMFileName = "aes_gcm_test.json"

// aesGCMFile is aes_gcm_test.json.
type aesGCMFile struct {
	fileHeader
	TestGroups []struct {
		KeySize, IvSize, TagSize int
		Tests                    []struct {
			vector
			Key, IV, AAD, Msg, CT, Tag testvec.HexBytes
		}
	}
}

// gcmchannelGCM builds AES-GCM the way internal/gcmchannel does:
// aes.NewCipher then cipher.NewGCM (12-byte nonce, 16-byte tag).
func gcmchannelGCM(t *testing.T, key []byte) cipher.AEAD {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatalf("aes.NewCipher(%d-byte key): %v", len(key), err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatalf("cipher.NewGCM: %v", err)
	}
	return g
}

// firstReaderIV is the IV of gcmchannel's first reader message: direction
// 0 in 8 bytes, then counter 1 in 4 (ISO/IEC 18013-5 §9.1.1.5).
var firstReaderIV = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}

// TestAESGCM runs aes_gcm_test.json where it fits what the SDK does with
// AES-GCM: internal/gcmchannel (the 18013-5 / Aliro channel of packages
// transaction and mdoc) uses 12-byte IVs, 16-byte tags, AES-128 or
// AES-256 keys, and no additional data. Vectors outside that are counted
// and not run, except that gcmchannel must refuse every AES-192 key.
//
// gcmchannel derives its IVs from a direction and a counter, so a vector's
// own IV cannot be passed to it. Each vector therefore runs through
// crypto/cipher built exactly as gcmchannel builds it, and then bridges to
// gcmchannel itself: its first reader message under the vector's key must
// be that AES-GCM with IV 00…00 00000001 and open at a device end, and a
// ModifiedTag vector's tag change, applied to that message, must make the
// device end fail with gcmchannel.ErrAuthentication.
func TestAESGCM(t *testing.T) {
	var f aesGCMFile
	load(t, aesGCMFileName, &f)
	const file = aesGCMFileName
	var c tally
	var ran, bridged, refusedKey, otherIV, withAAD int
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			c.add(t, v.vector)
			if len(v.Key) != 16 && len(v.Key) != 32 {
				// AES-192 (the file has no other size): the SDK's channel
				// keys are 16 or 32 bytes, and gcmchannel refuses the rest.
				var ch gcmchannel.Channel
				if err := ch.Init(gcmchannel.ReaderEnd, v.Key, v.Key, 1); !errors.Is(err, gcmchannel.ErrKeySize) {
					t.Errorf("tcId %d: gcmchannel Init with a %d-byte key = %v, want ErrKeySize", v.TcID, len(v.Key), err)
				}
				refusedKey++
				continue
			}
			if len(v.IV) != 12 || len(v.Tag) != gcmchannel.TagSize {
				otherIV++ // gcmchannel's IVs are 12 bytes, its tags 16
				continue
			}
			if len(v.AAD) != 0 {
				withAAD++ // gcmchannel passes no additional data
				continue
			}
			ran++
			gcm := gcmchannelGCM(t, v.Key)
			sealed := append(bytes.Clone(v.CT), v.Tag...)
			pt, openErr := gcm.Open(nil, v.IV, sealed, nil)
			switch v.Result {
			case "valid":
				if openErr != nil || !bytes.Equal(pt, v.Msg) {
					t.Errorf("tcId %d (%s): Open = %x, %v, want %x", v.TcID, v.Comment, pt, openErr, v.Msg)
				}
				if got := gcm.Seal(nil, v.IV, v.Msg, nil); !bytes.Equal(got, sealed) {
					t.Errorf("tcId %d (%s): Seal = %x, want %x", v.TcID, v.Comment, got, sealed)
				}
				bridgeValid(t, v.TcID, gcm, v.Key, v.Msg)
				bridged++
			case "invalid":
				if openErr == nil {
					t.Errorf("tcId %d (%s): Open accepted an invalid message: %x", v.TcID, v.Comment, pt)
				}
				if bridgeModifiedTag(t, v.TcID, v.Flags, gcm, v.Key, v.IV, v.Msg, v.Tag) {
					bridged++
				}
			case "acceptable":
				// The file has none; a tag either authenticates or not, so
				// a new "acceptable" case needs a decision: fail.
				t.Errorf("tcId %d (%s): unexpected acceptable AES-GCM vector", v.TcID, v.Comment)
			}
		}
	}
	c.check(t, file, f.fileHeader)
	t.Logf("%s: run %d (bridged to gcmchannel %d); not run: %d AES-192 keys (refused by gcmchannel), %d IVs or tags of other sizes, %d with additional data",
		file, ran, bridged, refusedKey, otherIV, withAAD)
	if ran == 0 || bridged == 0 || refusedKey == 0 {
		t.Errorf("%s: ran %d, bridged %d, refused %d keys; the file changed, recheck the filters", file, ran, bridged, refusedKey)
	}
}

// channelPair returns a reader end and a device end of gcmchannel with key
// as both SKReader and SKDevice, for one message each way.
func channelPair(t *testing.T, tcID int, key []byte) (r, d *gcmchannel.Channel) {
	t.Helper()
	r, d = new(gcmchannel.Channel), new(gcmchannel.Channel)
	if err := r.Init(gcmchannel.ReaderEnd, key, key, 1); err != nil {
		t.Fatalf("tcId %d: Init: %v", tcID, err)
	}
	if err := d.Init(gcmchannel.DeviceEnd, key, key, 1); err != nil {
		t.Fatalf("tcId %d: Init: %v", tcID, err)
	}
	return r, d
}

// bridgeValid checks that gcmchannel's first reader message of msg under
// key is gcm's encryption with gcmchannel's first reader IV, and that a
// device end opens it to msg.
func bridgeValid(t *testing.T, tcID int, gcm cipher.AEAD, key, msg []byte) {
	t.Helper()
	r, d := channelPair(t, tcID, key)
	ct, err := r.Seal(nil, msg)
	if want := gcm.Seal(nil, firstReaderIV, msg, nil); err != nil || !bytes.Equal(ct, want) {
		t.Errorf("tcId %d: gcmchannel Seal = %x, %v, want %x", tcID, ct, err, want)
	}
	if pt, err := d.Open(nil, ct); err != nil || !bytes.Equal(pt, msg) {
		t.Errorf("tcId %d: gcmchannel Open = %x, %v, want %x", tcID, pt, err, msg)
	}
}

// bridgeModifiedTag applies the change a ModifiedTag vector made to its
// tag (the XOR of its tag and the right one) to gcmchannel's first reader
// message of msg and checks that a device end refuses it. It reports
// whether the vector was a ModifiedTag one.
func bridgeModifiedTag(t *testing.T, tcID int, flags []string, gcm cipher.AEAD, key, iv, msg, tag []byte) bool {
	t.Helper()
	modified := false
	for _, f := range flags {
		modified = modified || f == "ModifiedTag"
	}
	if !modified {
		return false
	}
	right := gcm.Seal(nil, iv, msg, nil)[len(msg):]
	r, d := channelPair(t, tcID, key)
	ct, err := r.Seal(nil, msg)
	if err != nil {
		t.Fatalf("tcId %d: Seal: %v", tcID, err)
	}
	changed := false
	for i := range gcmchannel.TagSize {
		x := tag[i] ^ right[i]
		ct[len(msg)+i] ^= x
		changed = changed || x != 0
	}
	if !changed {
		t.Errorf("tcId %d: a ModifiedTag vector with the right tag", tcID)
	}
	if pt, err := d.Open(nil, ct); !errors.Is(err, gcmchannel.ErrAuthentication) {
		t.Errorf("tcId %d: gcmchannel opened a message with a modified tag: %x, %v", tcID, pt, err)
	}
	return true
}
