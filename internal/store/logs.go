package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

const logCols = `time, request_id, user_id, key_id, key_prefix, model, channel_id, client_ip, stream,
	input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, usage_source,
	cost, latency_ms, ttft_ms, status, error_class`

const logColCount = 20

// logBatch is how many rows one Postgres INSERT carries: 10,000
// parameters, well under its limit of 65,535.
const logBatch = 500

func scanLog(r rowScanner) (RequestLog, error) {
	var l RequestLog
	u := &l.Usage
	err := r.Scan(&l.ID, scanTime(&l.Time), &l.RequestID, &l.UserID, &l.KeyID, &l.KeyPrefix, &l.Model,
		&l.ChannelID, &l.ClientIP, &l.Stream, &u.Input, &u.CachedInput, &u.CacheWrite, &u.Output,
		&u.Reasoning, &l.Source, &l.Cost, &l.LatencyMS, &l.TTFTMS, &l.Status, &l.ErrorClass)
	return l, err
}

// InsertRequestLogs writes rows in one transaction: the gateway buffers
// logs and flushes them in batches, so a busy server makes one write every
// so often instead of one per request. IDs are assigned by the database; a
// zero Time is taken as now.
func (s *Store) InsertRequestLogs(ctx context.Context, rows []RequestLog) error {
	if len(rows) == 0 {
		return nil
	}
	now := s.clock()
	var st *logStmts
	if !s.pg {
		// Prepared outside the transaction: on SQLite the transaction
		// holds the only writer connection.
		var err error
		if st, err = s.logStatements(ctx); err != nil {
			return fmt.Errorf("store: insert request logs: %w", err)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.pg {
			return s.insertLogsMultiRow(ctx, tx, rows, now)
		}
		return s.insertLogsPrepared(ctx, tx, st, rows, now)
	})
	if err != nil {
		return fmt.Errorf("store: insert request logs: %w", err)
	}
	return nil
}

// insertLogsMultiRow sends a few hundred rows per statement, so a batch
// costs Postgres a few round trips, not one per row.
func (s *Store) insertLogsMultiRow(ctx context.Context, tx *sql.Tx, rows []RequestLog, now time.Time) error {
	for len(rows) > 0 {
		n := min(len(rows), logBatch)
		args := make([]any, 0, n*logColCount)
		for _, l := range rows[:n] {
			args = append(args, s.logArgs(l, now)...)
		}
		if _, err := tx.ExecContext(ctx, s.insertSQL("request_logs", logCols, logColCount, n), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertLogsPrepared writes rows with two statements prepared once: one of
// logChunk rows and one of a single row for the rest. They use anonymous
// "?" placeholders: SQLite resolves each named one by a linear search, so
// binding thousands of "$N" parameters costs quadratic time.
func (s *Store) insertLogsPrepared(ctx context.Context, tx *sql.Tx, st *logStmts, rows []RequestLog, now time.Time) error {
	args := make([]any, 0, logChunk*logColCount)
	if len(rows) >= logChunk {
		many := tx.StmtContext(ctx, st.many)
		for len(rows) >= logChunk {
			args = args[:0]
			for _, l := range rows[:logChunk] {
				args = s.appendLogArgs(args, l, now)
			}
			if _, err := many.ExecContext(ctx, args...); err != nil {
				return err
			}
			rows = rows[logChunk:]
		}
	}
	if len(rows) > 0 {
		one := tx.StmtContext(ctx, st.one)
		for _, l := range rows {
			if _, err := one.ExecContext(ctx, s.appendLogArgs(args[:0], l, now)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// logChunk is how many rows one prepared multi-row insert writes.
const logChunk = 32

type logStmts struct{ many, one *sql.Stmt }

func (s *Store) logStatements(ctx context.Context) (*logStmts, error) {
	s.settleOnce.Lock()
	defer s.settleOnce.Unlock()
	if s.logs != nil {
		return s.logs, nil
	}
	many, err := s.w.PrepareContext(ctx, s.insertSQL("request_logs", logCols, logColCount, logChunk))
	if err != nil {
		return nil, err
	}
	one, err := s.w.PrepareContext(ctx, s.insertSQL("request_logs", logCols, logColCount, 1))
	if err != nil {
		many.Close()
		return nil, err
	}
	s.logs = &logStmts{many: many, one: one}
	return s.logs, nil
}

// logArgs are the bind values of one row, in logCols order.
func (s *Store) logArgs(l RequestLog, now time.Time) []any {
	return s.appendLogArgs(make([]any, 0, logColCount), l, now)
}

func (s *Store) appendLogArgs(args []any, l RequestLog, now time.Time) []any {
	t := l.Time
	if t.IsZero() {
		t = now
	}
	u := l.Usage
	return append(args, s.tv(t), l.RequestID, l.UserID, l.KeyID, l.KeyPrefix, l.Model, l.ChannelID,
		l.ClientIP, l.Stream, u.Input, u.CachedInput, u.CacheWrite, u.Output, u.Reasoning,
		string(l.Source), int64(l.Cost), l.LatencyMS, l.TTFTMS, l.Status, l.ErrorClass)
}

// RequestLogs returns the rows f selects, newest first.
func (s *Store) RequestLogs(ctx context.Context, f LogFilter) ([]RequestLog, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.UserID != 0 {
		add("user_id = $%d", f.UserID)
	}
	if f.Model != "" {
		add("model = $%d", f.Model)
	}
	if f.Status != 0 {
		add("status = $%d", f.Status)
	}
	if !f.Since.IsZero() {
		add("time >= $%d", s.tv(f.Since))
	}
	if f.BeforeID > 0 {
		add("id < $%d", f.BeforeID)
	}
	q := `SELECT id, ` + logCols + ` FROM request_logs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limitRows(f.Limit))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: request logs: %w", err)
	}
	logs, err := collect(rows, scanLog)
	if err != nil {
		return nil, fmt.Errorf("store: request logs: %w", err)
	}
	return logs, nil
}
