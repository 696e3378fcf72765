package relay

import (
	"context"
	"net/http"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/routing"
)

// attempt is what one try of a channel key came to.
type attempt struct {
	err *llm.Error
	// skip: the channel cannot take the request now (its cap): nothing was
	// sent; another channel may be tried.
	skip bool
	// unsent: the request cannot be expressed for this upstream: nothing
	// was sent, and the error is the caller's to fix.
	unsent bool
	// judged: the key's health was already recorded (a stream that broke
	// after the key answered is the key's failure, not a success).
	judged bool
}

// tryKeys runs try on the model's channel keys, chosen by the router, until
// one succeeds: a failure that is not the caller's and happened before
// anything reached the client (a connection error, a timeout, a 5xx, a 429,
// a refused credential) moves on to the next key, within the retry budget
// (attempts and time); an error that is the caller's ends the search. The
// breakers learn from every attempt. noChannel is the error when no key
// was usable at all.
func (x *exchange) tryKeys(r *http.Request, eligible func(*catalog.Channel) bool, noChannel *llm.Error,
	try func(ctx context.Context, c routing.Choice) attempt) *llm.Error {
	rl := x.rl
	ctx := r.Context()
	deadline := x.start.Add(rl.opts.RetryTimeout)
	health := rl.router.Health
	var tried []routing.KeyRef
	var last *llm.Error
	for x.attempts < rl.opts.MaxAttempts {
		c, ok := rl.router.Next(x.model.Channels, tried, eligible)
		if !ok {
			break
		}
		if x.attempts > 0 && rl.opts.Now().After(deadline) {
			health.Release(c.Ref)
			break
		}
		res := try(ctx, c)
		switch {
		case res.skip:
			health.Release(c.Ref)
			for _, id := range c.Channel.KeyIDs { // the whole channel is at capacity
				tried = append(tried, routing.KeyRef{Channel: c.Channel.ID, Key: id})
			}
			last = res.err
			continue
		case res.unsent:
			health.Release(c.Ref)
			return res.err
		case res.err == nil:
			if !res.judged {
				health.Success(c.Ref)
			}
			rl.attempt(x, "ok")
			return nil
		}
		e := res.err
		last = e
		failure, retry := classify(e)
		switch {
		case e.Kind == llm.KindUpstreamClient:
			health.Success(c.Ref) // the key works; the request was refused
		case e.Code == "client_closed":
			health.Release(c.Ref)
		default:
			health.Fail(c.Ref, failure, e.Code, e.RetryAfter)
		}
		if !retry || ctx.Err() != nil {
			rl.attempt(x, "error")
			return e
		}
		rl.attempt(x, "failover")
		rl.log.Warn("upstream attempt failed; trying another key", "request_id", x.id, "channel", c.Channel.Name,
			"key", c.Ref.Key, "class", e.Kind.String(), "code", e.Code, "err", e.Error(), "upstream_request_id", x.upstream)
		tried = append(tried, c.Ref)
	}
	if last == nil {
		return noChannel
	}
	return last
}

// use records the channel key an attempt goes out with.
func (x *exchange) use(c routing.Choice) {
	x.attempts++
	x.channel, x.keyRef = c.Channel, c.Ref
}
