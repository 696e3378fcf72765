package chat

import (
	"bytes"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/surface/openai"
)

// Decoder reads a Chat Completions stream (OpenAI, Ark and other
// compatible servers) into llm.Events.
type Decoder struct {
	done    bool
	calls   map[int64]streamCall // the upstream's tool-call index → our call
	next    int                  // the dense index of the next call
	sawTool bool
	refused bool
}

// streamCall is a call in progress under one upstream index.
type streamCall struct {
	index int
	id    string // as the upstream sent it; "" when it sent none
	name  string
}

var _ llm.StreamDecoder = (*Decoder)(nil)

// NewDecoder starts reading one upstream stream.
func NewDecoder() *Decoder { return &Decoder{} }

// Done reports whether [DONE] arrived. A finish_reason alone is not the
// end: the usage chunk follows it.
func (d *Decoder) Done() bool { return d.done }

var doneMarker = []byte("[DONE]")

// Decode appends the Events of one SSE event.
func (d *Decoder) Decode(dst []llm.Event, event, data []byte) ([]llm.Event, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || d.done {
		return dst, nil
	}
	if bytes.Equal(data, doneMarker) {
		d.done = true
		return dst, nil
	}
	if !gjson.ValidBytes(data) {
		return dst, badUpstream("the upstream sent a stream event that is not valid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return dst, badUpstream("the upstream sent a stream event that is not a JSON object")
	}
	// One pass over each level: this runs for every token.
	var errObj, choices, usage gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "error":
			errObj = v
		case "choices":
			choices = v
		case "usage":
			usage = v
		}
		return true
	})
	if !isNull(errObj) || string(event) == "error" {
		if isNull(errObj) {
			errObj = root
		}
		return append(dst, llm.Event{Kind: llm.EventError, Err: upstreamError(errObj)}), nil
	}
	if choices.IsArray() {
		dst = d.choice(dst, firstElement(choices))
	}
	// Usage comes on a final chunk with no choices or, with Ark's
	// chunk_include_usage, cumulatively on every chunk: each replaces the
	// one before.
	if u, ok := openai.Usage(usage); ok {
		dst = append(dst, llm.Event{Kind: llm.EventUsage, Usage: u})
	}
	return dst, nil
}

// firstElement is choices[0]: the gateway never asks for more.
func firstElement(arr gjson.Result) gjson.Result {
	var first gjson.Result
	arr.ForEach(func(_, v gjson.Result) bool {
		first = v
		return false
	})
	return first
}

func (d *Decoder) choice(dst []llm.Event, choice gjson.Result) []llm.Event {
	if !choice.IsObject() {
		return dst
	}
	var delta, finish gjson.Result
	choice.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "delta":
			delta = v
		case "finish_reason":
			finish = v
		}
		return true
	})
	dst = d.delta(dst, delta)
	if finish.Type == gjson.String && finish.Str != "" {
		dst = append(dst, llm.Event{Kind: llm.EventStop, Stop: stopReason(finish.Str, d.sawTool, d.refused)})
	}
	return dst
}

func (d *Decoder) delta(dst []llm.Event, delta gjson.Result) []llm.Event {
	if !delta.IsObject() {
		return dst
	}
	var reasoning, reasoningAlt, blocks, content, refusal, calls gjson.Result
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "reasoning_content":
			reasoning = v
		case "reasoning": // vLLM, OpenRouter
			reasoningAlt = v
		case "thinking_blocks":
			blocks = v
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "tool_calls":
			calls = v
		}
		return true
	})
	thinking := text(reasoning)
	if thinking == "" {
		thinking = text(reasoningAlt)
	}
	if thinking != "" {
		dst = append(dst, llm.Event{Kind: llm.EventThinking, Text: thinking})
	}
	dst = thinkingBlockEvents(dst, blocks)
	if t := text(content); t != "" {
		dst = append(dst, llm.Event{Kind: llm.EventText, Text: t})
	}
	if t := text(refusal); t != "" {
		d.refused = true
		dst = append(dst, llm.Event{Kind: llm.EventText, Text: t})
	}
	for j, tc := range calls.Array() {
		dst = d.toolCall(dst, tc, j)
	}
	return dst
}

// thinkingBlockEvents reads the signatures and redacted blocks of an
// upstream that speaks LiteLLM's thinking_blocks (another gateway, or this
// one); their text already came as reasoning_content.
func thinkingBlockEvents(dst []llm.Event, blocks gjson.Result) []llm.Event {
	for _, b := range blocks.Array() {
		switch b.Get("type").String() {
		case "thinking":
			if sig := text(b.Get("signature")); sig != "" {
				dst = append(dst, llm.Event{Kind: llm.EventSignature, Text: sig})
			}
		case "redacted_thinking":
			dst = append(dst, llm.Event{Kind: llm.EventRedactedThinking, Text: text(b.Get("data"))})
		}
	}
	return dst
}

// toolCall maps one tool_calls fragment. A fragment starts a call when its
// upstream index is new, or when it names another id or function than the
// call under that index (servers that send every call as index 0, or no
// index at all). Servers that repeat the id and name on every fragment
// continue the call.
func (d *Decoder) toolCall(dst []llm.Event, tc gjson.Result, pos int) []llm.Event {
	key := int64(pos)
	if ix := tc.Get("index"); ix.Type == gjson.Number {
		key = ix.Int()
	}
	id, name := text(tc.Get("id")), text(tc.Get("function.name"))
	args := arguments(tc.Get("function.arguments"))
	c, known := d.calls[key]
	if known && (id == "" || c.id == "" || id == c.id) && (name == "" || name == c.name) {
		if args == "" {
			return dst
		}
		return append(dst, llm.Event{Kind: llm.EventToolArgs, Index: c.index, Text: args})
	}
	if d.calls == nil {
		d.calls = map[int64]streamCall{}
	}
	c = streamCall{index: d.next, id: id, name: name}
	d.calls[key] = c
	d.next++
	d.sawTool = true
	if id == "" {
		id = "call_" + strconv.Itoa(c.index)
	}
	ev := llm.Event{Kind: llm.EventToolCall, Index: c.index, Name: name, Text: args}
	ev.ID, ev.Signature = llm.UnpackCallID(id)
	return append(dst, ev)
}
