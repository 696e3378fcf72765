package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// Console roles.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// UserRole returns a user's console role.
func (s *Store) UserRole(ctx context.Context, id int64) (string, error) {
	var role string
	err := s.r.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1`, id).Scan(&role)
	return role, wrapGet(err, "role of user", id)
}

// SetUserRole makes a user that is not deleted an admin or a plain user.
func (s *Store) SetUserRole(ctx context.Context, id int64, role string) error {
	if role != RoleUser && role != RoleAdmin {
		return fmt.Errorf("store: set role of user %d: %w: role %q", id, ErrInvalid, role)
	}
	return s.updateUser(ctx, id, "set role of", `role = $2`, role)
}

// AuditEntry is one admin action.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// ActorUserID is the admin who acted; 0: the admin API's token or the
	// operator's config file.
	ActorUserID int64  `json:"actor_user_id"`
	Action      string `json:"action"`
	Target      string `json:"target"`
	Detail      string `json:"detail"`
}

// AddAudit appends an admin action to the audit log; a zero At is now.
func (s *Store) AddAudit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.clock()
	}
	if strings.TrimSpace(e.Action) == "" {
		return fmt.Errorf("store: add audit: %w: no action", ErrInvalid)
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO audit_log (at, actor_user_id, action, target, detail) VALUES ($1, $2, $3, $4, $5)`,
		s.tv(e.At), e.ActorUserID, e.Action, e.Target, e.Detail)
	if err != nil {
		return fmt.Errorf("store: add audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns the audit log newest first; beforeID pages back as in
// Entries, limit 0 means 100 and is capped at 1000.
func (s *Store) ListAudit(ctx context.Context, beforeID int64, limit int) ([]AuditEntry, error) {
	q := `SELECT id, at, actor_user_id, action, target, detail FROM audit_log`
	args := []any{}
	if beforeID > 0 {
		args = append(args, beforeID)
		q += ` WHERE id < $1`
	}
	args = append(args, limitRows(limit))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	out, err := collect(rows, func(r rowScanner) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.ID, scanTime(&e.At), &e.ActorUserID, &e.Action, &e.Target, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return out, nil
}

// DayStats sums one UTC day of request logs.
type DayStats struct {
	Day      time.Time      `json:"day"`
	Requests int64          `json:"requests"`
	Errors   int64          `json:"errors"` // status >= 400
	Tokens   int64          `json:"tokens"` // input + output
	Revenue  billing.Micros `json:"revenue"`
	// LatencyMS and TTFTMS are averages.
	LatencyMS float64 `json:"latency_ms"`
	TTFTMS    float64 `json:"ttft_ms"`
}

// dayExpr is the UTC day number (days since 1970-01-01) of a row's time.
func (s *Store) dayExpr() string {
	if s.pg {
		return `CAST(FLOOR(EXTRACT(EPOCH FROM time) / 86400) AS BIGINT)`
	}
	return `(time / 86400000000)`
}

// DailyStats sums the request logs per UTC day from since on, oldest day
// first; days without requests are absent.
func (s *Store) DailyStats(ctx context.Context, since time.Time) ([]DayStats, error) {
	q := `SELECT ` + s.dayExpr() + ` AS day, COUNT(*),
		CAST(COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(input_tokens + output_tokens), 0) AS BIGINT),
		CAST(COALESCE(SUM(cost), 0) AS BIGINT),
		COALESCE(AVG(latency_ms), 0), COALESCE(AVG(ttft_ms), 0)
		FROM request_logs WHERE time >= $1 GROUP BY day ORDER BY day`
	rows, err := s.r.QueryContext(ctx, q, s.tv(since))
	if err != nil {
		return nil, fmt.Errorf("store: daily stats: %w", err)
	}
	out, err := collect(rows, func(r rowScanner) (DayStats, error) {
		var (
			d   DayStats
			day int64
		)
		err := r.Scan(&day, &d.Requests, &d.Errors, &d.Tokens, &d.Revenue, &d.LatencyMS, &d.TTFTMS)
		d.Day = time.Unix(day*86400, 0).UTC()
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: daily stats: %w", err)
	}
	return out, nil
}

// TopStats is one model's or user's share of the request logs.
type TopStats struct {
	Model    string         `json:"model,omitempty"`
	UserID   int64          `json:"user_id,omitempty"`
	Requests int64          `json:"requests"`
	Tokens   int64          `json:"tokens"`
	Revenue  billing.Micros `json:"revenue"`
}

// TopModels returns the n models with the most revenue (then requests)
// since a time.
func (s *Store) TopModels(ctx context.Context, since time.Time, n int) ([]TopStats, error) {
	return s.top(ctx, "model", since, n)
}

// TopUsers returns the n users with the most revenue (then requests) since
// a time.
func (s *Store) TopUsers(ctx context.Context, since time.Time, n int) ([]TopStats, error) {
	return s.top(ctx, "user_id", since, n)
}

func (s *Store) top(ctx context.Context, col string, since time.Time, n int) ([]TopStats, error) {
	q := `SELECT ` + col + `, COUNT(*) AS requests,
		CAST(COALESCE(SUM(input_tokens + output_tokens), 0) AS BIGINT),
		CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS revenue
		FROM request_logs WHERE time >= $1 GROUP BY ` + col + ` ORDER BY revenue DESC, requests DESC LIMIT $2`
	rows, err := s.r.QueryContext(ctx, q, s.tv(since), limitRows(n))
	if err != nil {
		return nil, fmt.Errorf("store: top %s: %w", col, err)
	}
	out, err := collect(rows, func(r rowScanner) (TopStats, error) {
		var t TopStats
		key := any(&t.Model)
		if col == "user_id" {
			key = &t.UserID
		}
		err := r.Scan(key, &t.Requests, &t.Tokens, &t.Revenue)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: top %s: %w", col, err)
	}
	return out, nil
}
