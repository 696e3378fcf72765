package responses

import (
	"fmt"
	"path"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// conversation collects input items into turns: adjacent items of the same
// role (assistant messages, function calls and reasoning; user messages and
// function call outputs) merge into one turn, as Anthropic and Gemini want.
type conversation struct {
	system []llm.Part
	msgs   []llm.Message
	names  map[string]string // tool call id → function name
}

func (c *conversation) add(role llm.Role, parts ...llm.Part) {
	if len(parts) == 0 {
		return
	}
	if n := len(c.msgs); n > 0 && c.msgs[n-1].Role == role {
		c.msgs[n-1].Parts = append(c.msgs[n-1].Parts, parts...)
		return
	}
	c.msgs = append(c.msgs, llm.Message{Role: role, Parts: parts})
}

// parseInput reads instructions and input; instructions come first in the
// system prompt, then every system and developer message in order.
func parseInput(root gjson.Result, r *llm.Request) error {
	c := &conversation{names: map[string]string{}}
	instr, err := optString(root.Get("instructions"), "instructions")
	if err != nil {
		return err
	}
	if instr != "" {
		c.system = append(c.system, llm.Part{Kind: llm.PartText, Text: instr})
	}
	in := root.Get("input")
	switch {
	case in.Type == gjson.String:
		c.add(llm.RoleUser, textParts(in.Str)...)
	case in.IsArray():
		for i, item := range in.Array() {
			if err := c.item(item, fmt.Sprintf("input[%d]", i)); err != nil {
				return err
			}
		}
	case !isSet(in):
		return invalid("input", "input is required: a string or an array of input items")
	default:
		return invalid("input", "input must be a string or an array of input items")
	}
	if len(c.msgs) == 0 {
		return invalid("input", "input must contain at least one non-empty user or assistant item")
	}
	r.System, r.Messages = c.system, c.msgs
	return nil
}

func (c *conversation) item(item gjson.Result, p string) error {
	if !item.IsObject() {
		return invalid(p, "%s must be an object", p)
	}
	typ := item.Get("type")
	if !isSet(typ) && item.Get("role").Exists() {
		return c.message(item, p) // EasyInputMessage: the type may be omitted
	}
	switch typ.String() {
	case "message":
		return c.message(item, p)
	case "function_call":
		return c.functionCall(item, p)
	case "function_call_output":
		return c.functionCallOutput(item, p)
	case "reasoning":
		return c.reasoning(item, p)
	}
	return invalid(p, "input item type %q is not supported", typ.String())
}

func (c *conversation) message(item gjson.Result, p string) error {
	role := item.Get("role").String()
	content := item.Get("content")
	switch role {
	case "system", "developer":
		parts, err := contentParts(content, p+".content", textOnly)
		if err != nil {
			return err
		}
		c.system = append(c.system, parts...)
	case "user":
		parts, err := contentParts(content, p+".content", userPart)
		if err != nil {
			return err
		}
		c.add(llm.RoleUser, parts...)
	case "assistant":
		parts, err := contentParts(content, p+".content", assistantPart)
		if err != nil {
			return err
		}
		c.add(llm.RoleAssistant, parts...)
	default:
		return invalid(p+".role", "%s.role must be \"user\", \"assistant\", \"system\" or \"developer\"; got %q", p, role)
	}
	return nil
}

func (c *conversation) functionCall(item gjson.Result, p string) error {
	callID := item.Get("call_id")
	if callID.Type != gjson.String || callID.Str == "" {
		return invalid(p+".call_id", "%s.call_id is required and must be a non-empty string", p)
	}
	name := item.Get("name")
	if name.Type != gjson.String || name.Str == "" {
		return invalid(p+".name", "%s.name is required and must be a non-empty string", p)
	}
	args, err := optString(item.Get("arguments"), p+".arguments")
	if err != nil {
		return err
	}
	id, sig := llm.UnpackCallID(callID.Str)
	c.names[id] = name.Str
	c.add(llm.RoleAssistant, llm.Part{Kind: llm.PartToolCall, ID: id, Name: name.Str, Arguments: args, Signature: sig})
	return nil
}

func (c *conversation) functionCallOutput(item gjson.Result, p string) error {
	callID := item.Get("call_id")
	if callID.Type != gjson.String || callID.Str == "" {
		return invalid(p+".call_id", "%s.call_id is required and must be a non-empty string", p)
	}
	id, _ := llm.UnpackCallID(callID.Str)
	out := item.Get("output")
	var content []llm.Part
	switch {
	case out.Type == gjson.String:
		content = textParts(out.Str)
	case out.IsArray():
		var err error
		if content, err = contentParts(out, p+".output", toolOutputPart); err != nil {
			return err
		}
	default:
		return invalid(p+".output", "%s.output must be a string or an array of content parts", p)
	}
	c.add(llm.RoleUser, llm.Part{Kind: llm.PartToolResult, ID: id, Name: c.names[id], Content: content})
	return nil
}

// reasoning turns a reasoning item back into thinking: its summary is the
// visible text and encrypted_content the signature an upstream needs back.
func (c *conversation) reasoning(item gjson.Result, p string) error {
	text, err := joinTexts(item.Get("summary"), p+".summary", "summary_text")
	if err != nil {
		return err
	}
	if text == "" {
		if text, err = joinTexts(item.Get("content"), p+".content", "reasoning_text"); err != nil {
			return err
		}
	}
	sig, err := optString(item.Get("encrypted_content"), p+".encrypted_content")
	if err != nil {
		return err
	}
	if text != "" || sig != "" {
		c.add(llm.RoleAssistant, llm.Part{Kind: llm.PartThinking, Text: text, Signature: sig})
	}
	return nil
}

// joinTexts joins the texts of parts of type typ with blank lines (the
// summary of one reasoning item comes in several paragraphs).
func joinTexts(parts gjson.Result, p, typ string) (string, error) {
	if !isSet(parts) {
		return "", nil
	}
	if !parts.IsArray() {
		return "", invalid(p, "%s must be an array", p)
	}
	var texts []string
	for i, part := range parts.Array() {
		pp := fmt.Sprintf("%s[%d]", p, i)
		if got := part.Get("type").String(); got != typ {
			return "", invalid(pp+".type", "%s.type must be %q; got %q", pp, typ, got)
		}
		t, err := optString(part.Get("text"), pp+".text")
		if err != nil {
			return "", err
		}
		if t != "" {
			texts = append(texts, t)
		}
	}
	return strings.Join(texts, "\n\n"), nil
}

// partReader converts one content part of a given type; each role accepts
// its own set of part types.
type partReader func(typ string, part gjson.Result, p string) (llm.Part, error)

// contentParts reads message content: a string or an array of parts. Empty
// text is dropped, since Anthropic rejects empty text blocks.
func contentParts(content gjson.Result, p string, read partReader) ([]llm.Part, error) {
	if content.Type == gjson.String {
		return textParts(content.Str), nil
	}
	if !content.IsArray() {
		return nil, invalid(p, "%s must be a string or an array of content parts", p)
	}
	var parts []llm.Part
	for i, part := range content.Array() {
		pp := fmt.Sprintf("%s[%d]", p, i)
		if !part.IsObject() {
			return nil, invalid(pp, "%s must be an object", pp)
		}
		got, err := read(part.Get("type").String(), part, pp)
		if err != nil {
			return nil, err
		}
		if got.Kind == llm.PartText && got.Text == "" {
			continue
		}
		parts = append(parts, got)
	}
	return parts, nil
}

func textParts(s string) []llm.Part {
	if s == "" {
		return nil
	}
	return []llm.Part{{Kind: llm.PartText, Text: s}}
}

func readText(part gjson.Result, p string) (llm.Part, error) {
	t := part.Get("text")
	if t.Type != gjson.String {
		return llm.Part{}, invalid(p+".text", "%s.text must be a string", p)
	}
	return llm.Part{Kind: llm.PartText, Text: t.Str}, nil
}

func textOnly(typ string, part gjson.Result, p string) (llm.Part, error) {
	if typ == "input_text" {
		return readText(part, p)
	}
	return llm.Part{}, invalid(p+".type", "system and developer messages may contain only input_text parts; got %q", typ)
}

func userPart(typ string, part gjson.Result, p string) (llm.Part, error) {
	switch typ {
	case "input_text":
		return readText(part, p)
	case "input_image":
		return readImage(part, p)
	case "input_file":
		return readFile(part, p)
	case "input_audio":
		return llm.Part{}, invalid(p+".type", "audio input is not supported for this model")
	}
	return llm.Part{}, invalid(p+".type", "the content part type %q is not supported in user messages", typ)
}

func assistantPart(typ string, part gjson.Result, p string) (llm.Part, error) {
	switch typ {
	case "output_text", "input_text":
		return readText(part, p)
	case "refusal":
		r := part.Get("refusal")
		if r.Type != gjson.String {
			return llm.Part{}, invalid(p+".refusal", "%s.refusal must be a string", p)
		}
		return llm.Part{Kind: llm.PartText, Text: r.Str}, nil
	}
	return llm.Part{}, invalid(p+".type", "the content part type %q is not supported in assistant messages", typ)
}

func toolOutputPart(typ string, part gjson.Result, p string) (llm.Part, error) {
	switch typ {
	case "input_text":
		return readText(part, p)
	case "input_image":
		return readImage(part, p)
	}
	return llm.Part{}, invalid(p+".type", "the content part type %q is not supported in function_call_output", typ)
}

func readImage(part gjson.Result, p string) (llm.Part, error) {
	if isSet(part.Get("file_id")) {
		return llm.Part{}, invalid(p+".file_id", "file_id is not supported: this gateway stores no files; "+
			"send image_url with a data: or https: URL")
	}
	u := part.Get("image_url")
	if u.Type != gjson.String || u.Str == "" {
		return llm.Part{}, invalid(p+".image_url", "%s.image_url is required and must be a data: or https: URL", p)
	}
	if strings.HasPrefix(u.Str, "data:") {
		mime, data, ok := llm.ParseDataURL(u.Str)
		if !ok || data == "" {
			return llm.Part{}, invalid(p+".image_url", "%s.image_url must be a base64 data URL (data:<mime>;base64,<data>)", p)
		}
		return llm.Part{Kind: llm.PartImage, MIME: mime, Data: data}, nil
	}
	if !strings.HasPrefix(u.Str, "https://") && !strings.HasPrefix(u.Str, "http://") {
		return llm.Part{}, invalid(p+".image_url", "%s.image_url must be a data: or https: URL", p)
	}
	return llm.Part{Kind: llm.PartImage, URL: u.Str}, nil
}

func readFile(part gjson.Result, p string) (llm.Part, error) {
	for _, f := range []string{"file_id", "file_url"} {
		if isSet(part.Get(f)) {
			return llm.Part{}, invalid(p+"."+f, "input_file with %s is not supported: this gateway fetches and "+
				"stores no files; send file_data (base64) with a filename", f)
		}
	}
	name, err := optString(part.Get("filename"), p+".filename")
	if err != nil {
		return llm.Part{}, err
	}
	data := part.Get("file_data")
	if data.Type != gjson.String || data.Str == "" {
		return llm.Part{}, invalid(p+".file_data", "%s.file_data is required (a base64 data URL or base64 text)", p)
	}
	if mime, b64, ok := llm.ParseDataURL(data.Str); ok {
		return llm.Part{Kind: llm.PartFile, MIME: mime, Data: b64, Name: name}, nil
	}
	if strings.HasPrefix(data.Str, "data:") {
		return llm.Part{}, invalid(p+".file_data", "%s.file_data must be a base64 data URL", p)
	}
	return llm.Part{Kind: llm.PartFile, MIME: mimeByName(name), Data: data.Str, Name: name}, nil
}

// mimeByName guesses the type of bare base64 file data from its name; PDF
// is what models accept in practice.
func mimeByName(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".pdf", "":
		return "application/pdf"
	case ".txt":
		return "text/plain"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	}
	return "application/octet-stream"
}
