package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/boltstore"
	"github.com/opencarkey/sdk/sharing"
)

// ExampleOpen keeps a relay mailbox in a bbolt file and reads it back after
// reopening the file.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dkserver.db")
	s, err := boltstore.Open(path)
	if err != nil {
		panic(err)
	}
	m := &keyservice.Mailbox{ID: sharing.MailboxID{1}, Expires: time.Unix(1772359200, 0), SenderContent: []byte("sealed")}
	ctx := context.Background()
	if err := s.Update(ctx, func(tx keyservice.Tx) error { return tx.PutMailbox(m) }); err != nil {
		panic(err)
	}
	s.Close()

	s, err = boltstore.Open(path)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	_ = s.View(ctx, func(tx keyservice.Tx) error {
		got, err := tx.Mailbox(m.ID)
		fmt.Println(string(got.SenderContent), got.Expires.UTC().Format(time.RFC3339), err)
		return nil
	})
	// Output:
	// sealed 2026-03-01T10:00:00Z <nil>
}
