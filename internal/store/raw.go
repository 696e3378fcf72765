package store

import "database/sql"

// DB returns the read handle, for audits and tests that inspect every
// table (the privacy test reads them all). Writes must go through the
// Store's methods so the ledger invariant holds.
func (s *Store) DB() *sql.DB { return s.r }
