package keyservice_test

import (
	"context"
	"testing"

	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/pgstore"
	"github.com/opencarkey/sdk/keyservice/pgstore/pgtest"
)

// postgresBackend returns the PostgreSQL backend when the private server of
// scripts/postgres/run.sh is there; without it the PostgreSQL runs are
// skipped (failed under CI=true, by pgtest.URL).
func postgresBackend(t *testing.T) (backend, bool) {
	admin, ok := pgtest.URL(t)
	if !ok {
		t.Log(pgtest.Help)
		return backend{}, false
	}
	return backend{name: "postgres", new: func(t testing.TB) func() keyservice.Store {
		url := pgtest.NewDatabase(t, admin)
		return func() keyservice.Store { return openPostgres(t, url) }
	}}, true
}

func openPostgres(t testing.TB, url string) *pgstore.Store {
	s, err := pgstore.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
