package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tokenhot/tokenhot/internal/apikey"
)

const keyCols = `k.id, k.user_id, k.name, k.prefix, k.hash, k.status, k.spend_limit, k.spent,
	k.expires_at, k.allowed_models, k.allowed_ips, k.rpm, k.tpm, k.concurrent, k.created_at`

func scanKey(r rowScanner) (Key, error) {
	var (
		k             Key
		hash          []byte
		models, addrs string
	)
	err := r.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &hash, &k.Status, &k.Limits.SpendLimit, &k.Spent,
		scanNullTime(&k.Limits.ExpiresAt), &models, &addrs,
		&k.Limits.Rate.RPM, &k.Limits.Rate.TPM, &k.Limits.Rate.Concurrent, scanTime(&k.Created))
	if err != nil {
		return Key{}, err
	}
	if len(hash) != len(k.Hash) {
		return Key{}, fmt.Errorf("store: key %d: corrupt hash of %d bytes", k.ID, len(hash))
	}
	copy(k.Hash[:], hash)
	if k.Limits.AllowedModels, err = decodeList(models); err != nil {
		return Key{}, err
	}
	if k.Limits.AllowedIPs, err = decodeList(addrs); err != nil {
		return Key{}, err
	}
	return k, nil
}

// normLimits validates limits and returns them as they read back from the
// database.
func normLimits(l KeyLimits) (KeyLimits, error) {
	if l.SpendLimit < 0 || l.SpendLimit > maxAmount {
		return KeyLimits{}, fmt.Errorf("%w: spend limit %s", ErrInvalid, l.SpendLimit)
	}
	if err := l.Rate.check(); err != nil {
		return KeyLimits{}, err
	}
	if l.ExpiresAt != nil {
		t := dbTime(*l.ExpiresAt)
		l.ExpiresAt = &t
	}
	l.AllowedModels = cloneList(l.AllowedModels)
	l.AllowedIPs = cloneList(l.AllowedIPs)
	return l, nil
}

// CreateKey stores a new key of a user that exists and is not deleted. Only
// the digest of the key is stored.
func (s *Store) CreateKey(ctx context.Context, userID int64, name string, hash apikey.Digest, prefix string, limits KeyLimits) (Key, error) {
	limits, err := normLimits(limits)
	if err != nil {
		return Key{}, fmt.Errorf("store: create key for user %d: %w", userID, err)
	}
	k := Key{
		UserID: userID, Name: name, Prefix: prefix, Hash: hash,
		Status: KeyActive, Limits: limits, Created: s.clock(),
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// The lock keeps a concurrent DeleteUser from missing this key
		// when it revokes the user's keys.
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM users WHERE id = $1`+s.forUpdate(), userID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) || err == nil && status == UserDeleted {
			return fmt.Errorf("user %d: %w", userID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO api_keys
			(user_id, name, prefix, hash, status, spend_limit, spent, expires_at, allowed_models, allowed_ips,
			 rpm, tpm, concurrent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			k.UserID, k.Name, k.Prefix, k.Hash[:], k.Status, int64(limits.SpendLimit), s.ntv(limits.ExpiresAt),
			encodeList(limits.AllowedModels), encodeList(limits.AllowedIPs),
			limits.Rate.RPM, limits.Rate.TPM, limits.Rate.Concurrent, s.tv(k.Created)).Scan(&k.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("duplicate hash: %w", ErrConflict)
		}
		return err
	})
	if err != nil {
		return Key{}, fmt.Errorf("store: create key for user %d: %w", userID, err)
	}
	return k, nil
}

// GetKey returns a key by id, revoked or not.
func (s *Store) GetKey(ctx context.Context, id int64) (Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys k WHERE k.id = $1`, id))
	return k, wrapGet(err, "key", id)
}

// KeyByHash returns the key with this digest, revoked or not; the caller
// checks Status.
func (s *Store) KeyByHash(ctx context.Context, hash apikey.Digest) (Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys k WHERE k.hash = $1`, hash[:]))
	return k, wrapGet(err, "key", "with this hash")
}

// ListKeys returns keys by id, of one user (userID 0: of everyone) and
// whose display prefix starts with prefix ("" matches all). Revoked keys are
// included.
func (s *Store) ListKeys(ctx context.Context, userID int64, prefix string) ([]Key, error) {
	var (
		where []string
		args  []any
	)
	if userID != 0 {
		args = append(args, userID)
		where = append(where, fmt.Sprintf("k.user_id = $%d", len(args)))
	}
	if prefix != "" {
		// substr rather than LIKE: LIKE treats _ and % as wildcards and is
		// case-insensitive on SQLite, and keys are case-sensitive.
		args = append(args, prefix, utf8.RuneCountInString(prefix))
		where = append(where, fmt.Sprintf("substr(k.prefix, 1, $%d) = $%d", len(args), len(args)-1))
	}
	q := `SELECT ` + keyCols + ` FROM api_keys k`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY k.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list keys: %w", err)
	}
	keys, err := collect(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("store: list keys: %w", err)
	}
	return keys, nil
}

// SetKeyLimits replaces a key's limits. Lowering the spend limit below what
// was already spent blocks further requests; it does not undo anything.
func (s *Store) SetKeyLimits(ctx context.Context, id int64, limits KeyLimits) error {
	limits, err := normLimits(limits)
	if err != nil {
		return fmt.Errorf("store: set limits of key %d: %w", id, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys
		SET spend_limit = $2, expires_at = $3, allowed_models = $4, allowed_ips = $5,
			rpm = $6, tpm = $7, concurrent = $8 WHERE id = $1`,
		id, int64(limits.SpendLimit), s.ntv(limits.ExpiresAt),
		encodeList(limits.AllowedModels), encodeList(limits.AllowedIPs),
		limits.Rate.RPM, limits.Rate.TPM, limits.Rate.Concurrent)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: set limits of key %d: %w", id, err)
	}
	return nil
}

// RevokeKey revokes a key for good. Revoking a revoked key is not an error.
func (s *Store) RevokeKey(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET status = $2 WHERE id = $1`, id, KeyRevoked)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: revoke key %d: %w", id, err)
	}
	return nil
}

// ActiveKeys returns every key that is not revoked and whose user is not
// deleted, by id: the set the gateway authenticates against from memory.
// Keys of suspended users are included; Reserve refuses those users.
func (s *Store) ActiveKeys(ctx context.Context) ([]Key, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.status = $1 AND u.status <> $2 ORDER BY k.id`, KeyActive, UserDeleted)
	if err != nil {
		return nil, fmt.Errorf("store: active keys: %w", err)
	}
	keys, err := collect(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("store: active keys: %w", err)
	}
	return keys, nil
}
