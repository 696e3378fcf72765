package anthropic

import (
	"strconv"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// blockKind is the type of the content block a stream has open.
type blockKind uint8

const (
	noBlock blockKind = iota
	textBlockKind
	thinkingBlockKind
	toolBlockKind
	otherBlockKind // redacted thinking on the encoder side, server tools on the decoder side
)

// Encoder writes an Anthropic client's stream from llm.Events. It keeps
// the order the SDKs check: message_start first, blocks numbered densely
// from 0, each started before its deltas and stopped before the next
// starts, then one message_delta (stop reason and the final usage) and
// message_stop. Every frame has both the event line and a "type" in its
// data, as the SDKs route on the first and decode on the second.
type Encoder struct {
	meta      llm.Meta
	requestID string

	started, ended bool
	open           blockKind
	index          int // the open block's index, or the next block's when none is open
	tool           int // the tool-call number of the open tool_use block
	calls          int // tool calls seen

	stop    llm.StopReason
	stopSeq string
	usage   llm.Usage
}

var _ llm.StreamEncoder = (*Encoder)(nil)

// An Option configures an Encoder.
type Option func(*Encoder)

// WithRequestID sets the request id appended to the message of a stream
// error event, as ErrorBody does for error responses.
func WithRequestID(id string) Option { return func(e *Encoder) { e.requestID = id } }

// NewEncoder returns the encoder of one stream, presented with the
// gateway's id and the client's model name.
func NewEncoder(meta llm.Meta, opts ...Option) *Encoder {
	e := &Encoder{meta: meta}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Encode appends the events ev becomes. Usage and the stop reason are held
// until Finish, where the protocol wants them.
func (e *Encoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.ended {
		return dst
	}
	switch ev.Kind {
	case llm.EventError:
		return e.Fail(dst, ev.Err)
	case llm.EventUsage:
		// Before message_start on purpose: a usage that comes first gives
		// message_start its input figures.
		e.usage = ev.Usage
	case llm.EventStop:
		e.stop, e.stopSeq = ev.Stop, ev.StopSequence
	}
	if !e.started {
		dst = e.start(dst)
	}
	switch ev.Kind {
	case llm.EventText:
		if ev.Text != "" {
			dst = e.openBlock(dst, textBlockKind)
			dst = e.delta(dst, `"text_delta","text":`, ev.Text)
		}
	case llm.EventThinking:
		if ev.Text != "" {
			dst = e.openBlock(dst, thinkingBlockKind)
			dst = e.delta(dst, `"thinking_delta","thinking":`, ev.Text)
		}
	case llm.EventSignature:
		// A signature ends its thinking block; one that comes alone (a
		// provider that signs without showing the thinking) gets a block
		// of its own.
		if ev.Text != "" {
			dst = e.openBlock(dst, thinkingBlockKind)
			dst = e.delta(dst, `"signature_delta","signature":`, ev.Text)
			dst = e.closeBlock(dst)
		}
	case llm.EventRedactedThinking:
		if ev.Text != "" {
			dst = e.redacted(dst, ev.Text)
		}
	case llm.EventToolCall:
		dst = e.toolCall(dst, ev)
	case llm.EventToolArgs:
		// Calls stream one after the other; a fragment for a call whose
		// block is closed has nowhere to go.
		if ev.Text != "" && e.open == toolBlockKind && e.tool == ev.Index {
			dst = e.delta(dst, `"input_json_delta","partial_json":`, ev.Text)
		}
	}
	return dst
}

// redacted writes a whole redacted_thinking block: it has no deltas.
func (e *Encoder) redacted(dst []byte, data string) []byte {
	dst = e.closeBlock(dst)
	dst = e.startHead(dst, otherBlockKind)
	dst = append(dst, `{"type":"redacted_thinking","data":`...)
	dst = sse.AppendString(dst, data)
	dst = append(dst, "}}\n\n"...)
	return e.closeBlock(dst)
}

// toolCall starts the block of a call (input {} as the API does; the
// arguments follow as input_json_delta).
func (e *Encoder) toolCall(dst []byte, ev llm.Event) []byte {
	dst = e.closeBlock(dst)
	dst = e.startHead(dst, toolBlockKind)
	dst = append(dst, `{"type":"tool_use","id":`...)
	dst = sse.AppendString(dst, clientCallID(ev.ID, ev.Signature, e.meta.ID, e.calls))
	dst = append(dst, `,"name":`...)
	dst = sse.AppendString(dst, ev.Name)
	dst = append(dst, `,"input":{}}}`+"\n\n"...)
	e.tool = ev.Index
	e.calls++
	if ev.Text != "" {
		dst = e.delta(dst, `"input_json_delta","partial_json":`, ev.Text)
	}
	return dst
}

// Finish ends a complete stream: the open block is stopped, then
// message_delta carries the stop reason and the last usage, then
// message_stop.
func (e *Encoder) Finish(dst []byte) []byte {
	if e.ended {
		return dst
	}
	if !e.started {
		dst = e.start(dst)
	}
	dst = e.closeBlock(dst)
	e.ended = true
	dst = appendFrameHead(dst, "message_delta")
	dst = append(dst, `,"delta":{"stop_reason":`...)
	reason := clientStop(e.stop, e.calls > 0)
	dst = sse.AppendString(dst, reason)
	dst = append(dst, `,"stop_sequence":`...)
	if reason == "stop_sequence" {
		dst = sse.AppendString(dst, e.stopSeq)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `},"usage":`...)
	dst = appendUsage(dst, e.usage, e.usage.Output+e.usage.Reasoning)
	dst = append(dst, "}\n\n"...)
	dst = appendFrameHead(dst, "message_stop")
	return append(dst, "}\n\n"...)
}

// Fail ends a broken stream with an error event, never a clean finish:
// the SDKs raise it as an API error.
func (e *Encoder) Fail(dst []byte, err *llm.Error) []byte {
	if e.ended {
		return dst
	}
	if err == nil {
		err = &llm.Error{Kind: llm.KindUpstream, Message: "the upstream stream broke"}
	}
	if !e.started {
		dst = e.start(dst)
	}
	e.ended = true
	return appendStreamError(dst, err, e.requestID)
}

// start writes message_start with the input figures known so far.
func (e *Encoder) start(dst []byte) []byte {
	e.started = true
	dst = appendFrameHead(dst, "message_start")
	dst = append(dst, `,"message":{"id":`...)
	dst = sse.AppendString(dst, e.meta.ID)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = sse.AppendString(dst, e.meta.Model)
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	dst = appendUsage(dst, e.usage, 0)
	return append(dst, "}}\n\n"...)
}

// openBlock makes a text or thinking block the open one, stopping another.
func (e *Encoder) openBlock(dst []byte, kind blockKind) []byte {
	if e.open == kind {
		return dst
	}
	dst = e.closeBlock(dst)
	dst = e.startHead(dst, kind)
	if kind == textBlockKind {
		return append(dst, `{"type":"text","text":""}}`+"\n\n"...)
	}
	return append(dst, `{"type":"thinking","thinking":""}}`+"\n\n"...)
}

// startHead opens a block of kind and writes content_block_start up to
// its content_block, which the caller writes, followed by "}\n\n".
func (e *Encoder) startHead(dst []byte, kind blockKind) []byte {
	e.open = kind
	dst = appendFrameHead(dst, "content_block_start")
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(e.index), 10)
	return append(dst, `,"content_block":`...)
}

func (e *Encoder) closeBlock(dst []byte) []byte {
	if e.open == noBlock {
		return dst
	}
	dst = appendFrameHead(dst, "content_block_stop")
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(e.index), 10)
	e.open = noBlock
	e.index++
	return append(dst, "}\n\n"...)
}

// delta writes a content_block_delta on the open block; head is the delta
// type and the key of the string s.
func (e *Encoder) delta(dst []byte, head, s string) []byte {
	dst = appendFrameHead(dst, "content_block_delta")
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(e.index), 10)
	dst = append(dst, `,"delta":{"type":`...)
	dst = append(dst, head...)
	dst = sse.AppendString(dst, s)
	return append(dst, "}}\n\n"...)
}

// appendFrameHead writes "event: typ", the data line and its "type"; the
// caller adds the other members and "}\n\n".
func appendFrameHead(dst []byte, typ string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, typ...)
	return append(dst, '"')
}

// appendUsage writes an Anthropic usage object for u with the given
// output_tokens.
func appendUsage(dst []byte, u llm.Usage, output int64) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, u.Input, 10)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = strconv.AppendInt(dst, u.CacheWrite, 10)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = strconv.AppendInt(dst, u.CachedInput, 10)
	dst = append(dst, `,"output_tokens":`...)
	dst = strconv.AppendInt(dst, output, 10)
	if output > 0 && u.Reasoning > 0 {
		dst = append(dst, `,"output_tokens_details":{"thinking_tokens":`...)
		dst = strconv.AppendInt(dst, u.Reasoning, 10)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}
