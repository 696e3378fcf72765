package mock

import (
	"github.com/tidwall/gjson"
)

// responsesRequest is a Responses API request (§3.2).
type responsesRequest struct {
	prompt
	toolsRaw  string // echoed in the response object
	choiceRaw string
}

func parseResponses(body string) (responsesRequest, string) {
	var q responsesRequest
	if !validJSON(body) {
		return q, badJSON
	}
	var input, tools gjson.Result
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			q.model = v.Str
		case "input":
			input = v
		case "instructions":
			if n := countWords(v.Str); n > 0 {
				q.words += n
				q.messages++
			}
		case "stream":
			q.stream = v.Type == gjson.True
		case "max_output_tokens":
			q.maxTokens = parseInt(v)
		case "tools":
			tools = v
			if v.IsArray() {
				q.toolsRaw = v.Raw
			}
		case "tool_choice":
			if v.Type == gjson.String || v.IsObject() {
				q.choiceRaw = v.Raw
			}
			q.choice, q.forced = responsesToolChoice(v)
		case "reasoning":
			e := v.Get("effort").Str
			q.reasoning = e != "" && e != "none"
		}
		return true
	})
	switch {
	case q.model == "":
		return q, "You must provide a model parameter."
	case input.Type == gjson.String:
		q.words += countWords(input.Str)
		q.messages++
		q.lastUser = input.Str
	case nonEmptyArray(input):
		q.readItems(input)
	default:
		return q, "Missing required parameter: 'input'."
	}
	tools.ForEach(func(_, t gjson.Result) bool {
		if t.Get("type").Str == "function" && t.Get("name").Str != "" {
			q.tools = append(q.tools, toolDef{name: t.Get("name").Str, schema: t.Get("parameters")})
		}
		return true
	})
	return q, ""
}

// readItems counts the input items: messages, function calls fed back and
// their outputs each count as one message.
func (q *responsesRequest) readItems(input gjson.Result) {
	last := ""
	input.ForEach(func(_, item gjson.Result) bool {
		q.messages++
		typ := item.Get("type").Str
		switch {
		case typ == "function_call":
			q.words += argWords(item.Get("arguments").Str)
		case typ == "function_call_output":
			q.words += contentWords(item.Get("output"))
		case typ == "message" || typ == "":
			content := item.Get("content")
			q.words += contentWords(content)
			if item.Get("role").Str == "user" {
				q.lastUser = textOf(content)
			}
		}
		last = typ
		return true
	})
	q.afterTool = last == "function_call_output"
}

// responsesToolChoice reads "none" | "auto" | "required" | {"type":"function",
// "name"} | {"type":"allowed_tools","mode"}.
func responsesToolChoice(v gjson.Result) (toolChoice, string) {
	if v.Type == gjson.String {
		switch v.Str {
		case "none":
			return choiceNone, ""
		case "required":
			return choiceRequired, ""
		}
		return choiceAuto, ""
	}
	switch v.Get("type").Str {
	case "function":
		return choiceNamed, v.Get("name").Str
	case "allowed_tools":
		if v.Get("mode").Str == "required" {
			return choiceRequired, ""
		}
	}
	return choiceAuto, ""
}

func handleResponses(x *exchange, _, body string) {
	q, msg := parseResponses(body)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	d := parseDirectives(q.lastUser)
	if !x.begin(d) {
		return
	}
	r := x.plan(&q.prompt, d)
	if !q.stream {
		b := x.appendResponse(getBuf(), &q, &r, true)
		x.ok(b, r.usage)
		putBuf(b)
		return
	}
	x.responsesStream(&q, &r)
}

// responseStatus is "completed", or "incomplete" when max_output_tokens cut
// the reply short.
func responseStatus(r *reply) string {
	if r.finish == finishLength {
		return "incomplete"
	}
	return "completed"
}

// appendResponse appends the Response object (§3.3): in progress and empty
// when done is false, complete with output and usage when it is true.
func (x *exchange) appendResponse(b []byte, q *responsesRequest, r *reply, done bool) []byte {
	b = append(b, `{"id":"resp_mock_`...)
	b = appendInt(b, int(x.seq))
	b = append(b, `","object":"response","created_at":`...)
	created := int(x.now().Unix())
	b = appendInt(b, created)
	status := "in_progress"
	if done {
		status = responseStatus(r)
	}
	b = appendField(b, "status", status)
	if done && status == "completed" {
		b = appendIntField(b, "completed_at", created)
	}
	b = append(b, `,"background":false,"error":null,"incomplete_details":`...)
	if done && status == "incomplete" {
		b = append(b, `{"reason":"max_output_tokens"}`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":null,"max_output_tokens":`...)
	if q.maxTokens > 0 {
		b = appendInt(b, q.maxTokens)
	} else {
		b = append(b, "null"...)
	}
	b = appendField(b, "model", q.model)
	b = append(b, `,"output":[`...)
	if done {
		b = x.appendOutputItem(b, r, true)
	}
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":`...)
	b = appendRaw(b, q.choiceRaw, `"auto"`)
	b = append(b, `,"tools":`...)
	b = appendRaw(b, q.toolsRaw, "[]")
	b = append(b, `,"top_p":1.0,"truncation":"disabled","usage":`...)
	if done {
		b = append(b, `{"input_tokens":`...)
		b = appendInt(b, r.usage.prompt)
		b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
		b = appendInt(b, r.usage.cacheRead)
		if r.usage.cacheWrite > 0 {
			b = appendIntField(b, "cache_write_tokens", r.usage.cacheWrite)
		}
		b = append(b, `},"output_tokens":`...)
		b = appendInt(b, r.usage.completion())
		b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
		b = appendInt(b, r.usage.reasoning)
		b = append(b, '}')
		b = appendIntField(b, "total_tokens", r.usage.total())
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	return append(b, `,"user":null,"metadata":{}}`...)
}

// appendRaw echoes a request value, compacted so that it cannot break a
// one-line SSE event, or def when the request had none.
func appendRaw(b []byte, raw, def string) []byte {
	if raw == "" {
		return append(b, def...)
	}
	return appendCompact(b, raw)
}

// appendOutputItem appends the one output item: the message, or the function
// call. An item that is not done is empty and in progress.
func (x *exchange) appendOutputItem(b []byte, r *reply, done bool) []byte {
	if r.call != nil {
		b = append(b, `{"id":"fc_mock_`...)
		b = appendInt(b, int(x.seq))
		b = append(b, `","type":"function_call","status":`...)
		args := ""
		if done {
			b = append(b, `"completed"`...)
			args = r.call.args
		} else {
			b = append(b, `"in_progress"`...)
		}
		b = append(b, `,"call_id":"call_mock_`...)
		b = appendInt(b, int(x.seq))
		b = append(b, '"')
		b = appendField(b, "name", r.call.name)
		b = appendField(b, "arguments", args)
		return append(b, '}')
	}
	b = append(b, `{"id":"msg_mock_`...)
	b = appendInt(b, int(x.seq))
	b = append(b, `","type":"message","status":`...)
	if !done {
		return append(b, `"in_progress","role":"assistant","content":[]}`...)
	}
	b = appendString(b, responseStatus(r))
	b = append(b, `,"role":"assistant","content":[`...)
	b = appendTextPart(b, r.text)
	return append(b, "]}"...)
}

func appendTextPart(b []byte, text string) []byte {
	b = append(b, `{"type":"output_text","text":`...)
	b = appendString(b, text)
	return append(b, `,"annotations":[],"logprobs":[]}`...)
}

// responsesStreamer numbers the events of one Responses stream (§3.4).
type responsesStreamer struct {
	*stream
	seq    int
	itemID []byte // `"item_id":"…","output_index":0`
}

// begin starts the event typ, up to its sequence number; the caller appends
// the remaining fields and calls end.
func (rs *responsesStreamer) begin(typ string) {
	rs.event(typ)
	rs.buf = append(rs.buf, `{"type":"`...)
	rs.buf = append(rs.buf, typ...)
	rs.buf = append(rs.buf, `","sequence_number":`...)
	rs.buf = appendInt(rs.buf, rs.seq)
	rs.seq++
}

func (rs *responsesStreamer) item() {
	rs.buf = append(rs.buf, ',')
	rs.buf = append(rs.buf, rs.itemID...)
}

func (rs *responsesStreamer) end() bool {
	rs.buf = append(rs.buf, '}')
	return rs.send()
}

func (x *exchange) responsesStream(q *responsesRequest, r *reply) {
	st := newStream(x, "text/event-stream")
	defer st.close()
	rs := &responsesStreamer{stream: st}
	rs.itemID = append(rs.itemID, `"item_id":"msg_mock_`...)
	if r.call != nil {
		rs.itemID = append(rs.itemID[:0], `"item_id":"fc_mock_`...)
	}
	rs.itemID = appendInt(rs.itemID, int(x.seq))
	rs.itemID = append(rs.itemID, `","output_index":0`...)

	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		rs.begin(typ)
		rs.buf = append(rs.buf, `,"response":`...)
		rs.buf = x.appendResponse(rs.buf, q, r, false)
		if !rs.end() {
			return
		}
	}
	rs.begin("response.output_item.added")
	rs.buf = append(rs.buf, `,"output_index":0,"item":`...)
	rs.buf = x.appendOutputItem(rs.buf, r, false)
	if !rs.end() {
		return
	}
	var ok bool
	if r.call != nil {
		ok = rs.functionCall(r)
	} else {
		ok = rs.text(r)
	}
	if !ok {
		return
	}
	rs.begin("response.output_item.done")
	rs.buf = append(rs.buf, `,"output_index":0,"item":`...)
	rs.buf = x.appendOutputItem(rs.buf, r, true)
	if !rs.end() {
		return
	}
	terminal := "response.completed"
	if r.finish == finishLength {
		terminal = "response.incomplete"
	}
	rs.begin(terminal)
	rs.buf = append(rs.buf, `,"response":`...)
	rs.buf = x.appendResponse(rs.buf, q, r, true)
	if rs.end() {
		x.usage, x.completed = r.usage, true
	}
}

func (rs *responsesStreamer) text(r *reply) bool {
	rs.begin("response.content_part.added")
	rs.item()
	rs.buf = append(rs.buf, `,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`...)
	if !rs.end() {
		return false
	}
	rs.expect(r.words)
	for i := range r.words {
		if !rs.pace() {
			return false
		}
		rs.begin("response.output_text.delta")
		rs.item()
		rs.buf = append(rs.buf, `,"content_index":0,"delta":`...)
		rs.buf = append(rs.buf, chunkJSON(i)...)
		rs.buf = append(rs.buf, `,"logprobs":[]}`...)
		if !rs.sendContent() {
			return false
		}
	}
	rs.begin("response.output_text.done")
	rs.item()
	rs.buf = append(rs.buf, `,"content_index":0`...)
	rs.buf = appendField(rs.buf, "text", r.text)
	rs.buf = append(rs.buf, `,"logprobs":[]`...)
	if !rs.end() {
		return false
	}
	rs.begin("response.content_part.done")
	rs.item()
	rs.buf = append(rs.buf, `,"content_index":0,"part":`...)
	rs.buf = appendTextPart(rs.buf, r.text)
	return rs.end()
}

func (rs *responsesStreamer) functionCall(r *reply) bool {
	rs.expect(2)
	a1, a2 := r.call.argParts()
	for _, part := range [2]string{a1, a2} {
		if !rs.pace() {
			return false
		}
		rs.begin("response.function_call_arguments.delta")
		rs.item()
		rs.buf = appendField(rs.buf, "delta", part)
		rs.buf = append(rs.buf, '}')
		if !rs.sendContent() {
			return false
		}
	}
	rs.begin("response.function_call_arguments.done")
	rs.item()
	rs.buf = appendField(rs.buf, "name", r.call.name)
	rs.buf = appendField(rs.buf, "arguments", r.call.args)
	return rs.end()
}
