package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

// benchRules are a key, a user and a model, with limits never reached.
var benchRules = []Rule{
	{Scope: "key:1", RPM: 1 << 40, TPM: 1 << 50, Concurrent: 1 << 30},
	{Scope: "user:1", RPM: 1 << 40, Concurrent: 1 << 30},
	{Scope: "model:gpt-5", TPM: 1 << 50},
}

func BenchmarkMemoryAcquireRelease(b *testing.B) {
	benchAcquireRelease(b, func(*testing.B) Limiter { return NewMemory(nil) })
}

func BenchmarkRedisAcquireRelease(b *testing.B) {
	c := testRedisClient(b)
	benchAcquireRelease(b, func(b *testing.B) Limiter { return NewRedis(c, RedisOptions{Prefix: testPrefix(b, c)}) })
}

func benchAcquireRelease(b *testing.B, newLimiter func(*testing.B) Limiter) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		l := newLimiter(b)
		n := 0
		for b.Loop() {
			n++
			g, err := l.Acquire(ctx, Ticket{ID: strconv.Itoa(n), Rules: benchRules, Tokens: 1000})
			if err != nil {
				b.Fatal(err)
			}
			l.Release(ctx, g, 900)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l := newLimiter(b)
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				g, err := l.Acquire(ctx, Ticket{ID: strconv.FormatInt(n.Add(1), 10), Rules: benchRules, Tokens: 1000})
				if err != nil {
					b.Error(err)
					return
				}
				l.Release(ctx, g, 900)
			}
		})
	})
}
