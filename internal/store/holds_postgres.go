package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// On Postgres, Reserve and Settle are each a single statement, so one round
// trip, with the statement as its own transaction.

// reservePG calls tokenhot_reserve (see the migration for why it is a
// function) and maps the SQLSTATEs it raises to the store's errors.
func (s *Store) reservePG(ctx context.Context, h Hold, e *Entry) error {
	err := s.w.QueryRowContext(ctx, `SELECT o_entry_id, o_balance FROM tokenhot_reserve($1, $2, $3, $4, $5)`,
		h.RequestID, h.UserID, h.KeyID, int64(h.Amount), s.tv(e.Created)).Scan(&e.ID, &e.BalanceAfter)
	code, _ := pgCode(err)
	switch code {
	case "TH402":
		return ErrInsufficientFunds
	case "TH403":
		return ErrUserInactive
	case "TH404", "23503": // 23503: the hold's foreign key found no such user or key
		return ErrNotFound
	case "TH429":
		return ErrKeySpendLimit
	case "23505":
		return ErrConflict
	}
	return err
}

// releaseSQL removes a hold and books hold - $2 back, as a chain of
// data-modifying CTEs. Nothing can fail half-way here (a missing hold makes
// every step match nothing), so a plain statement is atomic. Each step reads
// the previous one's output, which fixes the lock order (hold, user, key)
// to the one tokenhot_reserve uses, so the two never deadlock. Under READ
// COMMITTED a concurrent change to the user or key row is waited for and the
// update reapplied to the newest version, so no increment is lost; and of
// two concurrent releases of one hold, the second finds it gone and changes
// nothing.
const releaseSQL = `WITH h AS (
	DELETE FROM holds WHERE request_id = $1 RETURNING user_id, key_id, amount
), u AS (
	UPDATE users SET balance = users.balance + (h.amount - $2)
	FROM h WHERE users.id = h.user_id
	RETURNING users.id, users.balance, h.key_id, h.amount
), k AS (
	UPDATE api_keys SET spent = api_keys.spent + ($2 - u.amount)
	FROM u WHERE api_keys.id = u.key_id
)
INSERT INTO ledger (user_id, kind, amount, balance_after, ref, note, created_at)
SELECT u.id, $3::text, u.amount - $2, u.balance, $1, $4::text, $5::timestamptz FROM u
RETURNING id, user_id, amount, balance_after`

func (s *Store) releasePG(ctx context.Context, e *Entry, cost billing.Micros) error {
	err := s.w.QueryRowContext(ctx, releaseSQL, e.Ref, int64(cost), e.Kind, e.Note, s.tv(e.Created)).
		Scan(&e.ID, &e.UserID, &e.Amount, &e.BalanceAfter)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
