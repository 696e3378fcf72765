package mock

import (
	"github.com/tidwall/gjson"
)

// parseMessages reads an Anthropic Messages body (§7.2). countOnly relaxes
// the fields count_tokens does not need.
func parseMessages(body string, countOnly bool) (prompt, string) {
	var p prompt
	if !validJSON(body) {
		return p, "There was an error parsing the body of your request: invalid JSON."
	}
	var msgs, tools gjson.Result
	hasMax := false
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			p.model = v.Str
		case "messages":
			msgs = v
		case "system":
			if n := contentWords(v); n > 0 {
				p.words += n
				p.messages++
			}
		case "max_tokens":
			hasMax = v.Type == gjson.Number
			p.maxTokens = parseInt(v)
		case "stream":
			p.stream = v.Type == gjson.True
		case "tools":
			tools = v
		case "tool_choice":
			p.choice, p.forced = anthropicToolChoice(v)
		case "thinking":
			t := v.Get("type").Str
			p.reasoning = t == "enabled" || t == "adaptive"
		}
		return true
	})
	switch {
	case p.model == "":
		return p, "model: Field required"
	case !hasMax && !countOnly:
		return p, "max_tokens: Field required"
	case !nonEmptyArray(msgs):
		return p, "messages: Field required"
	}
	if msg := p.readAnthropicMessages(msgs); msg != "" {
		return p, msg
	}
	tools.ForEach(func(_, t gjson.Result) bool {
		// Server tools (web_search_…, bash_…) have a versioned type.
		if typ := t.Get("type").Str; typ != "" && typ != "custom" {
			return true
		}
		if name := t.Get("name").Str; name != "" {
			p.tools = append(p.tools, toolDef{name: name, schema: t.Get("input_schema")})
		}
		return true
	})
	return p, ""
}

func (p *prompt) readAnthropicMessages(msgs gjson.Result) string {
	var bad string
	msgs.ForEach(func(_, m gjson.Result) bool {
		role := m.Get("role").Str
		if role != "user" && role != "assistant" {
			bad = "messages: each message must have role \"user\" or \"assistant\""
			return false
		}
		p.messages++
		content := m.Get("content")
		p.afterTool = false
		if content.Type == gjson.String {
			p.words += countWords(content.Str)
		}
		content.ForEach(func(_, block gjson.Result) bool {
			switch block.Get("type").Str {
			case "text":
				p.words += countWords(block.Get("text").Str)
			case "tool_use":
				p.words += leafWords(block.Get("input"))
			case "tool_result":
				p.words += contentWords(block.Get("content"))
				p.afterTool = true
			}
			return true
		})
		if role == "user" {
			p.lastUser = textOf(content)
		}
		return true
	})
	return bad
}

// anthropicToolChoice reads {"type":"auto"|"any"|"tool"|"none","name"}.
func anthropicToolChoice(v gjson.Result) (toolChoice, string) {
	switch v.Get("type").Str {
	case "any":
		return choiceRequired, ""
	case "tool":
		return choiceNamed, v.Get("name").Str
	case "none":
		return choiceNone, ""
	}
	return choiceAuto, ""
}

func handleMessages(x *exchange, _, body string) {
	p, msg := parseMessages(body, false)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	d := parseDirectives(p.lastUser)
	if !x.begin(d) {
		return
	}
	r := x.plan(&p, d)
	if p.stream {
		x.messagesStream(&p, &r)
		return
	}
	b := getBuf()
	b = x.appendMessageHead(b, p.model)
	b = append(b, `"content":[`...)
	n := 0
	if p.reasoning {
		b = append(b, `{"type":"thinking","thinking":`...)
		b = appendString(b, reasoningText)
		b = appendField(b, "signature", thinkingSignature)
		b = append(b, '}')
		n++
	}
	if n > 0 {
		b = append(b, ',')
	}
	if r.call != nil {
		b = x.appendToolUse(b, r.call.name)
		b = append(b, r.call.args...)
		b = append(b, '}')
	} else {
		b = append(b, `{"type":"text","text":`...)
		b = appendString(b, r.text)
		b = append(b, '}')
	}
	b = append(b, `],"stop_reason":`...)
	b = appendString(b, stopReason(r.finish))
	b = append(b, `,"stop_sequence":null,"usage":`...)
	b = appendAnthropicUsage(b, r.usage, r.usage.completion(), true)
	b = append(b, '}')
	x.ok(b, r.usage)
	putBuf(b)
}

func stopReason(f finish) string {
	switch f {
	case finishLength:
		return "max_tokens"
	case finishTool:
		return "tool_use"
	}
	return "end_turn"
}

// appendMessageHead appends the Message fields before content.
func (x *exchange) appendMessageHead(b []byte, model string) []byte {
	b = append(b, `{"id":"msg_mock_`...)
	b = appendInt(b, int(x.seq))
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = appendString(b, model)
	return append(b, ',')
}

// appendToolUse appends a tool_use block up to its input, which the caller
// appends and closes.
func (x *exchange) appendToolUse(b []byte, name string) []byte {
	b = append(b, `{"type":"tool_use","id":"toolu_mock_`...)
	b = appendInt(b, int(x.seq))
	b = append(b, '"')
	b = appendField(b, "name", name)
	return append(b, `,"input":`...)
}

// appendAnthropicUsage appends a usage object whose output_tokens is output.
// input_tokens is the prompt less its cached part; the cache fields are
// always present (zero without [[mock:cache]]), as the real API sends them,
// and cache writes are 5-minute ones.
func appendAnthropicUsage(b []byte, u usage, output int, full bool) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, u.uncached())
	b = appendIntField(b, "cache_creation_input_tokens", u.cacheWrite)
	b = appendIntField(b, "cache_read_input_tokens", u.cacheRead)
	if full {
		b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
		b = appendInt(b, u.cacheWrite)
		b = append(b, `,"ephemeral_1h_input_tokens":0}`...)
	}
	b = appendIntField(b, "output_tokens", output)
	if full {
		b = append(b, `,"service_tier":"standard"`...)
	}
	return append(b, '}')
}

// anthropicStreamer writes one Messages stream (§7.4); index numbers the
// content blocks.
type anthropicStreamer struct {
	*stream
	index int
}

// begin starts the event typ; the caller appends the remaining fields and
// calls end.
func (as *anthropicStreamer) begin(typ string) {
	as.event(typ)
	as.buf = append(as.buf, `{"type":"`...)
	as.buf = append(as.buf, typ...)
	as.buf = append(as.buf, '"')
}

func (as *anthropicStreamer) end() bool {
	as.buf = append(as.buf, '}')
	return as.send()
}

// blockEvent starts a content_block_* event for the current block.
func (as *anthropicStreamer) blockEvent(typ string) {
	as.begin(typ)
	as.buf = appendIntField(as.buf, "index", as.index)
}

// delta writes a content_block_delta of type typ whose one field is value.
func (as *anthropicStreamer) delta(typ, field, value string) {
	as.blockEvent("content_block_delta")
	as.buf = append(as.buf, `,"delta":{"type":"`...)
	as.buf = append(as.buf, typ...)
	as.buf = append(as.buf, '"')
	as.buf = appendField(as.buf, field, value)
	as.buf = append(as.buf, '}')
}

func (as *anthropicStreamer) stopBlock() bool {
	as.blockEvent("content_block_stop")
	ok := as.end()
	as.index++
	return ok
}

func (x *exchange) messagesStream(p *prompt, r *reply) {
	st := newStream(x, "text/event-stream")
	defer st.close()
	as := &anthropicStreamer{stream: st}

	as.begin("message_start")
	as.buf = append(as.buf, `,"message":`...)
	as.buf = x.appendMessageHead(as.buf, p.model)
	as.buf = append(as.buf, `"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	as.buf = appendAnthropicUsage(as.buf, r.usage, 1, true)
	as.buf = append(as.buf, '}')
	if !as.end() {
		return
	}
	as.begin("ping")
	if !as.end() {
		return
	}
	if p.reasoning && !as.thinking() {
		return
	}
	var ok bool
	if r.call != nil {
		ok = as.toolUse(r)
	} else {
		ok = as.text(r)
	}
	if !ok {
		return
	}
	as.begin("message_delta")
	as.buf = append(as.buf, `,"delta":{"stop_reason":`...)
	as.buf = appendString(as.buf, stopReason(r.finish))
	as.buf = append(as.buf, `,"stop_sequence":null},"usage":`...)
	as.buf = appendAnthropicUsage(as.buf, r.usage, r.usage.completion(), false)
	if !as.end() {
		return
	}
	as.begin("message_stop")
	if as.end() {
		x.usage, x.completed = r.usage, true
	}
}

func (as *anthropicStreamer) thinking() bool {
	as.blockEvent("content_block_start")
	as.buf = append(as.buf, `,"content_block":{"type":"thinking","thinking":"","signature":""}`...)
	if !as.end() {
		return false
	}
	for _, part := range reasoningParts {
		if !as.pace() {
			return false
		}
		as.delta("thinking_delta", "thinking", part)
		if !as.end() {
			return false
		}
	}
	as.delta("signature_delta", "signature", thinkingSignature)
	return as.end() && as.stopBlock()
}

func (as *anthropicStreamer) text(r *reply) bool {
	as.blockEvent("content_block_start")
	as.buf = append(as.buf, `,"content_block":{"type":"text","text":""}`...)
	if !as.end() {
		return false
	}
	as.expect(r.words)
	for i := range r.words {
		if !as.pace() {
			return false
		}
		as.blockEvent("content_block_delta")
		as.buf = append(as.buf, `,"delta":{"type":"text_delta","text":`...)
		as.buf = append(as.buf, chunkJSON(i)...)
		as.buf = append(as.buf, "}}"...)
		if !as.sendContent() {
			return false
		}
	}
	return as.stopBlock()
}

// toolUse streams a tool_use block: input {} at the start, then an empty
// input_json_delta as the real API sends, then the arguments in two pieces.
func (as *anthropicStreamer) toolUse(r *reply) bool {
	as.blockEvent("content_block_start")
	as.buf = append(as.buf, `,"content_block":`...)
	as.buf = as.x.appendToolUse(as.buf, r.call.name)
	as.buf = append(as.buf, "{}}"...)
	if !as.end() {
		return false
	}
	as.delta("input_json_delta", "partial_json", "")
	if !as.end() {
		return false
	}
	as.expect(2)
	a1, a2 := r.call.argParts()
	for _, part := range [2]string{a1, a2} {
		if !as.pace() {
			return false
		}
		as.delta("input_json_delta", "partial_json", part)
		as.buf = append(as.buf, '}')
		if !as.sendContent() {
			return false
		}
	}
	return as.stopBlock()
}

// handleCountTokens answers POST /v1/messages/count_tokens with the prompt
// tokens a Messages request would report.
func handleCountTokens(x *exchange, _, body string) {
	p, msg := parseMessages(body, true)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	if !x.begin(directives{}) {
		return
	}
	b := append(getBuf(), `{"input_tokens":`...)
	b = appendInt(b, p.tokens())
	b = append(b, '}')
	x.ok(b, usage{})
	putBuf(b)
}

// anthropicModels is the catalogue of GET /v1/models for Anthropic clients.
var anthropicModels = [][2]string{
	{"claude-opus-4-5", "Claude Opus 4.5"},
	{"claude-sonnet-4-5", "Claude Sonnet 4.5"},
	{"claude-haiku-4-5", "Claude Haiku 4.5"},
}

func appendAnthropicModel(b []byte, id, name string) []byte {
	b = append(b, `{"type":"model","id":`...)
	b = appendString(b, id)
	b = appendField(b, "display_name", name)
	return append(b, `,"created_at":"2025-09-29T00:00:00Z","max_input_tokens":200000,"max_tokens":64000}`...)
}

func handleAnthropicModels(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	b := getBuf()
	if id != "" {
		b = appendAnthropicModel(b, id, id)
	} else {
		b = append(b, `{"data":[`...)
		for i, m := range anthropicModels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAnthropicModel(b, m[0], m[1])
		}
		b = append(b, `],"has_more":false`...)
		b = appendField(b, "first_id", anthropicModels[0][0])
		b = appendField(b, "last_id", anthropicModels[len(anthropicModels)-1][0])
		b = append(b, '}')
	}
	x.ok(b, usage{})
	putBuf(b)
}
