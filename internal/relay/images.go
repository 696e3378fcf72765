package relay

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/protocol/images"
	geminiup "github.com/tokenhot/tokenhot/internal/provider/gemini"
	"github.com/tokenhot/tokenhot/internal/provider/openai"
	"github.com/tokenhot/tokenhot/internal/routing"
)

// imageTokensEstimate is the output reserved per image for models billed by
// token (a high-quality 1024² gpt-image answer is about 4,200 tokens).
const imageTokensEstimate = 6000

// imagesHandler serves POST /v1/images/generations (edit false) and
// /v1/images/edits (edit true) in OpenAI's shape, for OpenAI, compatible,
// Seedream (Ark) and Gemini image models.
func (rl *Relay) imagesHandler(edit bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rl.run(w, r, newRequestID(), protoImages, func(x *exchange) *llm.Error { return x.serveImages(w, r, edit) })
	}
}

func (x *exchange) serveImages(w http.ResponseWriter, r *http.Request, edit bool) *llm.Error {
	snap, body, e := x.begin(w, r)
	if e != nil {
		return e
	}
	var req *images.Request
	var err error
	if edit {
		req, err = images.ParseEdit(body, r.Header.Get("Content-Type"))
	} else {
		req, err = images.ParseGeneration(body)
	}
	if err != nil {
		return llm.AsError(err)
	}
	x.peek = peeked{Model: req.Model, N: req.N, Images: int64(len(req.Images))}
	if e := x.useModel(snap, req.Model); e != nil {
		return e
	}
	m := x.model
	if len(m.Channels) == 0 {
		return llm.Errorf(llm.KindUnavailable, "no_channel", "no upstream is available for the model '%s'", m.Name)
	}
	// The worst case: the images at their price, or their tokens.
	x.peek.MaxTokens = imageTokensEstimate
	if c, ok := m.Price.ImageCost(req.Size, req.Quality, req.N); ok {
		x.extraHold = c
	}
	if e := x.admit(r.Context(), w); e != nil {
		return e
	}
	if e := x.reserve(r.Context()); e != nil {
		return e
	}
	return x.routeImages(w, r, req, edit)
}

// imagesEligible: the channel types that generate images.
func imagesEligible(ch *catalog.Channel) bool {
	switch ch.Type {
	case "openai", "openai-compatible", "ark", "gemini":
		return true
	}
	return false
}

func (x *exchange) routeImages(w http.ResponseWriter, r *http.Request, req *images.Request, edit bool) *llm.Error {
	ctx, cancel := context.WithTimeout(r.Context(), x.rl.opts.TotalTimeout)
	defer cancel()
	var res *images.Result
	e := x.tryKeys(r, imagesEligible, llm.Errorf(llm.KindInvalid, "unsupported_endpoint",
		"the model '%s' does not generate images here", x.model.Name),
		func(_ context.Context, c routing.Choice) attempt {
			x.use(c)
			var e *llm.Error
			res, e = x.imageAttempt(ctx, r, req, edit, c)
			return attempt{err: e}
		})
	if e != nil {
		return e
	}
	return x.writeImages(w, req, res)
}

// imageAttempt makes one upstream call in the channel's own image API.
func (x *exchange) imageAttempt(ctx context.Context, r *http.Request, req *images.Request, edit bool, c routing.Choice) (*images.Result, *llm.Error) {
	ch := c.Channel
	model := ch.UpstreamModel(x.model.Name)
	var url, ctype string
	var body []byte
	var err error
	switch ch.Type {
	case "gemini":
		url, ctype = geminiup.URL(ch.BaseURL, model, "generateContent"), "application/json"
		body, err = images.GeminiGeneration(req)
	case "ark":
		url, ctype = openai.Base(ch.Type, ch.BaseURL)+"/images/generations", "application/json"
		body, err = images.ArkGeneration(req, model)
	default:
		if edit {
			url = openai.Base(ch.Type, ch.BaseURL) + "/images/edits"
			body, ctype, err = images.OpenAIEdit(req, model)
		} else {
			url, ctype = openai.Base(ch.Type, ch.BaseURL)+"/images/generations", "application/json"
			body, err = images.OpenAIGeneration(req, model)
		}
	}
	if err != nil {
		return nil, llm.AsError(err)
	}
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "bad upstream address", Cause: err}
	}
	up.ContentLength = int64(len(body))
	up.Header = http.Header{"Content-Type": {ctype}, "User-Agent": {"tokenhot"}}
	if ch.Type == "gemini" {
		geminiup.Authorize(up.Header, c.Key)
	} else {
		openai.Authorize(up.Header, c.Key)
	}
	resp, err := x.rl.client.Do(up)
	if err != nil {
		return nil, upstreamTransportError(r.Context(), err)
	}
	defer resp.Body.Close()
	x.upstream = resp.Header.Get(openai.RequestIDHeader)
	if resp.StatusCode >= 300 {
		return nil, upstreamStatusError(resp)
	}
	answer, err := readResponse(resp)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream answer was cut short", Cause: err}
	}
	var res *images.Result
	if ch.Type == "gemini" {
		res, err = images.FromGemini(answer)
	} else {
		res, err = images.FromOpenAI(answer)
	}
	if err != nil {
		return nil, llm.AsError(err)
	}
	return res, nil
}

// writeImages answers in OpenAI's shape and records what is billed: the
// upstream's tokens at the model's token prices, plus the images at the
// model's image prices when it has them.
func (x *exchange) writeImages(w http.ResponseWriter, req *images.Request, res *images.Result) *llm.Error {
	if res.HasUsage {
		x.usage, x.source = res.Usage, llm.SourceUpstream
	} else {
		x.source = llm.SourceUpstream // billed per image: the count is exact
	}
	if c, ok := x.model.Price.ImageCost(req.Size, req.Quality, res.Images()); ok {
		x.extra = c
	}
	x.chunks = res.Images()
	out := images.Response(res, x.start.Unix())
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	x.delivered, x.status, x.ttft = true, http.StatusOK, x.rl.opts.Now().Sub(x.start)
	_, _ = w.Write(out)
	return nil
}
