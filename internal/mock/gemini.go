package mock

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
)

// geminiRequest is a generateContent body (§8.2).
type geminiRequest struct {
	prompt
	thoughts bool // includeThoughts: return the thinking as a thought part
	image    bool // responseModalities has IMAGE: answer with an image too
}

// field returns obj's member name, also accepting its snake_case spelling,
// which the REST API takes as well. For small objects only: each call scans.
func field(obj gjson.Result, camel, snake string) gjson.Result {
	if v := obj.Get(camel); v.Exists() {
		return v
	}
	return obj.Get(snake)
}

// parseGemini reads a generateContent or countTokens body. countTokens may
// wrap the request as {"generateContentRequest":{…}}. Top-level keys are
// matched in both spellings in one pass, since looking up a missing key
// scans the whole body.
func parseGemini(body, model string) (geminiRequest, string) {
	var g geminiRequest
	g.model = model
	if !validJSON(body) {
		return g, "Invalid JSON payload received."
	}
	var contents, tools, toolConfig, genConfig, inner gjson.Result
	collect := func(obj gjson.Result) {
		obj.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "generateContentRequest", "generate_content_request":
				inner = v
			case "contents":
				contents = v
			case "systemInstruction", "system_instruction":
				if n, _ := geminiParts(v.Get("parts")); n > 0 {
					g.words += n
					g.messages++
				}
			case "tools":
				tools = v
			case "toolConfig", "tool_config":
				toolConfig = v
			case "generationConfig", "generation_config":
				genConfig = v
			}
			return true
		})
	}
	collect(gjson.Parse(body))
	if inner.IsObject() {
		g.words, g.messages = 0, 0
		collect(inner)
	}
	if !nonEmptyArray(contents) {
		return g, "* GenerateContentRequest.contents: contents is not specified"
	}
	contents.ForEach(func(_, c gjson.Result) bool {
		g.messages++
		parts := c.Get("parts")
		n, response := geminiParts(parts)
		g.words += n
		g.afterTool = response
		if role := c.Get("role").Str; role == "user" || role == "" {
			g.lastUser = geminiText(parts)
		}
		return true
	})
	g.maxTokens = parseInt(field(genConfig, "maxOutputTokens", "max_output_tokens"))
	field(genConfig, "responseModalities", "response_modalities").ForEach(func(_, m gjson.Result) bool {
		g.image = g.image || strings.EqualFold(m.Str, "IMAGE")
		return !g.image
	})
	if tc := field(genConfig, "thinkingConfig", "thinking_config"); tc.IsObject() {
		budget := field(tc, "thinkingBudget", "thinking_budget")
		g.reasoning = !(budget.Type == gjson.Number && budget.Num == 0)
		g.thoughts = g.reasoning && field(tc, "includeThoughts", "include_thoughts").Type == gjson.True
	}
	tools.ForEach(func(_, t gjson.Result) bool {
		field(t, "functionDeclarations", "function_declarations").ForEach(func(_, fd gjson.Result) bool {
			schema := field(fd, "parametersJsonSchema", "parameters_json_schema")
			if !schema.Exists() {
				schema = fd.Get("parameters")
			}
			if name := fd.Get("name").Str; name != "" {
				g.tools = append(g.tools, toolDef{name: name, schema: schema})
			}
			return true
		})
		return true
	})
	fc := field(toolConfig, "functionCallingConfig", "function_calling_config")
	switch strings.ToUpper(fc.Get("mode").Str) {
	case "ANY":
		g.choice = choiceRequired
		if allowed := field(fc, "allowedFunctionNames", "allowed_function_names").Get("0"); allowed.Type == gjson.String {
			g.choice, g.forced = choiceNamed, allowed.Str
		}
	case "NONE":
		g.choice = choiceNone
	}
	return g, ""
}

// geminiParts counts the words of text parts (not thoughts), function call
// arguments and function responses, and reports whether there was a
// function response.
func geminiParts(parts gjson.Result) (words int, response bool) {
	parts.ForEach(func(_, part gjson.Result) bool {
		var text string
		thought := false
		part.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "text":
				text = v.Str
			case "thought":
				thought = v.Type == gjson.True
			case "functionCall", "function_call":
				words += leafWords(v.Get("args"))
			case "functionResponse", "function_response":
				words += leafWords(v.Get("response"))
				response = true
			}
			return true
		})
		if !thought {
			words += countWords(text)
		}
		return true
	})
	return words, response
}

func geminiText(parts gjson.Result) string {
	var b strings.Builder
	parts.ForEach(func(_, part gjson.Result) bool {
		if t := part.Get("text"); t.Type == gjson.String {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(t.Str)
		}
		return true
	})
	return b.String()
}

// geminiRoute resolves /v1beta/models/{model}[:method].
func geminiRoute(rest string) routeMatch {
	model, method, hasMethod := strings.Cut(rest, ":")
	rt := routeMatch{d: &geminiDialect, method: http.MethodPost, arg: model}
	switch {
	case !hasMethod:
		rt.method, rt.h = http.MethodGet, handleGeminiModels
	case method == "generateContent":
		rt.h = handleGenerate
	case method == "streamGenerateContent":
		rt.h = handleStreamGenerate
	case method == "countTokens":
		rt.h = handleGeminiCount
	default:
		rt.h = nil // an unknown method is an unknown URL
	}
	return rt
}

func handleGenerate(x *exchange, model, body string)       { serveGemini(x, model, body, false) }
func handleStreamGenerate(x *exchange, model, body string) { serveGemini(x, model, body, true) }

func serveGemini(x *exchange, model, body string, stream bool) {
	g, msg := parseGemini(body, model)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	d := parseDirectives(g.lastUser)
	if !x.begin(d) {
		return
	}
	r := x.plan(&g.prompt, d)
	if g.image {
		r.imageReply()
	}
	if stream {
		x.geminiStream(&g, &r)
		return
	}
	b := getBuf()
	b = append(b, `{"candidates":[{"content":{"parts":[`...)
	if g.thoughts {
		b = appendThoughtPart(b, reasoningText)
		b = append(b, ',')
	}
	if r.call != nil {
		b = appendFunctionCall(b, r.call)
	} else {
		b = appendGeminiText(b, r.text)
		if r.usage.image > 0 {
			b = append(b, ',')
			b = appendInlineImage(b)
		}
	}
	b = append(b, `],"role":"model"},"finishReason":`...)
	b = appendString(b, geminiFinish(r.finish))
	b = append(b, `,"index":0}],"usageMetadata":`...)
	b = appendUsageMetadata(b, r.usage)
	b = x.appendGeminiTail(b, g.model)
	x.ok(b, r.usage)
	putBuf(b)
}

// geminiFinish maps a finish; a function call ends with STOP on Gemini.
func geminiFinish(f finish) string {
	if f == finishLength {
		return "MAX_TOKENS"
	}
	return "STOP"
}

func appendGeminiText(b []byte, text string) []byte {
	b = append(b, `{"text":`...)
	b = appendString(b, text)
	return append(b, '}')
}

func appendThoughtPart(b []byte, text string) []byte {
	b = append(b, `{"text":`...)
	b = appendString(b, text)
	return append(b, `,"thought":true}`...)
}

func appendFunctionCall(b []byte, c *toolCall) []byte {
	b = append(b, `{"functionCall":{"name":`...)
	b = appendString(b, c.name)
	b = append(b, `,"args":`...)
	b = append(b, c.args...)
	return append(b, "}}"...)
}

// appendUsageMetadata appends usageMetadata; thoughtsTokenCount and the cache
// figures appear only when non-zero, as proto3 JSON omits zero fields. The
// cached tokens are part of promptTokenCount; Gemini reports no cache writes.
func appendUsageMetadata(b []byte, u usage) []byte {
	b = append(b, `{"promptTokenCount":`...)
	b = appendInt(b, u.prompt)
	if u.cacheRead > 0 {
		b = appendIntField(b, "cachedContentTokenCount", u.cacheRead)
	}
	b = appendIntField(b, "candidatesTokenCount", u.output)
	if u.reasoning > 0 {
		b = appendIntField(b, "thoughtsTokenCount", u.reasoning)
	}
	b = appendIntField(b, "totalTokenCount", u.total())
	b = append(b, `,"promptTokensDetails":[{"modality":"TEXT","tokenCount":`...)
	b = appendInt(b, u.prompt)
	b = append(b, "}]"...)
	if u.cacheRead > 0 {
		b = append(b, `,"cacheTokensDetails":[{"modality":"TEXT","tokenCount":`...)
		b = appendInt(b, u.cacheRead)
		b = append(b, "}]"...)
	}
	if u.image > 0 {
		b = append(b, `,"candidatesTokensDetails":[{"modality":"TEXT","tokenCount":`...)
		b = appendInt(b, u.output-u.image)
		b = append(b, `},{"modality":"IMAGE","tokenCount":`...)
		b = appendInt(b, u.image)
		b = append(b, "}]"...)
	}
	return append(b, '}')
}

func (x *exchange) appendGeminiTail(b []byte, model string) []byte {
	b = appendField(b, "modelVersion", model)
	b = append(b, `,"responseId":"mock-`...)
	b = appendInt(b, int(x.seq))
	return append(b, `"}`...)
}

// geminiStreamer writes one streamGenerateContent response: SSE with
// alt=sse (only `data:` lines, no terminator), otherwise a JSON array of the
// same objects, as the real API does.
type geminiStreamer struct {
	*stream
	sse   bool
	count int
	model string
}

func (gs *geminiStreamer) begin() {
	if gs.sse {
		gs.event("")
	} else {
		gs.buf = gs.buf[:0]
		if gs.count == 0 {
			gs.buf = append(gs.buf, '[')
		} else {
			gs.buf = append(gs.buf, ",\r\n"...)
		}
	}
	gs.count++
	gs.buf = append(gs.buf, `{"candidates":[{"content":{"parts":[`...)
}

// end closes the candidate, adds usage so far and sends.
func (gs *geminiStreamer) end(finishReason string, u usage, content bool) bool {
	gs.buf = append(gs.buf, `],"role":"model"}`...)
	if finishReason != "" {
		gs.buf = appendField(gs.buf, "finishReason", finishReason)
	}
	gs.buf = append(gs.buf, `,"index":0}],"usageMetadata":`...)
	gs.buf = appendUsageMetadata(gs.buf, u)
	gs.buf = gs.x.appendGeminiTail(gs.buf, gs.model)
	if gs.sse {
		gs.buf = append(gs.buf, '\n', '\n')
	}
	if !gs.write() {
		return false
	}
	if content {
		gs.countContent()
	}
	return true
}

func (x *exchange) geminiStream(g *geminiRequest, r *reply) {
	sse := x.r.URL.Query().Get("alt") == "sse"
	ct := "text/event-stream"
	if !sse {
		ct = "application/json"
	}
	gs := &geminiStreamer{stream: newStream(x, ct), sse: sse, model: g.model}
	defer gs.close()
	// Usage is cumulative on every chunk; the thinking is done before the
	// first one.
	so := r.usage.promptOnly()
	so.reasoning = r.usage.reasoning
	if g.thoughts {
		if !gs.pace() {
			return
		}
		gs.begin()
		gs.buf = appendThoughtPart(gs.buf, reasoningText)
		if !gs.end("", so, false) {
			return
		}
	}
	if r.call != nil {
		gs.expect(1)
		if !gs.pace() {
			return
		}
		so.output = r.usage.output
		gs.begin()
		gs.buf = appendFunctionCall(gs.buf, r.call)
		if !gs.end("", so, true) {
			return
		}
	} else {
		images := 0
		if r.usage.image > 0 {
			images = 1
		}
		gs.expect(r.words + images)
		for i := range r.words {
			if !gs.pace() {
				return
			}
			so.output++
			gs.begin()
			gs.buf = append(gs.buf, `{"text":`...)
			gs.buf = append(gs.buf, chunkJSON(i)...)
			gs.buf = append(gs.buf, '}')
			if !gs.end("", so, true) {
				return
			}
		}
		if images > 0 {
			if !gs.pace() {
				return
			}
			so.output, so.image = r.usage.output, r.usage.image
			gs.begin()
			gs.buf = appendInlineImage(gs.buf)
			if !gs.end("", so, true) {
				return
			}
		}
	}
	gs.begin()
	gs.buf = append(gs.buf, `{"text":""}`...)
	if !gs.end(geminiFinish(r.finish), r.usage, false) {
		return
	}
	if !sse {
		gs.buf = append(gs.buf[:0], ']')
		if !gs.write() {
			return
		}
	}
	x.usage, x.completed = r.usage, true
}

func handleGeminiCount(x *exchange, model, body string) {
	g, msg := parseGemini(body, model)
	if msg != "" {
		x.badRequest(msg)
		return
	}
	if !x.begin(directives{}) {
		return
	}
	b := append(getBuf(), `{"totalTokens":`...)
	b = appendInt(b, g.tokens())
	b = append(b, `,"promptTokensDetails":[{"modality":"TEXT","tokenCount":`...)
	b = appendInt(b, g.tokens())
	b = append(b, "}]}"...)
	x.ok(b, usage{})
	putBuf(b)
}

// geminiModels is the catalogue of GET /v1beta/models.
var geminiModels = [][2]string{
	{"gemini-2.5-pro", "Gemini 2.5 Pro"},
	{"gemini-2.5-flash", "Gemini 2.5 Flash"},
	{"gemini-embedding-001", "Gemini Embedding 001"},
}

func appendGeminiModel(b []byte, id, name string) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, "models/"+id)
	b = appendField(b, "version", "001")
	b = appendField(b, "displayName", name)
	return append(b, `,"inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","countTokens"],"thinking":true}`...)
}

func handleGeminiModels(x *exchange, id, _ string) {
	if !x.begin(directives{}) {
		return
	}
	b := getBuf()
	if id != "" {
		b = appendGeminiModel(b, id, id)
	} else {
		b = append(b, `{"models":[`...)
		for i, m := range geminiModels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendGeminiModel(b, m[0], m[1])
		}
		b = append(b, "]}"...)
	}
	x.ok(b, usage{})
	putBuf(b)
}
