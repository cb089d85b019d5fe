package mdoc

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// testIssuer returns a fixed issuer of dialect d.
func testIssuer(t testing.TB, d Dialect) *Issuer {
	t.Helper()
	switch d {
	case HomeKey:
		seed := make([]byte, ed25519.SeedSize)
		for i := range seed {
			seed[i] = byte(0xA0 + i)
		}
		i, err := NewEd25519Issuer(ed25519.NewKeyFromSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		return i
	default:
		i, err := NewP256Issuer(fixedKey(t, 0x11))
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
}

// testDeviceKey is the endpoint's long-term key in the tests.
func testDeviceKey(t testing.TB) *dkey.SoftwareKey { return fixedKey(t, 0x22) }

func testGroup(d Dialect) []byte {
	g := make([]byte, d.readerGroupLen())
	for i := range g {
		g[i] = byte(0xC0 + i)
	}
	return g
}

var (
	testValidFrom  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testValidUntil = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

// testSpec is the document the tests issue in dialect d.
func testSpec(t testing.TB, d Dialect) *DocumentSpec {
	t.Helper()
	dk := mustPub(t, testDeviceKey(t))
	if d == HomeKey {
		return HomeKeyCredential(dk, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, testValidFrom, testValidUntil)
	}
	// An Aliro access document; its access data is opaque to this package.
	access := []byte{0xA2, 0x00, 0x01, 0x01, 0x43, 0x01, 0x02, 0x03} // {0: 1, 1: h'010203'}
	return &DocumentSpec{
		DocType:   AliroAccessDocType,
		DeviceKey: dk,
		Elements: []Element{
			{NameSpace: AliroAccessDocType, Identifier: AliroDefaultElement, Value: access},
			{NameSpace: AliroAccessDocType, Identifier: "matter2", Value: EncodeText("spare")},
		},
		ValidFrom:  testValidFrom,
		ValidUntil: testValidUntil,
	}
}

func testDocument(t testing.TB, d Dialect) *Document {
	t.Helper()
	doc, err := testIssuer(t, d).Issue(testSpec(t, d))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
