package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// benchDialects runs bench once per available dialect on a fresh database.
func benchDialects(b *testing.B, bench func(b *testing.B, s *Store)) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		b.Run(d, func(b *testing.B) {
			bench(b, openTest(b, testDSN(b, d), testBox(b)))
		})
	}
}

// benchUsers creates n funded users, each with a key with a spend limit (so
// the limit check runs), and returns their ids and key ids.
func benchUsers(b *testing.B, s *Store, n int) (users, keys []int64) {
	b.Helper()
	for i := range n {
		u := mustUser(b, s, fmt.Sprint("bench-", i))
		k := mustKey(b, s, u.ID, fmt.Sprint("sk-th-bench-", i), KeyLimits{SpendLimit: maxAmount})
		mustTopUp(b, s, u.ID, maxAmount)
		users, keys = append(users, u.ID), append(keys, k.ID)
	}
	return users, keys
}

// BenchmarkReserveSettle is the money cost of one API request: a Reserve
// before it is forwarded and a Settle after, one caller at a time.
func BenchmarkReserveSettle(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		users, keys := benchUsers(b, s, 1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			id := fmt.Sprint("bench-req-", i)
			if _, err := s.Reserve(ctx, Hold{RequestID: id, UserID: users[0], KeyID: keys[0], Amount: 10_000}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Settle(ctx, id, 7_000, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReserveSettleParallel is the same under concurrent load, spread
// over 64 users as a gateway's traffic is.
func BenchmarkReserveSettleParallel(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		users, keys := benchUsers(b, s, 64)
		var seq atomic.Int64
		b.SetParallelism(8)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := seq.Add(1)
				u := int(n) % len(users)
				id := fmt.Sprint("bench-req-", n)
				if _, err := s.Reserve(ctx, Hold{RequestID: id, UserID: users[u], KeyID: keys[u], Amount: 10_000}); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.Settle(ctx, id, 7_000, ""); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkInsertRequestLogs writes logs in batches of 100, as the gateway's
// log buffer flushes them; ns/op is per batch.
func BenchmarkInsertRequestLogs(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		rows := make([]RequestLog, 100)
		for i := range rows {
			rows[i] = RequestLog{Time: time.Now(), RequestID: fmt.Sprint("req-", i), UserID: 1, KeyID: 1,
				KeyPrefix: "sk-th-abcdef", Model: "gpt-4o", ChannelID: 1, ClientIP: "203.0.113.9",
				Usage: llm.Usage{Input: 1000, Output: 200}, Source: llm.SourceUpstream, Cost: 4_500,
				LatencyMS: 850, TTFTMS: 120, Status: 200}
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := s.InsertRequestLogs(ctx, rows); err != nil {
				b.Fatal(err)
			}
		}
	})
}
