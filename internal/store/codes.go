package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// Errors of RedeemCode besides ErrNotFound (no such code).
var (
	ErrCodeRedeemed = errors.New("code already redeemed")
	ErrCodeExpired  = errors.New("code expired")
)

// Limits of CreateCodes.
const (
	MaxCodeBatch   = 1000 // codes per call
	MaxBatchLength = 100  // bytes of a batch name
)

// codeAlphabet is Crockford's base32: 32 symbols, so a byte masked to 5
// bits picks one uniformly, without I, L, O and U, which NormalizeCode reads
// as the digits they look like.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Code is a redemption code as stored: its plaintext is never kept.
type Code struct {
	Prefix     string // "TH-XXXX", to recognise the code
	Amount     billing.Micros
	ExpiresAt  *time.Time
	Batch      string
	CreatedAt  time.Time
	RedeemedBy *int64
	RedeemedAt *time.Time
}

// NormalizeCode is the form a code is hashed in: upper case, without the
// spaces and dashes people type or copy with it, O read as 0 and I or L as 1.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			return -1
		case r >= 'a' && r <= 'z':
			r = r - 'a' + 'A'
		}
		switch r {
		case 'O':
			return '0'
		case 'I', 'L':
			return '1'
		}
		return r
	}, code)
}

// CodeDigest is the SHA-256 (hex) of the normalized code.
func CodeDigest(code string) string {
	d := sha256.Sum256([]byte(NormalizeCode(code)))
	return hex.EncodeToString(d[:])
}

// newCode makes "TH-XXXX-XXXX-XXXX-XXXX": 80 random bits.
func newCode() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	var sb strings.Builder
	sb.WriteString("TH")
	for i, c := range b {
		if i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(codeAlphabet[c&31])
	}
	return sb.String()
}

// CreateCodes makes n new codes worth amount each, valid until expires
// (nil: forever), labelled batch, and returns their plaintexts, which are
// not stored and cannot be shown again.
func (s *Store) CreateCodes(ctx context.Context, batch string, n int, amount billing.Micros, expires *time.Time) ([]string, error) {
	batch = strings.TrimSpace(batch)
	switch {
	case n <= 0 || n > MaxCodeBatch:
		return nil, fmt.Errorf("store: create codes: %w: count %d (1 to %d)", ErrInvalid, n, MaxCodeBatch)
	case amount <= 0 || amount > maxAmount:
		return nil, fmt.Errorf("store: create codes: %w: amount %s", ErrInvalid, amount)
	case len(batch) > MaxBatchLength:
		return nil, fmt.Errorf("store: create codes: %w: batch longer than %d bytes", ErrInvalid, MaxBatchLength)
	}
	now := s.clock()
	codes := make([]string, n)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i := range codes {
			codes[i] = newCode()
			if _, err := tx.ExecContext(ctx, `INSERT INTO codes (code_digest, prefix, amount, expires_at, batch, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				CodeDigest(codes[i]), codes[i][:7], int64(amount), s.ntv(expires), batch, s.tv(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: create codes: %w", err)
	}
	return codes, nil
}

// RedeemCode credits the code's amount to the user and marks the code
// redeemed, in one transaction: however often and by whomever it is tried
// at once, a code credits once. Errors: ErrNotFound (no such code, or the
// user is deleted), ErrCodeRedeemed, ErrCodeExpired.
func (s *Store) RedeemCode(ctx context.Context, userID int64, code string) (Entry, error) {
	dg := CodeDigest(code)
	now := s.clock()
	e := Entry{UserID: userID, Kind: EntryTopUp, Ref: "code:" + dg, Created: now}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			prefix   string
			amount   int64
			expires  *time.Time
			redeemed sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT prefix, amount, expires_at, redeemed_by FROM codes
			WHERE code_digest = $1`+s.forUpdate(), dg).Scan(&prefix, &amount, scanNullTime(&expires), &redeemed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case redeemed.Valid:
			return ErrCodeRedeemed
		case expires != nil && !now.Before(*expires):
			return ErrCodeExpired
		}
		res, err := tx.ExecContext(ctx, `UPDATE codes SET redeemed_by = $1, redeemed_at = $2
			WHERE code_digest = $3 AND redeemed_by IS NULL`, userID, s.tv(now), dg)
		if err == nil {
			err = oneRow(res)
		}
		if errors.Is(err, ErrNotFound) {
			return ErrCodeRedeemed
		}
		if err != nil {
			return err
		}
		e.Amount, e.Note = billing.Micros(amount), "code "+prefix
		existing, err := s.creditTx(ctx, tx, &e)
		if err == nil && existing != nil {
			err = ErrCodeRedeemed
		}
		return err
	})
	if isUniqueViolation(err) {
		err = ErrCodeRedeemed // a concurrent redemption committed first
	}
	if err != nil {
		return Entry{}, fmt.Errorf("store: redeem code for user %d: %w", userID, err)
	}
	return e, nil
}

// ListCodes returns the codes of a batch ("" : every code), oldest first.
func (s *Store) ListCodes(ctx context.Context, batch string) ([]Code, error) {
	q := `SELECT prefix, amount, expires_at, batch, created_at, redeemed_by, redeemed_at FROM codes`
	var args []any
	if batch != "" {
		q += ` WHERE batch = $1`
		args = append(args, batch)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY created_at, prefix`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list codes: %w", err)
	}
	codes, err := collect(rows, func(r rowScanner) (Code, error) {
		var (
			c  Code
			by sql.NullInt64
		)
		err := r.Scan(&c.Prefix, &c.Amount, scanNullTime(&c.ExpiresAt), &c.Batch, scanTime(&c.CreatedAt),
			&by, scanNullTime(&c.RedeemedAt))
		if by.Valid {
			c.RedeemedBy = &by.Int64
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list codes: %w", err)
	}
	return codes, nil
}
