package relay

import (
	"bytes"
	"context"
	"net/http"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/protocol/anthropic"
	"github.com/tokenhot/tokenhot/internal/protocol/gemini"
	anthropicup "github.com/tokenhot/tokenhot/internal/provider/anthropic"
	geminiup "github.com/tokenhot/tokenhot/internal/provider/gemini"
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// Token counting is free and unmetered. When the model's channel speaks the
// client's protocol the upstream counts exactly; otherwise the gateway
// estimates (see estimateTokens) and says so in the X-Token-Count header.

// countTokens serves Anthropic's POST /v1/messages/count_tokens.
func (rl *Relay) countTokens(in proto) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rl.count(w, r, in, "")
	}
}

// countGemini serves Gemini's POST /v1beta/models/{model}:countTokens.
func (rl *Relay) countGemini(w http.ResponseWriter, r *http.Request, model string) {
	rl.count(w, r, protoGemini, model)
}

func (rl *Relay) count(w http.ResponseWriter, r *http.Request, in proto, model string) {
	snap, k, id, ok := rl.keyed(w, r, in)
	if !ok {
		return
	}
	fail := func(e *llm.Error) { writeError(w, wires[in].errorBody, e, id) }
	body, e := readBody(w, r, rl.opts.MaxBodyBytes)
	if e != nil {
		fail(e)
		return
	}
	var req *llm.Request
	var err error
	if in == protoAnthropic {
		req, err = anthropic.ParseCountRequest(body)
		if err == nil {
			model = req.Model
		}
	} else {
		req, err = gemini.ParseCountRequest(body)
	}
	if err != nil {
		fail(llm.AsError(err))
		return
	}
	m, ok := snap.Model(model)
	if !ok || !m.Served() || !k.AllowsModel(m.Name) {
		fail(&llm.Error{Kind: llm.KindNotFound, Code: "model_not_found", Param: "model",
			Message: "the model '" + model + "' does not exist or is offline"})
		return
	}
	if ch := firstChannel(m); ch != nil {
		if out, _ := upstreamProto(ch.Type, in); out == in {
			rl.forwardCount(w, r, in, ch, body, ch.UpstreamModel(m.Name), model, id)
			return
		}
	}
	n := estimateTokens(req)
	w.Header().Set("X-Token-Count", "estimated")
	w.Header().Set("Content-Type", "application/json")
	if in == protoAnthropic {
		_, _ = w.Write(anthropic.CountResponse(n))
	} else {
		_, _ = w.Write(gemini.CountResponse(n))
	}
}

func firstChannel(m *catalog.Model) *catalog.Channel {
	if len(m.Channels) == 0 {
		return nil
	}
	return m.Channels[0]
}

// forwardCount asks the upstream to count, passing its answer through.
func (rl *Relay) forwardCount(w http.ResponseWriter, r *http.Request, in proto, ch *catalog.Channel, body []byte,
	upstreamModel, model, id string) {
	ctx, cancel := context.WithTimeout(r.Context(), rl.opts.TotalTimeout)
	defer cancel()
	var url string
	if in == protoAnthropic {
		if upstreamModel != model {
			body, _ = surface.SetModel(body, upstreamModel)
		}
		url = anthropicup.CountTokensURL(ch.BaseURL)
	} else {
		url = geminiup.URL(ch.BaseURL, upstreamModel, "countTokens")
	}
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		writeError(w, wires[in].errorBody, llm.AsError(err), id)
		return
	}
	up.Header = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"tokenhot"}}
	if in == protoAnthropic {
		anthropicup.Authorize(up.Header, ch.NextKey(), r.Header.Get("Anthropic-Version"), r.Header.Values("Anthropic-Beta"))
	} else {
		geminiup.Authorize(up.Header, ch.NextKey())
	}
	resp, err := rl.client.Do(up)
	if err != nil {
		writeError(w, wires[in].errorBody, upstreamTransportError(r.Context(), err), id)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		writeError(w, wires[in].errorBody, upstreamStatusError(resp), id)
		return
	}
	b, err := readResponse(resp)
	if err != nil {
		writeError(w, wires[in].errorBody, &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error",
			Message: "the upstream answer was cut short", Cause: err}, id)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// estimateTokens approximates a prompt's tokens for upstreams that cannot
// count in the client's protocol: a token per four bytes of text (system,
// messages, tool arguments and results, tool definitions), a few per
// message, and a typical image's cost per image.
func estimateTokens(r *llm.Request) int64 {
	var bytes, images, parts int64
	var count func([]llm.Part)
	count = func(ps []llm.Part) {
		for _, p := range ps {
			parts++
			bytes += int64(len(p.Text) + len(p.Arguments) + len(p.Name))
			if p.Kind == llm.PartImage || p.Kind == llm.PartFile {
				images++
			}
			count(p.Content)
		}
	}
	count(r.System)
	for _, m := range r.Messages {
		bytes += 4 * 4 // role and framing
		count(m.Parts)
	}
	for _, t := range r.Tools {
		bytes += int64(len(t.Name) + len(t.Description) + len(t.Parameters))
	}
	return (bytes+3)/4 + images*reserveImageTokens/2 + parts
}
