package relay

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/protocol/anthropic"
	"github.com/tokenhot/tokenhot/internal/protocol/chat"
	"github.com/tokenhot/tokenhot/internal/protocol/gemini"
	"github.com/tokenhot/tokenhot/internal/protocol/responses"
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// proto names a wire protocol, spoken by a client to the gateway or by the
// gateway to an upstream.
type proto uint8

const (
	protoChat       proto = iota // OpenAI Chat Completions (also Ark, compatible providers)
	protoResponses               // OpenAI Responses
	protoAnthropic               // Anthropic Messages
	protoGemini                  // Gemini generateContent
	protoEmbeddings              // OpenAI embeddings: pass-through only
	protoImages                  // OpenAI images (relay/images.go has its own path)
	protoVideos                  // video tasks (relay/videos.go)
)

// wire is what the relay needs of one protocol. Everything protocol-specific
// is behind this table, so the pipeline itself never switches on a protocol
// except to choose the pass-through fast path of Chat Completions.
type wire struct {
	name string
	// idPrefix starts the answer ids the gateway shows this protocol's
	// clients; the rest is the request id's hex.
	idPrefix string
	// key extracts the client's API key the way this protocol's SDKs send it.
	key func(*http.Request) string
	// errorBody is the protocol's error status and body.
	errorBody func(*llm.Error, string) (int, []byte)
	// streamError is the protocol's in-stream error event.
	streamError func(*llm.Error, string) []byte
	// peek reads what routing and billing need without decoding the body.
	peek peekSpec

	// Translation, client side.
	parse    func([]byte) (*llm.Request, error)
	response func(*llm.Response, llm.Meta) []byte
	encoder  func(llm.Meta, *exchange) llm.StreamEncoder
	// Translation, upstream side.
	build         func(*llm.Request, *catalog.Channel) ([]byte, error)
	parseResponse func([]byte) (*llm.Response, error)
	decoder       func() llm.StreamDecoder
}

var wires = [...]wire{
	protoChat: {
		name: "openai-chat", idPrefix: "chatcmpl-", key: bearerKey,
		errorBody: chat.ErrorBody, streamError: chat.StreamErrorEvent,
		parse: chat.ParseRequest, response: chat.BuildResponse,
		encoder: func(m llm.Meta, x *exchange) llm.StreamEncoder {
			return chat.NewEncoder(m, x.peek.IncludeUsage, chat.WithRequestID(x.id))
		},
		build: func(r *llm.Request, ch *catalog.Channel) ([]byte, error) {
			return chat.BuildRequest(r, chat.Dialect{LegacyMaxTokens: ch.Type != "openai"})
		},
		parseResponse: chat.ParseResponse,
		decoder:       func() llm.StreamDecoder { return chat.NewDecoder() },
	},
	protoResponses: {
		name: "openai-responses", idPrefix: "resp_", key: bearerKey,
		errorBody: chat.ErrorBody, streamError: responses.StreamErrorEvent,
		peek:  peekSpec{list: "input", maxTokens: "max_output_tokens", images: `"input_image"`, allowString: true},
		parse: responses.ParseRequest, response: responses.BuildResponse,
		encoder: func(m llm.Meta, x *exchange) llm.StreamEncoder {
			return responses.NewEncoder(m, responses.WithRequestID(x.id), responses.WithClock(x.rl.opts.Now))
		},
		build: func(r *llm.Request, _ *catalog.Channel) ([]byte, error) {
			return responses.BuildRequest(r)
		},
		parseResponse: responses.ParseResponse,
		decoder:       func() llm.StreamDecoder { return responses.NewDecoder() },
	},
	protoAnthropic: {
		name: "anthropic", idPrefix: "msg_", key: func(r *http.Request) string { return anthropic.Authenticate(r.Header) },
		errorBody: anthropic.ErrorBody, streamError: anthropic.StreamErrorEvent,
		peek:  peekSpec{list: "messages", maxTokens: "max_tokens", images: `"image"`},
		parse: anthropic.ParseRequest, response: anthropic.BuildResponse,
		encoder: func(m llm.Meta, x *exchange) llm.StreamEncoder {
			return anthropic.NewEncoder(m, anthropic.WithRequestID(x.id))
		},
		build: func(r *llm.Request, _ *catalog.Channel) ([]byte, error) {
			return anthropic.BuildRequest(r)
		},
		parseResponse: anthropic.ParseResponse,
		decoder:       func() llm.StreamDecoder { return anthropic.NewDecoder() },
	},
	protoGemini: {
		name: "gemini", idPrefix: "", key: gemini.Authenticate,
		errorBody: gemini.ErrorBody, streamError: gemini.StreamErrorEvent,
		peek:  peekSpec{list: "contents", maxTokens: "generationConfig.maxOutputTokens", images: `"inlineData"`, noModel: true},
		parse: gemini.ParseRequest, response: gemini.BuildResponse,
		encoder: func(m llm.Meta, _ *exchange) llm.StreamEncoder { return gemini.NewEncoder(m) },
		build: func(r *llm.Request, _ *catalog.Channel) ([]byte, error) {
			return gemini.BuildRequest(r)
		},
		parseResponse: gemini.ParseResponse,
		decoder:       func() llm.StreamDecoder { return gemini.NewDecoder() },
	},
	protoImages: {
		name: "openai-images", key: bearerKey, errorBody: chat.ErrorBody, streamError: chat.StreamErrorEvent,
	},
	protoVideos: {
		name: "openai-videos", key: bearerKey, errorBody: chat.ErrorBody, streamError: chat.StreamErrorEvent,
	},
	protoEmbeddings: {
		name: "openai-embeddings", key: bearerKey,
		errorBody: chat.ErrorBody, streamError: chat.StreamErrorEvent,
		peek: peekSpec{list: "input", allowString: true, noStream: true},
	},
}

// upstreamProto is the protocol the gateway speaks to a channel for a
// client of protocol in: the client's own when the channel speaks it (the
// request then passes through as bytes), else the channel's native one.
func upstreamProto(channelType string, in proto) (proto, bool) {
	switch channelType {
	case "openai":
		if in == protoChat || in == protoResponses || in == protoEmbeddings {
			return in, true
		}
		return protoChat, true
	case "openai-responses":
		// OpenAI models served only by the Responses API (the codex
		// models): every client is translated to it.
		return protoResponses, in != protoEmbeddings
	case "ark", "openai-compatible":
		if in == protoChat || in == protoEmbeddings {
			return in, true
		}
		return protoChat, true
	case "anthropic":
		return protoAnthropic, in != protoEmbeddings
	case "gemini":
		return protoGemini, in != protoEmbeddings
	}
	return 0, false
}

// bearerKey is the key of "Authorization: Bearer <key>".
func bearerKey(r *http.Request) string { return bearer(r) }

// peekSpec says where a protocol keeps the few fields read on the
// pass-through path.
type peekSpec struct {
	list        string // the conversation array that must be present and non-empty
	allowString bool   // the list may also be a non-empty string (Responses, embeddings input)
	maxTokens   string // path of the output limit
	images      string // quoted key counted as one image each
	noModel     bool   // the model is in the URL (Gemini)
	noStream    bool   // the protocol has no streaming
}

// peeked is what routing and billing need from a request.
type peeked struct {
	Model        string
	Stream       bool
	IncludeUsage bool // Chat: stream_options.include_usage as the client sent it
	MaxTokens    int64
	N            int64
	Images       int64
}

// peekBody reads a non-Chat request's routing and billing fields in one pass
// over its top-level members, without decoding the conversation.
func peekBody(body []byte, s peekSpec) (peeked, *llm.Error) {
	if !gjson.ValidBytes(body) {
		return peeked{}, llm.Errorf(llm.KindInvalid, "invalid_json", "the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return peeked{}, llm.Errorf(llm.KindInvalid, "invalid_json", "the request body must be a JSON object")
	}
	p := peeked{N: 1}
	if !s.noModel {
		m := root.Get("model")
		if m.Type != gjson.String || m.Str == "" {
			return p, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "model",
				Message: "you must provide a model parameter (a non-empty string)"}
		}
		p.Model = m.Str
	}
	list := root.Get(s.list)
	if !(list.IsArray() && list.Get("0").Exists() || s.allowString && list.Type == gjson.String && list.Str != "") {
		return p, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: s.list,
			Message: "'" + s.list + "' must be a non-empty array"}
	}
	if !s.noStream && !s.noModel {
		switch st := root.Get("stream"); st.Type {
		case gjson.True:
			p.Stream = true
		case gjson.False, gjson.Null:
		default:
			return p, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_type", Param: "stream", Message: "'stream' must be a boolean"}
		}
	}
	if s.maxTokens != "" {
		if v := root.Get(s.maxTokens); v.Exists() && v.Type != gjson.Null {
			if v.Type != gjson.Number || v.Num < 1 || v.Num != float64(int64(v.Num)) {
				return p, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_value", Param: s.maxTokens,
					Message: "'" + s.maxTokens + "' must be a positive integer"}
			}
			p.MaxTokens = v.Int()
		}
	}
	if s.images != "" {
		p.Images = int64(strings.Count(list.Raw, s.images))
	}
	return p, nil
}

// peekChat adapts the Chat surface's own single-pass reader.
func peekChat(body []byte) (peeked, *llm.Error) {
	c, err := surface.ParseChat(body)
	if err != nil {
		return peeked{}, llm.AsError(err)
	}
	return peeked{Model: c.Model, Stream: c.Stream, IncludeUsage: c.IncludeUsage, MaxTokens: c.MaxTokens,
		N: c.N, Images: c.Images}, nil
}
