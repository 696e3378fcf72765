package gemini

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// skipSignature is the value Google documents for a replayed function call
// whose real thought signature is unknown (the call came from another
// provider, or from a client that dropped it); Gemini 3 rejects a call
// without any signature.
const skipSignature = "skip_thought_signature_validator"

// maxStopSequences is Gemini's limit on generationConfig.stopSequences.
const maxStopSequences = 5

// The upstream request, in the order Google documents its members.
type (
	wireRequest struct {
		Contents          []wireContent   `json:"contents"`
		SystemInstruction *wireContent    `json:"systemInstruction,omitempty"`
		Tools             []wireTool      `json:"tools,omitempty"`
		ToolConfig        *wireToolConfig `json:"toolConfig,omitempty"`
		GenerationConfig  *wireGenConfig  `json:"generationConfig,omitempty"`
	}
	wireContent struct {
		Role  string     `json:"role,omitempty"`
		Parts []wirePart `json:"parts"`
	}
	wirePart struct {
		Text             string        `json:"text,omitempty"`
		InlineData       *wireBlob     `json:"inlineData,omitempty"`
		FunctionCall     *wireCall     `json:"functionCall,omitempty"`
		FunctionResponse *wireResponse `json:"functionResponse,omitempty"`
		ThoughtSignature string        `json:"thoughtSignature,omitempty"`
	}
	wireBlob struct {
		MIMEType string `json:"mimeType"`
		Data     string `json:"data"`
	}
	wireCall struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	}
	wireResponse struct {
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	}
	wireTool struct {
		FunctionDeclarations []wireFunction `json:"functionDeclarations"`
	}
	wireFunction struct {
		Name                 string          `json:"name"`
		Description          string          `json:"description,omitempty"`
		ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
	}
	wireToolConfig struct {
		FunctionCallingConfig wireCallingConfig `json:"functionCallingConfig"`
	}
	wireCallingConfig struct {
		Mode                 string   `json:"mode"`
		AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
	}
	wireGenConfig struct {
		MaxOutputTokens    int64           `json:"maxOutputTokens,omitempty"`
		Temperature        *float64        `json:"temperature,omitempty"`
		TopP               *float64        `json:"topP,omitempty"`
		TopK               *int64          `json:"topK,omitempty"`
		StopSequences      []string        `json:"stopSequences,omitempty"`
		Seed               *int64          `json:"seed,omitempty"`
		PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
		FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
		ResponseMIMEType   string          `json:"responseMimeType,omitempty"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
		ThinkingConfig     *wireThinking   `json:"thinkingConfig,omitempty"`
	}
	wireThinking struct {
		ThinkingBudget  *int64 `json:"thinkingBudget,omitempty"`
		IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	}
)

// BuildRequest encodes r as a generateContent body for Gemini. The model
// and streaming are in the URL, so r.Model and r.Stream are not written.
func BuildRequest(r *llm.Request) ([]byte, error) {
	w := wireRequest{}
	var err *llm.Error
	if w.Contents, err = buildContents(r); err != nil {
		return nil, err
	}
	w.SystemInstruction = buildSystem(r.System)
	if w.Tools, w.ToolConfig, err = buildTools(r); err != nil {
		return nil, err
	}
	if w.GenerationConfig, err = buildGenConfig(r); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Code: "internal_error", Message: "internal error", Cause: err}
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// buildContents turns messages into contents, merging consecutive turns of
// one role: Gemini rejects some non-alternating histories, and another
// protocol's tool results and the user's next words arrive as two turns.
func buildContents(r *llm.Request) ([]wireContent, *llm.Error) {
	var out []wireContent
	var names map[string]string // call id → function name, built when needed
	for mi, m := range r.Messages {
		role := "user"
		switch m.Role {
		case llm.RoleUser:
		case llm.RoleAssistant:
			role = "model"
		default:
			return nil, invalid(at("messages", mi)+".role", "the role %q cannot be sent to Gemini", m.Role)
		}
		var parts []wirePart
		for pi, p := range m.Parts {
			var err *llm.Error
			if p.Kind == llm.PartToolResult && p.Name == "" && names == nil {
				names = r.ToolNames()
			}
			if parts, err = appendWirePart(parts, p, names, at(at("messages", mi)+".parts", pi)); err != nil {
				return nil, err
			}
		}
		if len(parts) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Parts = append(out[n-1].Parts, parts...)
			continue
		}
		out = append(out, wireContent{Role: role, Parts: parts})
	}
	if len(out) == 0 {
		return nil, invalid("messages", "the request has no content to send")
	}
	if out[0].Role == "model" { // Gemini wants the user to speak first
		out = append([]wireContent{{Role: "user", Parts: []wirePart{{Text: placeholderTurn}}}}, out...)
	}
	return out, nil
}

// placeholderTurn opens a conversation that starts with the model's turn
// (a greeting kept in the history); Gemini rejects empty text.
const placeholderTurn = "..."

// appendWirePart appends what one part becomes. Thinking is dropped: only
// Gemini's own signatures mean anything to it, and those travel on function
// calls.
func appendWirePart(parts []wirePart, p llm.Part, names map[string]string, path string) ([]wirePart, *llm.Error) {
	switch p.Kind {
	case llm.PartText:
		if p.Text != "" { // Gemini rejects empty text parts
			parts = append(parts, wirePart{Text: p.Text})
		}
	case llm.PartImage, llm.PartFile:
		blob, err := buildBlob(p, path)
		if err != nil {
			return nil, err
		}
		parts = append(parts, wirePart{InlineData: blob})
	case llm.PartToolCall:
		call, err := buildCall(p, path)
		if err != nil {
			return nil, err
		}
		sig := p.Signature
		if sig == "" {
			sig = skipSignature
		}
		parts = append(parts, wirePart{FunctionCall: call, ThoughtSignature: sig})
	case llm.PartToolResult:
		return appendToolResult(parts, p, names, path)
	}
	return parts, nil
}

// buildBlob inlines an image or file. Remote URLs are the relay's to fetch
// (it guards against SSRF); Gemini does not fetch arbitrary URLs itself.
func buildBlob(p llm.Part, path string) (*wireBlob, *llm.Error) {
	mime, data := p.MIME, p.Data
	if data == "" {
		if p.URL == "" {
			return nil, invalid(path, "the image or file has no data")
		}
		var ok bool
		var urlMIME string
		if urlMIME, data, ok = llm.ParseDataURL(p.URL); !ok {
			return nil, invalid(path, "image URL must be fetched before encoding")
		}
		if urlMIME != "" {
			mime = urlMIME
		}
	}
	if mime == "" {
		mime = sniffMIME(data)
	}
	if mime == "" {
		return nil, invalid(path, "the MIME type of the image or file is unknown")
	}
	return &wireBlob{MIMEType: mime, Data: data}, nil
}

// sniffMIME guesses a MIME type from the first bytes of base64 data, as
// Gemini requires one and some clients send bare base64.
func sniffMIME(data string) string {
	head := data[:min(len(data), 700)]
	head = head[:len(head)/4*4]
	raw, err := base64.StdEncoding.DecodeString(head)
	if err != nil || len(raw) == 0 {
		return ""
	}
	mime, _, _ := strings.Cut(http.DetectContentType(raw), ";")
	if mime == "application/octet-stream" || strings.HasPrefix(mime, "text/") {
		return ""
	}
	return mime
}

func buildCall(p llm.Part, path string) (*wireCall, *llm.Error) {
	if p.Name == "" {
		return nil, invalid(path, "the tool call has no function name")
	}
	args, ok := argsObject(p.Arguments)
	if !ok {
		return nil, invalid(path, "the arguments of the call to %s are not a JSON object", p.Name)
	}
	return &wireCall{Name: p.Name, Args: args}, nil
}

// argsObject returns tool call arguments as a JSON object ("" means none).
func argsObject(args string) (json.RawMessage, bool) {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage("{}"), true
	}
	if s[0] != '{' || !gjson.Valid(s) {
		return nil, false
	}
	return json.RawMessage(s), true
}

// appendToolResult writes a functionResponse. Gemini wants an object: a
// result that is one already is sent as is, other text is wrapped in
// {"result":...}, and a failure in {"error":...} as Google documents.
// Images of the result follow it as inline parts of the same turn, which
// every Gemini model accepts.
func appendToolResult(parts []wirePart, p llm.Part, names map[string]string, path string) ([]wirePart, *llm.Error) {
	name := p.Name
	if name == "" {
		name = names[p.ID]
	}
	if name == "" {
		return nil, invalid(path, "the tool result %q answers no known function call, and Gemini needs the function's name", p.ID)
	}
	text := llm.Text(p.Content)
	var resp json.RawMessage
	switch obj, isObj := argsObject(text); {
	case p.IsError:
		resp = wrapResult("error", text)
	case isObj && strings.TrimSpace(text) != "":
		resp = obj
	default:
		resp = wrapResult("result", text)
	}
	parts = append(parts, wirePart{FunctionResponse: &wireResponse{Name: name, Response: resp}})
	for i, c := range p.Content {
		if c.Kind != llm.PartImage {
			continue
		}
		blob, err := buildBlob(c, at(path+".content", i))
		if err != nil {
			return nil, err
		}
		parts = append(parts, wirePart{InlineData: blob})
	}
	return parts, nil
}

func wrapResult(key, text string) json.RawMessage {
	v, _ := json.Marshal(map[string]string{key: text})
	return v
}

func buildSystem(system []llm.Part) *wireContent {
	var parts []wirePart
	for _, p := range system {
		if p.Kind == llm.PartText && p.Text != "" {
			parts = append(parts, wirePart{Text: p.Text})
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return &wireContent{Parts: parts}
}

// buildTools puts every function in one Tool. The choice is sent only with
// tools, and AUTO (Gemini's default) not at all.
func buildTools(r *llm.Request) ([]wireTool, *wireToolConfig, *llm.Error) {
	if len(r.Tools) == 0 {
		return nil, nil, nil
	}
	fns := make([]wireFunction, len(r.Tools))
	for i, t := range r.Tools {
		fns[i] = wireFunction{Name: t.Name, Description: t.Description}
		if s := bytes.TrimSpace(t.Parameters); len(s) > 0 && !bytes.Equal(s, []byte("null")) {
			if !json.Valid(s) {
				return nil, nil, invalid(at("tools", i), "the parameters of the tool %s are not valid JSON", t.Name)
			}
			fns[i].ParametersJSONSchema = s
		}
	}
	tools := []wireTool{{FunctionDeclarations: fns}}
	var cc wireCallingConfig
	switch r.ToolChoice.Mode {
	case llm.ToolNone:
		cc.Mode = "NONE"
	case llm.ToolRequired:
		cc.Mode = "ANY"
	case llm.ToolNamed:
		cc.Mode, cc.AllowedFunctionNames = "ANY", []string{r.ToolChoice.Name}
	default:
		return tools, nil, nil
	}
	return tools, &wireToolConfig{FunctionCallingConfig: cc}, nil
}

func buildGenConfig(r *llm.Request) (*wireGenConfig, *llm.Error) {
	if len(r.Stop) > maxStopSequences {
		return nil, invalid("stop", "Gemini accepts at most %d stop sequences, not %d", maxStopSequences, len(r.Stop))
	}
	g := wireGenConfig{
		MaxOutputTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP, TopK: r.TopK,
		StopSequences: r.Stop, Seed: r.Seed,
		PresencePenalty: r.PresencePenalty, FrequencyPenalty: r.FrequencyPenalty,
	}
	if f := r.Format; f != nil {
		switch f.Type {
		case llm.FormatJSONObject:
			g.ResponseMIMEType = "application/json"
		case llm.FormatJSONSchema:
			g.ResponseMIMEType = "application/json"
			if s := bytes.TrimSpace(f.Schema); len(s) > 0 && !bytes.Equal(s, []byte("null")) {
				if !json.Valid(s) {
					return nil, invalid("format", "the response schema is not valid JSON")
				}
				g.ResponseJSONSchema = s
			}
		}
	}
	g.ThinkingConfig = buildThinking(r.Reasoning)
	if g.isZero() {
		return nil, nil
	}
	return &g, nil
}

// buildThinking prefers an explicit budget over an effort level, because
// Gemini itself speaks in budgets.
func buildThinking(rs *llm.Reasoning) *wireThinking {
	if rs == nil {
		return nil
	}
	var t wireThinking
	switch {
	case rs.Disabled || rs.Effort == "none":
		t.ThinkingBudget = new(int64)
	case rs.Budget != 0:
		b := rs.Budget
		t.ThinkingBudget = &b
	case rs.Effort != "":
		b := llm.EffortBudget(rs.Effort)
		t.ThinkingBudget = &b
	}
	t.IncludeThoughts = rs.Summary && (t.ThinkingBudget == nil || *t.ThinkingBudget != 0)
	if t.ThinkingBudget == nil && !t.IncludeThoughts {
		return nil
	}
	return &t
}

func (g *wireGenConfig) isZero() bool {
	return g.MaxOutputTokens == 0 && g.Temperature == nil && g.TopP == nil && g.TopK == nil &&
		len(g.StopSequences) == 0 && g.Seed == nil && g.PresencePenalty == nil &&
		g.FrequencyPenalty == nil && g.ResponseMIMEType == "" && g.ThinkingConfig == nil
}
