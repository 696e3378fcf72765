package anthropic

import (
	"encoding/json"
	"strings"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// The wire types of an upstream Messages request. Content blocks are one
// struct per type so that each marshals exactly the fields its type has
// (a thinking block always has "thinking", even empty; a text block never
// has "signature").
type (
	wireRequest struct {
		Model         string            `json:"model"`
		MaxTokens     int64             `json:"max_tokens"`
		System        any               `json:"system,omitempty"` // string or []textBlock
		Messages      []wireMessage     `json:"messages"`
		Tools         []wireTool        `json:"tools,omitempty"`
		ToolChoice    *wireToolChoice   `json:"tool_choice,omitempty"`
		Thinking      *wireThinking     `json:"thinking,omitempty"`
		OutputConfig  *wireOutputConfig `json:"output_config,omitempty"`
		Temperature   *float64          `json:"temperature,omitempty"`
		TopP          *float64          `json:"top_p,omitempty"`
		TopK          *int64            `json:"top_k,omitempty"`
		StopSequences []string          `json:"stop_sequences,omitempty"`
		Metadata      *wireMetadata     `json:"metadata,omitempty"`
		Stream        bool              `json:"stream,omitempty"`
	}
	wireMessage struct {
		Role    string `json:"role"`
		Content []any  `json:"content"`
	}
	wireTool struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"input_schema"`
		Strict      bool            `json:"strict,omitempty"`
	}
	wireToolChoice struct {
		Type                   string `json:"type"`
		Name                   string `json:"name,omitempty"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
	}
	wireThinking struct {
		Type         string `json:"type"`
		BudgetTokens int64  `json:"budget_tokens"`
	}
	wireOutputConfig struct {
		Format wireFormat `json:"format"`
	}
	wireFormat struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	}
	wireMetadata struct {
		UserID string `json:"user_id"`
	}

	textBlock struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	sourceBlock struct { // image and document
		Type   string     `json:"type"`
		Source wireSource `json:"source"`
		Title  string     `json:"title,omitempty"`
	}
	wireSource struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type,omitempty"`
		Data      string `json:"data,omitempty"`
		URL       string `json:"url,omitempty"`
	}
	toolUseBlock struct {
		Type  string          `json:"type"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	}
	toolResultBlock struct {
		Type      string `json:"type"`
		ToolUseID string `json:"tool_use_id"`
		Content   []any  `json:"content,omitempty"`
		IsError   bool   `json:"is_error,omitempty"`
	}
	thinkingBlock struct {
		Type      string `json:"type"`
		Thinking  string `json:"thinking"`
		Signature string `json:"signature"`
	}
	redactedBlock struct {
		Type string `json:"type"`
		Data string `json:"data"`
	}
)

const (
	// defaultMaxTokens is sent when the client set no limit: the Messages
	// API requires one (LiteLLM and one-api use the same default).
	defaultMaxTokens = 4096
	// minThinkingBudget is the smallest budget_tokens the API accepts.
	minThinkingBudget = 1024
	// maxThinkingBudget is far above any model's output limit; it only
	// keeps budget+defaultMaxTokens from overflowing.
	maxThinkingBudget = 1 << 31
	// continuation opens a conversation that starts with the assistant:
	// the Messages API wants a user turn first.
	continuation = "(conversation continues)"
	// jsonInstruction stands in for JSON mode, which the Messages API lacks.
	jsonInstruction = "Respond only with a valid JSON object."
)

// BuildRequest encodes r for an Anthropic upstream (r.Model is already the
// upstream's name). Input it cannot represent is a KindInvalid error.
func BuildRequest(r *llm.Request) ([]byte, error) {
	w, err := buildRequest(r)
	if err != nil {
		return nil, err
	}
	b, merr := json.Marshal(w)
	if merr != nil {
		return nil, &llm.Error{Kind: llm.KindInvalid, Code: "invalid_request",
			Message: "the request cannot be encoded for this model", Cause: merr}
	}
	return b, nil
}

func buildRequest(r *llm.Request) (*wireRequest, *llm.Error) {
	w := &wireRequest{Model: r.Model, MaxTokens: r.MaxTokens, Stream: r.Stream}
	if w.MaxTokens <= 0 {
		w.MaxTokens = defaultMaxTokens
	}
	if r.User != "" {
		w.Metadata = &wireMetadata{UserID: r.User}
	}
	var err *llm.Error
	if w.Messages, err = buildMessages(r.Messages); err != nil {
		return nil, err
	}
	if w.Tools, err = buildTools(r.Tools); err != nil {
		return nil, err
	}
	if len(w.Tools) > 0 {
		w.ToolChoice = buildToolChoice(r.ToolChoice, r.ParallelToolCalls)
	}
	w.System, w.OutputConfig = buildSystemAndFormat(r.System, r.Format)
	buildThinking(w, r.Reasoning)
	buildSampling(w, r)
	return w, nil
}

// buildSystemAndFormat joins the system texts: one string when there is
// one text, text blocks otherwise. JSON mode becomes an instruction
// appended to the system prompt.
func buildSystemAndFormat(sys []llm.Part, f *llm.Format) (any, *wireOutputConfig) {
	var texts []string
	for _, p := range sys {
		if p.Kind == llm.PartText && p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	var oc *wireOutputConfig
	if f != nil {
		switch {
		case f.Type == llm.FormatJSONSchema && len(f.Schema) > 0:
			oc = &wireOutputConfig{Format: wireFormat{Type: "json_schema", Schema: f.Schema}}
		case f.Type == llm.FormatJSONSchema || f.Type == llm.FormatJSONObject:
			texts = append(texts, jsonInstruction)
		}
	}
	switch len(texts) {
	case 0:
		return nil, oc
	case 1:
		return texts[0], oc
	}
	blocks := make([]textBlock, len(texts))
	for i, t := range texts {
		blocks[i] = textBlock{Type: "text", Text: t}
	}
	return blocks, oc
}

// buildThinking turns the reasoning settings into a thinking budget and
// makes the request one the API accepts with thinking on: max_tokens above
// the budget, no sampling parameters, no forced tool choice, and signed
// thinking at the start of the assistant turn that the tool results answer.
// When the last two cannot hold, thinking is left off rather than sending
// a request that is sure to be refused.
func buildThinking(w *wireRequest, rs *llm.Reasoning) {
	budget := thinkingBudget(rs)
	if budget == 0 {
		return
	}
	if w.ToolChoice != nil && (w.ToolChoice.Type == "any" || w.ToolChoice.Type == "tool") {
		return
	}
	if !lastToolTurnSigned(w.Messages) {
		return
	}
	w.Thinking = &wireThinking{Type: "enabled", BudgetTokens: budget}
	if w.MaxTokens <= budget {
		w.MaxTokens = budget + defaultMaxTokens
	}
}

// thinkingBudget is the budget_tokens for rs; 0 leaves thinking off.
func thinkingBudget(rs *llm.Reasoning) int64 {
	var budget int64
	switch {
	case rs == nil || rs.Disabled || rs.Effort == "none":
		return 0
	case rs.Budget > 0:
		budget = rs.Budget
	case rs.Effort != "":
		budget = llm.EffortBudget(rs.Effort)
	case rs.Budget < 0: // dynamic (Gemini): the medium budget
		budget = llm.EffortBudget(llm.BudgetEffort(rs.Budget))
	default:
		return 0
	}
	return min(max(budget, minThinkingBudget), maxThinkingBudget)
}

// lastToolTurnSigned reports whether the last assistant turn, when it
// called tools, starts with a thinking block: with thinking on, the API
// refuses a tool loop whose thinking was lost (a conversation that went
// through a client that drops signatures).
func lastToolTurnSigned(msgs []wireMessage) bool {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != "assistant" {
			continue
		}
		hasTool := false
		for _, b := range msgs[i].Content {
			_, ok := b.(toolUseBlock)
			hasTool = hasTool || ok
		}
		if !hasTool {
			return true
		}
		switch msgs[i].Content[0].(type) {
		case thinkingBlock, redactedBlock:
			return true
		}
		return false
	}
	return true
}

// buildSampling copies the sampling parameters the API accepts. With
// thinking on it requires the defaults, so none is sent. Temperature is
// clamped to the API's 0–1; top_p is dropped next to a temperature because
// current models refuse both at once.
func buildSampling(w *wireRequest, r *llm.Request) {
	for _, s := range r.Stop {
		// The API refuses stop sequences without a visible character.
		if strings.TrimSpace(s) != "" {
			w.StopSequences = append(w.StopSequences, s)
		}
	}
	if w.Thinking != nil {
		return
	}
	if r.Temperature != nil {
		w.Temperature = new(min(max(*r.Temperature, 0), 1))
	} else {
		w.TopP = r.TopP
	}
	w.TopK = r.TopK
}
