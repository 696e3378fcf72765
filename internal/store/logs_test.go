package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestRequestLogs(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		checkErr(t, s.InsertRequestLogs(ctx, nil), nil)
		// More rows than one INSERT carries, to cross batch boundaries.
		const n = 2*logBatch + 3
		in := make([]RequestLog, n)
		for i := range in {
			in[i] = RequestLog{
				Time:       t0.Add(time.Duration(i) * time.Second),
				RequestID:  fmt.Sprintf("req-%d", i),
				UserID:     int64(i%3 + 1),
				KeyID:      int64(i%5 + 1),
				KeyPrefix:  "sk-th-abc",
				Model:      []string{"gpt-4o", "claude-sonnet"}[i%2],
				ChannelID:  7,
				ClientIP:   "2001:db8::1",
				Stream:     i%4 == 0,
				Usage:      llm.Usage{Input: int64(i), CachedInput: 2, CacheWrite: 3, Output: 4, Reasoning: 5},
				Source:     llm.SourceUpstream,
				Cost:       billing.Micros(i * 11),
				LatencyMS:  1234.5,
				TTFTMS:     0.25,
				Status:     200,
				ErrorClass: "",
			}
		}
		in[n-1].Time = time.Time{} // taken as now
		in[n-1].Status, in[n-1].ErrorClass, in[n-1].Source = 502, "upstream_error", llm.SourceNone
		checkErr(t, s.InsertRequestLogs(ctx, in), nil)

		all, err := s.RequestLogs(ctx, LogFilter{Limit: 1000})
		checkErr(t, err, nil)
		if len(all) != 1000 {
			t.Fatalf("got %d rows, want the cap of 1000", len(all))
		}
		// Newest first; IDs follow insertion order.
		want := slices.Clone(in)
		want[n-1].Time = t0
		slices.Reverse(want)
		for i := range all {
			want[i].ID = all[i].ID
			if i > 0 && all[i].ID >= all[i-1].ID {
				t.Fatalf("row %d: id %d after %d, not newest first", i, all[i].ID, all[i-1].ID)
			}
		}
		diff(t, want[:1000], all)

		newest := all[0].ID
		for _, tc := range []struct {
			name string
			f    LogFilter
			want []string // request ids
		}{
			{name: "default limit", f: LogFilter{}, want: ids(want[:100])},
			{name: "limit", f: LogFilter{Limit: 2}, want: []string{"req-1002", "req-1001"}},
			{name: "before id", f: LogFilter{BeforeID: newest - 1, Limit: 2}, want: []string{"req-1000", "req-999"}},
			{name: "user", f: LogFilter{UserID: 2, Limit: 3}, want: []string{"req-1000", "req-997", "req-994"}},
			{name: "model", f: LogFilter{Model: "claude-sonnet", Limit: 2}, want: []string{"req-1001", "req-999"}},
			{name: "since", f: LogFilter{Since: t0.Add(1000 * time.Second)}, want: []string{"req-1001", "req-1000"}},
			{name: "all filters", f: LogFilter{UserID: 1, Model: "gpt-4o", Since: t0.Add(990 * time.Second), BeforeID: newest - 3},
				want: []string{"req-996", "req-990"}},
			{name: "nothing", f: LogFilter{UserID: 99}, want: nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.RequestLogs(ctx, tc.f)
				checkErr(t, err, nil)
				diff(t, tc.want, ids(got))
			})
		}
	})
}

func ids(logs []RequestLog) []string {
	var out []string
	for _, l := range logs {
		out = append(out, l.RequestID)
	}
	return out
}
