package anthropic

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidwall/sjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// buildMessages encodes the conversation: empty turns are left out,
// consecutive turns of one role are merged, tool results lead their user
// turn (the API wants them before any other content), and a conversation
// that starts with the assistant gets a user turn first.
func buildMessages(msgs []llm.Message) ([]wireMessage, *llm.Error) {
	ids := idMap{}
	var out []wireMessage
	for _, m := range msgs {
		role := "user"
		if m.Role == llm.RoleAssistant {
			role = "assistant"
		}
		blocks, err := buildBlocks(m.Parts, role, &ids)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			continue
		}
		out = append(out, wireMessage{Role: role, Content: blocks})
	}
	if len(out) == 0 {
		return nil, invalid("messages", "at least one message with content is required")
	}
	if out[0].Role == "assistant" {
		out = append([]wireMessage{{Role: "user", Content: []any{textBlock{Type: "text", Text: continuation}}}}, out...)
	}
	for i := range out {
		if out[i].Role == "user" {
			out[i].Content = resultsFirst(out[i].Content)
		}
	}
	return out, nil
}

// resultsFirst moves the tool_result blocks of a user turn ahead of the
// rest, keeping the order within each group.
func resultsFirst(blocks []any) []any {
	sorted := make([]any, 0, len(blocks))
	for _, b := range blocks {
		if _, ok := b.(toolResultBlock); ok {
			sorted = append(sorted, b)
		}
	}
	if len(sorted) == 0 || len(sorted) == len(blocks) {
		return blocks
	}
	for _, b := range blocks {
		if _, ok := b.(toolResultBlock); !ok {
			sorted = append(sorted, b)
		}
	}
	return sorted
}

func buildBlocks(parts []llm.Part, role string, ids *idMap) ([]any, *llm.Error) {
	var blocks []any
	for _, p := range parts {
		var b any
		var err *llm.Error
		switch p.Kind {
		case llm.PartToolCall:
			b, err = toolUse(p, ids)
		case llm.PartToolResult:
			b, err = toolResult(p, ids)
		case llm.PartThinking:
			// Only Anthropic's own signed thinking can go back; thinking from
			// another provider (no signature) is dropped, as is thinking
			// misplaced in a user turn.
			if p.Signature != "" && role == "assistant" {
				b = thinkingBlock{Type: "thinking", Thinking: p.Text, Signature: p.Signature}
			}
		case llm.PartRedactedThinking:
			if role == "assistant" {
				b = redactedBlock{Type: "redacted_thinking", Data: p.Data}
			}
		default:
			b, err = mediaPart(p)
		}
		if err != nil {
			return nil, err
		}
		if b != nil {
			blocks = append(blocks, b)
		}
	}
	return blocks, nil
}

// mediaPart encodes text, image and file parts; nil for empty text, which
// the API refuses.
func mediaPart(p llm.Part) (any, *llm.Error) {
	switch p.Kind {
	case llm.PartText:
		if p.Text == "" {
			return nil, nil
		}
		return textBlock{Type: "text", Text: p.Text}, nil
	case llm.PartImage:
		return imageBlock(p)
	case llm.PartFile:
		return documentBlock(p)
	}
	return nil, nil
}

// imageTypes are the only image types the API accepts.
var imageTypes = map[string]string{
	"image/jpeg": "image/jpeg", "image/jpg": "image/jpeg", "image/png": "image/png",
	"image/gif": "image/gif", "image/webp": "image/webp",
}

func imageBlock(p llm.Part) (any, *llm.Error) {
	mime, data := p.MIME, p.Data
	if p.URL != "" {
		m, d, ok := llm.ParseDataURL(p.URL)
		switch {
		case ok:
			mime, data = m, d
		case strings.HasPrefix(p.URL, "data:"):
			return nil, invalid("", "image data URLs must be base64-encoded")
		default:
			return sourceBlock{Type: "image", Source: wireSource{Type: "url", URL: p.URL}}, nil
		}
	}
	media, ok := imageTypes[strings.ToLower(strings.TrimSpace(mime))]
	if !ok {
		return nil, invalid("", "the image type %q is not supported by this model; use JPEG, PNG, GIF or WebP", mime)
	}
	return sourceBlock{Type: "image", Source: wireSource{Type: "base64", MediaType: media, Data: data}}, nil
}

// documentBlock encodes a file: PDFs as base64 or URL documents, plain
// text as a text document. The API reads no other document type.
func documentBlock(p llm.Part) (any, *llm.Error) {
	mime, data := strings.ToLower(strings.TrimSpace(p.MIME)), p.Data
	if p.URL != "" {
		m, d, ok := llm.ParseDataURL(p.URL)
		if !ok {
			return sourceBlock{Type: "document", Title: p.Name, Source: wireSource{Type: "url", URL: p.URL}}, nil
		}
		mime, data = strings.ToLower(m), d
	}
	if mime == "" && strings.HasPrefix(data, "JVBER") { // "%PDF" in base64
		mime = "application/pdf"
	}
	switch mime {
	case "application/pdf":
		return sourceBlock{Type: "document", Title: p.Name,
			Source: wireSource{Type: "base64", MediaType: mime, Data: data}}, nil
	case "text/plain":
		text, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return nil, invalid("", "the text file %q is not valid base64", p.Name)
		}
		return sourceBlock{Type: "document", Title: p.Name,
			Source: wireSource{Type: "text", MediaType: mime, Data: string(text)}}, nil
	}
	return nil, invalid("", "the file type %q is not supported by this model; use PDF or plain text", p.MIME)
}

// toolUse encodes a call. The Messages API needs its input as a JSON
// object; a Gemini signature on the call has no place here and is dropped.
func toolUse(p llm.Part, ids *idMap) (any, *llm.Error) {
	input, ok := argumentsObject(p.Arguments)
	if !ok {
		return nil, invalid("", "the arguments of the call to tool %q are not a JSON object", p.Name)
	}
	return toolUseBlock{Type: "tool_use", ID: ids.call(p.ID), Name: p.Name, Input: input}, nil
}

// argumentsObject parses tool-call arguments; empty arguments are {}.
func argumentsObject(args string) (json.RawMessage, bool) {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage("{}"), true
	}
	if s[0] != '{' || !json.Valid([]byte(s)) {
		return nil, false
	}
	return json.RawMessage(s), true
}

func toolResult(p llm.Part, ids *idMap) (any, *llm.Error) {
	b := toolResultBlock{Type: "tool_result", ToolUseID: ids.result(p.ID), IsError: p.IsError}
	for _, c := range p.Content {
		cb, err := mediaPart(c)
		if err != nil {
			return nil, err
		}
		if cb != nil {
			b.Content = append(b.Content, cb)
		}
	}
	return b, nil
}

// buildTools encodes tool definitions. input_schema must be an object
// schema: a missing one is the empty object schema, a missing "type" is
// added, and every other key ($defs, enums, ...) is kept.
func buildTools(tools []llm.Tool) ([]wireTool, *llm.Error) {
	out := make([]wireTool, 0, len(tools))
	for _, t := range tools {
		schema, ok := objectSchema(t.Parameters)
		if !ok {
			return nil, invalid("", "the parameters of tool %q must be a JSON Schema object", t.Name)
		}
		out = append(out, wireTool{Name: t.Name, Description: t.Description, InputSchema: schema, Strict: t.Strict})
	}
	return out, nil
}

func objectSchema(raw json.RawMessage) (json.RawMessage, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`), true
	}
	var probe struct {
		Type *string `json:"type"`
	}
	if s[0] != '{' || json.Unmarshal([]byte(s), &probe) != nil {
		return nil, false
	}
	switch {
	case probe.Type == nil:
		s, _ = sjson.Set(s, "type", "object")
	case *probe.Type != "object":
		return nil, false
	}
	return json.RawMessage(s), true
}

func buildToolChoice(tc llm.ToolChoice, parallel *bool) *wireToolChoice {
	c := &wireToolChoice{Type: "auto"}
	switch tc.Mode {
	case llm.ToolNone:
		return &wireToolChoice{Type: "none"}
	case llm.ToolRequired:
		c.Type = "any"
	case llm.ToolNamed:
		c.Type, c.Name = "tool", tc.Name
	}
	c.DisableParallelToolUse = parallel != nil && !*parallel
	if c.Type == "auto" && !c.DisableParallelToolUse {
		return nil // the API's default
	}
	return c
}

// idMap rewrites tool-call ids into the form the API requires
// (^[a-zA-Z0-9_-]+$), the same way for a call and its result. Foreign ids
// are cleaned and suffixed with a hash so that two cannot collide; empty
// ids, which cannot be matched by value, are paired by their order.
type idMap struct {
	calls, results int
}

func (m *idMap) call(id string) string {
	if id == "" {
		m.calls++
		return "toolu_anon_" + strconv.Itoa(m.calls)
	}
	return cleanID(id)
}

func (m *idMap) result(id string) string {
	if id == "" {
		m.results++
		return "toolu_anon_" + strconv.Itoa(m.results)
	}
	return cleanID(id)
}

func cleanID(id string) string {
	clean := true
	for i := 0; i < len(id) && clean; i++ {
		clean = idChar(id[i])
	}
	if clean {
		return id
	}
	b := []byte(id)
	for i, c := range b {
		if !idChar(c) {
			b[i] = '_'
		}
	}
	sum := sha256.Sum256([]byte(id))
	return string(b) + "_" + hex.EncodeToString(sum[:4])
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
