package gemini

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Decoder reads a Gemini stream (:streamGenerateContent?alt=sse). Each data
// payload is one GenerateContentResponse whose text is a delta, whose
// function calls come whole, and whose usageMetadata is cumulative. It
// keeps only counters, so its memory does not grow with the stream.
type Decoder struct {
	calls   int  // function calls seen, the next call's Index
	sawCall bool // a call makes a normal end a tool-use stop
	done    bool
}

var _ llm.StreamDecoder = (*Decoder)(nil)

// NewDecoder returns a decoder for one stream.
func NewDecoder() *Decoder { return &Decoder{} }

// Done reports whether a chunk with a finish reason (or a refused prompt)
// arrived: Gemini has no terminator, so that is the proper end.
func (d *Decoder) Done() bool { return d.done }

// Decode appends the events of one SSE event. The event name is ignored
// (Gemini sends none). A payload may also be a JSON array of responses,
// which is what the endpoint returns without alt=sse.
func (d *Decoder) Decode(dst []llm.Event, _, data []byte) ([]llm.Event, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return dst, nil
	}
	if !gjson.ValidBytes(data) {
		return dst, badResponse("a stream chunk is not valid JSON")
	}
	root := gjson.ParseBytes(data)
	var err *llm.Error
	switch {
	case root.IsObject():
		dst, err = d.chunk(dst, root)
	case root.IsArray():
		root.ForEach(func(_, v gjson.Result) bool {
			if !v.IsObject() {
				err = badResponse("a stream chunk is not a JSON object")
			} else {
				dst, err = d.chunk(dst, v)
			}
			return err == nil
		})
	default:
		err = badResponse("a stream chunk is not a JSON object")
	}
	if err != nil {
		return dst, err
	}
	return dst, nil
}

// chunk turns one GenerateContentResponse into events: its parts, then
// its usage, then its finish reason.
func (d *Decoder) chunk(dst []llm.Event, v gjson.Result) ([]llm.Event, *llm.Error) {
	c, err := readChunk(v)
	if err != nil {
		return dst, err
	}
	if present(c.err) {
		return append(dst, llm.Event{Kind: llm.EventError, Err: upstreamError(c.err)}), nil
	}
	c.parts.ForEach(func(_, pv gjson.Result) bool {
		var p llm.Part
		var ok bool
		if p, ok, err = responsePart(pv); ok {
			dst = d.partEvents(dst, p)
		}
		return err == nil
	})
	if err != nil {
		return dst, err
	}
	if present(c.usage) {
		dst = append(dst, llm.Event{Kind: llm.EventUsage, Usage: usageFrom(c.usage)})
	}
	switch {
	case d.done: // one stop per stream; a late chunk may still carry usage
	case c.blocked:
		d.done = true
		dst = append(dst, llm.Event{Kind: llm.EventStop, Stop: llm.StopFilter})
	case c.finish != "" && c.finish != "FINISH_REASON_UNSPECIFIED":
		d.done = true
		dst = append(dst, llm.Event{Kind: llm.EventStop, Stop: stopReason(c.finish, d.sawCall)})
	}
	return dst, nil
}

// partEvents appends what one part becomes. A thought's signature follows
// its text, closing the reasoning block as EventSignature means to; images
// (from image models) have no event and are dropped.
func (d *Decoder) partEvents(dst []llm.Event, p llm.Part) []llm.Event {
	switch p.Kind {
	case llm.PartText:
		dst = append(dst, llm.Event{Kind: llm.EventText, Text: p.Text})
	case llm.PartThinking:
		if p.Text != "" {
			dst = append(dst, llm.Event{Kind: llm.EventThinking, Text: p.Text})
		}
		if p.Signature != "" {
			dst = append(dst, llm.Event{Kind: llm.EventSignature, Text: p.Signature})
		}
	case llm.PartToolCall:
		dst = append(dst, llm.Event{Kind: llm.EventToolCall, Index: d.calls, ID: p.ID, Name: p.Name,
			Text: p.Arguments, Signature: p.Signature})
		d.calls++
		d.sawCall = true
	}
	return dst
}
