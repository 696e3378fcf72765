package store

import (
	"context"
	"database/sql"
	"errors"
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

// ApplySettlements writes settlements in one transaction. Each becomes a
// reserve entry (−Held) and a settle or refund entry (Held − Cost), each
// with the balance after it, the user's balance moves by −Cost and the
// key's spend by +Cost. A settlement whose request id is already settled
// is skipped, so replaying a journal twice changes nothing.
func (s *Store) ApplySettlements(ctx context.Context, batch []Settlement) error {
	if len(batch) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		seen, err := tx.PrepareContext(ctx, `SELECT 1 FROM ledger WHERE kind IN ('settle', 'refund') AND ref = $1`)
		if err != nil {
			return err
		}
		defer seen.Close()
		move, err := tx.PrepareContext(ctx, `UPDATE users SET balance = balance + $1 WHERE id = $2 RETURNING balance`)
		if err != nil {
			return err
		}
		defer move.Close()
		entry, err := tx.PrepareContext(ctx, insertEntry)
		if err != nil {
			return err
		}
		defer entry.Close()
		spend, err := tx.PrepareContext(ctx, `UPDATE api_keys SET spent = spent + $1 WHERE id = $2`)
		if err != nil {
			return err
		}
		defer spend.Close()
		for _, st := range batch {
			var one int
			err := seen.QueryRowContext(ctx, st.RequestID).Scan(&one)
			if err == nil {
				continue // applied before a crash: the journal replays it
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			var after int64
			if err := move.QueryRowContext(ctx, -int64(st.Held), st.UserID).Scan(&after); err != nil {
				return err
			}
			var id int64
			if err := entry.QueryRowContext(ctx, st.UserID, EntryReserve, -int64(st.Held), after, st.RequestID, "",
				s.tv(st.Reserved)).Scan(&id); err != nil {
				return err
			}
			if err := move.QueryRowContext(ctx, int64(st.Held-st.Cost), st.UserID).Scan(&after); err != nil {
				return err
			}
			kind := EntrySettle
			if st.Refund {
				kind = EntryRefund
			}
			if err := entry.QueryRowContext(ctx, st.UserID, kind, int64(st.Held-st.Cost), after, st.RequestID, st.Note,
				s.tv(st.Settled)).Scan(&id); err != nil {
				return err
			}
			if st.KeyID != 0 && st.Cost != 0 {
				if _, err := spend.ExecContext(ctx, int64(st.Cost), st.KeyID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
