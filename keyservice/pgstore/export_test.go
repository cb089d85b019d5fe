package pgstore

import "github.com/jackc/pgx/v5/pgxpool"

// PoolForTest returns the store's pool, for tests that look at the schema.
func (s *Store) PoolForTest() *pgxpool.Pool { return s.pool }
