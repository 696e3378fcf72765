package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is a signed-in web console session. Digest is the hex SHA-256 of
// the token in the browser's cookie; the token itself is never stored.
type Session struct {
	Digest  string
	UserID  int64
	CSRF    string // the token every form of the session carries
	Created time.Time
	Expires time.Time
}

// Registration is a console sign-up.
type Registration struct {
	Name         string
	PasswordHash string
	// TermsAccepted is when the user accepted the Terms of Service and
	// the Privacy Policy.
	TermsAccepted time.Time
	// InviteDigest, when set, names an unused, unexpired invite that the
	// sign-up consumes; without one that exists the sign-up fails with
	// ErrNotFound and creates nothing.
	InviteDigest string
}

// Register creates an active user with a password, consuming an invite
// when the registration names one, in one transaction. A taken name is
// ErrConflict.
func (s *Store) Register(ctx context.Context, r Registration) (User, error) {
	name := strings.TrimSpace(r.Name)
	if name == "" || strings.HasPrefix(name, deletedPrefix) || r.PasswordHash == "" {
		return User{}, fmt.Errorf("store: register %q: %w: name is empty or reserved, or no password", name, ErrInvalid)
	}
	u := User{Name: name, Status: UserActive, CreatedAt: s.clock()}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (name, status, balance, credit_limit, created_at,
			password_hash, terms_accepted_at) VALUES ($1, $2, 0, 0, $3, $4, $5) RETURNING id`,
			name, UserActive, s.tv(u.CreatedAt), r.PasswordHash, s.tv(dbTime(r.TermsAccepted))).Scan(&u.ID)
		if isUniqueViolation(err) {
			return ErrConflict
		}
		if err != nil || r.InviteDigest == "" {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE invites SET used_by = $2, used_at = $3
			WHERE digest = $1 AND used_by IS NULL AND (expires_at IS NULL OR expires_at > $3)`,
			r.InviteDigest, u.ID, s.tv(u.CreatedAt))
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return fmt.Errorf("invite: %w", err)
		}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("store: register %q: %w", name, err)
	}
	return u, nil
}

// CreateInvite stores the digest of a new invite code; expires nil: never.
func (s *Store) CreateInvite(ctx context.Context, digest string, expires *time.Time) error {
	if digest == "" {
		return fmt.Errorf("store: create invite: %w: empty digest", ErrInvalid)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO invites (digest, created_at, expires_at) VALUES ($1, $2, $3)`,
		digest, s.tv(s.clock()), s.ntv(expires))
	if isUniqueViolation(err) {
		return fmt.Errorf("store: create invite: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create invite: %w", err)
	}
	return nil
}

// Credentials returns the user with this name, deleted users excepted, and
// their password hash ("" when they have none).
func (s *Store) Credentials(ctx context.Context, name string) (User, string, error) {
	name = strings.TrimSpace(name)
	var hash string
	row := s.r.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE name = $1 AND status <> $2`,
		name, UserDeleted)
	u, err := scanUser(scanWith{row, &hash})
	return u, hash, wrapGet(err, "user", name)
}

// scanWith scans a row's leading columns with r's scanner and the trailing
// ones into extra.
type scanWith struct {
	r     rowScanner
	extra any
}

func (w scanWith) Scan(dest ...any) error { return w.r.Scan(append(dest, w.extra)...) }

// PasswordHash returns a user's password hash ("" when they have none).
func (s *Store) PasswordHash(ctx context.Context, userID int64) (string, error) {
	var hash string
	err := s.r.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1 AND status <> $2`,
		userID, UserDeleted).Scan(&hash)
	return hash, wrapGet(err, "user", userID)
}

// SetPasswordHash replaces a user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	if hash == "" {
		return fmt.Errorf("store: set password of user %d: %w: empty hash", userID, ErrInvalid)
	}
	return s.updateUser(ctx, userID, "set password of", `password_hash = $2`, hash)
}

// CreateSession stores a new session of a user who is not deleted.
func (s *Store) CreateSession(ctx context.Context, ss Session) error {
	if ss.Digest == "" || ss.CSRF == "" {
		return fmt.Errorf("store: create session: %w: empty digest or csrf token", ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO sessions (digest, user_id, csrf, created_at, expires_at)
		SELECT $1, id, $3, $4, $5 FROM users WHERE id = $2 AND status <> $6`,
		ss.Digest, ss.UserID, ss.CSRF, s.tv(dbTime(ss.Created)), s.tv(dbTime(ss.Expires)), UserDeleted)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: create session of user %d: %w", ss.UserID, err)
	}
	return nil
}

// Session returns the session with this digest whose user is not deleted,
// expired or not: the caller compares Expires with its clock.
func (s *Store) Session(ctx context.Context, digest string) (Session, error) {
	var ss Session
	err := s.r.QueryRowContext(ctx, `SELECT s.digest, s.user_id, s.csrf, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = $1 AND u.status <> $2`,
		digest, UserDeleted).Scan(&ss.Digest, &ss.UserID, &ss.CSRF, scanTime(&ss.Created), scanTime(&ss.Expires))
	if errors.Is(err, sql.ErrNoRows) {
		return ss, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return ss, fmt.Errorf("store: session: %w", err)
	}
	return ss, nil
}

// DeleteSession ends one session; ending one that is gone is not an error.
func (s *Store) DeleteSession(ctx context.Context, digest string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE digest = $1`, digest); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user except the one with the
// digest keep ("": all of them), as a password change must.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, keep string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND digest <> $2`, userID, keep); err != nil {
		return fmt.Errorf("store: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions that expired before now and
// reports how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, s.tv(dbTime(now)))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}
