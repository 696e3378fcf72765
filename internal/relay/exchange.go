package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/provider/openai"
	"github.com/tokenhot/tokenhot/internal/routing"
	"github.com/tokenhot/tokenhot/internal/store"
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// Prompt estimation for reservations. A BPE token is at least one byte of
// text and CJK text runs about three bytes a token, so bytes/3 bounds the
// text of almost every real prompt; an image part is reserved at the largest
// per-image cost of current vision models.
const (
	reserveBytesPerToken = 3
	reserveImageTokens   = 1600
	// billBytesPerToken is used only when an upstream reports no usage
	// (a stream cut short): a fair middle estimate rather than a bound.
	billBytesPerToken = 4
)

// exchange is the state of one relayed request; finish turns it into money
// and a log row.
type exchange struct {
	rl        *Relay
	id        string
	start     time.Time
	ip        netip.Addr
	key       *catalog.Key
	model     *catalog.Model
	channel   *catalog.Channel
	req       surface.Chat
	bodyLen   int
	held      bool
	status    int
	errClass  string
	usage     llm.Usage
	source    llm.Source
	cost      billing.Micros
	delivered bool // the client has received some of a successful answer
	ttft      time.Duration
	chunks    int64 // content-bearing stream events passed to the client
	upstream  string
}

func (rl *Relay) chatCompletions(w http.ResponseWriter, r *http.Request) {
	rl.enter()
	defer rl.leave()
	x := &exchange{rl: rl, id: newRequestID(), start: rl.opts.Now(), ip: rl.clientIP(r), source: llm.SourceNone}
	w.Header().Set("X-Request-Id", x.id)
	defer x.finish(r.Context())
	if e := x.serve(w, r); e != nil {
		x.fail(w, e)
	}
}

// fail records an error and, if nothing was sent yet, writes it.
func (x *exchange) fail(w http.ResponseWriter, e *llm.Error) {
	x.errClass = e.Kind.String()
	x.status = surface.Status(e)
	if e.Kind == llm.KindInternal || e.Kind == llm.KindUpstream || e.Kind == llm.KindTimeout {
		x.rl.log.Warn("request failed", "request_id", x.id, "class", x.errClass, "err", e.Error(),
			"upstream_request_id", x.upstream)
	}
	surface.WriteError(w, e, x.id)
}

func (x *exchange) serve(w http.ResponseWriter, r *http.Request) *llm.Error {
	rl := x.rl
	snap := rl.cat.Current()
	k, e := rl.authenticate(r, snap, x.ip)
	if e != nil {
		return e
	}
	x.key = k
	body, e := readBody(w, r, rl.opts.MaxBodyBytes)
	if e != nil {
		return e
	}
	x.bodyLen = len(body)
	req, err := surface.ParseChat(body)
	if err != nil {
		return llm.AsError(err)
	}
	x.req = req
	m, ok := snap.Model(req.Model)
	if !ok || !m.Served() {
		return &llm.Error{Kind: llm.KindNotFound, Code: "model_not_found", Param: "model",
			Message: "the model '" + req.Model + "' does not exist or is offline"}
	}
	x.model = m
	if !k.AllowsModel(m.Name) {
		return llm.Errorf(llm.KindForbidden, "model_not_allowed", "this API key may not use the model '%s'", m.Name)
	}
	ch := routing.Pick(m.Channels, nil)
	if ch == nil {
		return llm.Errorf(llm.KindUnavailable, "no_channel", "no upstream is available for the model '%s'", m.Name)
	}
	x.channel = ch
	if e := x.reserve(r.Context()); e != nil {
		return e
	}
	if ch.UpstreamModel(m.Name) != req.Model {
		if body, err = surface.SetModel(body, ch.UpstreamModel(m.Name)); err != nil {
			return llm.AsError(err)
		}
	}
	if req.Stream && !req.IncludeUsage {
		if body, err = surface.ForceUsage(body); err != nil {
			return llm.AsError(err)
		}
	}
	return x.call(w, r, body)
}

// readBody reads the whole request body within the size limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *llm.Error) {
	if r.ContentLength > limit {
		return nil, llm.Errorf(llm.KindTooLarge, "request_too_large", "the request body exceeds %d bytes", limit)
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	} else {
		buf.Grow(4096)
	}
	if _, err := buf.ReadFrom(rd); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, llm.Errorf(llm.KindTooLarge, "request_too_large", "the request body exceeds %d bytes", limit)
		}
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "body_read_error", Message: "could not read the request body", Cause: err}
	}
	return buf.Bytes(), nil
}

// reserve holds the request's worst-case cost.
func (x *exchange) reserve(ctx context.Context) *llm.Error {
	maxOut := x.req.MaxTokens
	if maxOut == 0 {
		maxOut = x.model.MaxOutputTokens
	}
	if maxOut == 0 {
		maxOut = x.rl.opts.DefaultMaxOutputTokens
	}
	prompt := int64(x.bodyLen)/reserveBytesPerToken + x.req.Images*reserveImageTokens
	amount := x.model.Price.Estimate(prompt, maxOut*x.req.N)
	_, err := x.rl.ledger.Reserve(ctx, store.Hold{RequestID: x.id, UserID: x.key.UserID, KeyID: x.key.ID, Amount: amount})
	switch {
	case err == nil:
		x.held = true
		return nil
	case errors.Is(err, store.ErrInsufficientFunds):
		return llm.Errorf(llm.KindInsufficient, "insufficient_balance",
			"insufficient balance: this request may cost up to %s USD; top up or lower max_tokens", amount.USD())
	case errors.Is(err, store.ErrKeySpendLimit):
		return llm.Errorf(llm.KindInsufficient, "key_spend_limit", "this API key has reached its spend limit")
	case errors.Is(err, store.ErrUserInactive):
		return llm.Errorf(llm.KindForbidden, "account_suspended", "the account is suspended")
	default:
		return &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "could not reserve the request's cost", Cause: err}
	}
}

// finish settles the money and writes the log row. It runs whatever
// happened, with a context that outlives a departed client.
func (x *exchange) finish(reqCtx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), 30*time.Second)
	defer cancel()
	if x.held {
		x.settle(ctx)
	}
	row := store.RequestLog{
		Time: x.start, RequestID: x.id, ClientIP: ipString(x.ip), Stream: x.req.Stream,
		Model: x.req.Model, Usage: x.usage, Source: x.source, Cost: x.cost, Status: x.status,
		ErrorClass: x.errClass, LatencyMS: ms(x.rl.opts.Now().Sub(x.start)), TTFTMS: ms(x.ttft),
	}
	if x.status == 0 {
		row.Status = http.StatusOK
	}
	if x.key != nil {
		row.UserID, row.KeyID, row.KeyPrefix = x.key.UserID, x.key.ID, x.key.Prefix
	}
	if x.channel != nil {
		row.ChannelID = x.channel.ID
	}
	x.rl.logs.Add(row)
}

// settle charges what was delivered: upstream usage when there is some, an
// estimate when a stream ended early after delivering output, nothing when
// the call failed before any output reached the client.
func (x *exchange) settle(ctx context.Context) {
	if !x.delivered {
		x.usage, x.source, x.cost = llm.Usage{}, llm.SourceNone, 0
		if _, err := x.rl.ledger.Refund(ctx, x.id, "failed request: not charged"); err != nil {
			x.rl.log.Error("refund failed; the hold is released at the next start", "request_id", x.id, "err", err)
		}
		return
	}
	if x.source != llm.SourceUpstream {
		x.usage = llm.Usage{Input: int64(x.bodyLen) / billBytesPerToken, Output: x.chunks}
		x.source = llm.SourceEstimated
	}
	x.cost = x.model.Price.Cost(x.usage)
	note := "model=" + x.model.Name + " usage=" + string(x.source)
	if _, err := x.rl.ledger.Settle(ctx, x.id, x.cost, note); err != nil {
		x.rl.log.Error("settle failed; the hold is released at the next start", "request_id", x.id, "err", err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// call sends the request upstream and relays the answer.
func (x *exchange) call(w http.ResponseWriter, r *http.Request, body []byte) *llm.Error {
	rl := x.rl
	ctx, cancel := context.WithTimeout(r.Context(), rl.opts.TotalTimeout)
	defer cancel()
	url := openai.Base(x.channel.Type, x.channel.BaseURL) + "/chat/completions"
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "bad upstream address", Cause: err}
	}
	up.ContentLength = int64(len(body))
	up.Header = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"tokenhot"}}
	if x.req.Stream {
		up.Header["Accept"] = []string{"text/event-stream"}
	}
	openai.Authorize(up.Header, x.channel.NextKey())
	resp, err := rl.client.Do(up)
	if err != nil {
		return upstreamTransportError(r.Context(), err)
	}
	defer resp.Body.Close()
	x.upstream = resp.Header.Get(openai.RequestIDHeader)
	if resp.StatusCode >= 300 {
		return upstreamStatusError(resp)
	}
	if x.req.Stream {
		return x.relayStream(w, resp, r.Context(), cancel)
	}
	return x.relayJSON(w, resp)
}

// maxResponseBytes bounds a non-streamed upstream answer.
const maxResponseBytes = 64 << 20

func (x *exchange) relayJSON(w http.ResponseWriter, resp *http.Response) *llm.Error {
	body, err := readResponse(resp)
	if err != nil {
		return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream answer was cut short", Cause: err}
	}
	if u, ok := surface.ResponseUsage(body); ok {
		x.usage, x.source = u, llm.SourceUpstream
	} else {
		x.chunks = int64(len(gjson.GetBytes(body, "choices").Raw)) / billBytesPerToken
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	x.delivered = true
	x.status = http.StatusOK
	x.ttft = x.rl.opts.Now().Sub(x.start)
	_, _ = w.Write(body)
	return nil
}

// readResponse reads a whole non-streamed answer: into a buffer of exactly
// the announced length when there is one, else growing up to the limit. An
// answer over the limit is an error, never silently cut.
func readResponse(resp *http.Response) ([]byte, error) {
	n := resp.ContentLength
	if n > maxResponseBytes {
		return nil, fmt.Errorf("answer of %d bytes exceeds the %d-byte limit", n, maxResponseBytes)
	}
	if n >= 0 {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxResponseBytes {
		return nil, fmt.Errorf("answer exceeds the %d-byte limit", maxResponseBytes)
	}
	return buf.Bytes(), nil
}
