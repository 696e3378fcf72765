package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// testRedisClient connects to TOKENHOT_TEST_REDIS_URL, skipping without it.
func testRedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("TOKENHOT_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("TOKENHOT_TEST_REDIS_URL is not set")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("TOKENHOT_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at %s: %v", o.Addr, err)
	}
	return c
}

var prefixes atomic.Int64

// testPrefix returns a key prefix no other test uses, and deletes its keys
// when the test ends.
func testPrefix(tb testing.TB, c *redis.Client) string {
	tb.Helper()
	p := uniquePrefix()
	deleteKeysAtEnd(tb, c, p)
	return p
}

func uniquePrefix() string {
	return fmt.Sprintf("tokenhot:test:rl:%d:%d:", time.Now().UnixNano(), prefixes.Add(1))
}

func deleteKeysAtEnd(tb testing.TB, c *redis.Client, prefix string) {
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
}

func TestRedis(t *testing.T) {
	c := testRedisClient(t)
	testLimiter(t, func(t *testing.T, now func() time.Time) Limiter {
		return NewRedis(c, RedisOptions{Prefix: testPrefix(t, c), Now: now})
	})
}

// TestRedisLeaseExpiry: the slots of a node that died free themselves when
// their lease ends, and only theirs.
func TestRedisLeaseExpiry(t *testing.T) {
	c := testRedisClient(t)
	clock := newClock()
	o := RedisOptions{Prefix: testPrefix(t, c), LeaseTTL: 5 * time.Minute, Now: clock.Now}
	crashed, alive := NewRedis(c, o), NewRedis(c, o)
	ctx := t.Context()
	rules := []Rule{{Scope: "user:1", Concurrent: 2}}
	acquire := func(l Limiter, id string) (*Grant, error) {
		return l.Acquire(ctx, Ticket{ID: id, Rules: rules})
	}

	lost, err := acquire(crashed, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acquire(crashed, "b"); err != nil {
		t.Fatal(err)
	}
	var d *Denied
	if _, err := acquire(alive, "c"); !errors.As(err, &d) || d.Kind != KindConcurrent {
		t.Fatalf("Acquire with both slots held = %v, want a concurrency denial", err)
	}
	clock.Advance(5*time.Minute - time.Millisecond)
	if _, err := acquire(alive, "c"); !errors.As(err, &d) {
		t.Fatalf("Acquire before the leases end = %v, want a denial", err)
	}
	clock.Advance(time.Millisecond)
	for _, id := range []string{"c", "d"} {
		if _, err := acquire(alive, id); err != nil {
			t.Fatalf("Acquire(%s) once the leases ended: %v", id, err)
		}
	}
	// A late release by the node thought dead frees none of the new slots.
	crashed.Release(ctx, lost, 0)
	if _, err := acquire(alive, "e"); !errors.As(err, &d) {
		t.Fatalf("Acquire after a late release = %v, want a denial", err)
	}
}

// TestRedisServerClock runs without an injected clock, on the server's.
func TestRedisServerClock(t *testing.T) {
	c := testRedisClient(t)
	l := NewRedis(c, RedisOptions{Prefix: testPrefix(t, c)})
	ctx := t.Context()
	rules := []Rule{{Scope: "key:1", RPM: 2, TPM: 100}}
	a, err := l.Acquire(ctx, Ticket{ID: "a", Rules: rules, Tokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	if h := a.Headers(); h.ResetRequests <= 59*time.Second || h.ResetRequests > time.Minute || h.RemainingTokens != 0 {
		t.Errorf("headers = %+v, want a reset within the last second of the minute and no tokens left", h)
	}
	var d *Denied
	if _, err := l.Acquire(ctx, Ticket{ID: "b", Rules: rules, Tokens: 1}); !errors.As(err, &d) || d.Kind != KindTokens || d.RetryAfter < time.Second || d.RetryAfter > time.Minute {
		t.Fatalf("Acquire over the TPM = %v, want a tokens denial within a minute", err)
	}
	l.Release(ctx, a, 50)
	if _, err := l.Acquire(ctx, Ticket{ID: "b", Rules: rules, Tokens: 50}); err != nil {
		t.Fatalf("Acquire after the estimate was corrected: %v", err)
	}
	if _, err := l.Acquire(ctx, Ticket{ID: "c", Rules: rules}); !errors.As(err, &d) || d.Kind != KindRequests {
		t.Fatalf("Acquire over the RPM = %v, want a requests denial", err)
	}
}

// TestRedisKeysExpire: idle scopes vanish.
func TestRedisKeysExpire(t *testing.T) {
	c := testRedisClient(t)
	prefix := testPrefix(t, c)
	l := NewRedis(c, RedisOptions{Prefix: prefix, LeaseTTL: 10 * time.Minute, Now: newClock().Now})
	ctx := t.Context()
	if _, err := l.Acquire(ctx, Ticket{ID: "a", Rules: []Rule{{Scope: "key:1", RPM: 1, TPM: 10, Concurrent: 1}}, Tokens: 5}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key      string
		min, max time.Duration
	}{
		{prefix + "{key:1}:r", 69 * time.Second, 70 * time.Second},
		{prefix + "{key:1}:t", 69 * time.Second, 70 * time.Second},
		{prefix + "{key:1}:c", 599 * time.Second, 10 * time.Minute},
	}
	for _, tt := range tests {
		ttl, err := c.PTTL(ctx, tt.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < tt.min || ttl > tt.max {
			t.Errorf("PTTL %s = %v, want between %v and %v", tt.key, ttl, tt.min, tt.max)
		}
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(tests) {
		t.Errorf("keys = %v, want %d", keys, len(tests))
	}
}

// TestRedisForeignGrant: a limiter ignores grants it did not issue, and the
// release still works at the one that did.
func TestRedisForeignGrant(t *testing.T) {
	c := testRedisClient(t)
	clock := newClock()
	l := NewRedis(c, RedisOptions{Prefix: testPrefix(t, c), Now: clock.Now})
	m := NewMemory(clock.Now)
	ctx := t.Context()
	rules := []Rule{{Scope: "user:1", Concurrent: 1}}
	g, err := m.Acquire(ctx, Ticket{ID: "a", Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	l.Release(ctx, g, 0)
	if _, err := m.Acquire(ctx, Ticket{ID: "b", Rules: rules}); err == nil {
		t.Fatal("Memory admitted a second request: a Redis release freed its slot")
	}
	m.Release(ctx, g, 0)
	g, err = m.Acquire(ctx, Ticket{ID: "b", Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Headers{}, g.Headers()); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}
