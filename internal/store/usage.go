package store

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// UsageRow sums a user's requests of one model on one UTC day.
type UsageRow struct {
	Day      time.Time // midnight UTC
	Model    string
	Requests int64
	Tokens   int64 // every token, input and output, cached and reasoning
	Cost     billing.Micros
}

// Usage sums a user's request log by UTC day and model from since on,
// ordered by day then model.
func (s *Store) Usage(ctx context.Context, userID int64, since time.Time) ([]UsageRow, error) {
	day := `time / 86400000000`
	if s.pg {
		day = `CAST(FLOOR(EXTRACT(EPOCH FROM time) / 86400) AS BIGINT)`
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+day+` AS day, model, COUNT(*),
		CAST(COALESCE(SUM(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens + reasoning_tokens), 0) AS BIGINT),
		CAST(COALESCE(SUM(cost), 0) AS BIGINT)
		FROM request_logs WHERE user_id = $1 AND time >= $2
		GROUP BY 1, 2 ORDER BY 1, 2`, userID, s.tv(since))
	if err != nil {
		return nil, fmt.Errorf("store: usage of user %d: %w", userID, err)
	}
	out, err := collect(rows, func(r rowScanner) (UsageRow, error) {
		var (
			u UsageRow
			d int64
		)
		err := r.Scan(&d, &u.Model, &u.Requests, &u.Tokens, &u.Cost)
		u.Day = time.Unix(d*86400, 0).UTC()
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: usage of user %d: %w", userID, err)
	}
	return out, nil
}
