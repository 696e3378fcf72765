package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// On SQLite, Reserve and Settle are a few statements in one IMMEDIATE
// transaction on the single writer connection: no other writer can run in
// between, so plain read-check-write is atomic, and each statement costs
// microseconds because it runs in-process.

// hotStmts are the statements of Reserve and Settle, prepared once on the
// writer connection so that the hot path never parses SQL. (On Postgres,
// pgx caches prepared statements per connection by itself.)
type hotStmts struct {
	insertHold, debitUser, chargeKey, insertEntry *sql.Stmt
	deleteHold, creditUser, adjustKey             *sql.Stmt
}

func prepareHot(ctx context.Context, db *sql.DB) (*hotStmts, error) {
	h := &hotStmts{}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&h.insertHold, `INSERT INTO holds (request_id, user_id, key_id, amount, created_at) VALUES ($1, $2, $3, $4, $5)`},
		{&h.debitUser, `UPDATE users SET balance = balance - $1
			WHERE id = $2 AND status = 'active' AND balance - $1 >= -credit_limit RETURNING balance`},
		{&h.chargeKey, `UPDATE api_keys SET spent = spent + $1
			WHERE id = $2 AND user_id = $3 AND (spend_limit = 0 OR spent + $1 <= spend_limit)`},
		{&h.insertEntry, insertEntry},
		{&h.deleteHold, `DELETE FROM holds WHERE request_id = $1 RETURNING user_id, key_id, amount`},
		{&h.creditUser, `UPDATE users SET balance = balance + $1 WHERE id = $2 RETURNING balance`},
		{&h.adjustKey, `UPDATE api_keys SET spent = spent + $1 WHERE id = $2`},
	} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			h.close()
			return nil, fmt.Errorf("store: prepare: %w", err)
		}
		*p.st = st
	}
	return h, nil
}

func (h *hotStmts) close() {
	for _, st := range []*sql.Stmt{h.insertHold, h.debitUser, h.chargeKey, h.insertEntry,
		h.deleteHold, h.creditUser, h.adjustKey} {
		if st != nil {
			st.Close()
		}
	}
}

func (s *Store) reserveSQLite(ctx context.Context, tx *sql.Tx, h Hold, e *Entry) error {
	st := func(p *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, p) }
	var key any // NULL when the request has no key
	if h.KeyID != 0 {
		key = h.KeyID
	}
	// The hold goes first so that a duplicate request id is always
	// ErrConflict, whatever the balance; its foreign keys catch an unknown
	// user or key.
	_, err := st(s.hot.insertHold).ExecContext(ctx, h.RequestID, h.UserID, key, int64(h.Amount), s.tv(e.Created))
	switch {
	case isUniqueViolation(err):
		return ErrConflict
	case isForeignKeyViolation(err):
		return ErrNotFound
	case err != nil:
		return err
	}
	err = st(s.hot.debitUser).QueryRowContext(ctx, int64(h.Amount), h.UserID).Scan(&e.BalanceAfter)
	if errors.Is(err, sql.ErrNoRows) {
		return userRefusal(ctx, tx, h.UserID)
	}
	if err != nil {
		return err
	}
	if h.KeyID != 0 {
		res, err := st(s.hot.chargeKey).ExecContext(ctx, int64(h.Amount), h.KeyID, h.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return keyRefusal(ctx, tx, h)
		}
	}
	return st(s.hot.insertEntry).QueryRowContext(ctx, h.UserID, EntryReserve, int64(e.Amount),
		int64(e.BalanceAfter), h.RequestID, "", s.tv(e.Created)).Scan(&e.ID)
}

// userRefusal says why the balance update of a Reserve matched no row.
func userRefusal(ctx context.Context, tx *sql.Tx, userID int64) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM users WHERE id = $1`, userID).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case status != UserActive:
		return ErrUserInactive
	}
	return ErrInsufficientFunds
}

// keyRefusal says why the spend update of a Reserve matched no row.
func keyRefusal(ctx context.Context, tx *sql.Tx, h Hold) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM api_keys WHERE id = $1 AND user_id = $2`, h.KeyID, h.UserID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	}
	return ErrKeySpendLimit
}

// releaseSQLite removes the hold e.Ref and books hold - cost back.
func (s *Store) releaseSQLite(ctx context.Context, tx *sql.Tx, e *Entry, cost billing.Micros) error {
	st := func(p *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, p) }
	var (
		key  sql.NullInt64
		hold int64
	)
	err := st(s.hot.deleteHold).QueryRowContext(ctx, e.Ref).Scan(&e.UserID, &key, &hold)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	e.Amount = billing.Micros(hold) - cost
	if err := st(s.hot.creditUser).QueryRowContext(ctx, int64(e.Amount), e.UserID).Scan(&e.BalanceAfter); err != nil {
		return err
	}
	if key.Valid {
		if _, err := st(s.hot.adjustKey).ExecContext(ctx, -int64(e.Amount), key.Int64); err != nil {
			return err
		}
	}
	return st(s.hot.insertEntry).QueryRowContext(ctx, e.UserID, e.Kind, int64(e.Amount),
		int64(e.BalanceAfter), e.Ref, e.Note, s.tv(e.Created)).Scan(&e.ID)
}
