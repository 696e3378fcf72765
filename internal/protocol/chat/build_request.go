package chat

import (
	"bytes"
	"encoding/json"
	"mime"
	"strings"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Dialect holds the differences between Chat Completions upstreams.
type Dialect struct {
	// LegacyMaxTokens sends max_tokens instead of max_completion_tokens,
	// for providers that predate the rename (Ark, DeepSeek, xAI-style).
	LegacyMaxTokens bool
}

// The wire types fix the member order of the upstream body, which keeps
// goldens stable and prompt caches warm.
type (
	wireRequest struct {
		Model               string          `json:"model"`
		Messages            []wireMessage   `json:"messages"`
		Tools               []wireTool      `json:"tools,omitempty"`
		ToolChoice          any             `json:"tool_choice,omitempty"`
		ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
		MaxCompletionTokens int64           `json:"max_completion_tokens,omitempty"`
		MaxTokens           int64           `json:"max_tokens,omitempty"`
		Temperature         *float64        `json:"temperature,omitempty"`
		TopP                *float64        `json:"top_p,omitempty"`
		FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
		PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
		Seed                *int64          `json:"seed,omitempty"`
		Stop                []string        `json:"stop,omitempty"`
		ResponseFormat      *wireFormat     `json:"response_format,omitempty"`
		ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
		User                string          `json:"user,omitempty"`
		Stream              bool            `json:"stream,omitempty"`
		StreamOptions       *wireStreamOpts `json:"stream_options,omitempty"`
	}
	wireMessage struct {
		Role       string         `json:"role"`
		Content    any            `json:"content"` // string, []wirePart or nil (null)
		ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
		ToolCallID string         `json:"tool_call_id,omitempty"`
	}
	wirePart struct {
		Type     string        `json:"type"`
		Text     *string       `json:"text,omitempty"`
		ImageURL *wireImageURL `json:"image_url,omitempty"`
		File     *wireFile     `json:"file,omitempty"`
	}
	wireImageURL struct {
		URL string `json:"url"`
	}
	wireFile struct {
		Filename string `json:"filename"`
		FileData string `json:"file_data"`
	}
	wireToolCall struct {
		ID       string       `json:"id"`
		Type     string       `json:"type"`
		Function wireFunction `json:"function"`
	}
	wireFunction struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	wireTool struct {
		Type     string        `json:"type"`
		Function wireToolFuncs `json:"function"`
	}
	wireToolFuncs struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      bool            `json:"strict,omitempty"`
	}
	wireNamedChoice struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	wireFormat struct {
		Type       string          `json:"type"`
		JSONSchema *wireJSONSchema `json:"json_schema,omitempty"`
	}
	wireJSONSchema struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema,omitempty"`
		Strict      bool            `json:"strict,omitempty"`
	}
	wireStreamOpts struct {
		IncludeUsage bool `json:"include_usage"`
	}
)

// emptySchema is sent for a function without parameters: some
// OpenAI-compatible servers reject a tool whose parameters are missing.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// BuildRequest encodes r for a Chat Completions upstream.
func BuildRequest(r *llm.Request, d Dialect) ([]byte, error) {
	w := wireRequest{
		Model: r.Model, Temperature: r.Temperature, TopP: r.TopP, Seed: r.Seed, Stop: r.Stop,
		FrequencyPenalty: r.FrequencyPenalty, PresencePenalty: r.PresencePenalty, User: r.User,
		ReasoningEffort: reasoningEffort(r.Reasoning), ResponseFormat: responseFormat(r.Format),
	}
	if d.LegacyMaxTokens {
		w.MaxTokens = r.MaxTokens
	} else {
		w.MaxCompletionTokens = r.MaxTokens
	}
	if r.Stream {
		// Always: the gateway meters every stream, whatever the client asked.
		w.Stream, w.StreamOptions = true, &wireStreamOpts{IncludeUsage: true}
	}
	var err error
	if w.Messages, err = buildMessages(r); err != nil {
		return nil, err
	}
	buildTools(&w, r)
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // prompts are full of < and >; keep them readable
	if err := enc.Encode(w); err != nil {
		// Only raw JSON from the client (schemas) can fail to encode.
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_request", Cause: err,
			Message: "a tool's parameters or the response schema is not valid JSON"}
	}
	return bytes.TrimSuffix(body.Bytes(), []byte("\n")), nil
}

// buildTools sets tools and, only alongside them, tool_choice and
// parallel_tool_calls: OpenAI rejects either without tools.
func buildTools(w *wireRequest, r *llm.Request) {
	if len(r.Tools) == 0 {
		return
	}
	for _, t := range r.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = emptySchema
		}
		w.Tools = append(w.Tools, wireTool{Type: "function", Function: wireToolFuncs{
			Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict}})
	}
	switch r.ToolChoice.Mode {
	case llm.ToolNone, llm.ToolRequired:
		w.ToolChoice = string(r.ToolChoice.Mode)
	case llm.ToolNamed:
		c := wireNamedChoice{Type: "function"}
		c.Function.Name = r.ToolChoice.Name
		w.ToolChoice = c
	}
	w.ParallelToolCalls = r.ParallelToolCalls
}

// reasoningEffort: a budget becomes the nearest effort level; Disabled and
// "no preference" send nothing, leaving the model's default.
func reasoningEffort(r *llm.Reasoning) string {
	switch {
	case r == nil || r.Disabled:
		return ""
	case r.Effort != "":
		return r.Effort
	case r.Budget != 0:
		return llm.BudgetEffort(r.Budget)
	}
	return ""
}

func responseFormat(f *llm.Format) *wireFormat {
	if f == nil {
		return nil
	}
	if f.Type != llm.FormatJSONSchema {
		return &wireFormat{Type: string(f.Type)}
	}
	name := f.Name
	if name == "" {
		name = "response" // OpenAI requires one
	}
	return &wireFormat{Type: "json_schema", JSONSchema: &wireJSONSchema{
		Name: name, Description: f.Description, Schema: f.Schema, Strict: f.Strict}}
}

func buildMessages(r *llm.Request) ([]wireMessage, error) {
	out := []wireMessage{} // never null, even for an empty conversation
	if sys := systemText(r.System); sys != "" {
		out = append(out, wireMessage{Role: "system", Content: sys})
	}
	for i, m := range r.Messages {
		var err error
		if m.Role == llm.RoleAssistant {
			out = appendAssistant(out, m)
		} else if out, err = appendUser(out, m, i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// systemText joins every system part into the one system message that all
// Chat upstreams accept (some reject several, or one with parts).
func systemText(parts []llm.Part) string {
	var texts []string
	for _, p := range parts {
		if p.Kind == llm.PartText && p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n\n")
}

// appendUser writes the tool results of a user turn first, one tool message
// each, because they must follow the assistant's calls directly; the rest
// of the turn becomes a user message after them.
func appendUser(out []wireMessage, m llm.Message, i int) ([]wireMessage, error) {
	var parts []wirePart
	for j, p := range m.Parts {
		switch p.Kind {
		case llm.PartToolResult:
			// Tool messages carry text only: images in results are dropped.
			out = append(out, wireMessage{Role: "tool", ToolCallID: p.ID, Content: llm.Text(p.Content)})
		case llm.PartText, llm.PartImage, llm.PartFile:
			wp, err := userPart(p, i, j)
			if err != nil {
				return nil, err
			}
			parts = append(parts, wp)
		}
	}
	switch {
	case len(parts) == 1 && parts[0].Type == "text":
		out = append(out, wireMessage{Role: "user", Content: *parts[0].Text})
	case len(parts) > 0:
		out = append(out, wireMessage{Role: "user", Content: parts})
	}
	return out, nil
}

func userPart(p llm.Part, i, j int) (wirePart, error) {
	switch p.Kind {
	case llm.PartText:
		return wirePart{Type: "text", Text: &p.Text}, nil
	case llm.PartImage:
		u := p.URL
		if p.Data != "" {
			u = llm.DataURL(p.MIME, p.Data)
		}
		if u == "" {
			return wirePart{}, partError(i, j, "an image part has neither data nor a URL")
		}
		return wirePart{Type: "image_url", ImageURL: &wireImageURL{URL: u}}, nil
	}
	data := p.URL
	if p.Data != "" {
		data = llm.DataURL(p.MIME, p.Data)
	}
	if !strings.HasPrefix(data, "data:") {
		return wirePart{}, partError(i, j, "Chat Completions upstreams take files inline only; a file given by URL cannot be sent")
	}
	return wirePart{Type: "file", File: &wireFile{Filename: fileName(p), FileData: data}}, nil
}

// fileName: OpenAI rejects file_data without a filename.
func fileName(p llm.Part) string {
	if p.Name != "" {
		return p.Name
	}
	mt := p.MIME
	if mt == "" {
		mt, _, _ = llm.ParseDataURL(p.URL)
	}
	if ext, ok := fileExts[mt]; ok {
		return "document" + ext
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return "document" + exts[0]
	}
	return "document"
}

// fileExts are the usual extensions where mime's first pick is odd
// (text/plain would be ".asc").
var fileExts = map[string]string{
	"application/pdf": ".pdf", "text/plain": ".txt", "text/markdown": ".md", "text/csv": ".csv",
	"text/html": ".html", "application/json": ".json",
}

func partError(i, j int, msg string) *llm.Error {
	return invalid(index(index("messages", i)+".content", j), msg)
}

// appendAssistant drops thinking: OpenAI rejects it in history and
// DeepSeek requires its absence. A turn of thinking alone is left out, as
// Chat has no empty assistant message.
func appendAssistant(out []wireMessage, m llm.Message) []wireMessage {
	var content strings.Builder
	var calls []wireToolCall
	hasText := false
	for _, p := range m.Parts {
		switch p.Kind {
		case llm.PartText:
			content.WriteString(p.Text)
			hasText = hasText || p.Text != ""
		case llm.PartToolCall:
			args := p.Arguments
			if args == "" {
				args = "{}"
			}
			calls = append(calls, wireToolCall{ID: p.ID, Type: "function",
				Function: wireFunction{Name: p.Name, Arguments: args}})
		}
	}
	if !hasText && len(calls) == 0 {
		return out
	}
	msg := wireMessage{Role: "assistant", ToolCalls: calls}
	if hasText {
		msg.Content = content.String()
	}
	return append(out, msg)
}
