package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/metrics"
	"github.com/tokenhot/tokenhot/internal/ratelimit"
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
	in        proto // the client's protocol
	out       proto // the upstream's protocol
	key       *catalog.Key
	model     *catalog.Model
	channel   *catalog.Channel
	peek      peeked
	keyRef    routing.KeyRef // the channel key of the current attempt
	attempts  int            // upstream attempts made
	pathModel string         // Gemini: the model named in the URL
	treq      *llm.Request   // the decoded request, when translating
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
	// upstreamFailed: the upstream sent an error event mid-stream.
	upstreamFailed bool
	extra          billing.Micros   // charges beyond tokens (images at their price)
	extraHold      billing.Micros   // what reserve holds beyond the token estimate
	holdAmount     billing.Micros   // what reserve held
	grant          *ratelimit.Grant // the rate limits' admission, released in finish
	tokens         int64            // the token estimate the limits reserved
	// cut: the stream ended before its proper end (upstream broke, client
	// left), so usage reported along the way may be partial.
	cut bool
}

// handler serves one client protocol's generation endpoint.
func (rl *Relay) handler(in proto) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { rl.exchange(w, r, in, "", false) }
}

// exchange runs one request from arrival to settlement.
func (rl *Relay) exchange(w http.ResponseWriter, r *http.Request, in proto, pathModel string, stream bool) {
	rl.run(w, r, newRequestID(), in, func(x *exchange) *llm.Error {
		x.pathModel, x.peek.Stream = pathModel, stream
		return x.serve(w, r)
	})
}

// run serves one request of protocol in with serve, and whatever happens
// settles its money, logs it and counts it: the request's whole life.
func (rl *Relay) run(w http.ResponseWriter, r *http.Request, id string, in proto, serve func(*exchange) *llm.Error) {
	rl.enter()
	defer rl.leave()
	x := &exchange{rl: rl, id: id, start: rl.opts.Now(), ip: rl.clientIP(r), source: llm.SourceNone, in: in, out: in}
	w.Header().Set("X-Request-Id", x.id)
	defer x.finish(r.Context())
	if e := serve(x); e != nil {
		x.fail(w, e)
	}
}

// begin authenticates the request, the way protocol in's clients send
// keys, and reads its body.
func (x *exchange) begin(w http.ResponseWriter, r *http.Request) (*catalog.Snapshot, []byte, *llm.Error) {
	snap := x.rl.cat.Current()
	k, e := x.rl.authenticate(wires[x.in].key(r), snap, x.ip)
	if e != nil {
		return nil, nil, e
	}
	x.key = k
	body, e := readBody(w, r, x.rl.opts.MaxBodyBytes)
	if e != nil {
		return nil, nil, e
	}
	x.bodyLen = len(body)
	return snap, body, nil
}

// useModel finds the model the request names and checks the key may use it.
func (x *exchange) useModel(snap *catalog.Snapshot, name string) *llm.Error {
	m, ok := snap.Model(name)
	if !ok || !m.Served() {
		return &llm.Error{Kind: llm.KindNotFound, Code: "model_not_found", Param: "model",
			Message: "the model '" + name + "' does not exist or is offline"}
	}
	x.model = m
	if !x.key.AllowsModel(m.Name) {
		return llm.Errorf(llm.KindForbidden, "model_not_allowed", "this API key may not use the model '%s'", m.Name)
	}
	return nil
}

// fail records an error and, if nothing was sent yet, writes it in the
// client's protocol.
func (x *exchange) fail(w http.ResponseWriter, e *llm.Error) {
	x.errClass = e.Kind.String()
	if e.Kind == llm.KindInternal || e.Kind == llm.KindUpstream || e.Kind == llm.KindTimeout {
		x.rl.log.Warn("request failed", "request_id", x.id, "class", x.errClass, "err", e.Error(),
			"upstream_request_id", x.upstream)
	}
	x.status = writeError(w, wires[x.in].errorBody, e, x.id)
}

// writeError writes e with a protocol's error body and returns the status.
func writeError(w http.ResponseWriter, body func(*llm.Error, string) (int, []byte), e *llm.Error, id string) int {
	status, b := body(e, id)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

func (x *exchange) serve(w http.ResponseWriter, r *http.Request) *llm.Error {
	snap, body, e := x.begin(w, r)
	if e != nil {
		return e
	}
	stream := x.peek.Stream
	if x.in == protoChat {
		x.peek, e = peekChat(body)
	} else {
		x.peek, e = peekBody(body, wires[x.in].peek)
	}
	if e != nil {
		return e
	}
	if x.in == protoGemini {
		x.peek.Model, x.peek.Stream = x.pathModel, stream
	}
	if e := x.useModel(snap, x.peek.Model); e != nil {
		return e
	}
	m := x.model
	if !slices.ContainsFunc(m.Channels, x.eligible) {
		if len(m.Channels) == 0 {
			return llm.Errorf(llm.KindUnavailable, "no_channel", "no upstream is available for the model '%s'", m.Name)
		}
		return llm.Errorf(llm.KindInvalid, "unsupported_endpoint",
			"the model '%s' cannot be used on this endpoint", m.Name)
	}
	if e := x.admit(r.Context(), w); e != nil {
		return e
	}
	if e := x.reserve(r.Context()); e != nil {
		return e
	}
	return x.route(w, r, body)
}

// eligible reports whether a channel can serve this request's protocol.
func (x *exchange) eligible(ch *catalog.Channel) bool {
	_, ok := upstreamProto(ch.Type, x.in)
	return ok
}

// patch makes the few edits a pass-through request needs: the channel's
// name for the model, and on Chat streams the usage report the gateway
// meters by.
func (x *exchange) patch(body []byte, upstreamModel string) ([]byte, *llm.Error) {
	var err error
	if x.in != protoGemini && upstreamModel != x.peek.Model {
		if body, err = surface.SetModel(body, upstreamModel); err != nil {
			return nil, llm.AsError(err)
		}
	}
	if x.in == protoChat && x.peek.Stream && !x.peek.IncludeUsage {
		if body, err = surface.ForceUsage(body); err != nil {
			return nil, llm.AsError(err)
		}
	}
	return body, nil
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
	maxOut := x.peek.MaxTokens
	if maxOut == 0 {
		maxOut = x.model.MaxOutputTokens
	}
	if maxOut == 0 {
		maxOut = x.rl.opts.DefaultMaxOutputTokens
	}
	prompt := int64(x.bodyLen)/reserveBytesPerToken + x.peek.Images*reserveImageTokens
	amount := x.model.Price.Estimate(prompt, maxOut*max(x.peek.N, 1)) + x.extraHold
	_, err := x.rl.ledger.Reserve(ctx, store.Hold{RequestID: x.id, UserID: x.key.UserID, KeyID: x.key.ID, Amount: amount})
	switch {
	case err == nil:
		x.held, x.holdAmount = true, amount
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
	x.release(ctx)
	row := store.RequestLog{
		Time: x.start, RequestID: x.id, ClientIP: ipString(x.ip), Stream: x.peek.Stream,
		Model: x.peek.Model, Usage: x.usage, Source: x.source, Cost: x.cost, Status: x.status,
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
	if m := x.rl.metrics; m != nil {
		mr := metrics.Request{Surface: wires[x.in].name, Status: row.Status, ErrorClass: row.ErrorClass, Stream: x.peek.Stream,
			Latency: x.rl.opts.Now().Sub(x.start), TTFT: x.ttft, Usage: x.usage, Cost: x.cost, Attempts: x.attempts}
		if x.model != nil {
			mr.Model = x.model.Name // a catalogue name, never the client's text
		}
		if x.channel != nil {
			mr.Channel = x.channel.Name
		}
		m.Observe(mr)
	}
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
	switch {
	case x.source != llm.SourceUpstream:
		x.usage = llm.Usage{Input: int64(x.bodyLen) / billBytesPerToken, Output: x.chunks}
		x.source = llm.SourceEstimated
	case x.cut:
		// Anthropic and Gemini report usage as the stream goes (the input at
		// its start, the output so far on the way): a stream cut short has
		// the upstream's input figures but an output count that may lag
		// behind what was delivered.
		if done := x.usage.Output + x.usage.Reasoning; x.chunks > done {
			x.usage.Output += x.chunks - done
		}
		x.source = llm.SourceEstimated
	}
	x.cost = x.model.Price.Cost(x.usage) + x.extra
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
