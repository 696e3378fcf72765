package chat

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
	"github.com/tokenhot/tokenhot/internal/surface/openai"
)

// ParseResponse decodes a non-streamed Chat Completions answer. Only the
// first choice is read: the gateway never asks for more.
func ParseResponse(body []byte) (*llm.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, badUpstream("the upstream's answer is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, badUpstream("the upstream's answer is not a JSON object")
	}
	if e := root.Get("error"); !isNull(e) {
		return nil, upstreamError(e)
	}
	choices := root.Get("choices")
	if !choices.IsArray() {
		return nil, badUpstream("the upstream's answer has no choices")
	}
	resp := &llm.Response{ID: text(root.Get("id")), Model: text(root.Get("model")), Stop: llm.StopEnd}
	resp.Usage, resp.HasUsage = openai.Usage(root.Get("usage"))
	choice := choices.Get("0")
	if !choice.Exists() {
		return resp, nil
	}
	msg := choice.Get("message")
	if !isNull(msg) && !msg.IsObject() {
		return nil, badUpstream("the upstream's choices[0].message is not an object")
	}
	var refused bool
	var err error
	if resp.Parts, refused, err = messageParts(msg); err != nil {
		return nil, err
	}
	resp.Stop = stopReason(text(choice.Get("finish_reason")), hasToolCall(resp.Parts), refused)
	return resp, nil
}

// messageParts reads an answer's message in llm's order: thinking, text
// (a refusal is text too), tool calls.
func messageParts(msg gjson.Result) (parts []llm.Part, refused bool, err error) {
	if parts, err = upstreamThinking(msg); err != nil {
		return nil, false, err
	}
	content := msg.Get("content")
	if content.IsArray() { // some compatible servers answer with parts
		for _, p := range content.Array() {
			if t := text(p.Get("text")); t != "" {
				parts = append(parts, llm.Part{Kind: llm.PartText, Text: t})
			}
		}
	} else if t := text(content); t != "" {
		parts = append(parts, llm.Part{Kind: llm.PartText, Text: t})
	}
	if t := text(msg.Get("refusal")); t != "" {
		parts = append(parts, llm.Part{Kind: llm.PartText, Text: t})
		refused = true
	}
	for j, c := range msg.Get("tool_calls").Array() {
		parts = append(parts, upstreamCall(text(c.Get("id")), c.Get("function"), j))
	}
	if fc := msg.Get("function_call"); fc.IsObject() {
		parts = append(parts, upstreamCall("", fc, 0))
	}
	return parts, refused, nil
}

func upstreamThinking(msg gjson.Result) ([]llm.Part, error) {
	if blocks := msg.Get("thinking_blocks"); blocks.IsArray() && len(blocks.Array()) > 0 {
		parts, err := thinkingBlocks(blocks.Array(), "thinking_blocks")
		if err != nil {
			return nil, badUpstream("the upstream's " + llm.AsError(err).Message)
		}
		return parts, nil
	}
	t := text(msg.Get("reasoning_content"))
	if t == "" {
		t = text(msg.Get("reasoning")) // vLLM, OpenRouter
	}
	if t == "" {
		return nil, nil
	}
	return []llm.Part{{Kind: llm.PartThinking, Text: t}}, nil
}

// upstreamCall reads a call; an id is made up when the upstream gave none,
// because every target protocol pairs results with calls by id.
func upstreamCall(id string, f gjson.Result, j int) llm.Part {
	if id == "" {
		id = "call_" + strconv.Itoa(j)
	}
	p := llm.Part{Kind: llm.PartToolCall, Name: text(f.Get("name")), Arguments: arguments(f.Get("arguments"))}
	if p.Arguments == "" {
		p.Arguments = "{}" // a call without arguments; targets want an object
	}
	// Another Tokenhot in front of the upstream packs Gemini signatures.
	p.ID, p.Signature = llm.UnpackCallID(id)
	return p
}

// arguments is the JSON text of a call's arguments: a string as OpenAI
// sends it, or an object as a few compatible servers do.
func arguments(v gjson.Result) string {
	switch {
	case v.Type == gjson.String:
		return v.Str
	case v.IsObject():
		return v.Raw
	}
	return ""
}

// stopReason maps finish_reason. A plain stop with tool calls is a tool
// stop (some compatible servers say "stop"); a refusal is a filter stop.
// Unknown values count as a natural end.
func stopReason(finish string, toolCalls, refused bool) llm.StopReason {
	switch finish {
	case "length":
		return llm.StopLength
	case "tool_calls", "function_call":
		return llm.StopToolUse
	case "content_filter":
		return llm.StopFilter
	}
	switch {
	case refused:
		return llm.StopFilter
	case toolCalls:
		return llm.StopToolUse
	}
	return llm.StopEnd
}

// finishReason is the inverse of stopReason. Tool calls turn a natural end
// into "tool_calls" (Gemini says STOP after calls) but leave length and
// content_filter alone, as OpenAI does for a cut-off call.
func finishReason(s llm.StopReason, toolCalls bool) string {
	switch s {
	case llm.StopLength:
		return "length"
	case llm.StopFilter:
		return "content_filter"
	case llm.StopToolUse:
		return "tool_calls"
	}
	if toolCalls {
		return "tool_calls"
	}
	return "stop"
}

func hasToolCall(parts []llm.Part) bool {
	for _, p := range parts {
		if p.Kind == llm.PartToolCall {
			return true
		}
	}
	return false
}

func upstreamError(e gjson.Result) *llm.Error {
	msg := text(e.Get("message"))
	if msg == "" {
		msg = "the upstream reported an error"
	}
	return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: msg}
}

// BuildResponse writes r as a chat.completion for the client, under the
// gateway's id and the client's model name.
func BuildResponse(r *llm.Response, meta llm.Meta) []byte {
	b := make([]byte, 0, 512+responseSize(r.Parts))
	b = appendChunkHead(b, meta, "chat.completion")
	b = append(b, `,"choices":[{"index":0,"message":`...)
	b = appendMessage(b, r.Parts)
	b = append(b, `,"finish_reason":"`...)
	b = append(b, finishReason(r.Stop, hasToolCall(r.Parts))...)
	b = append(b, `","logprobs":null}],"usage":`...)
	b = appendUsage(b, r.Usage)
	return append(b, '}')
}

func responseSize(parts []llm.Part) int {
	n := 0
	for _, p := range parts {
		n += len(p.Text) + len(p.Data) + len(p.Arguments) + len(p.Signature) + 64
	}
	return n
}

func appendMessage(b []byte, parts []llm.Part) []byte {
	b = append(b, `{"role":"assistant","content":`...)
	if hasKind(parts, llm.PartText) {
		b = sse.AppendString(b, llm.Text(parts))
	} else {
		b = append(b, "null"...)
	}
	if thinking := thinkingText(parts); thinking != "" {
		b = append(b, `,"reasoning_content":`...)
		b = sse.AppendString(b, thinking)
	}
	if needsBlocks(parts) {
		b = appendThinkingBlocks(b, parts)
	}
	if hasToolCall(parts) {
		b = appendToolCalls(b, parts)
	}
	return append(b, '}')
}

func hasKind(parts []llm.Part, k llm.PartKind) bool {
	for _, p := range parts {
		if p.Kind == k {
			return true
		}
	}
	return false
}

func thinkingText(parts []llm.Part) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Kind == llm.PartThinking {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// needsBlocks: thinking_blocks is written only when it carries what
// reasoning_content cannot, a signature or redacted thinking.
func needsBlocks(parts []llm.Part) bool {
	for _, p := range parts {
		if p.Kind == llm.PartRedactedThinking || p.Kind == llm.PartThinking && p.Signature != "" {
			return true
		}
	}
	return false
}

func appendThinkingBlocks(b []byte, parts []llm.Part) []byte {
	b = append(b, `,"thinking_blocks":[`...)
	first := true
	for _, p := range parts {
		if p.Kind != llm.PartThinking && p.Kind != llm.PartRedactedThinking {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		if p.Kind == llm.PartRedactedThinking {
			b = appendRedactedBlock(b, p.Data)
		} else {
			b = appendThinkingBlock(b, p.Text, p.Signature)
		}
	}
	return append(b, ']')
}

func appendThinkingBlock(b []byte, text, signature string) []byte {
	b = append(b, `{"type":"thinking","thinking":`...)
	b = sse.AppendString(b, text)
	if signature != "" {
		b = append(b, `,"signature":`...)
		b = sse.AppendString(b, signature)
	}
	return append(b, '}')
}

func appendRedactedBlock(b []byte, data string) []byte {
	b = append(b, `{"type":"redacted_thinking","data":`...)
	b = sse.AppendString(b, data)
	return append(b, '}')
}

func appendToolCalls(b []byte, parts []llm.Part) []byte {
	b = append(b, `,"tool_calls":[`...)
	first := true
	for _, p := range parts {
		if p.Kind != llm.PartToolCall {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		args := p.Arguments
		if args == "" {
			args = "{}"
		}
		b = append(b, `{"id":`...)
		b = sse.AppendString(b, llm.PackCallID(p.ID, p.Signature))
		b = append(b, `,"type":"function","function":{"name":`...)
		b = sse.AppendString(b, p.Name)
		b = append(b, `,"arguments":`...)
		b = sse.AppendString(b, args)
		b = append(b, "}}"...)
	}
	return append(b, ']')
}

// appendChunkHead writes the members every answer and chunk starts with,
// leaving the object open.
func appendChunkHead(b []byte, meta llm.Meta, object string) []byte {
	b = append(b, `{"id":`...)
	b = sse.AppendString(b, meta.ID)
	b = append(b, `,"object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, meta.Created, 10)
	b = append(b, `,"model":`...)
	return sse.AppendString(b, meta.Model)
}

// appendUsage writes the disjoint llm.Usage as OpenAI's overlapping totals.
func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens(), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens(), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.Total(), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedInput, 10)
	if u.CacheWrite > 0 {
		b = append(b, `,"cache_write_tokens":`...)
		b = strconv.AppendInt(b, u.CacheWrite, 10)
	}
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.Reasoning, 10)
	return append(b, "}}"...)
}
