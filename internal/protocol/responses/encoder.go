package responses

import (
	"strconv"
	"time"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// Encoder writes a Responses stream to a client: response.created and
// response.in_progress, then output items each announced, streamed and
// closed with their done events, then response.completed (or
// response.incomplete). One per request.
//
// Item ids and indexes obey what the npm SDK checks: output indexes are
// dense and appended in order, every item-scoped event's item_id equals
// output[output_index].id, and every content or summary part is added
// before its deltas.
type Encoder struct {
	meta      llm.Meta
	ids       itemIDs
	requestID string
	now       func() time.Time

	seq     int64
	started bool
	ended   bool

	items []item
	// openFrom is the first item not yet closed: items[openFrom:] are
	// open. That tail is one message or reasoning item, or one or more
	// function calls (kept open together so that interleaved arguments of
	// parallel calls still reach their item).
	openFrom int
	calls    map[int]int // tool call number → output index
	callIDs  map[string]bool

	usage    llm.Usage
	hasUsage bool
	stop     llm.StopReason

	buf []byte // payload scratch, reused per event
}

var _ llm.StreamEncoder = (*Encoder)(nil)

// Option configures an Encoder.
type Option func(*Encoder)

// WithRequestID appends " (request id: id)" to the message of error events,
// as ErrorBody does.
func WithRequestID(id string) Option { return func(e *Encoder) { e.requestID = id } }

// WithClock sets the clock that stamps completed_at (time.Now by default).
func WithClock(now func() time.Time) Option { return func(e *Encoder) { e.now = now } }

// NewEncoder returns an encoder for one stream; meta gives the response id
// (item ids derive from it), the model name and created_at.
func NewEncoder(meta llm.Meta, opts ...Option) *Encoder {
	e := &Encoder{meta: meta, ids: newItemIDs(meta.ID), now: time.Now, calls: map[int]int{}, callIDs: map[string]bool{}}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Encode appends the events ev becomes. Usage and stop reasons are kept
// for the final event; an upstream error ends the stream as Fail does.
func (e *Encoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.ended {
		return dst
	}
	switch ev.Kind {
	case llm.EventUsage:
		e.usage, e.hasUsage = ev.Usage, true
	case llm.EventStop:
		e.stop = ev.Stop
	case llm.EventError:
		return e.Fail(dst, ev.Err)
	case llm.EventText:
		if ev.Text != "" {
			dst = e.text(e.start(dst), ev.Text)
		}
	case llm.EventThinking:
		if ev.Text != "" {
			dst = e.thinking(e.start(dst), ev.Text)
		}
	case llm.EventSignature:
		dst = e.signature(e.start(dst), ev.Text)
	case llm.EventToolCall:
		dst = e.toolCall(e.start(dst), ev)
	case llm.EventToolArgs:
		dst = e.toolArgs(dst, ev)
	}
	// EventRedactedThinking (Anthropic's encrypted reasoning) has no
	// Responses form that would survive the trip back, so it is dropped.
	return dst
}

// Finish closes the open items and writes the final response object with
// every output item and the last usage reported.
func (e *Encoder) Finish(dst []byte) []byte {
	if e.ended {
		return dst
	}
	dst = e.closeOpen(e.start(dst))
	e.ended = true
	o := object{meta: e.meta, completedAt: e.now().Unix(), output: e.items}
	o.status, o.incomplete = finalStatus(e.stop)
	if e.hasUsage {
		o.usage = &e.usage
	}
	typ := "response.completed"
	if o.status == "incomplete" {
		typ = "response.incomplete"
	}
	b := append(e.head(typ), `,"response":`...)
	return e.emit(dst, typ, appendObject(b, &o))
}

// Fail writes the `event: error` event (not response.failed: the npm SDK
// throws an APIError on it, and it needs no response object); nothing is
// written after it.
func (e *Encoder) Fail(dst []byte, err *llm.Error) []byte {
	if e.ended {
		return dst
	}
	if err == nil {
		err = &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream failed"}
	}
	dst = e.start(dst)
	e.ended = true
	dst = appendErrorEvent(dst, err, e.requestID, e.seq)
	e.seq++
	return dst
}

// start writes the preamble once, before the first output.
func (e *Encoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	o := object{meta: e.meta, status: "in_progress"}
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		b := append(e.head(typ), `,"response":`...)
		dst = e.emit(dst, typ, appendObject(b, &o))
	}
	return dst
}

func (e *Encoder) text(dst []byte, s string) []byte {
	dst, i := e.openSingle(dst, itemMessage)
	b := append(e.itemHead("response.output_text.delta", i), `,"content_index":0,"delta":`...)
	b = sse.AppendString(b, s)
	b = append(b, `,"logprobs":[]`...)
	e.items[i].text = append(e.items[i].text, s...)
	return e.emit(dst, "response.output_text.delta", b)
}

func (e *Encoder) thinking(dst []byte, s string) []byte {
	dst, i := e.openSingle(dst, itemReasoning)
	if len(e.items[i].text) == 0 {
		b := append(e.itemHead("response.reasoning_summary_part.added", i),
			`,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
		dst = e.emit(dst, "response.reasoning_summary_part.added", b)
	}
	b := append(e.itemHead("response.reasoning_summary_text.delta", i), `,"summary_index":0,"delta":`...)
	b = sse.AppendString(b, s)
	e.items[i].text = append(e.items[i].text, s...)
	return e.emit(dst, "response.reasoning_summary_text.delta", b)
}

// signature closes the reasoning item with its encrypted_content; a
// signature with no text before it (encrypted reasoning without a summary)
// gets an item of its own.
func (e *Encoder) signature(dst []byte, sig string) []byte {
	dst, i := e.openSingle(dst, itemReasoning)
	e.items[i].sig = sig
	return e.closeOpen(dst)
}

func (e *Encoder) toolCall(dst []byte, ev llm.Event) []byte {
	if e.openFrom < len(e.items) && e.items[e.openFrom].kind != itemCall {
		dst = e.closeOpen(dst)
	}
	n := len(e.items)
	id := ev.ID
	// The npm SDK rejects an empty or repeated call_id, so a broken
	// upstream's ids are replaced or made unique (before packing, which
	// must stay at the end of the id).
	if id == "" {
		id = e.ids.make("call_", n)
	} else if e.callIDs[id] {
		id += "_" + strconv.Itoa(n)
	}
	e.callIDs[id] = true
	callID := llm.PackCallID(id, ev.Signature)
	e.items = append(e.items, item{kind: itemCall, id: e.ids.make("fc_", n), callID: callID, name: ev.Name})
	e.calls[ev.Index] = n
	dst = e.added(dst, n)
	if ev.Text != "" {
		dst = e.argsDelta(dst, n, ev.Text)
	}
	return dst
}

// toolArgs streams arguments to their call. Arguments for a call already
// closed (other output came in between) cannot be sent any more and are
// dropped; no upstream interleaves that way in practice.
func (e *Encoder) toolArgs(dst []byte, ev llm.Event) []byte {
	i, ok := e.calls[ev.Index]
	if !ok || i < e.openFrom || ev.Text == "" {
		return dst
	}
	return e.argsDelta(dst, i, ev.Text)
}

func (e *Encoder) argsDelta(dst []byte, i int, s string) []byte {
	b := append(e.itemHead("response.function_call_arguments.delta", i), `,"delta":`...)
	b = sse.AppendString(b, s)
	e.items[i].text = append(e.items[i].text, s...)
	return e.emit(dst, "response.function_call_arguments.delta", b)
}

// openSingle returns the open item of kind k, closing whatever else is
// open and announcing a new item when there is none.
func (e *Encoder) openSingle(dst []byte, k itemKind) ([]byte, int) {
	n := len(e.items)
	if e.openFrom == n-1 && e.items[n-1].kind == k {
		return dst, n - 1
	}
	dst = e.closeOpen(dst)
	e.items = append(e.items, item{kind: k, id: e.ids.forKind(k, n)})
	e.openFrom = n
	dst = e.added(dst, n)
	if k == itemMessage {
		b := append(e.itemHead("response.content_part.added", n),
			`,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}`...)
		dst = e.emit(dst, "response.content_part.added", b)
	}
	return dst, n
}

func (e *Encoder) added(dst []byte, i int) []byte {
	b := append(e.head("response.output_item.added"), `,"output_index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"item":`...)
	b = appendItem(b, &e.items[i], false)
	return e.emit(dst, "response.output_item.added", b)
}

// closeOpen writes the done events of every open item, in output order.
func (e *Encoder) closeOpen(dst []byte) []byte {
	for i := e.openFrom; i < len(e.items); i++ {
		dst = e.closeItem(dst, i)
	}
	e.openFrom = len(e.items)
	return dst
}

func (e *Encoder) closeItem(dst []byte, i int) []byte {
	it := &e.items[i]
	switch it.kind {
	case itemMessage:
		b := append(e.itemHead("response.output_text.done", i), `,"content_index":0,"text":`...)
		b = appendBytes(b, it.text)
		dst = e.emit(dst, "response.output_text.done", append(b, `,"logprobs":[]`...))
		b = append(e.itemHead("response.content_part.done", i), `,"content_index":0,"part":`...)
		dst = e.emit(dst, "response.content_part.done", appendTextPart(b, it.text))
	case itemReasoning:
		if len(it.text) > 0 {
			b := append(e.itemHead("response.reasoning_summary_text.done", i), `,"summary_index":0,"text":`...)
			dst = e.emit(dst, "response.reasoning_summary_text.done", appendBytes(b, it.text))
			b = append(e.itemHead("response.reasoning_summary_part.done", i), `,"summary_index":0,"part":`...)
			dst = e.emit(dst, "response.reasoning_summary_part.done", appendSummaryPart(b, it.text))
		}
	case itemCall:
		b := append(e.itemHead("response.function_call_arguments.done", i), `,"name":`...)
		b = sse.AppendString(b, it.name)
		b = append(b, `,"arguments":`...)
		dst = e.emit(dst, "response.function_call_arguments.done", appendArguments(b, it.text))
	}
	b := append(e.head("response.output_item.done"), `,"output_index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"item":`...)
	return e.emit(dst, "response.output_item.done", appendItem(b, it, true))
}

// head starts a payload: {"type":typ,"sequence_number":N (unclosed).
func (e *Encoder) head(typ string) []byte {
	b := append(e.buf[:0], `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	b = strconv.AppendInt(b, e.seq, 10)
	e.seq++
	return b
}

// itemHead is head plus the item_id and output_index of item i.
func (e *Encoder) itemHead(typ string, i int) []byte {
	b := append(e.head(typ), `,"item_id":`...)
	b = sse.AppendString(b, e.items[i].id)
	b = append(b, `,"output_index":`...)
	return strconv.AppendInt(b, int64(i), 10)
}

// emit closes the payload b and appends the event to dst.
func (e *Encoder) emit(dst []byte, typ string, b []byte) []byte {
	b = append(b, '}')
	e.buf = b
	return sse.AppendEvent(dst, typ, b)
}
