package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// TestGroupCommit queues several operations while a group is running, so
// that they form the next group together, and checks that each one that
// fails leaves no trace while the others commit.
func TestGroupCommit(t *testing.T) {
	s := openTest(t, testDSN(t, DialectSQLite), testBox(t))
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE scratch (v INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(v int) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO scratch (v) VALUES ($1)`, v)
			return err
		}
	}
	boom := errors.New("boom")

	// The first operation holds its group open until the rest are queued.
	started, release := make(chan struct{}), make(chan struct{})
	firstErr := make(chan error)
	go func() {
		firstErr <- s.group.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-release
			return insert(1)(ctx, tx)
		})
	}()
	<-started

	ops := []*groupOp{
		{run: insert(2)},
		{run: func(ctx context.Context, tx *sql.Tx) error {
			if err := insert(3)(ctx, tx); err != nil {
				return err
			}
			return boom // after a write, which must be undone
		}},
		{run: insert(2)}, // a constraint violation
		{run: insert(5)},
		{run: insert(6)}, // abandoned by its caller before it ran
	}
	for _, op := range ops {
		op.ctx, op.done = ctx, make(chan struct{})
		s.group.ops <- op // queued behind the running group, as do would
	}
	ops[4].state.Store(opAbandoned)
	close(release)
	checkErr(t, <-firstErr, nil)
	for _, op := range ops {
		<-op.done
	}

	checkErr(t, ops[0].err, nil)
	checkErr(t, ops[1].err, boom)
	if !isUniqueViolation(ops[2].err) {
		t.Errorf("duplicate insert: %v, want a unique violation", ops[2].err)
	}
	checkErr(t, ops[3].err, nil)
	checkErr(t, ops[4].err, nil)

	rows, err := s.r.QueryContext(ctx, `SELECT v FROM scratch ORDER BY v`)
	checkErr(t, err, nil)
	got, err := collect(rows, func(r rowScanner) (v int, err error) { return v, r.Scan(&v) })
	checkErr(t, err, nil)
	diff(t, []int{1, 2, 5}, got)
}

// TestCanceledReserve: a caller whose context ends may or may not get its
// reservation, but is never told the wrong thing.
func TestCanceledReserve(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		u := mustUser(t, s, "alice")
		mustTopUp(t, s, u.ID, 1_000_000)
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		var booked []Hold
		for i := range 50 {
			h := Hold{RequestID: "req-" + itoa(int64(i)), UserID: u.ID, Amount: 10}
			_, err := s.Reserve(canceled, h)
			switch {
			case err == nil:
				booked = append(booked, h)
			case !errors.Is(err, context.Canceled):
				t.Fatalf("reserve: %v", err)
			}
		}
		got := readBooks(t, s).Holds
		byID := func(a, b Hold) int { return strings.Compare(a.RequestID, b.RequestID) }
		slices.SortFunc(booked, byID)
		slices.SortFunc(got, byID)
		diff(t, booked, got)
		checkBooks(t, s, u.ID, 1_000_000-billing.Micros(10*len(booked)))
	})
}

// TestClosed: calls on a closed store fail rather than hang.
func TestClosed(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		u := mustUser(t, s, "alice")
		checkErr(t, s.Close(), nil)
		if _, err := s.Reserve(context.Background(), Hold{RequestID: "r", UserID: u.ID}); err == nil {
			t.Error("Reserve on a closed store succeeded")
		}
		if _, err := s.GetUser(context.Background(), u.ID); err == nil {
			t.Error("GetUser on a closed store succeeded")
		}
	})
}
