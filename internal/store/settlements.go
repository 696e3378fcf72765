package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// Settlement is a finished request as the journaled ledger (package ledger)
// hands it to the database: what was held while it ran and what it cost.
type Settlement struct {
	RequestID string
	UserID    int64
	KeyID     int64 // 0: no key
	Held      billing.Micros
	Cost      billing.Micros
	Refund    bool // the request failed: Cost is 0 and the entry kind is refund
	Note      string
	Reserved  time.Time
	Settled   time.Time
}

// Account is a user's money state as stored.
type Account struct {
	UserID      int64
	Balance     billing.Micros
	CreditLimit billing.Micros
	Status      string
}

// KeyAccount is a key's spend state as stored.
type KeyAccount struct {
	KeyID      int64
	UserID     int64
	Spent      billing.Micros
	SpendLimit billing.Micros
}

// Accounts reads every user's balance and every non-revoked key's spend.
func (s *Store) Accounts(ctx context.Context) ([]Account, []KeyAccount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, balance, credit_limit, status FROM users`)
	if err != nil {
		return nil, nil, err
	}
	var users []Account
	for rows.Next() {
		var a Account
		var bal, credit int64
		if err := rows.Scan(&a.UserID, &bal, &credit, &a.Status); err != nil {
			rows.Close()
			return nil, nil, err
		}
		a.Balance, a.CreditLimit = billing.Micros(bal), billing.Micros(credit)
		users = append(users, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT id, user_id, spent, spend_limit FROM api_keys WHERE status = 'active'`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var keys []KeyAccount
	for rows.Next() {
		var k KeyAccount
		var spent, limit int64
		if err := rows.Scan(&k.KeyID, &k.UserID, &spent, &limit); err != nil {
			return nil, nil, err
		}
		k.Spent, k.SpendLimit = billing.Micros(spent), billing.Micros(limit)
		keys = append(keys, k)
	}
	return users, keys, rows.Err()
}

// ApplySettlements writes settlements in one transaction. With the
// journaled ledger a hold lives only in memory and never changed the stored
// balance, so the one stored change is the charge: each successful request
// becomes a settle entry of −Cost with the balance after it, the user's
// balance moves by −Cost and the key's spend by +Cost. A refund (a failed
// request) changed no stored balance and writes nothing.
//
// With replay set, settlements whose request id is already settled are
// skipped, so a journal replayed after a crash changes nothing twice.
// Without it (the normal case: fresh random request ids) a duplicate is an
// error from the ledger's unique index and nothing is written.
//
// Statements are prepared once and reused; balances are read once per user
// and written once per user and key, whatever the batch size.
func (s *Store) ApplySettlements(ctx context.Context, batch []Settlement, replay bool) error {
	if len(batch) == 0 {
		return nil
	}
	st, err := s.settleStatements(ctx)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.applySettlements(ctx, tx, st, batch, replay)
	})
}

// settleStmts are ApplySettlements' statements, prepared on first use.
type settleStmts struct {
	seen, balance, setBalance, entry, spend *sql.Stmt
	// entries inserts entryChunk rows at once: one statement execution
	// costs about as much as one row, so rows go in chunks.
	entries *sql.Stmt
}

// entryChunk is how many ledger rows one multi-row insert writes.
const entryChunk = 32

func (s *Store) settleStatements(ctx context.Context) (*settleStmts, error) {
	s.settleOnce.Lock()
	defer s.settleOnce.Unlock()
	if s.settle != nil {
		return s.settle, nil
	}
	st := &settleStmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.seen, `SELECT 1 FROM ledger WHERE kind IN ('settle', 'refund') AND ref = $1`},
		{&st.balance, `SELECT balance FROM users WHERE id = $1` + s.forUpdate()},
		{&st.setBalance, `UPDATE users SET balance = $1 WHERE id = $2`},
		{&st.entry, s.insertSQL("ledger", ledgerCols, 7, 1)},
		{&st.spend, `UPDATE api_keys SET spent = spent + $1 WHERE id = $2`},
		{&st.entries, s.insertSQL("ledger", ledgerCols, 7, entryChunk)},
	} {
		stmt, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, err
		}
		*p.dst = stmt
	}
	s.settle = st
	return st, nil
}

func (s *Store) applySettlements(ctx context.Context, tx *sql.Tx, stmts *settleStmts, batch []Settlement, replay bool) error {
	bind := func(st *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, st) }
	seen, balance, entry := bind(stmts.seen), bind(stmts.balance), bind(stmts.entry)
	balances := map[int64]int64{}
	spent := map[int64]int64{}
	rows := make([]any, 0, 7*len(batch))
	for _, st := range batch {
		if st.Refund {
			continue // nothing was charged: no balance change, no entry
		}
		if replay {
			var one int
			err := seen.QueryRowContext(ctx, st.RequestID).Scan(&one)
			if err == nil {
				continue // applied before the crash
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		bal, ok := balances[st.UserID]
		if !ok {
			if err := balance.QueryRowContext(ctx, st.UserID).Scan(&bal); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("%w: user %d", ErrNotFound, st.UserID)
				}
				return err
			}
		}
		after := bal - int64(st.Cost)
		balances[st.UserID] = after
		rows = append(rows, st.UserID, EntrySettle, -int64(st.Cost), after, st.RequestID, st.Note, s.tv(st.Settled))
		if st.KeyID != 0 && st.Cost != 0 {
			spent[st.KeyID] += int64(st.Cost)
		}
	}
	if len(rows) > 0 {
		many := bind(stmts.entries)
		for len(rows) >= 7*entryChunk {
			if _, err := many.ExecContext(ctx, rows[:7*entryChunk]...); err != nil {
				return err
			}
			rows = rows[7*entryChunk:]
		}
		for ; len(rows) > 0; rows = rows[7:] {
			if _, err := entry.ExecContext(ctx, rows[:7]...); err != nil {
				return err
			}
		}
	}
	setBalance, spend := bind(stmts.setBalance), bind(stmts.spend)
	for id, bal := range balances {
		if _, err := setBalance.ExecContext(ctx, bal, id); err != nil {
			return err
		}
	}
	for id, cost := range spent {
		if _, err := spend.ExecContext(ctx, cost, id); err != nil {
			return err
		}
	}
	return nil
}

func (st *settleStmts) close() {
	for _, x := range []*sql.Stmt{st.seen, st.balance, st.setBalance, st.entry, st.spend, st.entries} {
		if x != nil {
			x.Close()
		}
	}
}

// ledgerCols are the columns a ledger entry is inserted with.
const ledgerCols = `user_id, kind, amount, balance_after, ref, note, created_at`
