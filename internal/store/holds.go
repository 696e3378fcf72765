package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// The money hot path: every API request makes one Reserve before it is
// forwarded and one Settle or Refund after. Each moves the balance and
// appends one ledger entry atomically: on Postgres in one statement, so one
// round trip; on SQLite in one transaction shared with whatever other
// money operations are waiting (groupcommit.go).

// Reserve puts money on hold for an in-flight request, atomically:
//   - the user must be active (ErrUserInactive; ErrNotFound if unknown);
//   - balance - amount must stay >= -credit_limit (ErrInsufficientFunds);
//   - if h.KeyID is not 0, the key must belong to the user (ErrNotFound)
//     and, if it has a spend limit, spent + amount must stay within it
//     (ErrKeySpendLimit);
//   - h.RequestID must not have been reserved before (ErrConflict).
//
// On success it records the hold, appends a reserve entry of -amount whose
// ref is the request id, lowers the balance and raises the key's spent by
// amount. On any error nothing changes. A zero amount (a free model) still
// records the hold, so the request settles like any other.
//
// The key's status and expiry are not checked: authentication does that
// before, against ActiveKeys.
func (s *Store) Reserve(ctx context.Context, h Hold) (Entry, error) {
	if h.RequestID == "" || h.Amount < 0 || h.Amount > maxAmount {
		return Entry{}, fmt.Errorf("store: reserve %q: %w: empty request id or amount %s", h.RequestID, ErrInvalid, h.Amount)
	}
	e := Entry{UserID: h.UserID, Kind: EntryReserve, Amount: -h.Amount, Ref: h.RequestID, Created: s.clock()}
	var err error
	if s.pg {
		err = s.reservePG(ctx, h, &e)
	} else {
		err = s.moneyTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.reserveSQLite(ctx, tx, h, &e) })
	}
	if err != nil {
		return Entry{}, fmt.Errorf("store: reserve %q for user %d: %w", h.RequestID, h.UserID, err)
	}
	return e, nil
}

// Settle ends a request that was served: it removes the hold, returns
// hold - cost to the balance in one settle entry (negative when the cost is
// above the hold) and moves the key's spent from the hold to the cost.
//
// A cost above the hold is charged in full, even if that takes the balance
// below zero or below -credit_limit: the upstream has already been paid for
// those tokens. The next Reserve is then refused until the user tops up.
//
// ErrNotFound means there is no hold: the request was already settled or
// refunded, and nothing changes, so a repeated Settle is harmless. Settle
// usually runs after the client has gone; pass a context that outlives it
// (context.WithoutCancel).
func (s *Store) Settle(ctx context.Context, requestID string, cost billing.Micros, note string) (Entry, error) {
	if cost < 0 || cost > maxAmount {
		return Entry{}, fmt.Errorf("store: settle %q: %w: cost %s", requestID, ErrInvalid, cost)
	}
	e, err := s.release(ctx, requestID, EntrySettle, cost, note)
	if err != nil {
		return Entry{}, fmt.Errorf("store: settle %q: %w", requestID, err)
	}
	return e, nil
}

// Refund ends a request that failed: it costs nothing, so the whole hold
// goes back in a refund entry. ErrNotFound means there is no hold.
func (s *Store) Refund(ctx context.Context, requestID string, note string) (Entry, error) {
	e, err := s.release(ctx, requestID, EntryRefund, 0, note)
	if err != nil {
		return Entry{}, fmt.Errorf("store: refund %q: %w", requestID, err)
	}
	return e, nil
}

func (s *Store) release(ctx context.Context, requestID, kind string, cost billing.Micros, note string) (Entry, error) {
	e := Entry{Kind: kind, Ref: requestID, Note: note, Created: s.clock()}
	var err error
	if s.pg {
		err = s.releasePG(ctx, &e, cost)
	} else {
		err = s.moneyTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.releaseSQLite(ctx, tx, &e, cost) })
	}
	return e, err
}

// ReleaseStaleHolds refunds every hold created before olderThan and reports
// how many. At start-up, every hold older than the process is one a crash
// left behind; its request will never settle.
//
// The hold of an asynchronous task that is not settled is never refunded,
// however old: the task outlives the request that created it, and whoever
// claims it next settles it. (A task row is written right after its hold,
// long before the hold can be old enough to be swept.)
func (s *Store) ReleaseStaleHolds(ctx context.Context, olderThan time.Time) (int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT request_id FROM holds WHERE created_at < $1
		AND NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.id = holds.request_id AND NOT tasks.settled)
		ORDER BY created_at`, s.tv(olderThan))
	if err != nil {
		return 0, fmt.Errorf("store: release stale holds: %w", err)
	}
	ids, err := collect(rows, func(r rowScanner) (id string, err error) { return id, r.Scan(&id) })
	if err != nil {
		return 0, fmt.Errorf("store: release stale holds: %w", err)
	}
	n := 0
	for _, id := range ids {
		// One transaction per hold: each refund stands on its own, and a
		// hold settled meanwhile (ErrNotFound) is simply skipped.
		_, err := s.release(ctx, id, EntryRefund, 0, "stale hold released")
		switch {
		case err == nil:
			n++
		case !errors.Is(err, ErrNotFound):
			return n, fmt.Errorf("store: release stale hold %q: %w", id, err)
		}
	}
	return n, nil
}
