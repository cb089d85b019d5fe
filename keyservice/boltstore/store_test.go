package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/boltstore"
	"github.com/opencarkey/sdk/keyservice/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{New: func(t *testing.T) func() keyservice.Store {
		path := filepath.Join(t.TempDir(), "dkserver.db")
		return func() keyservice.Store {
			s, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}})
}
