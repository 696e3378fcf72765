package routing

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestHealth() (*Health, *clock, *[]Change) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var changes []Change
	h := NewHealth(BreakerOptions{Failures: 3, Window: time.Minute, Cooldown: 10 * time.Second, MaxCooldown: 35 * time.Second},
		c.now, func(ch Change) { changes = append(changes, ch) })
	return h, c, &changes
}

var ref = KeyRef{Channel: 1, Key: "k0000aaaa"}

func TestBreakerOpensAfterFailuresInTheWindow(t *testing.T) {
	h, c, changes := newTestHealth()
	h.Fail(ref, Transient, "upstream_error", 0)
	h.Fail(ref, Transient, "upstream_error", 0)
	c.advance(61 * time.Second) // the first two fall out of the window
	h.Fail(ref, Transient, "upstream_error", 0)
	if h.State(ref) != Closed {
		t.Fatalf("opened on failures outside the window")
	}
	h.Fail(ref, Transient, "upstream_error", 0)
	h.Fail(ref, Transient, "upstream_timeout", 0)
	if h.State(ref) != Open || h.Available(ref) || h.Acquire(ref) {
		t.Fatalf("state %s after 3 failures in the window", h.State(ref))
	}
	if len(*changes) != 1 || (*changes)[0].To != Open || (*changes)[0].Reason != "upstream_timeout" {
		t.Fatalf("changes %+v", *changes)
	}
}

func TestBreakerHalfOpenLetsOneProbeThrough(t *testing.T) {
	h, c, _ := newTestHealth()
	for range 3 {
		h.Fail(ref, Transient, "upstream_error", 0)
	}
	c.advance(9 * time.Second)
	if h.Available(ref) {
		t.Fatal("available during the cooldown")
	}
	c.advance(time.Second)
	if !h.Acquire(ref) || h.State(ref) != HalfOpen {
		t.Fatalf("no probe after the cooldown: %s", h.State(ref))
	}
	if h.Acquire(ref) || h.Available(ref) {
		t.Fatal("a second request got through while the probe is out")
	}
	h.Success(ref)
	if h.State(ref) != Closed || !h.Acquire(ref) {
		t.Fatalf("a successful probe did not close the breaker: %s", h.State(ref))
	}
}

func TestBreakerCooldownGrowsOnFailedProbes(t *testing.T) {
	h, c, _ := newTestHealth()
	for range 3 {
		h.Fail(ref, Transient, "e", 0)
	}
	var cooldowns []time.Duration
	for range 4 {
		start := c.t
		for !h.Available(ref) {
			c.advance(time.Second)
		}
		cooldowns = append(cooldowns, c.t.Sub(start))
		if !h.Acquire(ref) {
			t.Fatal("no probe")
		}
		h.Fail(ref, Transient, "e", 0)
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 35 * time.Second, 35 * time.Second}
	for i := range want {
		if cooldowns[i] != want[i] {
			t.Fatalf("cooldowns %v, want %v", cooldowns, want)
		}
	}
}

func TestFatalDisablesUntilSuccessOrOperator(t *testing.T) {
	h, c, changes := newTestHealth()
	h.Fail(ref, Fatal, "upstream_auth_error", 0)
	c.advance(time.Hour)
	if h.State(ref) != Disabled || h.Available(ref) || h.Acquire(ref) {
		t.Fatalf("a refused key came back by itself: %s", h.State(ref))
	}
	h.Success(ref) // a channel test succeeded
	if h.State(ref) != Closed {
		t.Fatal("a successful probe did not bring the key back")
	}
	h.Fail(ref, Fatal, "upstream_out_of_credit", 0)
	h.Enable(ref)
	if h.State(ref) != Closed || !h.Acquire(ref) {
		t.Fatal("an operator could not bring the key back")
	}
	got := ""
	for _, ch := range *changes {
		got += ch.From.String() + ">" + ch.To.String() + " "
	}
	if got != "closed>disabled disabled>closed closed>disabled disabled>closed " {
		t.Fatalf("changes: %s", got)
	}
}

func TestThrottledRestsForRetryAfter(t *testing.T) {
	h, c, _ := newTestHealth()
	h.Fail(ref, Throttled, "upstream_rate_limited", 3*time.Second)
	if h.Available(ref) {
		t.Fatal("a throttled key was available at once")
	}
	c.advance(3 * time.Second)
	if !h.Acquire(ref) {
		t.Fatal("still resting after Retry-After")
	}
	h.Success(ref)
	h.Fail(ref, Throttled, "upstream_rate_limited", 0) // no Retry-After: an ordinary failure
	if h.State(ref) != Closed {
		t.Fatal("one 429 without Retry-After rested the key")
	}
	h.Fail(ref, Throttled, "upstream_rate_limited", 0)
	h.Fail(ref, Transient, "upstream_error", 0)
	if h.State(ref) != Open {
		t.Fatal("429s without Retry-After do not count towards the breaker")
	}
}

func TestReleaseReturnsAnUnusedProbe(t *testing.T) {
	h, c, _ := newTestHealth()
	for range 3 {
		h.Fail(ref, Transient, "e", 0)
	}
	c.advance(10 * time.Second)
	if !h.Acquire(ref) {
		t.Fatal("no probe")
	}
	h.Release(ref)
	if !h.Acquire(ref) {
		t.Fatal("a released probe could not be claimed again")
	}
	list := h.Channel(1, []string{"k0000aaaa", "k0000bbbb"})
	if len(list) != 2 || list[0].State != "half_open" || list[1].State != "closed" {
		t.Fatalf("%+v", list)
	}
	if u := h.Unhealthy(); len(u) != 1 || u[0] != ref {
		t.Fatalf("unhealthy %v", u)
	}
}
