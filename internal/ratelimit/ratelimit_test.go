package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeClock is a clock that moves only when told. It starts a quarter of a
// second into a second, so that waits are not whole seconds.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 250*int(time.Millisecond), time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newLimiterFunc makes an empty limiter of one implementation reading now.
type newLimiterFunc func(t *testing.T, now func() time.Time) Limiter

func TestMemory(t *testing.T) {
	testLimiter(t, func(_ *testing.T, now func() time.Time) Limiter {
		return NewMemory(now)
	})
}

// testLimiter is the behaviour every Limiter shares.
func testLimiter(t *testing.T, newLimiter newLimiterFunc) {
	t.Run("requests exact under contention", func(t *testing.T) { testContention(t, newLimiter) })
	t.Run("invalid tickets", func(t *testing.T) { testInvalid(t, newLimiter) })
	for _, c := range stepCases {
		t.Run(c.name, func(t *testing.T) {
			clock := newClock()
			runSteps(t, newLimiter(t, clock.Now), clock, c.rules, c.steps)
		})
	}
}

func testContention(t *testing.T, newLimiter newLimiterFunc) {
	clock := newClock()
	l := newLimiter(t, clock.Now)
	rules := []Rule{{Scope: "key:1", RPM: 50}}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = l.Acquire(t.Context(), Ticket{ID: fmt.Sprint("t", i), Rules: rules})
		})
	}
	wg.Wait()
	granted := 0
	for _, err := range errs {
		var d *Denied
		switch {
		case err == nil:
			granted++
		case errors.As(err, &d):
			want := &Denied{Scope: "key:1", Kind: KindRequests, Limit: 50, RetryAfter: full,
				Headers: Headers{LimitRequests: 50, RemainingRequests: 0, ResetRequests: full}}
			if diff := cmp.Diff(want, d, ignoreDeniedDetail); diff != "" {
				t.Fatalf("denial (-want +got):\n%s", diff)
			}
		default:
			t.Fatalf("Acquire: %v", err)
		}
	}
	if granted != 50 {
		t.Errorf("granted %d of %d, want 50", granted, n)
	}
}

func testInvalid(t *testing.T, newLimiter newLimiterFunc) {
	l := newLimiter(t, newClock().Now)
	tests := []struct {
		name   string
		ticket Ticket
	}{
		{"no id", Ticket{Rules: []Rule{{Scope: "key:1", RPM: 1}}}},
		{"no scope", Ticket{ID: "a", Rules: []Rule{{RPM: 1}}}},
		{"scope twice", Ticket{ID: "a", Rules: []Rule{{Scope: "key:1", RPM: 1}, {Scope: "key:1", TPM: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := l.Acquire(t.Context(), tt.ticket)
			var d *Denied
			if err == nil || errors.As(err, &d) {
				t.Fatalf("Acquire = %v, %v; want an error that is not a denial", g, err)
			}
		})
	}
}

var ignoreDeniedDetail = cmpopts.IgnoreUnexported(Denied{})

// step is one thing that happens to a limiter: the clock moves, then a grant
// is released, then tickets are acquired.
type step struct {
	advance time.Duration

	release string // id of a grant to release
	actual  int64  // its actual tokens

	acquire string // id of a ticket to acquire; with times > 1, ids acquire#0...
	times   int
	rules   []Rule // the case's rules when nil
	tokens  int64
	deny    *Denied  // the expected denial (Headers compared only with headers), nil for a grant
	headers *Headers // the expected headers of the (last) grant or of the denial
}

type stepCase struct {
	name  string
	rules []Rule
	steps []step
}

const full = 59750 * time.Millisecond // the wait for a bucket of the clock's first second, in that second

var stepCases = []stepCase{
	{
		name:  "tokens reserved and corrected by actual usage",
		rules: []Rule{{Scope: "key:1", TPM: 1000}},
		steps: []step{
			{acquire: "a", tokens: 300, headers: &Headers{LimitTokens: 1000, RemainingTokens: 700, ResetTokens: full}},
			{acquire: "b", tokens: 300},
			{acquire: "c", tokens: 300},
			{acquire: "d", tokens: 300, deny: &Denied{Scope: "key:1", Kind: KindTokens, Limit: 1000, RetryAfter: full},
				headers: &Headers{LimitTokens: 1000, RemainingTokens: 100, ResetTokens: full}},
			// An over-estimate gives room back.
			{release: "a", actual: 100},
			{acquire: "d", tokens: 300, headers: &Headers{LimitTokens: 1000, RemainingTokens: 0, ResetTokens: full}},
			// An under-estimate takes more: 1300 of 1000 are counted now.
			{release: "b", actual: 600},
			{advance: 10 * time.Second, acquire: "e", tokens: 1, deny: &Denied{Scope: "key:1", Kind: KindTokens, Limit: 1000, RetryAfter: full - 10*time.Second},
				headers: &Headers{LimitTokens: 1000, RemainingTokens: 0, ResetTokens: full - 10*time.Second}},
			{release: "c", actual: 300},
			{release: "b", actual: 0}, // a second release does nothing
			{acquire: "f", tokens: 1, deny: &Denied{Scope: "key:1", Kind: KindTokens, Limit: 1000, RetryAfter: full - 10*time.Second}},
			{advance: 50 * time.Second, acquire: "g", tokens: 1000},
		},
	},
	{
		name:  "tokens over the limit can never fit",
		rules: []Rule{{Scope: "key:1", RPM: 10, TPM: 100}},
		steps: []step{
			{acquire: "a", tokens: 101, deny: &Denied{Scope: "key:1", Kind: KindTokens, Limit: 100},
				headers: &Headers{LimitRequests: 10, RemainingRequests: 10, LimitTokens: 100, RemainingTokens: 100}},
			{acquire: "b", tokens: 100, headers: &Headers{LimitRequests: 10, RemainingRequests: 9, ResetRequests: full, LimitTokens: 100, ResetTokens: full}},
		},
	},
	{
		name:  "release corrects the bucket it reserved in",
		rules: []Rule{{Scope: "key:1", TPM: 1000}},
		steps: []step{
			{acquire: "a", tokens: 500},
			{advance: 30 * time.Second, acquire: "b", tokens: 400},
			{release: "a", actual: 100},
			{acquire: "c", tokens: 500, headers: &Headers{LimitTokens: 1000, RemainingTokens: 0, ResetTokens: full - 30*time.Second}},
			{advance: 31 * time.Second, acquire: "d", tokens: 100}, // a's bucket has left: 900 counted
			{acquire: "e", tokens: 1, deny: &Denied{Scope: "key:1", Kind: KindTokens, Limit: 1000, RetryAfter: full - 31*time.Second}},
		},
	},
	{
		name:  "release after the window moved on",
		rules: []Rule{{Scope: "key:1", TPM: 1000, Concurrent: 1}},
		steps: []step{
			{acquire: "a", tokens: 800},
			{advance: 61 * time.Second, release: "a", actual: 100},
			{acquire: "b", tokens: 1000, headers: &Headers{LimitTokens: 1000, RemainingTokens: 0, ResetTokens: full}},
			{release: "b", actual: 1000},
			{release: "b", actual: 0},
			{acquire: "c", tokens: 1, deny: &Denied{Scope: "key:1", Kind: KindTokens, Limit: 1000, RetryAfter: full}},
		},
	},
	{
		name:  "concurrency",
		rules: []Rule{{Scope: "user:1", Concurrent: 3}},
		steps: []step{
			{acquire: "a", headers: &Headers{}},
			{acquire: "b"},
			{acquire: "c"},
			{acquire: "d", deny: &Denied{Scope: "user:1", Kind: KindConcurrent, Limit: 3, RetryAfter: time.Second}},
			{release: "a"},
			{release: "a"}, // harmless: it frees nothing more
			{acquire: "d"},
			{acquire: "e", deny: &Denied{Scope: "user:1", Kind: KindConcurrent, Limit: 3, RetryAfter: time.Second}},
			{advance: 10 * time.Minute, acquire: "e", deny: &Denied{Scope: "user:1", Kind: KindConcurrent, Limit: 3, RetryAfter: time.Second}},
			{release: "b"},
			{acquire: "e"},
		},
	},
	{
		name: "a denial by one rule takes nothing from the others",
		rules: []Rule{
			{Scope: "key:1", RPM: 2},
			{Scope: "user:1", RPM: 3},
			{Scope: "model:m", TPM: 1000},
		},
		steps: []step{
			{acquire: "a", tokens: 100},
			{acquire: "b", tokens: 100},
			{acquire: "c", tokens: 100, deny: &Denied{Scope: "key:1", Kind: KindRequests, Limit: 2, RetryAfter: full},
				headers: &Headers{LimitRequests: 2, RemainingRequests: 0, ResetRequests: full, LimitTokens: 1000, RemainingTokens: 800, ResetTokens: full}},
			{acquire: "d", tokens: 100, rules: []Rule{{Scope: "key:2", RPM: 5}, {Scope: "user:1", RPM: 3}, {Scope: "model:m", TPM: 1000}},
				headers: &Headers{LimitRequests: 3, RemainingRequests: 0, ResetRequests: full, LimitTokens: 1000, RemainingTokens: 700, ResetTokens: full}},
			{acquire: "e", tokens: 100, rules: []Rule{{Scope: "key:2", RPM: 5}, {Scope: "user:1", RPM: 3}, {Scope: "model:m", TPM: 1000}},
				deny: &Denied{Scope: "user:1", Kind: KindRequests, Limit: 3, RetryAfter: full}},
			{acquire: "f", tokens: 700, rules: []Rule{{Scope: "key:3", RPM: 5}, {Scope: "model:m", TPM: 1000}},
				headers: &Headers{LimitRequests: 5, RemainingRequests: 4, ResetRequests: full, LimitTokens: 1000, RemainingTokens: 0, ResetTokens: full}},
		},
	},
	{
		name:  "the denial names the limit that clears last",
		rules: []Rule{{Scope: "slots:1", Concurrent: 1}, {Scope: "key:1", RPM: 1}},
		steps: []step{
			{acquire: "a"},
			{acquire: "b", deny: &Denied{Scope: "key:1", Kind: KindRequests, Limit: 1, RetryAfter: full}},
			{advance: 60 * time.Second, acquire: "b", deny: &Denied{Scope: "slots:1", Kind: KindConcurrent, Limit: 1, RetryAfter: time.Second}},
			{release: "a", acquire: "b"},
		},
	},
	{
		name:  "the window rolls",
		rules: []Rule{{Scope: "key:1", RPM: 10}},
		steps: []step{
			{acquire: "a", times: 5},
			{advance: 30 * time.Second, acquire: "b", times: 5, headers: &Headers{LimitRequests: 10, RemainingRequests: 0, ResetRequests: full - 30*time.Second}},
			{advance: time.Second, acquire: "c", deny: &Denied{Scope: "key:1", Kind: KindRequests, Limit: 10, RetryAfter: full - 31*time.Second}},
			// 60s on, the first five have left: room for five.
			{advance: 29 * time.Second, acquire: "d", times: 5, headers: &Headers{LimitRequests: 10, RemainingRequests: 0, ResetRequests: full - 30*time.Second}},
			{acquire: "e", deny: &Denied{Scope: "key:1", Kind: KindRequests, Limit: 10, RetryAfter: full - 30*time.Second}},
			{advance: 61 * time.Second, acquire: "f", times: 10},
			{acquire: "g", deny: &Denied{Scope: "key:1", Kind: KindRequests, Limit: 10, RetryAfter: full}},
			// A wait under a second is rounded up to one.
			{advance: 59 * time.Second, acquire: "h", deny: &Denied{Scope: "key:1", Kind: KindRequests, Limit: 10, RetryAfter: time.Second}},
		},
	},
	{
		name:  "headers name the tightest limits",
		rules: []Rule{{Scope: "key:1", RPM: 10, TPM: 1000}, {Scope: "user:1", RPM: 5, TPM: 3000}},
		steps: []step{
			{acquire: "a", tokens: 100, headers: &Headers{LimitRequests: 5, RemainingRequests: 4, ResetRequests: full, LimitTokens: 1000, RemainingTokens: 900, ResetTokens: full}},
			{advance: 10 * time.Second, acquire: "b", tokens: 500,
				headers: &Headers{LimitRequests: 5, RemainingRequests: 3, ResetRequests: full - 10*time.Second, LimitTokens: 1000, RemainingTokens: 400, ResetTokens: full - 10*time.Second}},
			// Two requests remain of both user:1's 5 and key:2's 3: on a tie, the smaller limit.
			{acquire: "c", tokens: 2000, rules: []Rule{{Scope: "user:1", RPM: 5, TPM: 3000}, {Scope: "key:2", RPM: 3, TPM: 5000}},
				headers: &Headers{LimitRequests: 3, RemainingRequests: 2, ResetRequests: full, LimitTokens: 3000, RemainingTokens: 400, ResetTokens: full - 10*time.Second}},
		},
	},
	{
		name:  "rules without limits admit everything",
		rules: []Rule{{Scope: "key:1"}},
		steps: []step{
			{acquire: "a", times: 3, tokens: 1 << 40, headers: &Headers{}},
			{acquire: "b", rules: []Rule{}, headers: &Headers{}},
			{release: "a#0", actual: 5},
		},
	},
}

func runSteps(t *testing.T, l Limiter, clock *fakeClock, rules []Rule, steps []step) {
	t.Helper()
	ctx := t.Context()
	grants := make(map[string]*Grant)
	for i, s := range steps {
		clock.Advance(s.advance)
		if s.release != "" {
			g := grants[s.release]
			if g == nil {
				t.Fatalf("step %d: no grant %q to release", i, s.release)
			}
			l.Release(ctx, g, s.actual)
		}
		if s.acquire == "" {
			continue
		}
		r := rules
		if s.rules != nil {
			r = s.rules
		}
		n := max(s.times, 1)
		for j := range n {
			id := s.acquire
			if n > 1 {
				id = fmt.Sprintf("%s#%d", s.acquire, j)
			}
			g, err := l.Acquire(ctx, Ticket{ID: id, Rules: r, Tokens: s.tokens})
			var got Headers
			if s.deny == nil {
				if err != nil {
					t.Fatalf("step %d: Acquire(%s): %v", i, id, err)
				}
				grants[id] = g
				got = g.Headers()
			} else {
				var d *Denied
				if !errors.As(err, &d) {
					t.Fatalf("step %d: Acquire(%s) = %v, want a denial", i, id, err)
				}
				if diff := cmp.Diff(s.deny, d, ignoreDeniedDetail, cmpopts.IgnoreFields(Denied{}, "Headers")); diff != "" {
					t.Fatalf("step %d: Acquire(%s) denial (-want +got):\n%s", i, id, diff)
				}
				got = d.Headers
			}
			if s.headers != nil && j == n-1 {
				if diff := cmp.Diff(*s.headers, got); diff != "" {
					t.Fatalf("step %d: Acquire(%s) headers (-want +got):\n%s", i, id, diff)
				}
			}
		}
	}
}

func TestDeniedError(t *testing.T) {
	tests := []struct {
		name string
		d    *Denied
		want string
	}{
		{"requests", &Denied{Scope: "key:1", Kind: KindRequests, Limit: 50, RetryAfter: 1500 * time.Millisecond},
			"ratelimit: key:1: limit of 50 requests per minute reached; retry after 1.5s"},
		{"tokens", &Denied{Scope: "key:1", Kind: KindTokens, Limit: 1000, RetryAfter: 2 * time.Second},
			"ratelimit: key:1: limit of 1000 tokens per minute reached; retry after 2s"},
		{"tokens never", &Denied{Scope: "model:m", Kind: KindTokens, Limit: 1000, tokens: 1200},
			"ratelimit: model:m: request of 1200 estimated tokens exceeds the limit of 1000 tokens per minute and can never be admitted; cap the estimate"},
		{"concurrent", &Denied{Scope: "user:3", Kind: KindConcurrent, Limit: 3, RetryAfter: time.Second},
			"ratelimit: user:3: limit of 3 concurrent requests reached; retry after 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.d.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryDropsIdleScopes(t *testing.T) {
	clock := newClock()
	m := NewMemory(clock.Now)
	ctx := context.Background()
	held, err := m.Acquire(ctx, Ticket{ID: "a", Rules: []Rule{{Scope: "key:1", RPM: 5}, {Scope: "slots:1", Concurrent: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire(ctx, Ticket{ID: "b", Rules: []Rule{{Scope: "key:2", TPM: 5}}, Tokens: 5}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Second)
	if _, err := m.Acquire(ctx, Ticket{ID: "c", Rules: []Rule{{Scope: "key:3", RPM: 5}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := scopeNames(m), []string{"key:3", "slots:1"}; !cmp.Equal(want, got) {
		t.Errorf("scopes after a minute = %v, want %v (the one holding a slot and the new one)", got, want)
	}
	m.Release(ctx, held, 0)
	clock.Advance(61 * time.Second)
	if _, err := m.Acquire(ctx, Ticket{ID: "d", Rules: []Rule{{Scope: "key:4", RPM: 5}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := scopeNames(m), []string{"key:4"}; !cmp.Equal(want, got) {
		t.Errorf("scopes after two minutes = %v, want %v", got, want)
	}
}

func scopeNames(m *Memory) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for k := range m.scopes {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
