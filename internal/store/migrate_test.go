package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/secret"
)

func TestOpenSQLiteDSN(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct {
		name, dsn, file string
	}{
		{name: "relative, parent created", dsn: "sqlite://data/sub/tokenhot.db", file: filepath.Join(dir, "data", "sub", "tokenhot.db")},
		{name: "relative, current directory", dsn: "sqlite://here.db", file: filepath.Join(dir, "here.db")},
		{name: "absolute", dsn: "sqlite://" + filepath.Join(dir, "abs", "t.db"), file: filepath.Join(dir, "abs", "t.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, tc.dsn, testBox(t))
			diff(t, DialectSQLite, s.Dialect())
			if _, err := os.Stat(tc.file); err != nil {
				t.Fatal(err)
			}
			var mode string
			checkErr(t, s.r.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode), nil)
			diff(t, "wal", mode)
			var fk int
			checkErr(t, s.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk), nil)
			diff(t, 1, fk)
			// Readers cannot write.
			if _, err := s.r.ExecContext(ctx, `DELETE FROM settings`); err == nil {
				t.Error("the reader pool accepted a write")
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, dsn, want string
		nilBox          bool
	}{
		{name: "unknown scheme", dsn: "mysql://root:hunter2@db/x", want: `unsupported database scheme "mysql"`},
		{name: "no scheme", dsn: "tokenhot.db", want: "unsupported database scheme"},
		{name: "empty sqlite path", dsn: "sqlite://", want: "invalid sqlite path"},
		{name: "query in sqlite path", dsn: "sqlite://x.db?mode=memory", want: "invalid sqlite path"},
		{name: "bad pool size", dsn: "postgres://u@127.0.0.1:1/x?pool_max_conns=zero", want: "invalid pool_max_conns"},
		{name: "no box", dsn: "sqlite://" + filepath.Join(t.TempDir(), "x.db"), nilBox: true, want: "secret box"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			box := testBox(t)
			if tc.nilBox {
				box = nil
			}
			s, err := Open(ctx, tc.dsn, box)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q, want it to contain %q and no password", err, tc.want)
			}
		})
	}
}

// TestMigrateAgain opens the same database twice: the second start applies
// nothing and keeps the data.
func TestMigrateAgain(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := testDSN(t, d)
			box := testBox(t)
			first := openTest(t, dsn, box)
			diff(t, d, first.Dialect())
			u := mustUser(t, first, "alice")
			mustTopUp(t, first, u.ID, 5)
			checkErr(t, first.Close(), nil)

			second := openTest(t, dsn, box)
			checkBooks(t, second, u.ID, 5)
			ms, err := migrations(d)
			checkErr(t, err, nil)
			var count, latest int
			err = second.r.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&count, &latest)
			checkErr(t, err, nil)
			diff(t, len(ms), count)
			diff(t, ms[len(ms)-1].version, latest)

			// A database migrated by a newer build is refused.
			_, err = second.w.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				latest+1, "9999_future.sql", second.tv(t0))
			checkErr(t, err, nil)
			_, err = Open(ctx, dsn, box)
			if err == nil || !strings.Contains(err.Error(), "newer than this build") {
				t.Errorf("opening a newer schema: %v", err)
			}
		})
	}
}

func TestMigrationFiles(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if m.version != i+1 {
				t.Errorf("%s: migration %s has version %d, want %d", d, m.name, m.version, i+1)
			}
		}
	}
	sq, _ := migrations(DialectSQLite)
	pg, _ := migrations(DialectPostgres)
	if len(sq) != len(pg) {
		t.Errorf("%d sqlite migrations, %d postgres: the dialects must move together", len(sq), len(pg))
	}
}

// openAt opens a store whose schema stops at version, as a build of that
// time would have left it.
func openAt(t *testing.T, dsn string, box *secret.Box, version int) *Store {
	t.Helper()
	ctx := context.Background()
	var (
		s   *Store
		err error
	)
	if path, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		s, err = openSQLite(ctx, path)
	} else {
		s, err = openPostgres(ctx, dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.box, s.now = box, func() time.Time { return t0 }
	ms, err := migrations(s.dialect)
	checkErr(t, err, nil)
	checkErr(t, s.applyMigrations(ctx, ms[:version]), nil)
	return s
}

// TestMigrateRateLimits upgrades a database holding rows written before
// rate limits existed: every row reads back unlimited, and the new columns
// refuse negative values.
func TestMigrateRateLimits(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := testDSN(t, d)
			box := testBox(t)
			old := openAt(t, dsn, box, 1)
			hash := apikey.Hash("sk-th-old")
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO users (name, status, balance, credit_limit, created_at) VALUES ('alice', 'active', 0, 0, $1)`,
					[]any{old.tv(t0)}},
				{`INSERT INTO api_keys (user_id, name, prefix, hash, status, created_at) VALUES (1, 'k', 'sk-th-old', $1, 'active', $2)`,
					[]any{hash[:], old.tv(t0)}},
				{`INSERT INTO channels (name, type, base_url, keys_sealed, models, model_map, priority, weight, enabled, updated_at)
					VALUES ('c', 'openai', 'https://x', $1, '["m"]', '{}', 0, 1, $2, $3)`,
					[]any{box.Seal(`["sk-up"]`), true, old.tv(t0)}},
				{`INSERT INTO models (name, status, input_rate, output_rate, cached_input_rate, cache_write_rate, reasoning_rate,
					per_request, max_output_tokens, updated_at) VALUES ('m', 'available', 1, 2, 1, 1, 2, 0, 0, $1)`,
					[]any{old.tv(t0)}},
			} {
				if _, err := old.w.ExecContext(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			checkErr(t, old.Close(), nil)

			s := openTest(t, dsn, box)
			var version int
			checkErr(t, s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version), nil)
			ms, err := migrations(d)
			checkErr(t, err, nil)
			diff(t, ms[len(ms)-1].version, version)
			u, err := s.GetUserByName(ctx, "alice")
			checkErr(t, err, nil)
			k, err := s.KeyByHash(ctx, hash)
			checkErr(t, err, nil)
			chans, err := s.ListChannels(ctx)
			checkErr(t, err, nil)
			m, err := s.GetModel(ctx, "m")
			checkErr(t, err, nil)
			diff(t, []Limits{{}, {}, {}, {}}, []Limits{u.Limits, k.Limits.Rate, chans[0].Limits, m.Limits})

			for _, table := range []string{"users", "api_keys", "channels", "models"} {
				for _, col := range []string{"rpm", "tpm", "concurrent"} {
					if _, err := s.w.ExecContext(ctx, `UPDATE `+table+` SET `+col+` = -1`); err == nil {
						t.Errorf("%s.%s took a negative value", table, col)
					}
				}
			}
		})
	}
}

// TestMigrateMediaPrices upgrades a database holding a model written before
// media prices existed: it reads back with none, and the new columns refuse
// negative amounts and malformed JSON.
func TestMigrateMediaPrices(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := testDSN(t, d)
			box := testBox(t)
			old := openAt(t, dsn, box, 2)
			_, err := old.w.ExecContext(ctx, `INSERT INTO models (name, status, input_rate, output_rate, cached_input_rate,
				cache_write_rate, reasoning_rate, per_request, max_output_tokens, updated_at)
				VALUES ('m', 'available', 1, 2, 1, 1, 2, 3, 0, $1)`, old.tv(t0))
			checkErr(t, err, nil)
			checkErr(t, old.Close(), nil)

			s := openTest(t, dsn, box)
			m, err := s.GetModel(ctx, "m")
			checkErr(t, err, nil)
			diff(t, billing.Price{Input: 1, Output: 2, CachedInput: 1, CacheWrite: 1, Reasoning: 2, PerRequest: 3}, m.Price)
			var media string
			checkErr(t, s.r.QueryRowContext(ctx, `SELECT media_prices FROM models WHERE name = 'm'`).Scan(&media), nil)
			diff(t, "{}", media)

			for _, set := range []string{"per_image = -1", "per_second = -1", "media_prices = 'not json'"} {
				if _, err := s.w.ExecContext(ctx, `UPDATE models SET `+set); err == nil {
					t.Errorf("models took %s", set)
				}
			}
		})
	}
}
