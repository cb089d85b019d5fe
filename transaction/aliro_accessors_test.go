package transaction

import (
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// TestAliroReaderGroupKey: GroupKey is the reader's own key without a
// configured group key, the configured key otherwise, and the issuer of the
// certificate when the reader has one.
func TestAliroReaderGroupKey(t *testing.T) {
	own := newAliroTestReader(t, &AliroReaderConfig{})
	if !own.r.GroupKey().Equal(own.r.PublicKey()) {
		t.Error("without GroupKey: GroupKey() is not the reader key")
	}
	gk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	set := newAliroTestReader(t, &AliroReaderConfig{GroupKey: gk.PublicKey()})
	if g := set.r.GroupKey(); !g.Equal(gk.PublicKey()) || g.Equal(set.r.PublicKey()) {
		t.Error("with GroupKey: GroupKey() is not the configured key")
	}
	ca, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	rk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := IssueAliroCertificate(ca, &AliroCertificate{PublicKey: rk.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	certified := newAliroTestReader(t, &AliroReaderConfig{Key: rk, GroupKey: ca.PublicKey(), Certificate: cert.Append(nil)})
	if !certified.r.GroupKey().Equal(ca.PublicKey()) {
		t.Error("with a certificate: GroupKey() is not the issuer key")
	}
	// The group key is the one the transaction binds: a device that trusts
	// the CA for the group authenticates the certified reader.
	te := newAliroTestEndpoint(t, nil)
	cred := te.add(t, certified.r.ID().Group, certified.r.GroupKey(), true)
	certified.card = te
	if _, _, err := certified.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		t.Fatalf("standard transaction trusting GroupKey(): %v", err)
	}
}

// TestAliroReaderSessionDeviceAPDULimits: the reader reports the limits a
// device announced in its SELECT response (7F66), zeros when it announced
// none, and zeros before SELECT.
func TestAliroReaderSessionDeviceAPDULimits(t *testing.T) {
	for _, tt := range []struct {
		name         string
		cmd, resp    uint16
		wantC, wantR uint16
	}{
		{name: "short APDUs", wantC: 0, wantR: 0},
		{name: "extended", cmd: 1024, resp: 2048, wantC: 1024, wantR: 2048},
		{name: "largest", cmd: 0xFFFF, resp: 0xFFFE, wantC: 0xFFFF, wantR: 0xFFFE},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newAliroTestReader(t, &AliroReaderConfig{})
			te := newAliroTestEndpoint(t, &AliroEndpointConfig{MaxCommandAPDU: tt.cmd, MaxResponseAPDU: tt.resp})
			cred := te.add(t, tr.r.ID().Group, tr.r.PublicKey(), false)
			tr.card = te
			if c, r := tr.s.DeviceAPDULimits(); c != 0 || r != 0 {
				t.Errorf("before SELECT: DeviceAPDULimits() = %d, %d; want 0, 0", c, r)
			}
			if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
				t.Fatal(err)
			}
			if c, r := tr.s.DeviceAPDULimits(); c != tt.wantC || r != tt.wantR {
				t.Errorf("DeviceAPDULimits() = %d, %d; want %d, %d", c, r, tt.wantC, tt.wantR)
			}
		})
	}
}

// TestAliroReaderSessionStatus: Status is the zero AliroStatus before the
// device authenticates and the credential's status after: from the AUTH1
// response in a standard transaction, from the cryptogram after a fast
// match; a fast request that matches no key, or a device that fails
// VerifyEndpoint, leaves it zero.
func TestAliroReaderSessionStatus(t *testing.T) {
	tr, _, cred := aliroPair(t)
	cred.Status = AliroStatus{
		Signaling:        AliroAccessDocument | AliroMailboxRead | AliroMailboxWrite,
		CredentialSigned: NewAliroTimestamp(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)),
		RevocationSigned: NewAliroTimestamp(time.Date(2026, 8, 9, 10, 11, 12, 0, time.UTC)),
	}
	if got := tr.s.Status(); got != (AliroStatus{}) {
		t.Errorf("before the transaction: Status() = %+v, want zero", got)
	}
	if err := tr.auth0(AliroPolicyUserDevice, false); err != nil {
		t.Fatal(err)
	}
	if got := tr.s.Status(); got != (AliroStatus{}) {
		t.Errorf("after AUTH0: Status() = %+v, want zero", got)
	}
	pk, _, err := tr.auth1(cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.s.Status(); got != cred.Status {
		t.Errorf("standard: Status() = %+v, want %+v", got, cred.Status)
	}
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}

	cred.Status.Signaling = AliroRevocationDocument
	cred.Status.RevocationSigned = NewAliroTimestamp(time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	if i, err := tr.fast(AliroPolicyUserDevice, []FastKey{NewFastKey(cred.PublicKey, &pk)}); err != nil || i != 0 {
		t.Fatalf("fast = %d, %v", i, err)
	}
	if got := tr.s.Status(); got != cred.Status {
		t.Errorf("fast: Status() = %+v, want %+v", got, cred.Status)
	}
	if err := tr.finish(AliroStatusSecure); err != nil {
		t.Fatal(err)
	}

	other, err := NewPersistentKey(make([]byte, PersistentKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if i, err := tr.fast(AliroPolicyUserDevice, []FastKey{NewFastKey(cred.PublicKey, &other)}); err != nil || i != -1 {
		t.Fatalf("fast with a wrong Kpersistent = %d, %v; want no match", i, err)
	}
	if got := tr.s.Status(); got != (AliroStatus{}) {
		t.Errorf("fast without a match: Status() = %+v, want zero", got)
	}

	stranger, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.standard(AliroPolicyUserDevice, stranger.PublicKey()); err == nil {
		t.Fatal("VerifyEndpoint accepted another credential key")
	}
	if got := tr.s.Status(); got != (AliroStatus{}) {
		t.Errorf("after a failed VerifyEndpoint: Status() = %+v, want zero", got)
	}
}

// TestAliroReaderStatusFailure: Failure is true for the failure statuses
// of Aliro 1.0 Table 8-18 (first byte 00) and false for the reader states
// (first byte 01) and other first bytes.
func TestAliroReaderStatusFailure(t *testing.T) {
	failures := []AliroReaderStatus{
		AliroStatusKeyNotFound, AliroStatusKeyExpired, AliroStatusKeyNotTrusted, AliroStatusInvalidSignature,
		AliroStatusInvalidFormat, AliroStatusInvalidContent, AliroStatusStatusWordError, AliroStatusNoKeySlot,
		AliroStatusNoPublicKey, AliroStatusNoSignature, AliroStatusInvalidRights, AliroStatusHardware, 0x00FF,
	}
	states := []AliroReaderStatus{
		AliroStatusSecure, AliroStatusUnsecure, AliroStatusObstructed, AliroStatusEnteringSecure,
		AliroStatusEnteringUnsecure, AliroStatusStateUnknown, 0x0200, 0xFF00,
	}
	for _, s := range failures {
		if !s.Failure() {
			t.Errorf("%#04x.Failure() = false, want true", uint16(s))
		}
	}
	for _, s := range states {
		if s.Failure() {
			t.Errorf("%#04x.Failure() = true, want false", uint16(s))
		}
	}
}
