package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Fallback is a Limiter that uses a shared primary (Redis) and, while that
// fails, a local Memory whose limits are divided by the number of nodes, so
// that the nodes together still admit about the configured total instead of
// each admitting all of it. An outage never lifts the limits; it makes them
// coarser (a subject whose traffic lands on one node gets only its share).
//
// While the primary is down, one Acquire a second tries it again; the others
// go straight to the local limiter. Counts do not move between the two: what
// was admitted locally is not in Redis when it comes back, and the other way
// round.
type Fallback struct {
	primary Limiter
	local   *Memory
	nodes   int64
	log     *slog.Logger
	onState func(up bool)
	now     func() time.Time

	down  atomic.Bool // read without the lock on every Acquire
	mu    sync.Mutex
	retry time.Time // while down, the earliest time the primary is tried again
}

var _ Limiter = (*Fallback)(nil)

// NewFallback returns a Fallback over primary for a deployment of nodes
// gateways. Each change between primary and local limits is logged once on
// log (slog.Default() if nil) and reported to onState (if not nil) with
// up=false when the primary failed and up=true when it answers again.
// onState is called with a lock held: it must be quick and must not call
// the Fallback.
//
// A limit smaller than nodes becomes 1 on each node while the primary is
// down, the one case where the nodes together admit more than configured.
func NewFallback(primary Limiter, nodes int, log *slog.Logger, onState func(up bool)) *Fallback {
	return newFallback(primary, nodes, log, onState, time.Now)
}

func newFallback(primary Limiter, nodes int, log *slog.Logger, onState func(up bool), now func() time.Time) *Fallback {
	if log == nil {
		log = slog.Default()
	}
	return &Fallback{primary: primary, local: NewMemory(now), nodes: int64(max(nodes, 1)), log: log, onState: onState, now: now}
}

// Acquire asks the primary, or the local limiter while the primary is down.
// A primary that answers, admitting or denying, is up; any other error puts
// it down, except one caused by ctx ending, which is returned as it is.
func (f *Fallback) Acquire(ctx context.Context, t Ticket) (*Grant, error) {
	rules, err := limiting(t)
	if err != nil {
		return nil, err // the ticket's fault, not the primary's
	}
	if len(rules) == 0 {
		// Redis would not be asked, and its answer would say nothing of its health.
		return f.local.Acquire(ctx, t)
	}
	if f.tryPrimary() {
		g, err := f.primary.Acquire(ctx, t)
		var d *Denied
		switch {
		case err == nil, errors.As(err, &d):
			f.setDown(false, nil)
			return g, err
		case ctx.Err() != nil:
			return nil, err
		}
		f.setDown(true, err)
	}
	return f.local.Acquire(ctx, f.localTicket(t))
}

// Release hands g back to the limiter that issued it.
func (f *Fallback) Release(ctx context.Context, g *Grant, actualTokens int64) {
	if g == nil || g.owner == nil {
		return
	}
	g.owner.Release(ctx, g, actualTokens)
}

// tryPrimary reports whether this Acquire should ask the primary: always
// while it is up, once a second while it is down.
func (f *Fallback) tryPrimary() bool {
	if !f.down.Load() {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down.Load() {
		return true
	}
	now := f.now()
	if now.Before(f.retry) {
		return false
	}
	f.retry = now.Add(time.Second)
	return true
}

// setDown records the primary's state, logging and reporting a change once.
func (f *Fallback) setDown(down bool, err error) {
	if !down && !f.down.Load() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if down {
		f.retry = f.now().Add(time.Second)
	}
	if f.down.Load() == down {
		return
	}
	f.down.Store(down)
	if down {
		f.log.Warn("ratelimit: shared limiter failed; using local limits divided among nodes", "nodes", f.nodes, "err", err)
	} else {
		f.log.Info("ratelimit: shared limiter is back")
	}
	if f.onState != nil {
		f.onState(!down)
	}
}

// localTicket divides t's limits among the nodes, keeping at least 1 of
// every limit that is set, since 0 would mean no limit at all.
func (f *Fallback) localTicket(t Ticket) Ticket {
	if f.nodes == 1 {
		return t
	}
	rules := make([]Rule, len(t.Rules))
	for i, r := range t.Rules {
		rules[i] = Rule{Scope: r.Scope, RPM: share(r.RPM, f.nodes), TPM: share(r.TPM, f.nodes), Concurrent: share(r.Concurrent, f.nodes)}
	}
	t.Rules = rules
	return t
}

func share(limit, nodes int64) int64 {
	if limit <= 0 {
		return 0
	}
	return max(limit/nodes, 1)
}
