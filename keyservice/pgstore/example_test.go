package pgstore_test

import (
	"context"
	"fmt"

	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/pgstore"
)

// ExampleOpen opens the store of a fleet's database, as every instance of
// the service does; the schema is migrated at the first. It needs a
// server, so it is compiled, not run: the tests run the same under
// scripts/postgres/run.sh.
func ExampleOpen() {
	s, err := pgstore.Open(context.Background(), "postgres://dk@db.example/keys?sslmode=verify-full", nil)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	var store keyservice.Store = s
	fmt.Println(store.Ping(context.Background()), pgstore.SchemaVersion)
}
