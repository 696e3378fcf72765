package responses

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/sjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Wire types of a request to a Responses upstream. Field order is the
// order of the encoded JSON, which keeps golden files stable.
type (
	wireRequest struct {
		Model             string         `json:"model"`
		Instructions      string         `json:"instructions,omitempty"`
		Input             []any          `json:"input"`
		Tools             []wireTool     `json:"tools,omitempty"`
		ToolChoice        any            `json:"tool_choice,omitempty"`
		ParallelToolCalls *bool          `json:"parallel_tool_calls,omitempty"`
		Text              *wireText      `json:"text,omitempty"`
		Reasoning         *wireReasoning `json:"reasoning,omitempty"`
		MaxOutputTokens   int64          `json:"max_output_tokens,omitempty"`
		Temperature       *float64       `json:"temperature,omitempty"`
		TopP              *float64       `json:"top_p,omitempty"`
		SafetyIdentifier  string         `json:"safety_identifier,omitempty"`
		Include           []string       `json:"include,omitempty"`
		Store             bool           `json:"store"`
		Stream            bool           `json:"stream,omitempty"`
	}
	wireTool struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
		// Strict is always sent: the Responses API makes function tools
		// strict when it is omitted, unlike Chat, and most schemas written
		// for other protocols are not strict-compatible.
		Strict bool `json:"strict"`
	}
	wireNamedChoice struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	wireText struct {
		Format wireFormat `json:"format"`
	}
	wireFormat struct {
		Type        string          `json:"type"`
		Name        string          `json:"name,omitempty"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	}
	wireReasoning struct {
		Effort  string `json:"effort,omitempty"`
		Summary string `json:"summary,omitempty"`
	}
	wireMessage struct {
		Type    string `json:"type"`
		Role    string `json:"role"`
		Content []any  `json:"content"`
	}
	wireContent struct {
		Type     string `json:"type"`
		Text     string `json:"text,omitempty"`
		ImageURL string `json:"image_url,omitempty"`
		FileData string `json:"file_data,omitempty"`
		FileURL  string `json:"file_url,omitempty"`
		Filename string `json:"filename,omitempty"`
	}
	wireOutputText struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	wireCall struct {
		Type      string `json:"type"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	wireCallOutput struct {
		Type   string `json:"type"`
		CallID string `json:"call_id"`
		Output any    `json:"output"`
	}
	wireReasoningItem struct {
		Type             string        `json:"type"`
		Summary          []wireSummary `json:"summary"`
		EncryptedContent string        `json:"encrypted_content"`
	}
	wireSummary struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
)

// emptySchema is sent for functions without parameters: the API wants a
// schema object.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// BuildRequest encodes r for a Responses upstream. It always sends
// "store": false: the gateway must not leave conversations behind at the
// provider, so reasoning travels back as encrypted_content instead.
func BuildRequest(r *llm.Request) ([]byte, error) {
	if len(r.Stop) > 0 {
		return nil, invalid("stop", "stop sequences are not supported by this model (it is served through the "+
			"OpenAI Responses API, which has no stop parameter); remove them")
	}
	w := wireRequest{
		Model:             r.Model,
		Instructions:      systemText(r.System),
		Input:             []any{},
		ToolChoice:        toolChoice(r.ToolChoice),
		ParallelToolCalls: r.ParallelToolCalls,
		Text:              textFormat(r.Format),
		Reasoning:         reasoning(r.Reasoning),
		MaxOutputTokens:   r.MaxTokens,
		Temperature:       r.Temperature,
		TopP:              r.TopP,
		SafetyIdentifier:  r.User,
		Stream:            r.Stream,
	}
	for _, t := range r.Tools {
		params := t.Parameters
		if len(params) == 0 || string(params) == "null" {
			params = emptySchema
		}
		w.Tools = append(w.Tools, wireTool{Type: "function", Name: t.Name, Description: t.Description,
			Parameters: params, Strict: t.Strict})
	}
	signed := false
	for _, m := range r.Messages {
		items, s := messageItems(m)
		w.Input = append(w.Input, items...)
		signed = signed || s
	}
	if signed || w.Reasoning != nil && w.Reasoning.Effort != "none" {
		// With store false, encrypted reasoning is the only way to carry it
		// to the next turn; ask for it whenever there is reasoning at all.
		w.Include = []string{"reasoning.encrypted_content"}
	}
	return json.Marshal(w)
}

func systemText(ps []llm.Part) string {
	var texts []string
	for _, p := range ps {
		if p.Kind == llm.PartText && p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n\n")
}

func toolChoice(tc llm.ToolChoice) any {
	switch tc.Mode {
	case llm.ToolNone, llm.ToolRequired:
		return string(tc.Mode)
	case llm.ToolNamed:
		return wireNamedChoice{Type: "function", Name: tc.Name}
	}
	return nil // auto is the default
}

func textFormat(f *llm.Format) *wireText {
	if f == nil {
		return nil
	}
	switch f.Type {
	case llm.FormatJSONObject:
		return &wireText{Format: wireFormat{Type: "json_object"}}
	case llm.FormatJSONSchema:
		name := f.Name
		if name == "" {
			name = "response" // required by the API; other protocols have no name
		}
		strict := f.Strict
		return &wireText{Format: wireFormat{Type: "json_schema", Name: name, Description: f.Description,
			Schema: f.Schema, Strict: &strict}}
	}
	return &wireText{Format: wireFormat{Type: "text"}}
}

// reasoning maps levels directly and budgets through llm.BudgetEffort. A
// client that turned reasoning off without naming a level gets the model's
// default: "none" is refused by older reasoning models.
func reasoning(re *llm.Reasoning) *wireReasoning {
	if re == nil || re.Disabled && re.Effort == "" {
		return nil
	}
	w := wireReasoning{Effort: re.Effort}
	if w.Effort == "" && re.Budget != 0 {
		w.Effort = llm.BudgetEffort(re.Budget)
	}
	if re.Summary && w.Effort != "none" {
		w.Summary = "auto"
	}
	if w == (wireReasoning{}) {
		return nil
	}
	return &w
}

// messageItems turns one turn into input items, keeping the order of its
// parts: runs of content become message items, tool calls, results and
// signed thinking become items of their own. signed reports whether any
// reasoning item was written.
func messageItems(m llm.Message) (items []any, signed bool) {
	var run []any // content of the message item being built
	flush := func() {
		if len(run) > 0 {
			items = append(items, wireMessage{Type: "message", Role: string(m.Role), Content: run})
			run = nil
		}
	}
	for _, p := range m.Parts {
		switch p.Kind {
		case llm.PartToolCall:
			flush()
			args := p.Arguments
			if args == "" {
				args = "{}"
			}
			items = append(items, wireCall{Type: "function_call", CallID: p.ID, Name: p.Name, Arguments: args})
		case llm.PartToolResult:
			flush()
			items = append(items, wireCallOutput{Type: "function_call_output", CallID: p.ID, Output: toolOutput(p.Content)})
		case llm.PartThinking:
			// Without a signature the text came from another provider and
			// cannot be verified, so OpenAI would reject it.
			if p.Signature == "" {
				continue
			}
			flush()
			summary := []wireSummary{}
			if p.Text != "" {
				summary = append(summary, wireSummary{Type: "summary_text", Text: p.Text})
			}
			items = append(items, wireReasoningItem{Type: "reasoning", Summary: summary, EncryptedContent: p.Signature})
			signed = true
		default:
			if c := contentItem(m.Role, p); c != nil {
				run = append(run, c)
			}
		}
	}
	flush()
	return items, signed
}

// contentItem is one part of a message item; nil drops the part: empty
// text, redacted thinking from Anthropic (which OpenAI cannot read), and
// media in assistant turns (assistant messages take only output_text).
func contentItem(role llm.Role, p llm.Part) any {
	if role == llm.RoleAssistant && p.Kind != llm.PartText {
		return nil
	}
	switch p.Kind {
	case llm.PartText:
		if p.Text == "" {
			return nil
		}
		if role == llm.RoleAssistant {
			return wireOutputText{Type: "output_text", Text: p.Text}
		}
		return wireContent{Type: "input_text", Text: p.Text}
	case llm.PartImage:
		u := p.URL
		if u == "" {
			u = llm.DataURL(p.MIME, p.Data)
		}
		return wireContent{Type: "input_image", ImageURL: u}
	case llm.PartFile:
		if p.URL != "" {
			return wireContent{Type: "input_file", FileURL: p.URL, Filename: p.Name}
		}
		name := p.Name
		if name == "" {
			name = "file" // the API requires a filename with file_data
		}
		return wireContent{Type: "input_file", FileData: llm.DataURL(p.MIME, p.Data), Filename: name}
	}
	return nil
}

// toolOutput is the output of a function_call_output: a string when the
// result is text only, else input_text and input_image parts.
func toolOutput(content []llm.Part) any {
	hasImage := false
	for _, p := range content {
		hasImage = hasImage || p.Kind == llm.PartImage
	}
	if !hasImage {
		return llm.Text(content)
	}
	parts := []any{}
	for _, p := range content {
		if c := contentItem(llm.RoleUser, p); c != nil {
			parts = append(parts, c)
		}
	}
	return parts
}

// NoStore sets "store": false in a Responses request forwarded unchanged to
// a Responses upstream (the same-protocol path): the API stores responses
// unless told otherwise, and the gateway promises to keep nothing.
func NoStore(body []byte) ([]byte, error) {
	out, err := sjson.SetBytes(body, "store", false)
	if err != nil {
		return nil, invalid("", "the request body is not valid JSON")
	}
	return out, nil
}
