package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// Asynchronous tasks are polled by whichever gateway node claims them. A
// claim is a lease: lease_owner may work on the task until lease_until;
// after that another node may claim it, and the first owner's UpdateTask
// fails with ErrConflict. A task stays claimable until MarkTaskSettled, even
// once completed or failed, so that a node dying between the upstream's
// final answer and the settlement leaves the settlement to the next claimer.
//
// The expected order for a task that has ended is: settle the hold
// (Settle/Refund; ErrNotFound means it was already done), then
// MarkTaskSettled. A crash in between leaves an unsettled task whose hold is
// gone, which the next claimer marks settled; ReleaseStaleHolds never
// refunds the hold of an unsettled task.

const taskCols = `id, user_id, key_id, model, channel_id, kind, upstream_id, status, progress, held, cost,
	seconds, resolution, size, error_code, error_message, result_url, usage_tokens, lease_owner, lease_until,
	next_poll_at, polls, settled, created_at, updated_at, completed_at, expires_at`

const taskColCount = 27

func scanTask(r rowScanner) (Task, error) {
	var t Task
	err := r.Scan(&t.ID, &t.UserID, &t.KeyID, &t.Model, &t.ChannelID, &t.Kind, &t.UpstreamID, &t.Status,
		&t.Progress, &t.Held, &t.Cost, &t.Seconds, &t.Resolution, &t.Size, &t.ErrorCode, &t.ErrorMessage,
		&t.ResultURL, &t.UsageTokens, &t.LeaseOwner, scanNullTime(&t.LeaseUntil), scanTime(&t.NextPollAt),
		&t.Polls, &t.Settled, scanTime(&t.CreatedAt), scanTime(&t.UpdatedAt), scanNullTime(&t.CompletedAt),
		scanNullTime(&t.ExpiresAt))
	return t, err
}

// checkTask refuses what the schema would, with ErrInvalid.
func checkTask(t Task) error {
	switch t.Status {
	case TaskQueued, TaskInProgress, TaskCompleted, TaskFailed:
	default:
		return fmt.Errorf("%w: task status %q", ErrInvalid, t.Status)
	}
	if t.Held < 0 || t.Held > maxAmount || t.Cost < 0 || t.Cost > maxAmount {
		return fmt.Errorf("%w: task amounts held %s, cost %s", ErrInvalid, t.Held, t.Cost)
	}
	return nil
}

// clampProgress keeps an upstream's progress report within 0..100.
func clampProgress(p int) int { return min(max(p, 0), 100) }

// CreateTask records a new task. A zero CreatedAt is now, a zero UpdatedAt
// is CreatedAt, a zero NextPollAt is CreatedAt (due at once) and an empty
// Status is queued. The task may be created leased (LeaseOwner and
// LeaseUntil set), so that no poller claims it before its submitter has
// stored the upstream's id with UpdateTask. Settled is ignored: a new task
// is unsettled.
//
// ErrConflict: the id exists; ErrNotFound: no such user; ErrInvalid: empty
// id, unknown status or a negative amount.
func (s *Store) CreateTask(ctx context.Context, t Task) error {
	if t.Status == "" {
		t.Status = TaskQueued
	}
	if t.ID == "" {
		return fmt.Errorf("store: create task: %w: empty id", ErrInvalid)
	}
	if err := checkTask(t); err != nil {
		return fmt.Errorf("store: create task %q: %w", t.ID, err)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.clock()
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	if t.NextPollAt.IsZero() {
		t.NextPollAt = t.CreatedAt
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.insertSQL("tasks", taskCols, taskColCount, 1),
			t.ID, t.UserID, t.KeyID, t.Model, t.ChannelID, t.Kind, t.UpstreamID, t.Status,
			clampProgress(t.Progress), int64(t.Held), int64(t.Cost), t.Seconds, t.Resolution, t.Size,
			t.ErrorCode, t.ErrorMessage, t.ResultURL, t.UsageTokens, t.LeaseOwner, s.ntv(t.LeaseUntil),
			s.tv(t.NextPollAt), t.Polls, false, s.tv(t.CreatedAt), s.tv(t.UpdatedAt), s.ntv(t.CompletedAt),
			s.ntv(t.ExpiresAt))
		return err
	})
	switch {
	case isUniqueViolation(err):
		err = ErrConflict
	case isForeignKeyViolation(err):
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: create task %q: %w", t.ID, err)
	}
	return nil
}

// GetTask returns a task by id, whoever owns it (ErrNotFound: none).
func (s *Store) GetTask(ctx context.Context, id string) (Task, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Task{}, fmt.Errorf("store: task %q: %w", id, err)
	}
	return t, nil
}

// GetUserTask returns the user's task by id. Another user's task is
// ErrNotFound, exactly like a missing one, so ids cannot be probed.
func (s *Store) GetUserTask(ctx context.Context, userID int64, id string) (Task, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx,
		`SELECT `+taskCols+` FROM tasks WHERE id = $1 AND user_id = $2`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Task{}, fmt.Errorf("store: task %q of user %d: %w", id, userID, err)
	}
	return t, nil
}

// ListUserTasks returns the user's tasks, newest first: limit of them (0:
// 100; at most 1000).
func (s *Store) ListUserTasks(ctx context.Context, userID int64, limit int) ([]Task, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE user_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, userID, limitRows(limit))
	if err != nil {
		return nil, fmt.Errorf("store: tasks of user %d: %w", userID, err)
	}
	ts, err := collect(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("store: tasks of user %d: %w", userID, err)
	}
	return ts, nil
}

// UnsettledTasks returns every task not yet settled, oldest first, leased
// or not: at start-up, the holds they keep.
func (s *Store) UnsettledTasks(ctx context.Context) ([]Task, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE NOT settled ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: unsettled tasks: %w", err)
	}
	ts, err := collect(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("store: unsettled tasks: %w", err)
	}
	return ts, nil
}

// claimSQL leases the due tasks. On Postgres, FOR UPDATE SKIP LOCKED lets
// nodes claiming at once take different tasks instead of queueing behind
// each other, and a row another claim changed in the meantime is re-checked
// against the conditions before it is taken. On SQLite the one writer
// connection runs the statement alone.
const claimSQL = `UPDATE tasks SET lease_owner = $1, lease_until = $2
	WHERE id IN (
		SELECT id FROM tasks
		WHERE NOT settled AND next_poll_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
		ORDER BY next_poll_at, id
		LIMIT $4%s)
	RETURNING ` + taskCols

// ClaimTasks leases to owner up to limit tasks (at most 1000) that are due:
// not settled, next_poll_at <= now, and not leased or with a lease that ran
// out before now. Each is leased until now+lease and returned with its
// lease, soonest due first. Tasks that have completed or failed but are not
// settled are claimed like the others, so their settlement is finished.
//
// owner should be unique to the claim (or to the process and never reused),
// since UpdateTask tells leases apart by owner alone.
func (s *Store) ClaimTasks(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Task, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("store: claim tasks: %w: empty owner or lease %s", ErrInvalid, lease)
	}
	if limit <= 0 {
		return nil, nil
	}
	limit = min(limit, 1000)
	q := fmt.Sprintf(claimSQL, "")
	if s.pg {
		q = fmt.Sprintf(claimSQL, " FOR UPDATE SKIP LOCKED")
	}
	var ts []Task
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, owner, s.tv(now.Add(lease)), s.tv(now), limit)
		if err != nil {
			return err
		}
		ts, err = collect(rows, scanTask)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim tasks: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(ts, func(a, b Task) int {
		if c := a.NextPollAt.Compare(b.NextPollAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return ts, nil
}

// UpdateTask writes what polling learnt of t (status, progress, upstream id,
// cost, seconds, resolution, size, error, result URL, usage, next_poll_at,
// polls, completed_at, expires_at; updated_at becomes now) and releases the
// lease, provided owner still holds it. ErrConflict: the task is leased to
// someone else or to nobody, and nothing changed; the lease was lost, and
// the new owner will poll the task again. ErrNotFound: no such task.
//
// Neither held nor settled changes: only MarkTaskSettled settles.
func (s *Store) UpdateTask(ctx context.Context, t Task, owner string) error {
	if owner == "" {
		return fmt.Errorf("store: update task %q: %w: empty lease owner", t.ID, ErrInvalid)
	}
	if err := checkTask(t); err != nil {
		return fmt.Errorf("store: update task %q: %w", t.ID, err)
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET status = $1, progress = $2, upstream_id = $3, cost = $4,
			seconds = $5, resolution = $6, size = $7, error_code = $8, error_message = $9, result_url = $10,
			usage_tokens = $11, next_poll_at = $12, polls = $13, completed_at = $14, expires_at = $15,
			updated_at = $16, lease_owner = '', lease_until = NULL
			WHERE id = $17 AND lease_owner = $18`,
			t.Status, clampProgress(t.Progress), t.UpstreamID, int64(t.Cost), t.Seconds, t.Resolution, t.Size,
			t.ErrorCode, t.ErrorMessage, t.ResultURL, t.UsageTokens, s.tv(t.NextPollAt), t.Polls,
			s.ntv(t.CompletedAt), s.ntv(t.ExpiresAt), s.tv(s.clock()), t.ID, owner)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return taskExists(ctx, tx, t.ID, ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("store: update task %q by %q: %w", t.ID, owner, err)
	}
	return nil
}

// taskExists returns ifFound when the task exists, else ErrNotFound.
func taskExists(ctx context.Context, tx *sql.Tx, id string, ifFound error) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM tasks WHERE id = $1`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	}
	return ifFound
}

// MarkTaskSettled records that the task's hold was settled for cost (0 for
// a refund). Of any number of calls, racing or not, only the first changes
// the task and reports true; the others report false. ErrNotFound: no such
// task. The lease is left alone.
func (s *Store) MarkTaskSettled(ctx context.Context, id string, cost billing.Micros) (bool, error) {
	if cost < 0 || cost > maxAmount {
		return false, fmt.Errorf("store: settle task %q: %w: cost %s", id, ErrInvalid, cost)
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET settled = TRUE, cost = $1, updated_at = $2
			WHERE id = $3 AND NOT settled`, int64(cost), s.tv(s.clock()), id)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return taskExists(ctx, tx, id, nil)
	})
	if err != nil {
		return false, fmt.Errorf("store: settle task %q: %w", id, err)
	}
	return n > 0, nil
}
