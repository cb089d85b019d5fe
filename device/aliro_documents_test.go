package device

import (
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// TestAliroAppletRemoveDocuments: Documents returns the provisioned access
// and revocation documents; RemoveDocuments deletes both, the credential
// stops announcing them (AUTH1 signaling), and the removal is stored: a
// restart from the store finds no document. Unknown groups and a closed
// applet are refused.
func TestAliroAppletRemoveDocuments(t *testing.T) {
	m, kek := store.NewMemory(), testKEK(t, 3)
	a := newTestAliroApplet(t, &AliroConfig{Store: m, KEK: kek})
	tr := newAliroTestReader(t, "documents group")
	tr.attach(a)
	info := tr.credentialWithDocuments(t, a, 8)
	const docs = transaction.AliroAccessDocument | transaction.AliroRevocationDocument

	access, rev := a.Documents(info.Group)
	if access == nil || access.DocType() != mdoc.AliroAccessDocType || !access.DeviceKey().Equal(info.PublicKey) {
		t.Fatalf("access document = %v", access)
	}
	if rev == nil || rev.DocType() != mdoc.AliroRevocationDocType {
		t.Fatalf("revocation document = %v", rev)
	}
	if c, _ := a.Credential(info.Group); c.Status.Signaling&docs != docs {
		t.Errorf("signaling with documents = %v, want both document bits", c.Status.Signaling)
	}

	if err := a.RemoveDocuments(info.Group); err != nil {
		t.Fatal(err)
	}
	if access, rev := a.Documents(info.Group); access != nil || rev != nil {
		t.Errorf("Documents after RemoveDocuments = %v, %v, want none", access, rev)
	}
	if c, _ := a.Credential(info.Group); c.Status.Signaling&docs != 0 {
		t.Errorf("signaling after RemoveDocuments = %v, want no document bit", c.Status.Signaling)
	}
	if _, auth, err := tr.standard(transaction.AliroPolicyUserDevice); err != nil || auth.Status.Signaling&docs != 0 {
		t.Errorf("AUTH1 after RemoveDocuments: status %+v, %v; want no document announced", auth.Status, err)
	}
	// Removing again is not an error; the credential itself stays.
	if err := a.RemoveDocuments(info.Group); err != nil {
		t.Errorf("second RemoveDocuments = %v", err)
	}
	if _, ok := a.Credential(info.Group); !ok {
		t.Error("RemoveDocuments deleted the credential")
	}

	var unknown dkey.ReaderGroupID
	unknown[0] = 0xEE
	if err := a.RemoveDocuments(unknown); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("RemoveDocuments of an unknown group = %v, want ErrUnknownVehicle", err)
	}
	if access, rev := a.Documents(unknown); access != nil || rev != nil {
		t.Errorf("Documents of an unknown group = %v, %v", access, rev)
	}

	b, err := reopenAliro(m, kek)
	if err != nil {
		t.Fatal(err)
	}
	if access, rev := b.Documents(info.Group); access != nil || rev != nil {
		t.Errorf("Documents after a restart = %v, %v, want the removal stored", access, rev)
	}
	if _, ok := b.Credential(info.Group); !ok {
		t.Error("the credential did not survive the restart")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveDocuments(info.Group); !errors.Is(err, ErrClosed) {
		t.Errorf("RemoveDocuments after Close = %v, want ErrClosed", err)
	}
}
