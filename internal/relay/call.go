package relay

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	anthropicup "github.com/tokenhot/tokenhot/internal/provider/anthropic"
	geminiup "github.com/tokenhot/tokenhot/internal/provider/gemini"
	"github.com/tokenhot/tokenhot/internal/provider/openai"
	"github.com/tokenhot/tokenhot/internal/ratelimit"
	"github.com/tokenhot/tokenhot/internal/routing"
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// maxResponseBytes bounds a non-streamed upstream answer.
const maxResponseBytes = 64 << 20

// translateRequest decodes the client's request and encodes it in the
// upstream's protocol. Remote images are fetched first when the upstream
// takes only inline data.
func (x *exchange) translateRequest(ctx context.Context, body []byte, upstreamModel string) ([]byte, *llm.Error) {
	req := x.treq
	if req == nil {
		var err error
		if req, err = wires[x.in].parse(body); err != nil {
			return nil, llm.AsError(err)
		}
	}
	if x.in == protoGemini {
		req.Stream = x.peek.Stream
	}
	req.Model = upstreamModel
	x.treq = req
	if x.peek.MaxTokens == 0 {
		x.peek.MaxTokens = req.MaxTokens
	}
	if x.out == protoGemini && x.rl.media != nil {
		if err := x.rl.media.Inline(ctx, req); err != nil {
			return nil, llm.AsError(err)
		}
	}
	out, err := wires[x.out].build(req, x.channel)
	if err != nil {
		return nil, llm.AsError(err)
	}
	return out, nil
}

// upstreamRequest addresses and authenticates the call to the channel.
func (x *exchange) upstreamRequest(ctx context.Context, r *http.Request, body []byte, model, key string) (*http.Request, error) {
	ch := x.channel
	var url string
	switch x.out {
	case protoChat:
		url = openai.Base(ch.Type, ch.BaseURL) + "/chat/completions"
	case protoResponses:
		url = openai.Base(ch.Type, ch.BaseURL) + "/responses"
	case protoEmbeddings:
		url = openai.Base(ch.Type, ch.BaseURL) + "/embeddings"
	case protoAnthropic:
		url = anthropicup.MessagesURL(ch.BaseURL)
	case protoGemini:
		method := "generateContent"
		if x.peek.Stream {
			method = "streamGenerateContent"
		}
		url = geminiup.URL(ch.BaseURL, model, method)
	}
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	up.ContentLength = int64(len(body))
	up.Header = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"tokenhot"}}
	if x.peek.Stream {
		up.Header["Accept"] = []string{"text/event-stream"}
	}
	switch x.out {
	case protoAnthropic:
		var version string
		var betas []string
		if x.in == protoAnthropic {
			version, betas = r.Header.Get("Anthropic-Version"), r.Header.Values("Anthropic-Beta")
		}
		anthropicup.Authorize(up.Header, key, version, betas)
	case protoGemini:
		geminiup.Authorize(up.Header, key)
	default:
		openai.Authorize(up.Header, key)
	}
	return up, nil
}

// upstreamID reads the upstream's request id, for the logs only.
func (x *exchange) upstreamID(h http.Header) string {
	switch x.out {
	case protoAnthropic:
		return h.Get(anthropicup.RequestIDHeader)
	case protoGemini:
		return h.Get(geminiup.RequestIDHeader)
	}
	return h.Get(openai.RequestIDHeader)
}

// route sends the request to the model's channel keys in turn (tryKeys)
// and relays the first answer.
func (x *exchange) route(w http.ResponseWriter, r *http.Request, body []byte) *llm.Error {
	ctx, cancel := context.WithTimeout(r.Context(), x.rl.opts.TotalTimeout)
	defer cancel()
	var answered *llm.Error
	noChannel := llm.Errorf(llm.KindUnavailable, "no_channel",
		"no upstream is available for the model '%s' right now; retry later", x.model.Name)
	e := x.tryKeys(r, x.eligible, noChannel, func(_ context.Context, c routing.Choice) attempt {
		capGrant, capped := x.admitChannel(ctx, c.Channel)
		if capped != nil {
			return attempt{err: capped, skip: true}
		}
		x.use(c)
		x.out, _ = upstreamProto(c.Channel.Type, x.in)
		model := c.Channel.UpstreamModel(x.model.Name)
		up, e := x.upstreamBody(ctx, body, model)
		if e != nil {
			x.releaseCap(ctx, capGrant, 0)
			return attempt{err: e, unsent: true}
		}
		resp, e := x.send(ctx, r, up, model, c.Key)
		if e != nil {
			x.releaseCap(ctx, capGrant, 0) // a failed attempt used no tokens
			return attempt{err: e}
		}
		defer resp.Body.Close()
		x.rl.router.Health.Success(c.Ref) // it answered; a stream it breaks later counts against it
		answered = x.answer(w, r, resp, cancel)
		x.releaseCap(ctx, capGrant, x.usage.Total())
		return attempt{judged: true}
	})
	if e != nil {
		return e
	}
	return answered
}

// releaseCap ends a channel-cap grant with the tokens the attempt used.
func (x *exchange) releaseCap(ctx context.Context, g *ratelimit.Grant, tokens int64) {
	if g != nil {
		x.rl.limiter.Release(context.WithoutCancel(ctx), g, tokens)
	}
}

// classify says how a failed attempt counts against its key and whether
// another key may be tried: only failures that are not the caller's and
// happened before anything reached the client are retried.
func classify(e *llm.Error) (routing.Failure, bool) {
	switch {
	case e.Code == "upstream_auth_error" || e.Code == "upstream_out_of_credit":
		return routing.Fatal, true
	case e.Kind == llm.KindRateLimited:
		return routing.Throttled, true
	case e.Kind == llm.KindUpstream || e.Kind == llm.KindTimeout || e.Kind == llm.KindUnavailable:
		return routing.Transient, true
	}
	return routing.Transient, false
}

// upstreamBody is the request body for the current attempt's upstream:
// the client's bytes with the model patched when the protocols match, else
// the translation (the client's request is decoded once per request).
func (x *exchange) upstreamBody(ctx context.Context, body []byte, model string) ([]byte, *llm.Error) {
	if x.out == x.in {
		return x.patch(body, model)
	}
	return x.translateRequest(ctx, body, model)
}

// send makes one upstream call and returns the response if its status is a
// success.
func (x *exchange) send(ctx context.Context, r *http.Request, body []byte, model, key string) (*http.Response, *llm.Error) {
	up, err := x.upstreamRequest(ctx, r, body, model, key)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "bad upstream address", Cause: err}
	}
	resp, err := x.rl.client.Do(up)
	if err != nil {
		return nil, upstreamTransportError(r.Context(), err)
	}
	x.upstream = x.upstreamID(resp.Header)
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, upstreamStatusError(resp)
	}
	return resp, nil
}

// answer relays a successful upstream response to the client.
func (x *exchange) answer(w http.ResponseWriter, r *http.Request, resp *http.Response, cancel context.CancelFunc) *llm.Error {
	switch {
	case x.in == protoChat && x.out == protoChat && x.peek.Stream:
		return x.relayStream(w, resp, r.Context(), cancel)
	case x.peek.Stream:
		var enc llm.StreamEncoder
		if x.out != x.in {
			enc = wires[x.in].encoder(x.meta(), x)
		}
		return x.pumpStream(w, resp, r.Context(), cancel, wires[x.out].decoder(), enc)
	}
	return x.relayJSON(w, resp)
}

// meta is how the gateway presents a translated answer: its own id, the
// model name the client asked for.
func (x *exchange) meta() llm.Meta {
	return llm.Meta{ID: wires[x.in].idPrefix + x.id[len("req_"):], Model: x.peek.Model, Created: x.start.Unix()}
}

func (x *exchange) relayJSON(w http.ResponseWriter, resp *http.Response) *llm.Error {
	body, err := readResponse(resp)
	if err != nil {
		return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream answer was cut short", Cause: err}
	}
	if x.out != x.in {
		if body, err = x.translateResponse(body); err != nil {
			return llm.AsError(err)
		}
	} else {
		x.passUsage(body)
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

// passUsage meters a pass-through answer. OpenAI-protocol bodies have their
// usage found from the end without decoding them; others are decoded.
func (x *exchange) passUsage(body []byte) {
	if x.out == protoChat || x.out == protoEmbeddings {
		if u, ok := surface.ResponseUsage(body); ok {
			x.usage, x.source = u, llm.SourceUpstream
			return
		}
		x.chunks = int64(len(gjson.GetBytes(body, "choices").Raw)) / billBytesPerToken
		return
	}
	resp, err := wires[x.out].parseResponse(body)
	if err == nil && resp.HasUsage {
		x.usage, x.source = resp.Usage, llm.SourceUpstream
		return
	}
	x.chunks = int64(len(body)) / billBytesPerToken
}

// translateResponse turns a whole upstream answer into the client's
// protocol.
func (x *exchange) translateResponse(body []byte) ([]byte, error) {
	resp, err := wires[x.out].parseResponse(body)
	if err != nil {
		return nil, err
	}
	if resp.HasUsage {
		x.usage, x.source = resp.Usage, llm.SourceUpstream
	} else {
		var n int
		for _, p := range resp.Parts {
			n += len(p.Text) + len(p.Arguments)
		}
		x.chunks = int64(n) / billBytesPerToken
	}
	return wires[x.in].response(resp, x.meta()), nil
}
