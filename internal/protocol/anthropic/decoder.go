package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Decoder reads an Anthropic upstream's stream into llm.Events.
type Decoder struct {
	done   bool
	usage  llm.Usage           // cumulative: message_start, then each message_delta over it
	blocks map[int64]openBlock // the started, unstopped blocks by upstream index
	tools  int                 // tool calls started: the next call's number
}

// openBlock is what the decoder remembers of a started block.
type openBlock struct {
	kind blockKind
	tool int // the call's number, for a tool_use block
}

var _ llm.StreamDecoder = (*Decoder)(nil)

// NewDecoder returns the decoder of one upstream stream.
func NewDecoder() *Decoder { return &Decoder{blocks: map[int64]openBlock{}} }

// Done reports whether message_stop arrived.
func (d *Decoder) Done() bool { return d.done }

// Decode appends the Events of one SSE event. The type is read from the
// data ("type"), else from the event line. ping, unknown event types and
// anything after message_stop are ignored.
func (d *Decoder) Decode(dst []llm.Event, event, data []byte) ([]llm.Event, error) {
	dst, err := d.decode(dst, event, data)
	if err != nil {
		return dst, err
	}
	return dst, nil
}

func (d *Decoder) decode(dst []llm.Event, event, data []byte) ([]llm.Event, *llm.Error) {
	if d.done || len(event) == 0 && len(data) == 0 {
		return dst, nil
	}
	f, err := readFrame(data)
	if err != nil {
		return dst, err
	}
	typ := f.typ.Str
	if f.typ.Type != gjson.String {
		typ = string(event)
	}
	switch typ {
	case "message_start":
		if u := f.message.Get("usage"); u.IsObject() {
			d.usage = readUsage(u, llm.Usage{})
			dst = append(dst, llm.Event{Kind: llm.EventUsage, Usage: d.usage})
		}
	case "content_block_start":
		return d.blockStart(dst, f)
	case "content_block_delta":
		return d.blockDelta(dst, f)
	case "content_block_stop":
		delete(d.blocks, f.index.Int())
	case "message_delta":
		dst = d.messageDelta(dst, f)
	case "message_stop":
		d.done = true
	case "error":
		dst = append(dst, llm.Event{Kind: llm.EventError, Err: upstreamError(f.err)})
	case "":
		return dst, badResponse("the upstream sent a stream event without a type")
	}
	return dst, nil
}

// frame holds the members of an event's data that the decoder reads,
// found in one pass over its top level.
type frame struct {
	typ, index, block, delta, usage, message, err gjson.Result
}

func readFrame(data []byte) (frame, *llm.Error) {
	var f frame
	if len(data) == 0 {
		return f, nil
	}
	if !validJSON(data) {
		return f, badResponse("the upstream sent a stream event that is not JSON")
	}
	v := gjson.ParseBytes(data) // a copy: the caller may reuse data
	if !v.IsObject() {
		return f, badResponse("the upstream sent a stream event that is not a JSON object")
	}
	v.ForEach(func(k, val gjson.Result) bool {
		switch k.Str {
		case "type":
			f.typ = val
		case "index":
			f.index = val
		case "content_block":
			f.block = val
		case "delta":
			f.delta = val
		case "usage":
			f.usage = val
		case "message":
			f.message = val
		case "error":
			f.err = val
		}
		return true
	})
	return f, nil
}

// blockIndex reads the index of a block event.
func blockIndex(f frame) (int64, *llm.Error) {
	if f.index.Type != gjson.Number {
		return 0, badResponse("the upstream sent a content block event without an index")
	}
	return f.index.Int(), nil
}

func (d *Decoder) blockStart(dst []llm.Event, f frame) ([]llm.Event, *llm.Error) {
	idx, err := blockIndex(f)
	if err != nil {
		return dst, err
	}
	cb := f.block
	b := openBlock{kind: otherBlockKind}
	switch cb.Get("type").String() {
	case "text":
		b.kind = textBlockKind
		if t := cb.Get("text").String(); t != "" {
			dst = append(dst, llm.Event{Kind: llm.EventText, Text: t})
		}
	case "thinking":
		b.kind = thinkingBlockKind
		if t := cb.Get("thinking").String(); t != "" {
			dst = append(dst, llm.Event{Kind: llm.EventThinking, Text: t})
		}
		if s := cb.Get("signature").String(); s != "" {
			dst = append(dst, llm.Event{Kind: llm.EventSignature, Text: s})
		}
	case "redacted_thinking":
		dst = append(dst, llm.Event{Kind: llm.EventRedactedThinking, Text: cb.Get("data").String()})
	case "tool_use":
		b = openBlock{kind: toolBlockKind, tool: d.tools}
		ev := llm.Event{Kind: llm.EventToolCall, Index: d.tools, ID: cb.Get("id").String(), Name: cb.Get("name").String()}
		// The API starts with input {} and streams the arguments; input
		// given whole in the start is kept, as the SDKs' accumulators do.
		if in := cb.Get("input"); in.IsObject() && compact(in) != "{}" {
			ev.Text = compact(in)
		}
		dst = append(dst, ev)
		d.tools++
	}
	d.blocks[idx] = b
	return dst, nil
}

func (d *Decoder) blockDelta(dst []llm.Event, f frame) ([]llm.Event, *llm.Error) {
	idx, err := blockIndex(f)
	if err != nil {
		return dst, err
	}
	b, ok := d.blocks[idx]
	if !ok {
		return dst, badResponse("the upstream sent a delta for content block %d, which is not open", idx)
	}
	if b.kind == otherBlockKind {
		return dst, nil // a server tool's block
	}
	delta := f.delta
	switch delta.Get("type").String() {
	case "text_delta":
		dst = appendText(dst, llm.EventText, delta.Get("text").String())
	case "thinking_delta":
		dst = appendText(dst, llm.EventThinking, delta.Get("thinking").String())
	case "signature_delta":
		dst = appendText(dst, llm.EventSignature, delta.Get("signature").String())
	case "input_json_delta":
		if b.kind != toolBlockKind {
			return dst, badResponse("the upstream sent tool input for content block %d, which is not a tool call", idx)
		}
		if s := delta.Get("partial_json").String(); s != "" {
			dst = append(dst, llm.Event{Kind: llm.EventToolArgs, Index: b.tool, Text: s})
		}
	}
	return dst, nil
}

func appendText(dst []llm.Event, kind llm.EventKind, s string) []llm.Event {
	if s == "" {
		return dst
	}
	return append(dst, llm.Event{Kind: kind, Text: s})
}

// messageDelta reads the stop reason and the cumulative usage: figures it
// carries replace those known, the others (input and cache, usually only
// in message_start) stay.
func (d *Decoder) messageDelta(dst []llm.Event, f frame) []llm.Event {
	if sr := f.delta.Get("stop_reason"); sr.Type == gjson.String && sr.Str != "" {
		ev := llm.Event{Kind: llm.EventStop, Stop: stopReason(sr.Str)}
		if ev.Stop == llm.StopSequence {
			ev.StopSequence = f.delta.Get("stop_sequence").String()
		}
		dst = append(dst, ev)
	}
	if u := f.usage; u.IsObject() {
		d.usage = readUsage(u, d.usage)
		dst = append(dst, llm.Event{Kind: llm.EventUsage, Usage: d.usage})
	}
	return dst
}
