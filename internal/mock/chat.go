package mock

import (
	"github.com/tidwall/gjson"
)

// chatRequest is a Chat Completions request, OpenAI's or Ark's.
type chatRequest struct {
	prompt
	includeUsage bool // a final choices:[] chunk carries the usage
	chunkUsage   bool // Ark: cumulative usage on every chunk
}

const badJSON = "We could not parse the JSON body of your request. Make sure it is a valid JSON object."

// parseChat reads a Chat Completions body. It returns a message for a 400 if
// the body is not a usable request.
func parseChat(body string, ark bool) (chatRequest, string) {
	var c chatRequest
	if !validJSON(body) {
		return c, badJSON
	}
	c.reasoning = ark // Ark's thinking models think unless told not to
	var msgs, tools gjson.Result
	maxTokens, maxCompletion := 0, 0
	gjson.Parse(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			c.model = v.Str
		case "messages":
			msgs = v
		case "stream":
			c.stream = v.Type == gjson.True
		case "stream_options":
			c.includeUsage = v.Get("include_usage").Type == gjson.True
			c.chunkUsage = ark && v.Get("chunk_include_usage").Type == gjson.True
		case "max_tokens":
			maxTokens = parseInt(v)
		case "max_completion_tokens":
			maxCompletion = parseInt(v)
		case "tools":
			tools = v
		case "tool_choice":
			c.choice, c.forced = chatToolChoice(v)
		case "reasoning_effort":
			if !ark {
				c.reasoning = v.Str != "" && v.Str != "none"
			}
		case "thinking":
			if ark {
				c.reasoning = v.Get("type").Str != "disabled"
			}
		}
		return true
	})
	c.maxTokens = maxCompletion
	if c.maxTokens == 0 {
		c.maxTokens = maxTokens
	}
	switch {
	case c.model == "":
		return c, "You must provide a model parameter."
	case !nonEmptyArray(msgs):
		return c, "Missing required parameter: 'messages'."
	}
	if msg := c.readMessages(msgs); msg != "" {
		return c, msg
	}
	tools.ForEach(func(_, t gjson.Result) bool {
		if typ := t.Get("type").Str; typ != "" && typ != "function" {
			return true
		}
		fn := t.Get("function")
		if name := fn.Get("name").Str; name != "" {
			c.tools = append(c.tools, toolDef{name: name, schema: fn.Get("parameters")})
		}
		return true
	})
	return c, ""
}

func (c *chatRequest) readMessages(msgs gjson.Result) string {
	var bad string
	var last string
	msgs.ForEach(func(_, m gjson.Result) bool {
		role := m.Get("role")
		if !m.IsObject() || role.Type != gjson.String {
			bad = "Invalid value for 'messages': each message must be an object with a role."
			return false
		}
		c.messages++
		content := m.Get("content")
		c.words += contentWords(content)
		switch role.Str {
		case "user":
			c.lastUser = textOf(content)
		case "assistant":
			m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
				c.words += argWords(tc.Get("function.arguments").Str)
				return true
			})
		}
		last = role.Str
		return true
	})
	c.afterTool = last == "tool" || last == "function"
	return bad
}

// chatToolChoice reads "none" | "auto" | "required" | {"type":"function",
// "function":{"name"}} | {"type":"allowed_tools",...}.
func chatToolChoice(v gjson.Result) (toolChoice, string) {
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
		return choiceNamed, v.Get("function.name").Str
	case "allowed_tools":
		if v.Get("allowed_tools.mode").Str == "required" {
			return choiceRequired, ""
		}
	}
	return choiceAuto, ""
}

func handleChat(x *exchange, _, body string)    { serveChat(x, body, false) }
func handleArkChat(x *exchange, _, body string) { serveChat(x, body, true) }

func serveChat(x *exchange, body string, ark bool) {
	c, msg := parseChat(body, ark)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	d := parseDirectives(c.lastUser)
	if !x.begin(d) {
		return
	}
	r := x.plan(&c.prompt, d)
	if c.stream {
		x.chatStream(&c, &r, ark)
	} else {
		x.chatJSON(&c, &r, ark)
	}
}

func chatFinish(f finish) string {
	switch f {
	case finishLength:
		return "length"
	case finishTool:
		return "tool_calls"
	}
	return "stop"
}

// appendChatHead appends the fields every chat body and chunk starts with.
func (x *exchange) appendChatHead(b []byte, object, model string) []byte {
	b = append(b, `{"id":"chatcmpl-mock-`...)
	b = appendInt(b, int(x.seq))
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = appendInt(b, int(x.now().Unix()))
	b = appendField(b, "model", model)
	return append(b, `,"system_fingerprint":"fp_mock","service_tier":"default"`...)
}

func appendChatUsage(b []byte, u usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, u.prompt)
	b = appendIntField(b, "completion_tokens", u.completion())
	b = appendIntField(b, "total_tokens", u.total())
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.cacheRead)
	if u.cacheWrite > 0 {
		b = appendIntField(b, "cache_write_tokens", u.cacheWrite)
	}
	b = append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, u.reasoning)
	return append(b, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

func (x *exchange) chatJSON(c *chatRequest, r *reply, ark bool) {
	b := getBuf()
	b = x.appendChatHead(b, "chat.completion", c.model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if r.call != nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, r.text)
	}
	if ark && c.reasoning {
		b = appendField(b, "reasoning_content", reasoningText)
	}
	b = append(b, `,"refusal":null,"annotations":[]`...)
	if r.call != nil {
		b = append(b, `,"tool_calls":[{"id":"call_mock_`...)
		b = appendInt(b, int(x.seq))
		b = append(b, `","type":"function","function":{"name":`...)
		b = appendString(b, r.call.name)
		b = appendField(b, "arguments", r.call.args)
		b = append(b, "}}]"...)
	}
	b = append(b, `},"logprobs":null`...)
	b = appendField(b, "finish_reason", chatFinish(r.finish))
	b = append(b, `}],"usage":`...)
	b = appendChatUsage(b, r.usage)
	b = append(b, '}')
	x.ok(b, r.usage)
	putBuf(b)
}

// chatStreamer writes the chunks of one streamed chat completion (§2.4).
type chatStreamer struct {
	*stream
	c    *chatRequest
	head []byte // every chunk's opening, up to "choices":[
	so   usage  // the usage so far, for Ark's chunk_include_usage
}

// chunk writes one chunk with a single choice: fill appends the delta and
// the rest of the choice object.
func (cs *chatStreamer) chunk(fill func(b []byte) []byte) {
	cs.event("")
	cs.buf = append(cs.buf, cs.head...)
	cs.buf = append(cs.buf, `{"index":0,"delta":`...)
	cs.buf = fill(cs.buf)
	cs.buf = append(cs.buf, ']')
	switch {
	case cs.c.chunkUsage:
		cs.buf = append(cs.buf, `,"usage":`...)
		cs.buf = appendChatUsage(cs.buf, cs.so)
	case cs.c.includeUsage:
		cs.buf = append(cs.buf, `,"usage":null`...)
	}
	cs.buf = append(cs.buf, '}')
}

const openDelta = `,"logprobs":null,"finish_reason":null}`

func (x *exchange) chatStream(c *chatRequest, r *reply, ark bool) {
	st := newStream(x, "text/event-stream")
	defer st.close()
	cs := &chatStreamer{stream: st, c: c, so: r.usage.promptOnly()}
	cs.head = x.appendChatHead(nil, "chat.completion.chunk", c.model)
	cs.head = append(cs.head, `,"choices":[`...)

	cs.chunk(func(b []byte) []byte {
		if r.call != nil {
			return append(b, `{"role":"assistant","content":null}`+openDelta...)
		}
		return append(b, `{"role":"assistant","content":""}`+openDelta...)
	})
	if !cs.send() {
		return
	}
	if ark && c.reasoning {
		for _, part := range reasoningParts {
			if !cs.pace() {
				return
			}
			cs.so.reasoning += countWords(part)
			cs.chunk(func(b []byte) []byte {
				b = append(b, `{"content":"","reasoning_content":`...)
				b = appendString(b, part)
				return append(b, "}"+openDelta...)
			})
			if !cs.send() {
				return
			}
		}
	}
	cs.so.reasoning = r.usage.reasoning // reasoning_effort without text (OpenAI)
	if !cs.content(r) {
		return
	}
	cs.so.output = r.usage.output
	cs.chunk(func(b []byte) []byte {
		b = append(b, `{},"logprobs":null,"finish_reason":`...)
		b = appendString(b, chatFinish(r.finish))
		return append(b, '}')
	})
	if !cs.send() {
		return
	}
	if c.includeUsage {
		cs.event("")
		cs.buf = append(cs.buf, cs.head...)
		cs.buf = append(cs.buf, `],"usage":`...)
		cs.buf = appendChatUsage(cs.buf, r.usage)
		cs.buf = append(cs.buf, '}')
		if !cs.send() {
			return
		}
	}
	cs.buf = append(cs.buf[:0], "data: [DONE]\n\n"...)
	if cs.write() {
		x.usage, x.completed = r.usage, true
	}
}

// content streams the reply words, or the tool call: its id and name once,
// then the arguments in two fragments.
func (cs *chatStreamer) content(r *reply) bool {
	if r.call == nil {
		cs.expect(r.words)
		for i := range r.words {
			if !cs.pace() {
				return false
			}
			cs.so.output++
			cs.chunk(func(b []byte) []byte {
				b = append(b, `{"content":`...)
				b = append(b, chunkJSON(i)...)
				return append(b, "}"+openDelta...)
			})
			if !cs.sendContent() {
				return false
			}
		}
		return true
	}
	cs.chunk(func(b []byte) []byte {
		b = append(b, `{"tool_calls":[{"index":0,"id":"call_mock_`...)
		b = appendInt(b, int(cs.x.seq))
		b = append(b, `","type":"function","function":{"name":`...)
		b = appendString(b, r.call.name)
		return append(b, `,"arguments":""}}]}`+openDelta...)
	})
	if !cs.send() {
		return false
	}
	cs.expect(2)
	a1, a2 := r.call.argParts()
	for i, part := range [2]string{a1, a2} {
		if !cs.pace() {
			return false
		}
		if i == 1 {
			cs.so.output = r.usage.output
		}
		cs.chunk(func(b []byte) []byte {
			b = append(b, `{"tool_calls":[{"index":0,"function":{"arguments":`...)
			b = appendString(b, part)
			return append(b, "}}]}"+openDelta...)
		})
		if !cs.sendContent() {
			return false
		}
	}
	return true
}
