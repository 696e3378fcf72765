package anthropic

import (
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// badResponse is the error for an upstream answer that cannot be read.
func badResponse(format string, args ...any) *llm.Error {
	return llm.Errorf(llm.KindUpstream, "upstream_bad_response", format, args...)
}

// ParseResponse decodes a non-streamed upstream Message.
func ParseResponse(body []byte) (*llm.Response, error) {
	r, err := parseResponse(body)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func parseResponse(body []byte) (*llm.Response, *llm.Error) {
	if !validJSON(body) {
		return nil, badResponse("the upstream answer is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, badResponse("the upstream answer is not a JSON object")
	}
	if root.Get("type").String() == "error" {
		return nil, upstreamError(root.Get("error"))
	}
	content := root.Get("content")
	if !absent(content) && !content.IsArray() {
		return nil, badResponse("the upstream answer's content is not an array")
	}
	r := &llm.Response{ID: root.Get("id").String(), Model: root.Get("model").String()}
	content.ForEach(func(_, b gjson.Result) bool {
		if p, ok := responsePart(b); ok {
			r.Parts = append(r.Parts, p)
		}
		return true
	})
	r.Stop = stopReason(root.Get("stop_reason").String())
	if r.Stop == llm.StopSequence {
		r.StopSequence = root.Get("stop_sequence").String()
	}
	if u := root.Get("usage"); u.IsObject() {
		r.Usage, r.HasUsage = readUsage(u, llm.Usage{}), true
	}
	return r, nil
}

// responsePart reads one content block of an answer. Blocks of server
// tools (which the gateway never asks for) are skipped.
func responsePart(b gjson.Result) (llm.Part, bool) {
	switch b.Get("type").String() {
	case "text":
		return llm.Part{Kind: llm.PartText, Text: b.Get("text").String()}, true
	case "thinking":
		return llm.Part{Kind: llm.PartThinking, Text: b.Get("thinking").String(), Signature: b.Get("signature").String()}, true
	case "redacted_thinking":
		return llm.Part{Kind: llm.PartRedactedThinking, Data: b.Get("data").String()}, true
	case "tool_use":
		args := "{}"
		if in := b.Get("input"); in.Exists() && in.Type != gjson.Null {
			args = compact(in)
		}
		return llm.Part{Kind: llm.PartToolCall, ID: b.Get("id").String(), Name: b.Get("name").String(), Arguments: args}, true
	}
	return llm.Part{}, false
}

// stopReason maps a stop_reason; an unknown or missing one is a natural end.
func stopReason(s string) llm.StopReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return llm.StopLength
	case "stop_sequence":
		return llm.StopSequence
	case "tool_use":
		return llm.StopToolUse
	case "refusal":
		return llm.StopFilter
	case "pause_turn":
		return llm.StopPause
	}
	return llm.StopEnd
}

// readUsage reads an Anthropic usage object over prev: the figures present
// replace those of prev (stream usage is cumulative). input_tokens is
// already the uncached input; output_tokens includes thinking, which
// output_tokens_details.thinking_tokens breaks out when the API reports it.
func readUsage(u gjson.Result, prev llm.Usage) llm.Usage {
	set := func(dst *int64, key string) {
		if v := u.Get(key); v.Type == gjson.Number {
			*dst = max(v.Int(), 0)
		}
	}
	set(&prev.Input, "input_tokens")
	set(&prev.CachedInput, "cache_read_input_tokens")
	set(&prev.CacheWrite, "cache_creation_input_tokens")
	if out := u.Get("output_tokens"); out.Type == gjson.Number {
		total := max(out.Int(), 0)
		thinking := min(max(u.Get("output_tokens_details.thinking_tokens").Int(), 0), total)
		prev.Output, prev.Reasoning = total-thinking, thinking
	}
	return prev
}

// upstreamError reads an Anthropic error object ({"type","message"}).
func upstreamError(e gjson.Result) *llm.Error {
	typ := e.Get("type").String()
	msg := e.Get("message").String()
	if msg == "" {
		msg = "the upstream reported an error"
	}
	kind := llm.KindUpstream
	switch typ {
	case "overloaded_error":
		kind = llm.KindUnavailable
	case "rate_limit_error":
		kind = llm.KindRateLimited
	}
	code := typ
	if code == "" {
		code = "upstream_error"
	}
	return &llm.Error{Kind: kind, Code: code, Message: msg}
}

// The wire types of a Message as a client receives it.
type (
	wireResponse struct {
		ID           string    `json:"id"`
		Type         string    `json:"type"`
		Role         string    `json:"role"`
		Model        string    `json:"model"`
		Content      []any     `json:"content"`
		StopReason   string    `json:"stop_reason"`
		StopSequence *string   `json:"stop_sequence"`
		Usage        wireUsage `json:"usage"`
	}
	wireUsage struct {
		InputTokens              int64         `json:"input_tokens"`
		CacheCreationInputTokens int64         `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int64         `json:"cache_read_input_tokens"`
		OutputTokens             int64         `json:"output_tokens"`
		OutputTokensDetails      *wireThinkUse `json:"output_tokens_details,omitempty"`
	}
	wireThinkUse struct {
		ThinkingTokens int64 `json:"thinking_tokens"`
	}
)

// BuildResponse encodes a non-streamed answer for an Anthropic client, with
// the gateway's id and the client's model name.
func BuildResponse(r *llm.Response, meta llm.Meta) []byte {
	w := wireResponse{ID: meta.ID, Type: "message", Role: "assistant", Model: meta.Model,
		Content: []any{}, Usage: usageOut(r.Usage)}
	calls := 0
	for _, p := range r.Parts {
		var b any
		switch p.Kind {
		case llm.PartText:
			if p.Text != "" {
				b = textBlock{Type: "text", Text: p.Text}
			}
		case llm.PartThinking:
			if p.Text != "" || p.Signature != "" {
				b = thinkingBlock{Type: "thinking", Thinking: p.Text, Signature: p.Signature}
			}
		case llm.PartRedactedThinking:
			b = redactedBlock{Type: "redacted_thinking", Data: p.Data}
		case llm.PartToolCall:
			b = toolUseBlock{Type: "tool_use", ID: clientCallID(p.ID, p.Signature, meta.ID, calls),
				Name: p.Name, Input: clientInput(p.Arguments)}
			calls++
		}
		if b != nil {
			w.Content = append(w.Content, b)
		}
	}
	w.StopReason = clientStop(r.Stop, calls > 0)
	if w.StopReason == "stop_sequence" {
		w.StopSequence = &r.StopSequence
	}
	b, err := json.Marshal(w)
	if err != nil { // unreachable: every raw value was validated
		_, b = ErrorBody(&llm.Error{Kind: llm.KindInternal, Message: "the answer could not be encoded"}, "")
	}
	return b
}

// usageOut is the Anthropic usage for disjoint figures: input_tokens is
// the uncached input only, output_tokens includes the thinking.
func usageOut(u llm.Usage) wireUsage {
	w := wireUsage{InputTokens: u.Input, CacheCreationInputTokens: u.CacheWrite,
		CacheReadInputTokens: u.CachedInput, OutputTokens: u.Output + u.Reasoning}
	if u.Reasoning > 0 {
		w.OutputTokensDetails = &wireThinkUse{ThinkingTokens: u.Reasoning}
	}
	return w
}

// clientStop is the stop_reason for a client. A turn with tool calls that
// ended naturally is a tool_use stop (Gemini says STOP), and so is one
// that ended with no reason.
func clientStop(s llm.StopReason, called bool) string {
	switch s {
	case llm.StopLength:
		return "max_tokens"
	case llm.StopSequence:
		return "stop_sequence"
	case llm.StopToolUse:
		return "tool_use"
	case llm.StopFilter:
		return "refusal"
	case llm.StopPause:
		return "pause_turn"
	}
	if called {
		return "tool_use"
	}
	return "end_turn"
}

// clientCallID is the tool_use id a client sees: the call's id with its
// Gemini signature packed in (the client sends both back with the result),
// or a made-up one unique to this answer when the upstream gave none.
func clientCallID(id, signature, answerID string, n int) string {
	if id == "" {
		id = "toolu_" + cleanID(answerID) + "_" + strconv.Itoa(n)
	}
	return llm.PackCallID(id, signature)
}

// clientInput is a call's input for a client. Arguments that are not JSON
// (cut off by max_tokens) cannot be embedded, so the client gets {}.
func clientInput(args string) json.RawMessage {
	if !json.Valid([]byte(args)) {
		return json.RawMessage("{}")
	}
	return json.RawMessage(args)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
