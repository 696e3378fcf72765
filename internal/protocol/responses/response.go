package responses

import (
	"strconv"
	"strings"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

type itemKind uint8

const (
	itemMessage itemKind = iota + 1
	itemReasoning
	itemCall
)

// item is one output item as the gateway builds it, for the non-streamed
// body and for the stream (where its text grows token by token).
type item struct {
	kind   itemKind
	id     string
	text   []byte // message text, reasoning summary or call arguments
	sig    string // reasoning encrypted_content
	callID string
	name   string
}

// object is the variable part of a Response object.
type object struct {
	meta        llm.Meta
	status      string // completed, incomplete, in_progress
	incomplete  string // incomplete_details.reason
	completedAt int64  // 0 → null
	output      []item
	usage       *llm.Usage
}

// itemIDs makes item ids from the response id, so that they are unique
// across responses without a random source: "msg_<suffix>_<n>".
type itemIDs struct{ suffix string }

func newItemIDs(responseID string) itemIDs {
	s, _ := strings.CutPrefix(responseID, "resp_")
	return itemIDs{suffix: s}
}

func (g itemIDs) make(prefix string, n int) string {
	return prefix + g.suffix + "_" + strconv.Itoa(n)
}

func (g itemIDs) forKind(k itemKind, n int) string {
	switch k {
	case itemReasoning:
		return g.make("rs_", n)
	case itemCall:
		return g.make("fc_", n)
	}
	return g.make("msg_", n)
}

// BuildResponse is the non-streamed Responses body: the response object
// with the gateway's id, model and times from meta, and "store": false.
// Consecutive text parts form one message item; each thinking part is one
// reasoning item; redacted thinking has no Responses form and is dropped.
func BuildResponse(r *llm.Response, meta llm.Meta) []byte {
	ids := newItemIDs(meta.ID)
	o := object{meta: meta, completedAt: meta.Created}
	o.status, o.incomplete = finalStatus(r.Stop)
	seen := map[string]bool{}
	for _, p := range r.Parts {
		n := len(o.output)
		switch p.Kind {
		case llm.PartText:
			if n > 0 && o.output[n-1].kind == itemMessage {
				o.output[n-1].text = append(o.output[n-1].text, p.Text...)
				continue
			}
			o.output = append(o.output, item{kind: itemMessage, id: ids.make("msg_", n), text: []byte(p.Text)})
		case llm.PartThinking:
			o.output = append(o.output, item{kind: itemReasoning, id: ids.make("rs_", n), text: []byte(p.Text), sig: p.Signature})
		case llm.PartToolCall:
			id := p.ID
			if id == "" {
				id = ids.make("call_", n)
			} else if seen[id] {
				id += "_" + strconv.Itoa(n) // call_ids must be unique in a response
			}
			seen[id] = true
			callID := llm.PackCallID(id, p.Signature)
			o.output = append(o.output, item{kind: itemCall, id: ids.make("fc_", n), callID: callID,
				name: p.Name, text: []byte(p.Arguments)})
		}
	}
	if r.HasUsage {
		o.usage = &r.Usage
	}
	return appendObject(make([]byte, 0, 1024), &o)
}

// finalStatus maps a stop reason to the response status and the reason of
// an incomplete response.
func finalStatus(s llm.StopReason) (status, reason string) {
	switch s {
	case llm.StopLength:
		return "incomplete", "max_output_tokens"
	case llm.StopFilter:
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// appendObject writes the Response object. Request settings the gateway
// does not echo (temperature, tools, ...) get their neutral values.
func appendObject(b []byte, o *object) []byte {
	b = append(b, `{"id":`...)
	b = sse.AppendString(b, o.meta.ID)
	b = append(b, `,"object":"response","created_at":`...)
	b = strconv.AppendInt(b, o.meta.Created, 10)
	b = append(b, `,"status":`...)
	b = sse.AppendString(b, o.status)
	b = append(b, `,"completed_at":`...)
	if o.completedAt != 0 {
		b = strconv.AppendInt(b, o.completedAt, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"error":null,"incomplete_details":`...)
	if o.incomplete != "" {
		b = append(b, `{"reason":`...)
		b = sse.AppendString(b, o.incomplete)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"model":`...)
	b = sse.AppendString(b, o.meta.Model)
	b = append(b, `,"output":[`...)
	for i := range o.output {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, &o.output[i], true)
	}
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"store":false,"temperature":null,`+
		`"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":null,"truncation":"disabled",`+
		`"metadata":{},"usage":`...)
	if o.usage != nil {
		b = appendUsage(b, *o.usage)
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

// appendItem writes an output item, complete (done) or as first announced
// in a stream: no content, no summary, empty arguments, in progress.
func appendItem(b []byte, it *item, done bool) []byte {
	switch it.kind {
	case itemReasoning:
		b = append(b, `{"type":"reasoning","id":`...)
		b = sse.AppendString(b, it.id)
		b = append(b, `,"summary":[`...)
		if done && len(it.text) > 0 {
			b = appendSummaryPart(b, it.text)
		}
		b = append(b, ']')
		if done && it.sig != "" {
			b = append(b, `,"encrypted_content":`...)
			b = sse.AppendString(b, it.sig)
		}
		return append(b, '}')
	case itemCall:
		b = append(b, `{"type":"function_call","id":`...)
		b = sse.AppendString(b, it.id)
		b = append(b, `,"call_id":`...)
		b = sse.AppendString(b, it.callID)
		b = append(b, `,"name":`...)
		b = sse.AppendString(b, it.name)
		b = append(b, `,"arguments":`...)
		if done {
			b = appendArguments(b, it.text)
			return append(b, `,"status":"completed"}`...)
		}
		return append(b, `"","status":"in_progress"}`...)
	}
	b = append(b, `{"type":"message","id":`...)
	b = sse.AppendString(b, it.id)
	if !done {
		return append(b, `,"status":"in_progress","role":"assistant","content":[]}`...)
	}
	b = append(b, `,"status":"completed","role":"assistant","content":[`...)
	b = appendTextPart(b, it.text)
	return append(b, "]}"...)
}

func appendTextPart(b, text []byte) []byte {
	b = append(b, `{"type":"output_text","text":`...)
	b = appendBytes(b, text)
	return append(b, `,"annotations":[],"logprobs":[]}`...)
}

func appendSummaryPart(b, text []byte) []byte {
	b = append(b, `{"type":"summary_text","text":`...)
	b = appendBytes(b, text)
	return append(b, '}')
}

// appendArguments writes a call's arguments; a call without any is given
// "{}" so that clients can always parse them as a JSON object.
func appendArguments(b, args []byte) []byte {
	if len(args) == 0 {
		return append(b, `"{}"`...)
	}
	return appendBytes(b, args)
}

// appendBytes copies s once per finished item, never per token.
func appendBytes(b, s []byte) []byte {
	return sse.AppendString(b, string(s))
}

// appendUsage writes the Responses usage: input_tokens includes cached and
// cache-write tokens, output_tokens includes reasoning tokens.
func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens(), 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedInput, 10)
	b = append(b, `,"cache_write_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWrite, 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens(), 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.Reasoning, 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, u.Total(), 10)
	return append(b, '}')
}
