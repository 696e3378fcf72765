package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tokenhot/tokenhot/internal/billing"
)

const entryCols = `id, user_id, kind, amount, balance_after, ref, note, created_at`

func scanEntry(r rowScanner) (Entry, error) {
	var e Entry
	err := r.Scan(&e.ID, &e.UserID, &e.Kind, &e.Amount, &e.BalanceAfter, &e.Ref, &e.Note, scanTime(&e.Created))
	return e, err
}

// insertEntry appends one ledger line. It is the only statement that writes
// the ledger, and every caller changes users.balance in the same
// transaction by exactly e.Amount.
const insertEntry = `INSERT INTO ledger (user_id, kind, amount, balance_after, ref, note, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`

// Credit adds money to a user (kind topup, amount > 0) or corrects their
// balance (kind adjust, amount != 0). An adjustment may take the balance
// below zero; that is the operator's call.
//
// ref is an idempotency key: if an entry of this kind and ref exists, Credit
// changes nothing and returns it with applied false, so a retried top-up is
// never counted twice. Reusing a ref for another user or amount is
// ErrConflict. An empty ref gets a unique generated one.
func (s *Store) Credit(ctx context.Context, userID int64, kind string, amount billing.Micros, ref, note string) (Entry, bool, error) {
	switch {
	case kind != EntryTopUp && kind != EntryAdjust:
		return Entry{}, false, fmt.Errorf("store: credit user %d: %w: kind %q", userID, ErrInvalid, kind)
	case kind == EntryTopUp && amount <= 0, amount == 0, amount > maxAmount, amount < -maxAmount:
		return Entry{}, false, fmt.Errorf("store: credit user %d: %w: %s amount %s", userID, ErrInvalid, kind, amount)
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = newRef(kind)
	}
	e := Entry{UserID: userID, Kind: kind, Amount: amount, Ref: ref, Note: note, Created: s.clock()}
	var existing *Entry
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		existing, err = s.creditTx(ctx, tx, &e)
		return err
	})
	if isUniqueViolation(err) {
		// A concurrent Credit with the same ref committed first; this
		// transaction was rolled back, so report the winner.
		existing = new(Entry)
		*existing, err = scanEntry(s.w.QueryRowContext(ctx,
			`SELECT `+entryCols+` FROM ledger WHERE kind = $1 AND ref = $2`, kind, ref))
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("store: credit user %d: %w", userID, err)
	}
	if existing != nil {
		if existing.UserID != userID || existing.Amount != amount {
			return Entry{}, false, fmt.Errorf("store: credit user %d: %w: ref %q was used for another credit", userID, ErrConflict, ref)
		}
		return *existing, false, nil
	}
	return e, true, nil
}

// creditTx applies the credit e (UserID, Kind, Amount, Ref, Note and
// Created set) in tx, filling in its ID and BalanceAfter. If an entry of
// this kind and ref exists it changes nothing and returns that entry. A
// user who is deleted or unknown is ErrNotFound.
func (s *Store) creditTx(ctx context.Context, tx *sql.Tx, e *Entry) (*Entry, error) {
	prev, err := scanEntry(tx.QueryRowContext(ctx,
		`SELECT `+entryCols+` FROM ledger WHERE kind = $1 AND ref = $2`, e.Kind, e.Ref))
	if err == nil {
		return &prev, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	err = tx.QueryRowContext(ctx,
		`UPDATE users SET balance = balance + $1 WHERE id = $2 AND status <> 'deleted' RETURNING balance`,
		int64(e.Amount), e.UserID).Scan(&e.BalanceAfter)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return nil, tx.QueryRowContext(ctx, insertEntry,
		e.UserID, e.Kind, int64(e.Amount), int64(e.BalanceAfter), e.Ref, e.Note, s.tv(e.Created)).Scan(&e.ID)
}

// newRef makes a unique reference for a credit given without one.
func newRef(kind string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return kind + "-" + hex.EncodeToString(b)
}

// Entries returns a user's ledger, newest first (userID 0: everyone's).
// beforeID pages back: 0 starts from the newest, otherwise only entries with
// a smaller id are returned. limit 0 means 100; it is capped at 1000.
func (s *Store) Entries(ctx context.Context, userID int64, beforeID int64, limit int) ([]Entry, error) {
	var (
		where []string
		args  []any
	)
	if userID != 0 {
		args = append(args, userID)
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	if beforeID > 0 {
		args = append(args, beforeID)
		where = append(where, fmt.Sprintf("id < $%d", len(args)))
	}
	q := `SELECT ` + entryCols + ` FROM ledger`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limitRows(limit))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: entries of user %d: %w", userID, err)
	}
	entries, err := collect(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("store: entries of user %d: %w", userID, err)
	}
	return entries, nil
}

// LedgerSum is the sum of a user's ledger, which always equals their
// balance; audits and tests compare the two.
func (s *Store) LedgerSum(ctx context.Context, userID int64) (billing.Micros, error) {
	var sum int64
	err := s.r.QueryRowContext(ctx,
		`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger WHERE user_id = $1`, userID).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("store: ledger sum of user %d: %w", userID, err)
	}
	return billing.Micros(sum), nil
}
