package chat

import (
	"strconv"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// Encoder writes llm.Events as a Chat Completions stream that openai-go's
// ChatCompletionAccumulator and the npm SDK accept: one id for every
// chunk, a role chunk first, dense tool-call indexes with the id and name
// on the first fragment only (the accumulator concatenates names), one
// finish chunk, usage on a single final chunk (the accumulator sums usage),
// then [DONE].
type Encoder struct {
	head         []byte // the chunk's opening members, the same for every chunk
	includeUsage bool
	requestID    string

	started  bool
	stopped  bool // the finish chunk is out
	ended    bool // [DONE] or the error event is out; nothing more is written
	sawTool  bool
	calls    map[int]int // event Index → the client's dense index
	nextCall int
	usage    llm.Usage // the last EventUsage, written by Finish
}

var _ llm.StreamEncoder = (*Encoder)(nil)

// Option configures an Encoder.
type Option func(*Encoder)

// WithRequestID appends the gateway's request id to the message of a
// mid-stream error, as in the error bodies.
func WithRequestID(id string) Option { return func(e *Encoder) { e.requestID = id } }

// NewEncoder starts a client stream. includeUsage is the client's
// stream_options.include_usage: usage is written only when it asked.
func NewEncoder(meta llm.Meta, includeUsage bool, opts ...Option) *Encoder {
	e := &Encoder{head: appendChunkHead(nil, meta, "chat.completion.chunk"), includeUsage: includeUsage}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Encode appends the chunk ev becomes, if any.
func (e *Encoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.ended {
		return dst
	}
	switch ev.Kind {
	case llm.EventUsage:
		// Cumulative and possibly repeated: keep the last for Finish.
		e.usage = ev.Usage
		return dst
	case llm.EventError:
		return e.Fail(dst, ev.Err)
	}
	dst = e.start(dst)
	switch ev.Kind {
	case llm.EventText:
		dst = e.stringDelta(dst, `"content":`, ev.Text)
	case llm.EventThinking:
		dst = e.stringDelta(dst, `"reasoning_content":`, ev.Text)
	case llm.EventSignature:
		if ev.Text != "" {
			dst = e.openDelta(dst)
			dst = append(dst, `"thinking_blocks":[`...)
			dst = appendThinkingBlock(dst, "", ev.Text)
			dst = e.closeDelta(append(dst, ']'))
		}
	case llm.EventRedactedThinking:
		dst = e.openDelta(dst)
		dst = append(dst, `"thinking_blocks":[`...)
		dst = appendRedactedBlock(dst, ev.Text)
		dst = e.closeDelta(append(dst, ']'))
	case llm.EventToolCall:
		dst = e.toolCall(dst, ev)
	case llm.EventToolArgs:
		dst = e.toolArgs(dst, ev)
	case llm.EventStop:
		dst = e.finishChunk(dst, ev.Stop)
	}
	return dst
}

// Finish ends a complete stream: a finish chunk if none came, the usage
// chunk when the client asked for it, and [DONE].
func (e *Encoder) Finish(dst []byte) []byte {
	if e.ended {
		return dst
	}
	dst = e.start(dst)
	dst = e.finishChunk(dst, llm.StopEnd)
	if e.includeUsage {
		dst = append(dst, "data: "...)
		dst = append(dst, e.head...)
		dst = append(dst, `,"choices":[],"usage":`...)
		dst = appendUsage(dst, e.usage)
		dst = append(dst, "}\n\n"...)
	}
	e.ended = true
	return append(dst, "data: [DONE]\n\n"...)
}

// Fail ends a broken stream with the error event and no [DONE], so that
// SDKs raise an error instead of returning a truncated answer.
func (e *Encoder) Fail(dst []byte, err *llm.Error) []byte {
	if e.ended {
		return dst
	}
	if err == nil {
		err = &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream stream failed"}
	}
	dst = e.start(dst)
	e.ended = true
	return append(dst, StreamErrorEvent(err, e.requestID)...)
}

// start writes the role chunk before anything else.
func (e *Encoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	dst = e.openDelta(dst)
	dst = append(dst, `"role":"assistant","content":""`...)
	return e.closeDelta(dst)
}

func (e *Encoder) stringDelta(dst []byte, key, s string) []byte {
	if s == "" {
		return dst
	}
	dst = e.openDelta(dst)
	dst = append(dst, key...)
	dst = sse.AppendString(dst, s)
	return e.closeDelta(dst)
}

func (e *Encoder) toolCall(dst []byte, ev llm.Event) []byte {
	if e.calls == nil {
		e.calls = map[int]int{}
	}
	k := e.nextCall
	e.nextCall++
	e.calls[ev.Index] = k
	e.sawTool = true
	dst = e.openDelta(dst)
	dst = append(dst, `"tool_calls":[{"index":`...)
	dst = strconv.AppendInt(dst, int64(k), 10)
	dst = append(dst, `,"id":`...)
	dst = sse.AppendString(dst, llm.PackCallID(ev.ID, ev.Signature))
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = sse.AppendString(dst, ev.Name)
	dst = append(dst, `,"arguments":`...)
	dst = sse.AppendString(dst, ev.Text)
	return e.closeDelta(append(dst, "}}]"...))
}

// toolArgs drops fragments of a call that never started: without its
// index, id and name the client could not place them.
func (e *Encoder) toolArgs(dst []byte, ev llm.Event) []byte {
	k, ok := e.calls[ev.Index]
	if !ok || ev.Text == "" {
		return dst
	}
	dst = e.openDelta(dst)
	dst = append(dst, `"tool_calls":[{"index":`...)
	dst = strconv.AppendInt(dst, int64(k), 10)
	dst = append(dst, `,"function":{"arguments":`...)
	dst = sse.AppendString(dst, ev.Text)
	return e.closeDelta(append(dst, "}}]"...))
}

// finishChunk writes the one chunk with a finish_reason; later stops are
// ignored.
func (e *Encoder) finishChunk(dst []byte, s llm.StopReason) []byte {
	if e.stopped {
		return dst
	}
	e.stopped = true
	dst = append(dst, "data: "...)
	dst = append(dst, e.head...)
	dst = append(dst, `,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"`...)
	dst = append(dst, finishReason(s, e.sawTool)...)
	return append(dst, "\"}]}\n\n"...)
}

func (e *Encoder) openDelta(dst []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, e.head...)
	return append(dst, `,"choices":[{"index":0,"delta":{`...)
}

func (e *Encoder) closeDelta(dst []byte) []byte {
	return append(dst, "},\"logprobs\":null,\"finish_reason\":null}]}\n\n"...)
}
