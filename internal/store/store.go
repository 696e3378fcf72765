// Package store is Tokenhot's persistence layer: users, API keys, channels,
// models, the money ledger, request logs and settings, on SQLite (pure Go,
// modernc.org/sqlite) or PostgreSQL (pgx), with embedded migrations.
//
// Every public method owns its transaction. Money moves only through methods
// that change a balance and append exactly one ledger entry in the same
// transaction, so a user's balance always equals the sum of their entries.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tokenhot/tokenhot/internal/secret"
)

// Dialects, as Dialect reports them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// defaultPGConns bounds the Postgres pool unless the DSN sets
// pool_max_conns. Requests hold a connection only for single statements, so
// a small pool serves many concurrent requests.
const defaultPGConns = 16

// Store is the database. It is safe for concurrent use.
type Store struct {
	dialect string
	pg      bool
	// w runs every write. On SQLite it is a single connection whose
	// transactions begin IMMEDIATE, so writers queue in Go instead of
	// failing with SQLITE_BUSY. On Postgres it is the one pool.
	w *sql.DB
	// r runs reads outside transactions: a pool of read-only connections on
	// SQLite (WAL lets them run while the writer writes), w on Postgres.
	r    *sql.DB
	hot  *hotStmts     // SQLite only: the money path, prepared once
	ckpt *checkpointer // SQLite only
	// settle holds ApplySettlements' statements, prepared on first use.
	settle     *settleStmts
	logs       *logStmts  // SQLite only: request log inserts, prepared on first use
	settleOnce sync.Mutex // guards settle and logs
	box        *secret.Box
	pgConfig   *pgx.ConnConfig // Postgres only: for the LISTEN connection
	now        func() time.Time
}

// Open connects to the database named by dsn and brings its schema up to
// date. dsn is "sqlite://path/to/file.db" (a relative path),
// "sqlite:///abs/path.db", or a "postgres://" / "postgresql://" URL, which may
// carry pool_max_conns to size the connection pool (default 16); other
// unknown parameters are sent to the server as settings, e.g.
// synchronous_commit=off to stop waiting for a disk flush on each commit. box
// seals the channels' upstream keys at rest and must not be nil.
func Open(ctx context.Context, dsn string, box *secret.Box) (*Store, error) {
	if box == nil {
		return nil, errors.New("store: open: a secret box is required to seal channel keys")
	}
	var (
		s   *Store
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		s, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err = openPostgres(ctx, dsn)
	default:
		// Never echo the DSN: it may hold a password.
		scheme, _, _ := strings.Cut(dsn, ":")
		return nil, fmt.Errorf("store: open: unsupported database scheme %q (want sqlite:// or postgres://)", scheme)
	}
	if err != nil {
		return nil, err
	}
	s.box = box
	s.now = time.Now
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if !s.pg {
		if s.hot, err = prepareHot(ctx, s.w); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.Contains(path, "?") {
		return nil, fmt.Errorf("store: open: invalid sqlite path %q", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: open: %w", err)
		}
	}
	// busy_timeout still matters with a single writer: another process
	// (a backup, the sqlite3 shell) may hold the lock for a moment.
	// synchronous=NORMAL in WAL mode cannot corrupt the database; a power
	// cut may lose the last commits, which is the accepted trade for not
	// fsyncing on every request.
	common := "_busy_timeout=10000&_foreign_keys=1"
	w, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"+
		"&_pragma=wal_autocheckpoint("+strconv.Itoa(writerAutoCheckpoint)+")")
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches the file to WAL, which the
	// readers then find already set. Switching the journal mode does not
	// wait for the busy timeout, so while another process migrates the
	// file (several instances starting at once) it is retried here.
	if err := pingSQLite(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	c, err := sql.Open("sqlite", path+"?"+common)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	c.SetMaxOpenConns(1)
	return &Store{dialect: DialectSQLite, w: w, r: r, ckpt: startCheckpointer(c)}, nil
}

// pingSQLite connects, retrying for up to ten seconds while the file is
// locked by another connection.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(wait*2, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("store: open: malformed postgres URL")
	}
	conns := defaultPGConns
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		if conns, err = strconv.Atoi(v); err != nil || conns < 1 {
			return nil, fmt.Errorf("store: open: invalid pool_max_conns %q", v)
		}
		// pgx would send it to the server as a run-time parameter.
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	return &Store{dialect: DialectPostgres, pg: true, w: db, r: db, pgConfig: cfg}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.hot != nil {
		s.hot.close()
	}
	if s.settle != nil {
		s.settle.close()
	}
	if s.logs != nil {
		s.logs.many.Close()
		s.logs.one.Close()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if s.ckpt != nil {
		err = errors.Join(err, s.ckpt.close())
	}
	return err
}

// Dialect reports "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// clock is the current time as the database stores it: UTC, to the
// microsecond (both dialects keep microseconds), so that a value read back
// equals the value written.
func (s *Store) clock() time.Time { return dbTime(s.now()) }

func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// inTx runs fn in a write transaction and commits it if fn returns nil.
// fn's error is returned as is, so sentinel errors survive.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if s.ckpt != nil {
		s.ckpt.committed(1)
	}
	return nil
}

// moneyTx runs one operation of the money path in a write transaction.
// (The gateway's SQLite money path is the journaled ledger, package ledger;
// this one serves PostgreSQL and direct callers such as tests.)
func (s *Store) moneyTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
}

// forUpdate locks the selected rows on Postgres. SQLite needs nothing: its
// write transactions already exclude each other.
func (s *Store) forUpdate() string {
	if s.pg {
		return " FOR UPDATE"
	}
	return ""
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface{ Scan(dest ...any) error }

// limitRows applies the paging rule shared by Entries and RequestLogs.
func limitRows(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}
