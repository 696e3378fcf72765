package gemini

import (
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// Encoder writes a Gemini stream for a client. Every frame is exactly
// "data: <one-line JSON>\n\n": go-genai turns anything else (event lines,
// comments, [DONE]) into an error. Gemini has no preamble and no
// terminator, so nothing is written before the first content or after the
// final frame.
type Encoder struct {
	meta   llm.Meta
	suffix []byte // closes a content frame: role, index and the answer's identity

	calls   []pendingCall // function calls not yet written
	thought string        // the latest thinking delta, held for a signature
	held    bool          // thought holds a delta not yet written
	sawCall bool
	stop    llm.StopReason
	usage   llm.Usage
	gotUse  bool
	ended   bool // Finish or Fail ran: nothing more is written
}

// pendingCall is a function call being assembled: Gemini sends calls
// whole, while other upstreams stream their arguments in fragments.
type pendingCall struct {
	index         int
	id, name, sig string
	args          []byte
}

var _ llm.StreamEncoder = (*Encoder)(nil)

// NewEncoder returns the encoder of one answer, named by meta (the
// gateway's id becomes responseId, meta.Model the modelVersion).
func NewEncoder(meta llm.Meta) *Encoder {
	suffix := append([]byte(nil), `],"role":"model"},"index":0}]`...)
	suffix = appendIdentity(suffix, meta)
	suffix = append(suffix, '}')
	return &Encoder{meta: meta, suffix: suffix}
}

const framePrefix = `data: {"candidates":[{"content":{"parts":[`

// Encode appends the frames ev becomes. Function calls are held until they
// are complete: until text or thinking follows, or the stream finishes,
// when the calls go out together as Gemini itself sends parallel calls.
// Each thinking delta is held until the next event, so that a signature
// that follows can ride on it.
func (e *Encoder) Encode(dst []byte, ev llm.Event) []byte {
	if e.ended {
		return dst
	}
	switch ev.Kind {
	case llm.EventText:
		if ev.Text == "" {
			return dst
		}
		dst = e.flush(dst)
		dst = append(dst, framePrefix...)
		dst = appendTextPart(dst, ev.Text, false, "")
		return e.closeFrame(dst)
	case llm.EventThinking:
		if ev.Text == "" {
			return dst
		}
		dst = e.flush(dst)
		e.thought, e.held = ev.Text, true
		return dst
	case llm.EventSignature:
		if !validSignature(ev.Text) {
			return dst
		}
		dst = e.flushCalls(dst)
		dst = e.writeThought(dst, ev.Text)
		return dst
	case llm.EventToolCall:
		dst = e.flushThought(dst)
		e.sawCall = true
		e.calls = append(e.calls, pendingCall{index: ev.Index, id: ev.ID, name: ev.Name, sig: ev.Signature,
			args: append([]byte(nil), ev.Text...)})
	case llm.EventToolArgs:
		for i := len(e.calls) - 1; i >= 0; i-- {
			if e.calls[i].index == ev.Index {
				e.calls[i].args = append(e.calls[i].args, ev.Text...)
				break
			}
		}
	case llm.EventUsage:
		e.usage, e.gotUse = ev.Usage, true
	case llm.EventStop:
		e.stop = ev.Stop
	case llm.EventError:
		return e.Fail(dst, ev.Err)
	}
	return dst
}

func (e *Encoder) closeFrame(dst []byte) []byte {
	dst = append(dst, e.suffix...)
	return append(dst, "\n\n"...)
}

// flush writes what is held: a thought that got no signature, calls.
func (e *Encoder) flush(dst []byte) []byte {
	return e.flushCalls(e.flushThought(dst))
}

func (e *Encoder) flushThought(dst []byte) []byte {
	if e.held {
		dst = e.writeThought(dst, "")
	}
	return dst
}

// writeThought writes the held thinking delta with sig. The signature
// rides on the thought's last delta rather than on a part of its own:
// go-genai leaves parts without data (empty text) out of a chat's history,
// and the client must send the signature back.
func (e *Encoder) writeThought(dst []byte, sig string) []byte {
	dst = append(dst, framePrefix...)
	dst = appendTextPart(dst, e.thought, true, sig)
	e.thought, e.held = "", false
	return e.closeFrame(dst)
}

// flushCalls writes the pending function calls in one frame.
func (e *Encoder) flushCalls(dst []byte) []byte {
	if len(e.calls) == 0 {
		return dst
	}
	dst = append(dst, framePrefix...)
	dst = e.appendCalls(dst)
	return e.closeFrame(dst)
}

func (e *Encoder) appendCalls(dst []byte) []byte {
	for i, c := range e.calls {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCallPart(dst, c.id, c.name, string(c.args), c.sig)
	}
	e.calls = e.calls[:0]
	return dst
}

// Finish writes the final frame: the calls still held, the finish reason
// and the usage of the last EventUsage (go-genai and most clients read
// usage from the last chunk). When there is no call, the frame carries one
// empty text part, as Gemini's own final chunks do: go-genai's chat treats
// a candidate without content as an invalid turn and drops it from history.
func (e *Encoder) Finish(dst []byte) []byte {
	if e.ended {
		return dst
	}
	e.ended = true
	dst = e.flushThought(dst)
	dst = append(dst, framePrefix...)
	if len(e.calls) > 0 {
		dst = e.appendCalls(dst)
	} else {
		dst = append(dst, `{"text":""}`...)
	}
	dst = append(dst, `],"role":"model"},"finishReason":`...)
	stop := e.stop
	if e.sawCall && (stop == "" || stop == llm.StopEnd) {
		stop = llm.StopToolUse
	}
	dst = sse.AppendString(dst, finishReason(stop))
	dst = append(dst, `,"index":0}]`...)
	if e.gotUse {
		dst = append(dst, `,"usageMetadata":`...)
		dst = appendUsage(dst, e.usage)
	}
	dst = appendIdentity(dst, e.meta)
	return append(dst, "}\n\n"...)
}

// Fail writes Google's in-stream error frame instead of a clean finish.
// The gateway's answer id is the request id the message names.
func (e *Encoder) Fail(dst []byte, err *llm.Error) []byte {
	if e.ended {
		return dst
	}
	e.ended = true
	dst = e.flushThought(dst)
	if err == nil {
		err = &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream stream failed"}
	}
	return append(dst, StreamErrorEvent(err, e.meta.ID)...)
}
