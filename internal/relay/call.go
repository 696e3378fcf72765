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
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// maxResponseBytes bounds a non-streamed upstream answer.
const maxResponseBytes = 64 << 20

// translateRequest decodes the client's request and encodes it in the
// upstream's protocol. Remote images are fetched first when the upstream
// takes only inline data.
func (x *exchange) translateRequest(ctx context.Context, body []byte, upstreamModel string) ([]byte, *llm.Error) {
	req, err := wires[x.in].parse(body)
	if err != nil {
		return nil, llm.AsError(err)
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
func (x *exchange) upstreamRequest(ctx context.Context, r *http.Request, body []byte, model string) (*http.Request, error) {
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
	key := ch.NextKey()
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

// call sends the request upstream and relays the answer.
func (x *exchange) call(w http.ResponseWriter, r *http.Request, body []byte, model string) *llm.Error {
	rl := x.rl
	ctx, cancel := context.WithTimeout(r.Context(), rl.opts.TotalTimeout)
	defer cancel()
	up, err := x.upstreamRequest(ctx, r, body, model)
	if err != nil {
		return &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "bad upstream address", Cause: err}
	}
	resp, err := rl.client.Do(up)
	if err != nil {
		return upstreamTransportError(r.Context(), err)
	}
	defer resp.Body.Close()
	x.upstream = x.upstreamID(resp.Header)
	if resp.StatusCode >= 300 {
		return upstreamStatusError(resp)
	}
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
