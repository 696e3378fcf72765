package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// UserDeleted is the status of a deleted user. Deleted users stay in the
// database, because their ledger and request logs are financial records,
// but they are left out of listings and can no longer spend.
const UserDeleted = "deleted"

// deletedPrefix starts the name a deleted user is renamed to, which frees
// their name for someone else. New names may not start with it.
const deletedPrefix = "deleted-"

const userCols = `id, name, status, balance, credit_limit, rpm, tpm, concurrent, created_at`

func scanUser(r rowScanner) (User, error) {
	var u User
	err := r.Scan(&u.ID, &u.Name, &u.Status, &u.Balance, &u.CreditLimit,
		&u.Limits.RPM, &u.Limits.TPM, &u.Limits.Concurrent, scanTime(&u.CreatedAt))
	return u, err
}

// CreateUser adds an active user with a zero balance. Surrounding spaces are
// trimmed from the name.
func (s *Store) CreateUser(ctx context.Context, name string) (User, error) {
	name = strings.TrimSpace(name)
	if name == "" || strings.HasPrefix(name, deletedPrefix) {
		return User{}, fmt.Errorf("store: create user %q: %w: name is empty or reserved", name, ErrInvalid)
	}
	u := User{Name: name, Status: UserActive, CreatedAt: s.clock()}
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO users (name, status, balance, credit_limit, created_at) VALUES ($1, $2, 0, 0, $3) RETURNING id`,
		name, UserActive, s.tv(u.CreatedAt)).Scan(&u.ID)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("store: create user %q: %w", name, ErrConflict)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: create user %q: %w", name, err)
	}
	return u, nil
}

// GetUser returns a user by id, deleted or not.
func (s *Store) GetUser(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, wrapGet(err, "user", id)
}

// GetUserByName returns a user by name.
func (s *Store) GetUserByName(ctx context.Context, name string) (User, error) {
	name = strings.TrimSpace(name)
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, name))
	return u, wrapGet(err, "user", name)
}

// ListUsers returns the users that are not deleted, by id.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE status <> $1 ORDER BY id`, UserDeleted)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// SetUserStatus makes a user active or suspended. A suspended user keeps
// their keys and balance but cannot reserve money, so cannot make requests.
func (s *Store) SetUserStatus(ctx context.Context, id int64, status string) error {
	if status != UserActive && status != UserSuspended {
		return fmt.Errorf("store: set status of user %d: %w: status %q", id, ErrInvalid, status)
	}
	return s.updateUser(ctx, id, "set status of", `status = $2`, status)
}

// SetCreditLimit sets how far below zero the user may reserve.
func (s *Store) SetCreditLimit(ctx context.Context, id int64, limit billing.Micros) error {
	if limit < 0 || limit > maxAmount {
		return fmt.Errorf("store: set credit limit of user %d: %w: %s", id, ErrInvalid, limit)
	}
	return s.updateUser(ctx, id, "set credit limit of", `credit_limit = $2`, int64(limit))
}

// SetUserLimits replaces the rate limits shared by all of a user's keys.
func (s *Store) SetUserLimits(ctx context.Context, id int64, l Limits) error {
	if err := l.check(); err != nil {
		return fmt.Errorf("store: set limits of user %d: %w", id, err)
	}
	return s.updateUser(ctx, id, "set limits of", `rpm = $2, tpm = $3, concurrent = $4`, l.RPM, l.TPM, l.Concurrent)
}

// updateUser runs one SET on a user that is not deleted; vals bind $2 on.
func (s *Store) updateUser(ctx context.Context, id int64, what, set string, vals ...any) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET `+set+` WHERE id = $1 AND status <> 'deleted'`,
		append([]any{id}, vals...)...)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: %s user %d: %w", what, id, err)
	}
	return nil
}

// DeleteUser deletes a user softly: the status becomes deleted, the name
// becomes "deleted-<id>" so it can be reused, every key is revoked and
// every console session ended. The balance, ledger and logs stay as they
// are; requests in flight still settle.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET status = $2, name = $3 WHERE id = $1 AND status <> 'deleted'`,
			id, UserDeleted, fmt.Sprintf("%s%d", deletedPrefix, id))
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE api_keys SET status = $2 WHERE user_id = $1 AND status <> $2`, id, KeyRevoked)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete user %d: %w", id, err)
	}
	return nil
}

// wrapGet turns sql.ErrNoRows into ErrNotFound and names what was looked for.
func wrapGet(err error, what string, id any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: %s %v: %w", what, id, ErrNotFound)
	}
	return fmt.Errorf("store: get %s %v: %w", what, id, err)
}

// oneRow reports ErrNotFound when a statement changed no row.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
