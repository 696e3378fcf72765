package store

import (
	"context"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestUsage(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
		row := func(user int64, at time.Time, model string, cost billing.Micros) RequestLog {
			return RequestLog{Time: at, RequestID: at.String() + model, UserID: user, KeyID: 1, Model: model,
				Usage:  llm.Usage{Input: 10, CachedInput: 1, CacheWrite: 2, Output: 3, Reasoning: 4},
				Source: llm.SourceUpstream, Cost: cost, Status: 200}
		}
		checkErr(t, s.InsertRequestLogs(ctx, []RequestLog{
			row(1, day.Add(-time.Second), "old", 1), // before since
			row(1, day, "a", 10),
			row(1, day.Add(23*time.Hour+59*time.Minute), "a", 20),
			row(1, day.Add(time.Hour), "b", 5),
			row(1, day.Add(24*time.Hour), "a", 7),
			row(2, day.Add(time.Hour), "a", 1000), // another user
		}), nil)
		got, err := s.Usage(ctx, 1, day)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, []UsageRow{
			{Day: day, Model: "a", Requests: 2, Tokens: 40, Cost: 30},
			{Day: day, Model: "b", Requests: 1, Tokens: 20, Cost: 5},
			{Day: day.Add(24 * time.Hour), Model: "a", Requests: 1, Tokens: 20, Cost: 7},
		}, got)
	})
}
