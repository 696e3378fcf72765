package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Rule is one subject's limits; zero means no limit of that kind.
type Rule struct {
	Scope      string // opaque subject id such as "key:12", "user:3", "model:gpt-5", "channel:4"
	RPM        int64  // requests admitted per rolling minute
	TPM        int64  // tokens per rolling minute: estimates at admission, actual usage after Release
	Concurrent int64  // requests holding a slot at once
}

// limited reports whether r limits anything; a rule that does not is ignored.
func (r Rule) limited() bool { return r.RPM > 0 || r.TPM > 0 || r.Concurrent > 0 }

// Ticket asks to admit one request against every rule at once.
type Ticket struct {
	ID     string // unique request id; it names the concurrency slot in Redis
	Rules  []Rule // at most one rule per Scope
	Tokens int64  // estimated tokens, reserved against each TPM
}

// Limiter admits requests against rate and concurrency limits.
type Limiter interface {
	// Acquire admits t against all of its rules or none of them, atomically.
	// A limit that is reached gives a *Denied error and takes nothing; any
	// other error means the limiter itself failed.
	Acquire(ctx context.Context, t Ticket) (*Grant, error)
	// Release ends the request's concurrency slots and replaces its TPM
	// estimate by actualTokens. A second call does nothing.
	Release(ctx context.Context, g *Grant, actualTokens int64)
}

// The kinds of limit a Denied names.
const (
	KindRequests   = "requests"
	KindTokens     = "tokens"
	KindConcurrent = "concurrent"
)

const (
	windowSeconds = 60               // buckets of one second in the rolling window
	bucketTTL     = 70 * time.Second // how long Redis keeps an untouched window
	never         = time.Duration(-1)
)

// Headers describe the tightest request and token limits of a ticket, for the
// x-ratelimit-* response headers. A zero Limit means no limit of that kind.
// Reset is the time until the oldest request (or token) still counted leaves
// the window, that is when Remaining next grows; it is zero when nothing is
// counted.
type Headers struct {
	LimitRequests, RemainingRequests int64
	ResetRequests                    time.Duration
	LimitTokens, RemainingTokens     int64
	ResetTokens                      time.Duration
}

// Grant is an admitted request. Hand it back to the Release of the limiter
// that issued it, or of a Fallback over that limiter.
type Grant struct {
	owner    Limiter // the limiter whose state holds the reservation
	id       string
	rules    []Rule // the limiting rules as they were admitted
	tokens   int64  // the estimate reserved against each TPM
	sec      int64  // Unix second of the bucket holding the reservation
	headers  Headers
	released atomic.Bool
}

// Headers describe the tightest limits after this request was counted.
func (g *Grant) Headers() Headers {
	if g == nil {
		return Headers{}
	}
	return g.headers
}

// releasedBy reports whether l should carry out the release of g now: l issued
// it and nobody released it before.
func (g *Grant) releasedBy(l Limiter) bool {
	return g != nil && g.owner == l && g.released.CompareAndSwap(false, true)
}

// Denied is returned (as error) when a limit is hit: nothing was taken from
// any rule. When several limits are hit it names the one that clears last.
//
// A ticket whose Tokens exceed a TPM outright can never be admitted: it is
// denied with Kind "tokens" and a zero RetryAfter, since waiting cannot help.
// The relay is expected to cap its estimate (for instance by max_tokens)
// rather than count on that.
type Denied struct {
	Scope      string
	Kind       string // KindRequests, KindTokens or KindConcurrent
	Limit      int64
	RetryAfter time.Duration // at least 1s; zero when waiting cannot help
	Headers    Headers

	tokens int64 // the ticket's estimate, for the message
}

// Error describes the limit for logs; it names the internal scope, so the
// relay builds the client's message from the fields instead.
func (d *Denied) Error() string {
	retry := d.RetryAfter.Round(time.Millisecond)
	switch d.Kind {
	case KindRequests:
		return fmt.Sprintf("ratelimit: %s: limit of %d requests per minute reached; retry after %v", d.Scope, d.Limit, retry)
	case KindTokens:
		if d.RetryAfter == 0 {
			return fmt.Sprintf("ratelimit: %s: request of %d estimated tokens exceeds the limit of %d tokens per minute and can never be admitted; cap the estimate", d.Scope, d.tokens, d.Limit)
		}
		return fmt.Sprintf("ratelimit: %s: limit of %d tokens per minute reached; retry after %v", d.Scope, d.Limit, retry)
	default:
		return fmt.Sprintf("ratelimit: %s: limit of %d concurrent requests reached; retry after %v", d.Scope, d.Limit, retry)
	}
}

// limiting returns the rules of t that limit something, checking that the
// ticket can be counted at all.
func limiting(t Ticket) ([]Rule, error) {
	if t.ID == "" {
		return nil, errors.New("ratelimit: ticket has no ID")
	}
	n := 0
	for _, r := range t.Rules {
		if r.limited() {
			n++
		}
	}
	rules := make([]Rule, 0, n)
	for _, r := range t.Rules {
		if !r.limited() {
			continue
		}
		if r.Scope == "" {
			return nil, errors.New("ratelimit: rule has no scope")
		}
		for _, o := range rules {
			if o.Scope == r.Scope {
				return nil, fmt.Errorf("ratelimit: scope %q appears twice in one ticket", r.Scope)
			}
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// usage is what one scope has counted before a ticket is admitted, as both
// implementations measure it.
type usage struct {
	requests, tokens, concurrent int64
	// Until the oldest counted bucket leaves the window (or, with nothing
	// counted, the bucket of the current second would).
	requestsReset, tokensReset time.Duration
	// Until the ticket would fit: zero if it fits now, never if it cannot.
	requestsWait, tokensWait time.Duration
}

// decide returns nil when every rule admits the ticket, and otherwise the
// denial that clears last (a ticket that can never fit before all others).
func decide(rules []Rule, tokens int64, us []usage) *Denied {
	var worst *Denied
	consider := func(d *Denied) {
		switch {
		case worst == nil:
			worst = d
		case worst.RetryAfter == 0: // never fits; nothing is worse
		case d.RetryAfter == 0 || d.RetryAfter > worst.RetryAfter:
			worst = d
		}
	}
	for i, r := range rules {
		u := us[i]
		if r.RPM > 0 && u.requests+1 > r.RPM {
			consider(&Denied{Scope: r.Scope, Kind: KindRequests, Limit: r.RPM, RetryAfter: max(u.requestsWait, time.Second)})
		}
		if r.TPM > 0 && u.tokens+tokens > r.TPM {
			d := &Denied{Scope: r.Scope, Kind: KindTokens, Limit: r.TPM, tokens: tokens}
			if tokens <= r.TPM {
				d.RetryAfter = max(u.tokensWait, time.Second)
			}
			consider(d)
		}
		if r.Concurrent > 0 && u.concurrent >= r.Concurrent {
			consider(&Denied{Scope: r.Scope, Kind: KindConcurrent, Limit: r.Concurrent, RetryAfter: time.Second})
		}
	}
	if worst != nil {
		worst.Headers = headersFor(rules, us, tokens, false)
	}
	return worst
}

// headersFor picks, per kind, the rule with the least remaining (the smaller
// limit on a tie); admitted says whether the ticket itself is counted.
func headersFor(rules []Rule, us []usage, tokens int64, admitted bool) Headers {
	var h Headers
	for i, r := range rules {
		u := us[i]
		if r.RPM > 0 {
			used := u.requests
			if admitted {
				used++
			}
			rem := max(r.RPM-used, 0)
			if h.LimitRequests == 0 || rem < h.RemainingRequests || rem == h.RemainingRequests && r.RPM < h.LimitRequests {
				h.LimitRequests, h.RemainingRequests, h.ResetRequests = r.RPM, rem, resetIf(used, u.requestsReset)
			}
		}
		if r.TPM > 0 {
			used := u.tokens
			if admitted {
				used += tokens
			}
			rem := max(r.TPM-used, 0)
			if h.LimitTokens == 0 || rem < h.RemainingTokens || rem == h.RemainingTokens && r.TPM < h.LimitTokens {
				h.LimitTokens, h.RemainingTokens, h.ResetTokens = r.TPM, rem, resetIf(used, u.tokensReset)
			}
		}
	}
	return h
}

func resetIf(used int64, reset time.Duration) time.Duration {
	if used <= 0 {
		return 0
	}
	return reset
}
