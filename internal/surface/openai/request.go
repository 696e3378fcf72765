package openai

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Chat is what routing and billing need from a Chat Completions request.
// The body itself is forwarded as it is, apart from the patches below.
type Chat struct {
	Model        string
	Stream       bool
	IncludeUsage bool  // stream_options.include_usage as the client sent it
	MaxTokens    int64 // max_completion_tokens, else max_tokens; 0 when unset
	N            int64 // choices requested (at least 1)
	Images       int64 // image parts in the messages
}

// ParseChat validates the body and reads the fields the gateway acts on.
// It does not decode the messages: unknown and future fields pass through.
func ParseChat(body []byte) (Chat, error) {
	if !gjson.ValidBytes(body) {
		return Chat{}, llm.Errorf(llm.KindInvalid, "invalid_json", "the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return Chat{}, llm.Errorf(llm.KindInvalid, "invalid_json", "the request body must be a JSON object")
	}
	var c Chat
	// One pass over the top-level members; nested values are skipped, not
	// decoded.
	var model, msgs, stream, incl, maxc, maxt, n gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model = v
		case "messages":
			msgs = v
		case "stream":
			stream = v
		case "stream_options":
			incl = v.Get("include_usage")
		case "max_completion_tokens":
			maxc = v
		case "max_tokens":
			maxt = v
		case "n":
			n = v
		}
		return true
	})
	if model.Type != gjson.String || model.Str == "" {
		return Chat{}, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "model",
			Message: "you must provide a model parameter (a non-empty string)"}
	}
	c.Model = model.Str
	if !msgs.IsArray() || !msgs.Get("0").Exists() {
		return Chat{}, &llm.Error{Kind: llm.KindInvalid, Code: "missing_required_parameter", Param: "messages",
			Message: "'messages' must be a non-empty array"}
	}
	switch stream.Type {
	case gjson.True:
		c.Stream = true
	case gjson.False, gjson.Null:
	default:
		return Chat{}, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_type", Param: "stream",
			Message: "'stream' must be a boolean"}
	}
	c.IncludeUsage = incl.Type == gjson.True
	for _, v := range []struct {
		r    gjson.Result
		name string
	}{{maxc, "max_completion_tokens"}, {maxt, "max_tokens"}} {
		if !v.r.Exists() || v.r.Type == gjson.Null {
			continue
		}
		if v.r.Type != gjson.Number || v.r.Num < 1 || v.r.Num != float64(int64(v.r.Num)) {
			return Chat{}, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_value", Param: v.name,
				Message: "'" + v.name + "' must be a positive integer"}
		}
		if c.MaxTokens == 0 {
			c.MaxTokens = v.r.Int()
		}
	}
	c.N = 1
	if n.Exists() && n.Type != gjson.Null {
		if n.Type != gjson.Number || n.Num < 1 || n.Num > 128 || n.Num != float64(int64(n.Num)) {
			return Chat{}, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_value", Param: "n",
				Message: "'n' must be an integer from 1 to 128"}
		}
		c.N = n.Int()
	}
	c.Images = countKeys(msgs.Raw, `"image_url"`)
	return c, nil
}

// countKeys counts occurrences of a quoted name used as an object key (the
// name followed by a colon), without decoding the document.
func countKeys(doc, quoted string) int64 {
	var n int64
	for {
		i := strings.Index(doc, quoted)
		if i < 0 {
			return n
		}
		doc = doc[i+len(quoted):]
		rest := strings.TrimLeft(doc, " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			n++
		}
	}
}

// SetModel rewrites the top-level model name (channel model mapping).
func SetModel(body []byte, model string) ([]byte, error) {
	return sjson.SetBytes(body, "model", model)
}

// ForceUsage makes a streamed request report its usage, so that no stream
// goes unbilled. It sets stream_options.include_usage and leaves every other
// field as the client sent it.
func ForceUsage(body []byte) ([]byte, error) {
	return sjson.SetBytes(body, "stream_options.include_usage", true)
}

// Usage reads an OpenAI (or Ark) usage object and splits it into disjoint
// kinds: prompt_tokens includes cached and cache-write tokens, and
// completion_tokens includes reasoning tokens.
func Usage(u gjson.Result) (llm.Usage, bool) {
	if !u.IsObject() {
		return llm.Usage{}, false
	}
	var prompt, completion, cached, written, reasoning int64
	found := false
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			prompt, found = v.Int(), true
		case "completion_tokens":
			completion, found = v.Int(), true
		case "prompt_tokens_details":
			cached, written = v.Get("cached_tokens").Int(), v.Get("cache_write_tokens").Int()
		case "completion_tokens_details":
			reasoning = v.Get("reasoning_tokens").Int()
		}
		return true
	})
	if !found {
		return llm.Usage{}, false
	}
	out := llm.Usage{
		CachedInput: clamp(cached, prompt),
		Reasoning:   clamp(reasoning, completion),
	}
	out.CacheWrite = clamp(written, prompt-out.CachedInput)
	out.Input = prompt - out.CachedInput - out.CacheWrite
	out.Output = completion - out.Reasoning
	return out, true
}

// ResponseUsage finds the top-level usage object of a whole Chat
// Completions answer. OpenAI-protocol upstreams put it last, so it is
// looked for from the end; a body where that finds nothing usable is
// searched properly.
func ResponseUsage(body []byte) (llm.Usage, bool) {
	if i := bytes.LastIndex(body, usageKey); i > 0 && body[i-1] != '\\' {
		rest := bytes.TrimLeft(body[i+len(usageKey):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			if u, ok := Usage(gjson.ParseBytes(rest[1:])); ok {
				return u, true
			}
		}
	}
	return Usage(gjson.GetBytes(body, "usage"))
}

var usageKey = []byte(`"usage"`)

// clamp keeps a sub-count within its total (and non-negative), so a provider
// reporting more cached than prompt tokens can never yield negative input.
func clamp(v, total int64) int64 {
	if v < 0 || total <= 0 {
		return 0
	}
	return min(v, total)
}
