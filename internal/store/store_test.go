package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/secret"
)

// pgEnv names the Postgres server the suite also runs against, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Unset: SQLite only.
const pgEnv = "TOKENHOT_TEST_POSTGRES_DSN"

// t0 is the fixed time test stores see, so whole structs compare equal.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func testBox(t testing.TB) *secret.Box {
	t.Helper()
	box, err := secret.NewBox(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// dialects runs test once per available dialect, each on a fresh database.
func dialects(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			test(t, openTest(t, testDSN(t, d), testBox(t)))
		})
	}
}

// testDSN returns the DSN of a fresh, empty database of the dialect: a file
// in a temporary directory, or a new Postgres schema dropped at the end of
// the test, so that tests run in parallel and repeatedly.
func testDSN(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == DialectSQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "tokenhot.db")
	}
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		t.Skip(pgEnv + " is not set")
	}
	admin, err := pgAdmin()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "tokenhot_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Many stores run at once; keep each pool small.
	q.Set("pool_max_conns", "8")
	u.RawQuery = q.Encode()
	return u.String()
}

// pgAdmin is one pool, shared by all tests, that creates and drops schemas.
var pgAdmin = sync.OnceValues(func() (*sql.DB, error) {
	db, err := sql.Open("pgx", os.Getenv(pgEnv))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	return db, nil
})

// openTest opens a store with the fixed clock t0 and closes it at the end.
func openTest(t testing.TB, dsn string, box *secret.Box) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, box)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return t0 }
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func mustUser(t testing.TB, s *Store, name string) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// mustKey creates a key whose secret is the name, so its digest is unique
// per name.
func mustKey(t testing.TB, s *Store, userID int64, name string, limits KeyLimits) Key {
	t.Helper()
	k, err := s.CreateKey(context.Background(), userID, name, apikey.Hash(name), apikey.Display(name), limits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustTopUp(t testing.TB, s *Store, userID int64, amount billing.Micros) {
	t.Helper()
	if _, _, err := s.Credit(context.Background(), userID, EntryTopUp, amount, "", ""); err != nil {
		t.Fatal(err)
	}
}

// checkBooks asserts the ledger invariant: the balance is the sum of the
// ledger, and is want.
func checkBooks(t testing.TB, s *Store, userID int64, want billing.Micros) {
	t.Helper()
	ctx := context.Background()
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.LedgerSum(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Balance != want || sum != want {
		t.Errorf("user %d: balance %d, ledger sum %d, want both %d", userID, u.Balance, sum, want)
	}
}

func checkSpent(t testing.TB, s *Store, keyID int64, want billing.Micros) {
	t.Helper()
	k, err := s.GetKey(context.Background(), keyID)
	if err != nil {
		t.Fatal(err)
	}
	if k.Spent != want {
		t.Errorf("key %d spent %d, want %d", keyID, k.Spent, want)
	}
}

// checkErr fails unless err matches want (nil: no error).
func checkErr(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error %v, want %v", err, want)
	}
}

func diff(t testing.TB, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
