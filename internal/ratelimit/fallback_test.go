package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// countingLimiter counts the Acquire calls that reach a Limiter.
type countingLimiter struct {
	Limiter
	calls atomic.Int64
}

func (c *countingLimiter) Acquire(ctx context.Context, t Ticket) (*Grant, error) {
	c.calls.Add(1)
	return c.Limiter.Acquire(ctx, t)
}

// freeAddr returns a local address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFallback(t *testing.T) {
	clock := newClock()
	addr := freeAddr(t)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	prefix := uniquePrefix()
	primary := &countingLimiter{Limiter: NewRedis(client, RedisOptions{Prefix: prefix, Now: clock.Now, Log: log})}
	var (
		mu     sync.Mutex
		states []bool
	)
	f := newFallback(primary, 4, log, func(up bool) {
		mu.Lock()
		defer mu.Unlock()
		states = append(states, up)
	}, clock.Now)
	checkStates := func(t *testing.T, want ...bool) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff(want, states); diff != "" {
			t.Errorf("OnState calls (-want +got):\n%s", diff)
		}
	}
	checkCalls := func(t *testing.T, want int64) {
		t.Helper()
		if got := primary.calls.Load(); got != want {
			t.Errorf("primary asked %d times, want %d", got, want)
		}
	}
	// 4 nodes: locally 5 requests, 1000 tokens and 2 slots.
	rules := []Rule{{Scope: "key:1", RPM: 20, TPM: 4000, Concurrent: 8}}
	acquire := func(ctx context.Context, id string) (*Grant, error) {
		return f.Acquire(ctx, Ticket{ID: id, Rules: rules, Tokens: 100})
	}

	t.Run("a caller's cancellation is no outage", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := acquire(ctx, "x"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire = %v, want context.Canceled", err)
		}
		if _, err := f.Acquire(t.Context(), Ticket{Rules: rules}); err == nil {
			t.Fatal("Acquire of a ticket without ID succeeded")
		}
		checkStates(t)
		checkCalls(t, 1)
	})

	t.Run("down: local limits divided by nodes", func(t *testing.T) {
		ctx := t.Context()
		a, err := acquire(ctx, "a")
		if err != nil {
			t.Fatalf("Acquire with the primary down: %v", err)
		}
		want := Headers{LimitRequests: 5, RemainingRequests: 4, ResetRequests: full, LimitTokens: 1000, RemainingTokens: 900, ResetTokens: full}
		if diff := cmp.Diff(want, a.Headers()); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
		b, err := acquire(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		var d *Denied
		if _, err := acquire(ctx, "c"); !errors.As(err, &d) || d.Kind != KindConcurrent || d.Limit != 2 {
			t.Fatalf("third concurrent Acquire = %v, want a denial at 2 slots", err)
		}
		f.Release(ctx, a, 100)
		f.Release(ctx, b, 100)
		for _, id := range []string{"c", "d", "e"} {
			g, err := acquire(ctx, id)
			if err != nil {
				t.Fatalf("Acquire(%s): %v", id, err)
			}
			f.Release(ctx, g, 100)
		}
		if _, err := acquire(ctx, "f"); !errors.As(err, &d) || d.Kind != KindRequests || d.Limit != 5 {
			t.Fatalf("sixth Acquire = %v, want a denial at 5 requests", err)
		}
		checkStates(t, false)
		checkCalls(t, 2) // only the first: the others came within the second
	})

	t.Run("down: the primary is tried once a second", func(t *testing.T) {
		ctx := t.Context()
		clock.Advance(999 * time.Millisecond)
		var d *Denied
		if _, err := acquire(ctx, "g"); !errors.As(err, &d) {
			t.Fatalf("Acquire = %v, want a local denial", err)
		}
		checkCalls(t, 2)
		clock.Advance(time.Millisecond)
		// A ticket without limits says nothing of the primary's health.
		if _, err := f.Acquire(ctx, Ticket{ID: "free", Rules: []Rule{{Scope: "key:1"}}}); err != nil {
			t.Fatalf("Acquire without limits: %v", err)
		}
		checkCalls(t, 2)
		for range 3 {
			if _, err := acquire(ctx, "g"); !errors.As(err, &d) || d.Limit != 5 {
				t.Fatalf("Acquire = %v, want a local denial", err)
			}
		}
		checkCalls(t, 3)
		checkStates(t, false)
	})

	t.Run("recovers", func(t *testing.T) {
		real := testRedisClient(t)
		deleteKeysAtEnd(t, real, prefix)
		target := real.Options().Addr
		stop := proxy(t, addr, target)
		ctx := t.Context()
		clock.Advance(time.Second)
		g, err := acquire(ctx, "h")
		if err != nil {
			t.Fatalf("Acquire once the primary is back: %v", err)
		}
		if h := g.Headers(); h.LimitRequests != 20 || h.LimitTokens != 4000 {
			t.Errorf("headers = %+v, want the full limits of the primary", h)
		}
		checkStates(t, false, true)
		if _, err := acquire(ctx, "i"); err != nil {
			t.Fatal(err)
		}
		checkCalls(t, 5)

		// Down again: a release the primary cannot take is logged, not lost silently.
		stop()
		f.Release(ctx, g, 100)
		// The local limiter still counts its five requests of this minute.
		var d *Denied
		if _, err := acquire(ctx, "j"); !errors.As(err, &d) || d.Limit != 5 {
			t.Fatalf("Acquire = %v, want a local denial", err)
		}
		checkStates(t, false, true, false)
		for _, want := range []string{"release failed", "shared limiter is back"} {
			if n := strings.Count(logs.String(), want); n != 1 {
				t.Errorf("log has %q %d times, want once:\n%s", want, n, logs.String())
			}
		}
		if n := strings.Count(logs.String(), "shared limiter failed"); n != 2 {
			t.Errorf("log has the failure %d times, want twice:\n%s", n, logs.String())
		}
	})
}

// proxy forwards connections to addr on to target until stopped, standing
// for a Redis that comes back and goes away again.
func proxy(t *testing.T, addr, target string) (stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the primary's address again: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Go(func() { pipe(u, c) })
			wg.Go(func() { pipe(c, u) })
		}
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			l.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}
