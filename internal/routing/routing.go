// Package routing chooses the upstream channel for a request: the lowest
// priority tier that still has a candidate, then weighted random within it.
package routing

import (
	"math/rand/v2"

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
