package mock

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// prompt is what the mock takes from a request, whatever its protocol. Each
// protocol's parser fills one in a single pass over the body with gjson: no
// reflection, and "string or array of parts" fields need no wrapper types.
type prompt struct {
	model     string
	stream    bool
	words     int    // whitespace-separated words across the request's text
	messages  int    // messages, counting a separate system prompt as one
	lastUser  string // the text of the last user message
	afterTool bool   // the conversation ends with a tool result
	maxTokens int    // the reply limit the request sets, 0 if none
	reasoning bool   // the request asks for thinking / reasoning
	tools     []toolDef
	choice    toolChoice
	forced    string // the tool a named tool choice asks for
}

// tokens is the documented prompt token count.
func (p *prompt) tokens() int { return p.words + p.messages }

// toolChoice is the request's tool_choice, reduced to what decides the reply.
type toolChoice uint8

const (
	choiceAuto toolChoice = iota
	choiceNone
	choiceRequired // any tool
	choiceNamed    // prompt.forced
)

// toolDef is a function tool of the request; schema is its JSON Schema.
type toolDef struct {
	name   string
	schema gjson.Result
}

// finish is why a reply ended, mapped to each protocol's vocabulary.
type finish uint8

const (
	finishStop finish = iota
	finishLength
	finishTool
)

// reply is what the mock answers: either text of n words or one tool call,
// possibly after a fixed piece of reasoning.
type reply struct {
	words  int
	text   string // the words joined by spaces
	finish finish
	call   *toolCall
	usage  usage
}

type toolCall struct {
	name  string
	args  string // a JSON object
	nargs int
}

// argParts splits the arguments in two non-empty pieces on a rune boundary,
// for protocols that stream them.
func (c *toolCall) argParts() (string, string) {
	i := len(c.args) / 2
	for i > 1 && !utf8.RuneStart(c.args[i]) {
		i--
	}
	return c.args[:i], c.args[i:]
}

// usage is a reply's token count in protocol-neutral terms. cacheRead and
// cacheWrite are parts of prompt ([[mock:cache=R,W]]), so their sum never
// exceeds it.
type usage struct {
	prompt     int
	output     int // visible reply tokens: words, or the tool call
	reasoning  int
	cacheRead  int // prompt tokens read from the prompt cache
	cacheWrite int // prompt tokens written to the prompt cache
	image      int // output tokens of a Gemini image, part of output
}

func (u usage) completion() int { return u.output + u.reasoning }
func (u usage) total() int      { return u.prompt + u.output + u.reasoning }

// uncached is the prompt tokens neither read from nor written to the cache
// (Anthropic's input_tokens).
func (u usage) uncached() int { return u.prompt - u.cacheRead - u.cacheWrite }

// promptOnly is u before any output: the usage a stream reports before its
// first token.
func (u usage) promptOnly() usage {
	return usage{prompt: u.prompt, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite}
}

// replyWords is the fixed vocabulary of replies; reply i uses words 0..n-1,
// cycling.
var replyWords = strings.Fields("Tokenhot mock reply: the quick brown fox jumps over the lazy dog " +
	"while every word arrives as one chunk and one token, so counts stay exact and repeatable.")

// wordJSON[i] and spacedJSON[i] are replyWords[i] pre-encoded as JSON
// strings, without and with the leading space of a non-first chunk.
var wordJSON, spacedJSON = encodeWords()

func encodeWords() (plain, spaced [][]byte) {
	for _, w := range replyWords {
		plain = append(plain, appendString(nil, w))
		spaced = append(spaced, appendString(nil, " "+w))
	}
	return plain, spaced
}

// chunkJSON is the JSON string of the i-th content chunk of a text reply.
func chunkJSON(i int) []byte {
	if i == 0 {
		return wordJSON[0]
	}
	return spacedJSON[i%len(replyWords)]
}

// chunkText is the i-th content chunk of a text reply.
func chunkText(i int) string {
	if i == 0 {
		return replyWords[0]
	}
	return " " + replyWords[i%len(replyWords)]
}

// replyText joins the first n reply words.
func replyText(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(chunkText(i))
	}
	return b.String()
}

// reasoningText is the thinking that precedes a reply when the request asks
// for it; it is streamed in the two halves reasoningParts.
const reasoningText = "The user wants a short answer, so I will reply with the usual mock words."

var (
	reasoningWords = countWords(reasoningText)
	reasoningParts = func() [2]string {
		i := strings.Index(reasoningText, " so ")
		return [2]string{reasoningText[:i], reasoningText[i:]}
	}()
)

// thinkingSignature is the opaque signature on Anthropic thinking blocks.
const thinkingSignature = "bW9jay10aGlua2luZy1zaWduYXR1cmU="

// plan decides the reply to p. A tool call is made when the request offers
// tools and its tool choice demands one, or when the last user message
// contains [[mock:tool]] or "weather" and the conversation does not already
// end with a tool result (which would loop an agent forever).
func (x *exchange) plan(p *prompt, d directives) reply {
	var r reply
	if t := pickTool(p, d.tool); t != nil {
		args, n := buildArgs(t.schema)
		r.call = &toolCall{name: t.name, args: args, nargs: n}
		r.finish = finishTool
		r.usage.output = 1 + n
	} else {
		n := x.s.opts.Chunks
		if p.maxTokens > 0 && p.maxTokens < n {
			n, r.finish = p.maxTokens, finishLength
		}
		r.words, r.usage.output = n, n
		if n == x.s.opts.Chunks {
			r.text = x.s.text
		} else {
			r.text = replyText(n)
		}
	}
	if p.reasoning {
		r.usage.reasoning = reasoningWords
	}
	r.usage.prompt = p.tokens()
	// R first, then W from what is left: R+W never exceeds the prompt.
	r.usage.cacheRead = min(d.cacheRead, r.usage.prompt)
	r.usage.cacheWrite = min(d.cacheWrite, r.usage.prompt-r.usage.cacheRead)
	return r
}

func pickTool(p *prompt, forced bool) *toolDef {
	if len(p.tools) == 0 {
		return nil
	}
	switch p.choice {
	case choiceNone:
		return nil
	case choiceRequired:
		return &p.tools[0]
	case choiceNamed:
		for i := range p.tools {
			if p.tools[i].name == p.forced {
				return &p.tools[i]
			}
		}
		return &p.tools[0]
	}
	if p.afterTool {
		return nil
	}
	if forced || containsFold(p.lastUser, "weather") {
		return &p.tools[0]
	}
	return nil
}

// buildArgs makes the arguments of a mock tool call: a JSON object with the
// schema's required properties, strings "mock", numbers 1, booleans true (or
// the first enum value). It returns the object and its number of properties.
func buildArgs(schema gjson.Result) (string, int) {
	req := schema.Get("required")
	if !req.IsArray() {
		return "{}", 0
	}
	props := schema.Get("properties")
	b := []byte{'{'}
	n := 0
	req.ForEach(func(_, name gjson.Result) bool {
		if name.Type != gjson.String {
			return true
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name.Str)
		b = append(b, ':')
		b = appendMockValue(b, property(props, name.Str))
		n++
		return true
	})
	return string(append(b, '}')), n
}

// property finds a property by name without gjson path syntax, which would
// misread names containing dots or wildcards.
func property(props gjson.Result, name string) gjson.Result {
	var out gjson.Result
	props.ForEach(func(k, v gjson.Result) bool {
		if k.Str == name {
			out = v
			return false
		}
		return true
	})
	return out
}

func appendMockValue(b []byte, prop gjson.Result) []byte {
	if e := prop.Get("enum.0"); e.Exists() {
		return appendCompact(b, e.Raw)
	}
	typ := prop.Get("type")
	if typ.IsArray() { // ["string","null"]
		for _, t := range typ.Array() {
			if !strings.EqualFold(t.Str, "null") {
				typ = t
				break
			}
		}
	}
	switch strings.ToLower(typ.Str) {
	case "number", "integer":
		return append(b, '1')
	case "boolean":
		return append(b, "true"...)
	case "array":
		return append(b, "[]"...)
	case "object":
		return append(b, "{}"...)
	case "null":
		return append(b, "null"...)
	}
	return append(b, `"mock"`...)
}

// appendCompact appends the valid JSON raw without the whitespace between
// tokens: arguments are embedded raw in one-line SSE events.
func appendCompact(b []byte, raw string) []byte {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			if c == '\\' && i+1 < len(raw) {
				b = append(b, c)
				i++
				c = raw[i]
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		b = append(b, c)
	}
	return b
}

// countWords counts whitespace-separated words as strings.Fields would,
// without allocating.
func countWords(s string) int {
	n, in := 0, false
	for i := 0; i < len(s); {
		var space bool
		if c := s[i]; c < utf8.RuneSelf {
			space = c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if space {
			in = false
		} else if !in {
			in, n = true, n+1
		}
	}
	return n
}

// leafWords counts the words in every string value inside v (tool-call
// arguments and tool results given as objects).
func leafWords(v gjson.Result) int {
	switch v.Type {
	case gjson.String:
		return countWords(v.Str)
	case gjson.JSON:
		n := 0
		v.ForEach(func(_, e gjson.Result) bool {
			n += leafWords(e)
			return true
		})
		return n
	}
	return 0
}

// argWords counts the words of tool-call arguments sent as a JSON string
// (OpenAI): the string values inside, or the raw words if it is not JSON.
func argWords(args string) int {
	if gjson.Valid(args) {
		return leafWords(gjson.Parse(args))
	}
	return countWords(args)
}

// containsFold reports whether s contains the ASCII word w, ignoring case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

// validJSON checks a request body: JSON, an object, and nested no deeper than
// maxDepth (gjson and leafWords recurse, and a 32 MB "[[[[" must not blow the
// stack).
func validJSON(body string) bool {
	const maxDepth = 256
	depth, inString := 0, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > maxDepth {
				return false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	if !gjson.Valid(body) {
		return false
	}
	return gjson.Parse(body).IsObject()
}

// parseInt reads a JSON number field that should be a non-negative integer.
func parseInt(v gjson.Result) int {
	if v.Type != gjson.Number || v.Num < 0 {
		return 0
	}
	if v.Num > 1<<31 {
		return 1 << 31
	}
	return int(v.Num)
}

// textOf is the text of a content value given as a string or as an array of
// parts with a "text" field (OpenAI, Anthropic, Responses).
func textOf(content gjson.Result) string {
	if content.Type == gjson.String {
		return content.Str
	}
	var b strings.Builder
	content.ForEach(func(_, part gjson.Result) bool {
		if t := part.Get("text"); t.Type == gjson.String && isTextPart(part) {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(t.Str)
		}
		return true
	})
	return b.String()
}

// contentWords counts the words of a content value given as a string or as an
// array of text parts.
func contentWords(content gjson.Result) int {
	if content.Type == gjson.String {
		return countWords(content.Str)
	}
	n := 0
	content.ForEach(func(_, part gjson.Result) bool {
		if t := part.Get("text"); t.Type == gjson.String && isTextPart(part) {
			n += countWords(t.Str)
		}
		return true
	})
	return n
}

func isTextPart(part gjson.Result) bool {
	switch part.Get("type").Str {
	case "text", "input_text", "output_text":
		return true
	}
	return false
}

// nonEmptyArray reports whether v is an array with at least one element,
// without building the array.
func nonEmptyArray(v gjson.Result) bool {
	return v.IsArray() && strings.TrimLeft(v.Raw[1:], " \t\r\n")[0] != ']'
}
