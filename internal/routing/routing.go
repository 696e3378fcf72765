// Package routing chooses the upstream channel for a request: the lowest
// priority tier that still has a candidate, then weighted random within it.
package routing

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tokenhot/tokenhot/internal/catalog"
)

// Pick returns the channel to try next among candidates (sorted by priority,
// as the catalogue keeps them), skipping those in tried. It returns nil when
// every candidate has been tried.
func Pick(candidates []*catalog.Channel, tried []*catalog.Channel) *catalog.Channel {
	i := 0
	for i < len(candidates) {
		// One priority tier: candidates[i:j].
		j := i
		for j < len(candidates) && candidates[j].Priority == candidates[i].Priority {
			j++
		}
		if c := pickWeighted(candidates[i:j], tried); c != nil {
			return c
		}
		i = j
	}
	return nil
}

func pickWeighted(tier []*catalog.Channel, tried []*catalog.Channel) *catalog.Channel {
	total := 0
	var only *catalog.Channel
	for _, c := range tier {
		if contains(tried, c) {
			continue
		}
		total += weight(c)
		only = c
	}
	if total == 0 {
		return only // every remaining weight is zero: still usable, in order
	}
	n := rand.IntN(total)
	for _, c := range tier {
		if contains(tried, c) {
			continue
		}
		n -= weight(c)
		if n < 0 {
			return c
		}
	}
	return only
}

func weight(c *catalog.Channel) int {
	if c.Weight < 0 {
		return 0
	}
	return c.Weight
}

func contains(s []*catalog.Channel, c *catalog.Channel) bool {
	for _, x := range s {
		if x == c {
			return true
		}
	}
	return false
}

// Choice is one attempt's channel and key.
type Choice struct {
	Channel *catalog.Channel
	Key     string // the secret, for the request
	Ref     KeyRef
}

// Router chooses a channel key for each attempt of a request: the lowest
// priority tier that still has a usable key, weighted random among its
// channels, then the channel's keys in turn, skipping keys whose breaker is
// open or disabled and keys already tried for this request.
type Router struct {
	Health *Health
	rr     sync.Map // channel id → *atomic.Uint64, the round-robin position over its keys
}

// NewRouter returns a router over h.
func NewRouter(h *Health) *Router { return &Router{Health: h} }

// Next picks the next attempt among candidates (sorted by priority, as the
// catalogue keeps them). eligible, if set, rules out channels that cannot
// serve the request at all. ok is false when nothing usable is left.
func (r *Router) Next(candidates []*catalog.Channel, tried []KeyRef, eligible func(*catalog.Channel) bool) (Choice, bool) {
	var skip []*catalog.Channel // channels with no usable key left
	for {
		usable := candidates[:0:0]
		for _, c := range candidates {
			if (eligible == nil || eligible(c)) && !contains(skip, c) && r.hasKey(c, tried) {
				usable = append(usable, c)
			}
		}
		c := Pick(usable, nil)
		if c == nil {
			return Choice{}, false
		}
		if ch, ok := r.key(c, tried); ok {
			return ch, true
		}
		skip = append(skip, c) // its last key was claimed meanwhile
	}
}

// hasKey reports whether c has a key that is available and not yet tried.
func (r *Router) hasKey(c *catalog.Channel, tried []KeyRef) bool {
	for _, id := range c.KeyIDs {
		ref := KeyRef{c.ID, id}
		if !slices.Contains(tried, ref) && r.Health.Available(ref) {
			return true
		}
	}
	return false
}

// key claims c's next usable key in turn.
func (r *Router) key(c *catalog.Channel, tried []KeyRef) (Choice, bool) {
	n := len(c.Keys)
	if n == 0 || len(c.KeyIDs) != n {
		return Choice{}, false
	}
	v, _ := r.rr.LoadOrStore(c.ID, new(atomic.Uint64))
	start := int(v.(*atomic.Uint64).Add(1)-1) % n
	for i := range n {
		k := (start + i) % n
		ref := KeyRef{c.ID, c.KeyIDs[k]}
		if slices.Contains(tried, ref) {
			continue
		}
		if r.Health.Acquire(ref) {
			return Choice{Channel: c, Key: c.Keys[k], Ref: ref}, true
		}
	}
	return Choice{}, false
}
