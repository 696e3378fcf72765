package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is a Limiter for one node: every scope's counts live in this process
// under one mutex. Scopes with nothing counted are dropped lazily, at most
// once a minute, by the Acquire that notices; no goroutine runs.
type Memory struct {
	now func() time.Time

	mu     sync.Mutex
	scopes map[string]*scope
	clock  int64 // latest time seen in Unix milliseconds; never goes back, so buckets stay in order
	swept  int64 // clock at the last sweep of idle scopes
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty Memory reading the time from now (time.Now if nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, scopes: make(map[string]*scope)}
}

// scope holds one subject's counts.
type scope struct {
	requests window
	tokens   window
	inflight int64
}

// bucket is the count of one second.
type bucket struct{ sec, n int64 }

// window holds the buckets of the last 60 seconds that saw traffic, oldest
// first: at most 60, and none for an idle scope.
type window struct {
	b     []bucket
	total int64
}

// trim drops the buckets that left the window ending in second sec.
func (w *window) trim(sec int64) {
	k := 0
	for k < len(w.b) && w.b[k].sec <= sec-windowSeconds {
		w.total -= w.b[k].n
		k++
	}
	if k > 0 {
		w.b = w.b[:copy(w.b, w.b[k:])]
	}
}

// add counts n in second sec, which is never older than the newest bucket.
func (w *window) add(sec, n int64) {
	if l := len(w.b); l > 0 && w.b[l-1].sec >= sec {
		w.b[l-1].n += n
	} else {
		w.b = append(w.b, bucket{sec, n})
	}
	w.total += n
}

// correct adds delta to the bucket of second sec if it is still in the window.
func (w *window) correct(sec, delta int64) {
	for i := len(w.b) - 1; i >= 0 && w.b[i].sec >= sec; i-- {
		if w.b[i].sec == sec {
			w.b[i].n += delta
			w.total += delta
			return
		}
	}
}

// measure returns the window's total, the time until its oldest bucket leaves
// and the time until need more fit under limit (zero if they fit now, never
// if they cannot), at now in Unix milliseconds.
func (w *window) measure(now, need, limit int64) (total int64, reset, wait time.Duration) {
	oldest := now / 1000
	if len(w.b) > 0 {
		oldest = w.b[0].sec
	}
	reset = untilGone(oldest, now)
	excess := w.total + need - limit
	if excess <= 0 {
		return w.total, reset, 0
	}
	for _, b := range w.b {
		if excess -= b.n; excess <= 0 {
			return w.total, reset, untilGone(b.sec, now)
		}
	}
	return w.total, reset, never
}

// untilGone is the time from now (Unix milliseconds) until the bucket of
// second sec leaves the window.
func untilGone(sec, now int64) time.Duration {
	return time.Duration((sec+windowSeconds)*1000-now) * time.Millisecond
}

// Acquire admits t against all of its rules or none.
func (m *Memory) Acquire(_ context.Context, t Ticket) (*Grant, error) {
	rules, err := limiting(t)
	if err != nil {
		return nil, err
	}
	tokens := max(t.Tokens, 0)
	var (
		scopeBuf [4]*scope
		usageBuf [4]usage
		scopes   = scopeBuf[:0]
		us       = usageBuf[:0]
	)

	m.mu.Lock()
	now := m.tickLocked()
	sec := now / 1000
	m.sweepLocked(now)
	for _, r := range rules {
		s := m.scopes[r.Scope]
		if s == nil {
			s = new(scope)
			m.scopes[r.Scope] = s
		}
		scopes = append(scopes, s)
		us = append(us, s.measure(r, now, tokens))
	}
	if d := decide(rules, tokens, us); d != nil {
		m.mu.Unlock()
		return nil, d
	}
	for i, r := range rules {
		s := scopes[i]
		if r.RPM > 0 {
			s.requests.add(sec, 1)
		}
		if r.TPM > 0 {
			s.tokens.add(sec, tokens) // even zero, so that Release finds the bucket to correct
		}
		if r.Concurrent > 0 {
			s.inflight++
		}
	}
	m.mu.Unlock()

	return &Grant{owner: m, id: t.ID, rules: rules, tokens: tokens, sec: sec, headers: headersFor(rules, us, tokens, true)}, nil
}

// Release ends g's concurrency slots and corrects its token estimate in the
// bucket it was reserved in, if that is still in the window.
func (m *Memory) Release(_ context.Context, g *Grant, actualTokens int64) {
	if !g.releasedBy(m) {
		return
	}
	delta := max(actualTokens, 0) - g.tokens

	m.mu.Lock()
	defer m.mu.Unlock()
	sec := m.tickLocked() / 1000
	for _, r := range g.rules {
		s := m.scopes[r.Scope]
		if s == nil { // swept: nothing of g is counted there any more
			continue
		}
		if r.Concurrent > 0 && s.inflight > 0 {
			s.inflight--
		}
		if r.TPM > 0 && delta != 0 {
			s.tokens.trim(sec)
			s.tokens.correct(g.sec, delta)
		}
	}
}

// measure trims s's windows and reports what they count, for rule r.
func (s *scope) measure(r Rule, now, tokens int64) usage {
	sec := now / 1000
	var u usage
	if r.RPM > 0 {
		s.requests.trim(sec)
		u.requests, u.requestsReset, u.requestsWait = s.requests.measure(now, 1, r.RPM)
	}
	if r.TPM > 0 {
		s.tokens.trim(sec)
		u.tokens, u.tokensReset, u.tokensWait = s.tokens.measure(now, tokens, r.TPM)
	}
	u.concurrent = s.inflight
	return u
}

func (m *Memory) tickLocked() int64 {
	if ms := m.now().UnixMilli(); ms > m.clock {
		m.clock = ms
	}
	return m.clock
}

// sweepLocked drops, once a minute, the scopes with nothing counted.
func (m *Memory) sweepLocked(now int64) {
	if now-m.swept < windowSeconds*1000 {
		return
	}
	m.swept = now
	sec := now / 1000
	for k, s := range m.scopes {
		s.requests.trim(sec)
		s.tokens.trim(sec)
		if s.inflight == 0 && len(s.requests.b) == 0 && len(s.tokens.b) == 0 {
			delete(m.scopes, k)
		}
	}
}
