package responses

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Decoder reads the stream of a Responses upstream. One per request.
type Decoder struct {
	// byItem and byOutput map a function_call item (by id, and by output
	// index for upstreams that omit item ids) to its tool call number.
	byItem   map[string]int
	byOutput map[int64]int
	// argsSent records, per tool call, whether any argument text was
	// emitted, so arguments that arrive only in a done event are not lost.
	argsSent []bool
	done     bool
}

var _ llm.StreamDecoder = (*Decoder)(nil)

// NewDecoder returns a decoder for one stream.
func NewDecoder() *Decoder {
	return &Decoder{byItem: map[string]int{}, byOutput: map[int64]int{}}
}

// Done reports whether a terminal event (response.completed, incomplete or
// failed, or an error event) arrived.
func (d *Decoder) Done() bool { return d.done }

// Decode appends the Events of one upstream SSE event. Events the gateway
// does not translate (lifecycle, content part boundaries, hosted tools,
// keepalive) produce nothing; unknown types are skipped so that new event
// kinds do not break streams.
func (d *Decoder) Decode(dst []llm.Event, event, data []byte) ([]llm.Event, error) {
	data = bytes.TrimSpace(data)
	if d.done || len(data) == 0 || bytes.Equal(data, []byte("[DONE]")) {
		return dst, nil
	}
	if !gjson.ValidBytes(data) {
		return dst, badResponse("an upstream stream event is not valid JSON")
	}
	v := gjson.ParseBytes(data)
	if !v.IsObject() {
		return dst, badResponse("an upstream stream event is not a JSON object")
	}
	typ := v.Get("type").String()
	if typ == "" {
		typ = string(event)
	}
	switch typ {
	case "response.output_text.delta", "response.refusal.delta":
		return appendText(dst, llm.EventText, v.Get("delta").String()), nil
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		return appendText(dst, llm.EventThinking, v.Get("delta").String()), nil
	case "response.reasoning_summary_part.added":
		// Paragraphs of a summary are joined by a blank line, as in
		// ParseResponse.
		if v.Get("summary_index").Int() > 0 {
			return append(dst, llm.Event{Kind: llm.EventThinking, Text: "\n\n"}), nil
		}
	case "response.output_item.added":
		return d.itemAdded(dst, v)
	case "response.function_call_arguments.delta":
		return d.args(dst, v)
	case "response.function_call_arguments.done":
		if n, ok := d.call(v); ok && !d.argsSent[n] {
			d.argsSent[n] = true
			return appendArgs(dst, n, v.Get("arguments").String()), nil
		}
	case "response.output_item.done":
		return d.itemDone(dst, v), nil
	case "response.completed", "response.incomplete":
		return d.finish(dst, v.Get("response")), nil
	case "response.failed":
		d.done = true
		e := v.Get("response.error")
		return append(dst, llm.Event{Kind: llm.EventError,
			Err: upstreamError(e.Get("code").String(), e.Get("message").String())}), nil
	case "error":
		d.done = true
		e := v
		if inner := v.Get("error"); inner.IsObject() {
			e = inner // some servers nest the error object
		}
		return append(dst, llm.Event{Kind: llm.EventError,
			Err: upstreamError(e.Get("code").String(), e.Get("message").String())}), nil
	}
	return dst, nil
}

func appendText(dst []llm.Event, kind llm.EventKind, text string) []llm.Event {
	if text == "" {
		return dst
	}
	return append(dst, llm.Event{Kind: kind, Text: text})
}

func (d *Decoder) itemAdded(dst []llm.Event, v gjson.Result) ([]llm.Event, error) {
	it := v.Get("item")
	if it.Get("type").String() != "function_call" {
		return dst, nil
	}
	callID := it.Get("call_id").String()
	if callID == "" {
		return dst, badResponse("a streamed function_call has no call_id")
	}
	n := len(d.argsSent)
	if id := it.Get("id").String(); id != "" {
		d.byItem[id] = n
	}
	d.byOutput[v.Get("output_index").Int()] = n
	args := it.Get("arguments").String()
	d.argsSent = append(d.argsSent, args != "")
	return append(dst, llm.Event{Kind: llm.EventToolCall, Index: n, ID: callID,
		Name: it.Get("name").String(), Text: args}), nil
}

// call finds the tool call an item-scoped event belongs to.
func (d *Decoder) call(v gjson.Result) (int, bool) {
	if id := v.Get("item_id").String(); id != "" {
		if n, ok := d.byItem[id]; ok {
			return n, true
		}
	}
	n, ok := d.byOutput[v.Get("output_index").Int()]
	return n, ok
}

func (d *Decoder) args(dst []llm.Event, v gjson.Result) ([]llm.Event, error) {
	n, ok := d.call(v)
	if !ok {
		return dst, badResponse("function call arguments arrived for an unknown item")
	}
	delta := v.Get("delta").String()
	if delta == "" {
		return dst, nil
	}
	d.argsSent[n] = true
	return append(dst, llm.Event{Kind: llm.EventToolArgs, Index: n, Text: delta}), nil
}

// itemDone emits what only the finished item carries: the encrypted
// reasoning (the signature) and the arguments of a call that streamed none.
func (d *Decoder) itemDone(dst []llm.Event, v gjson.Result) []llm.Event {
	it := v.Get("item")
	switch it.Get("type").String() {
	case "reasoning":
		if sig := it.Get("encrypted_content").String(); sig != "" {
			return append(dst, llm.Event{Kind: llm.EventSignature, Text: sig})
		}
	case "function_call":
		n, ok := d.call(v)
		if ok && !d.argsSent[n] {
			d.argsSent[n] = true
			return appendArgs(dst, n, it.Get("arguments").String())
		}
	}
	return dst
}

func appendArgs(dst []llm.Event, n int, args string) []llm.Event {
	if args == "" {
		return dst
	}
	return append(dst, llm.Event{Kind: llm.EventToolArgs, Index: n, Text: args})
}

func (d *Decoder) finish(dst []llm.Event, resp gjson.Result) []llm.Event {
	d.done = true
	stop := stopReason(resp.Get("status").String(), resp.Get("incomplete_details.reason").String(), len(d.argsSent) > 0)
	dst = append(dst, llm.Event{Kind: llm.EventStop, Stop: stop})
	if u := resp.Get("usage"); u.IsObject() {
		dst = append(dst, llm.Event{Kind: llm.EventUsage, Usage: usage(u)})
	}
	return dst
}
