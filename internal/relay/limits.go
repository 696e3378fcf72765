package relay

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/ratelimit"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Limiter admits requests against rate limits (ratelimit.Memory,
// ratelimit.Fallback over Redis).
type Limiter interface {
	Acquire(ctx context.Context, t ratelimit.Ticket) (*ratelimit.Grant, error)
	Release(ctx context.Context, g *ratelimit.Grant, actualTokens int64)
}

func rule(scope string, l store.Limits) ratelimit.Rule {
	return ratelimit.Rule{Scope: scope, RPM: l.RPM, TPM: l.TPM, Concurrent: l.Concurrent}
}

// capTokens bounds a request's token estimate by the smallest TPM among
// rules: the estimate is a worst case (the whole max_tokens), and a request
// must not be refused for ever because its worst case exceeds a limit that
// its actual usage, which replaces the estimate afterwards, respects.
func capTokens(tokens int64, rules []ratelimit.Rule) int64 {
	for _, r := range rules {
		if r.TPM > 0 && tokens > r.TPM {
			tokens = r.TPM
		}
	}
	return tokens
}

// admit applies the key's, the user's and the model's limits. The grant is
// released in finish with the request's actual tokens.
func (x *exchange) admit(ctx context.Context, w http.ResponseWriter) *llm.Error {
	lim := x.rl.limiter
	if lim == nil {
		return nil
	}
	k, m := x.key, x.model
	rules := []ratelimit.Rule{
		rule("key:"+strconv.FormatInt(k.ID, 10), k.KeyRate),
		rule("user:"+strconv.FormatInt(k.UserID, 10), k.UserRate),
		rule("model:"+m.Name, m.Limits),
	}
	if !limited(rules) {
		return nil // nothing to count: the common case costs nothing
	}
	x.tokens = capTokens(x.estimateTokens(), rules)
	g, err := lim.Acquire(ctx, ratelimit.Ticket{ID: x.id, Rules: rules, Tokens: x.tokens})
	if err != nil {
		return x.limited(w, err)
	}
	x.grant = g
	setRateHeaders(w.Header(), g.Headers())
	return nil
}

func limited(rules []ratelimit.Rule) bool {
	for _, r := range rules {
		if r.RPM > 0 || r.TPM > 0 || r.Concurrent > 0 {
			return true
		}
	}
	return false
}

// admitChannel applies a channel's cap for one attempt; a capped channel is
// skipped, not an error for the client unless every channel is.
func (x *exchange) admitChannel(ctx context.Context, ch *catalog.Channel) (*ratelimit.Grant, *llm.Error) {
	lim := x.rl.limiter
	l := ch.Limits
	if lim == nil || l == (store.Limits{}) {
		return nil, nil
	}
	rules := []ratelimit.Rule{rule("channel:"+strconv.FormatInt(ch.ID, 10), l)}
	g, err := lim.Acquire(ctx, ratelimit.Ticket{ID: x.id + "/" + strconv.Itoa(x.attempts), Rules: rules,
		Tokens: capTokens(x.estimateTokens(), rules)})
	if err == nil {
		return g, nil
	}
	var d *ratelimit.Denied
	if errors.As(err, &d) {
		x.rl.rateLimited("channel", d.Kind)
		return nil, &llm.Error{Kind: llm.KindRateLimited, Code: "upstream_capacity",
			Message: "the upstream accounts serving this model are at capacity; retry later", RetryAfter: d.RetryAfter}
	}
	x.rl.log.Error("rate limiter failed; channel cap not applied", "request_id", x.id, "err", err)
	return nil, nil
}

// limited turns a limiter refusal into the client's 429.
func (x *exchange) limited(w http.ResponseWriter, err error) *llm.Error {
	var d *ratelimit.Denied
	if !errors.As(err, &d) {
		// The limiter itself failed (a bad ticket; Redis outages are the
		// fallback's to absorb): let the request through rather than
		// refuse every client, and say so.
		x.rl.log.Error("rate limiter failed; request admitted without limits", "request_id", x.id, "err", err)
		return nil
	}
	scope, _, _ := strings.Cut(d.Scope, ":")
	x.rl.rateLimited(scope, d.Kind)
	setRateHeaders(w.Header(), d.Headers)
	what := map[string]string{ratelimit.KindRequests: "requests per minute", ratelimit.KindTokens: "tokens per minute",
		ratelimit.KindConcurrent: "concurrent requests"}[d.Kind]
	msg := "rate limit reached: " + strconv.FormatInt(d.Limit, 10) + " " + what + " for this " + scope
	if d.RetryAfter == 0 {
		msg = d.Error()
	}
	return &llm.Error{Kind: llm.KindRateLimited, Code: "rate_limit_exceeded", Message: msg, RetryAfter: d.RetryAfter}
}

// release ends the request's rate-limit grant with its actual tokens.
func (x *exchange) release(ctx context.Context) {
	if x.grant == nil {
		return
	}
	actual := x.usage.Total()
	if !x.delivered {
		actual = 0
	}
	x.rl.limiter.Release(ctx, x.grant, actual)
}

// estimateTokens is the worst case the reservation also assumes: the
// prompt estimate plus the whole output limit.
func (x *exchange) estimateTokens() int64 {
	maxOut := x.peek.MaxTokens
	if maxOut == 0 {
		maxOut = x.model.MaxOutputTokens
	}
	if maxOut == 0 {
		maxOut = x.rl.opts.DefaultMaxOutputTokens
	}
	return int64(x.bodyLen)/reserveBytesPerToken + x.peek.Images*reserveImageTokens + maxOut*max(x.peek.N, 1)
}

// setRateHeaders writes OpenAI's x-ratelimit-* headers (limits, what
// remains, and when it next grows) for the tightest limits that apply.
func setRateHeaders(h http.Header, rh ratelimit.Headers) {
	if rh.LimitRequests > 0 {
		h.Set("X-Ratelimit-Limit-Requests", strconv.FormatInt(rh.LimitRequests, 10))
		h.Set("X-Ratelimit-Remaining-Requests", strconv.FormatInt(max(rh.RemainingRequests, 0), 10))
		h.Set("X-Ratelimit-Reset-Requests", resetString(rh.ResetRequests))
	}
	if rh.LimitTokens > 0 {
		h.Set("X-Ratelimit-Limit-Tokens", strconv.FormatInt(rh.LimitTokens, 10))
		h.Set("X-Ratelimit-Remaining-Tokens", strconv.FormatInt(max(rh.RemainingTokens, 0), 10))
		h.Set("X-Ratelimit-Reset-Tokens", resetString(rh.ResetTokens))
	}
}

// resetString formats a duration as OpenAI does ("1s", "6m0s", "20ms").
func resetString(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(time.Millisecond).String()
}
