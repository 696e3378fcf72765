package llm

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Request is a generation request in provider-neutral form: what a client
// asked for, once its wire format is decoded, and what an upstream encoder
// turns into that upstream's wire format. It is used only when the client's
// protocol and the upstream's differ; same-protocol requests are forwarded
// as raw bytes.
//
// Optional numbers are pointers so that "not set" (let the upstream choose)
// is kept apart from an explicit zero.
type Request struct {
	Model  string
	Stream bool
	// System is the system prompt: every system or developer instruction of
	// the client, in order, as text parts.
	System   []Part
	Messages []Message

	Tools      []Tool
	ToolChoice ToolChoice
	// ParallelToolCalls is false when the client forbade parallel calls.
	ParallelToolCalls *bool

	// MaxTokens bounds the generated tokens (reasoning included); 0 = unset.
	MaxTokens   int64
	Temperature *float64
	TopP        *float64
	TopK        *int64
	Stop        []string
	Seed        *int64

	FrequencyPenalty *float64
	PresencePenalty  *float64

	Format    *Format
	Reasoning *Reasoning
	// User is an end-user identifier for the provider's abuse tracking.
	User string
}

// Role is the author of a message. System instructions are not messages
// (see Request.System); tool results are parts of user messages.
type Role string

const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of the conversation.
type Message struct {
	Role  Role
	Parts []Part
}

// PartKind says which fields of a Part are meaningful.
type PartKind uint8

const (
	// PartText: Text.
	PartText PartKind = iota + 1
	// PartImage: MIME and Data (standard base64), or URL (https or data:).
	PartImage
	// PartFile: a document such as a PDF: MIME, Data (standard base64) or
	// URL, and Name (a file name) when known.
	PartFile
	// PartThinking: the model's visible reasoning in Text and the
	// provider's Signature, which must go back unchanged on later turns.
	PartThinking
	// PartRedactedThinking: encrypted reasoning in Data, opaque.
	PartRedactedThinking
	// PartToolCall: a call by the model: ID, Name, Arguments (JSON object
	// text) and, for Gemini, Signature (its thoughtSignature).
	PartToolCall
	// PartToolResult: the answer to a call: ID (the call's), Name (the
	// called function, when known), Content, IsError.
	PartToolResult
)

// Part is one piece of a message.
type Part struct {
	Kind PartKind
	Text string
	MIME string
	Data string // standard base64 (images, files) or opaque (redacted thinking)
	URL  string
	Name string

	ID        string
	Arguments string
	Signature string

	Content []Part // tool result: text and image parts
	IsError bool
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments (an object schema);
	// nil when the function takes none.
	Parameters json.RawMessage
	Strict     bool
}

// ToolChoiceMode says whether and which tools the model must call.
type ToolChoiceMode string

const (
	ToolAuto     ToolChoiceMode = ""         // the model decides (the default)
	ToolNone     ToolChoiceMode = "none"     // no tool call
	ToolRequired ToolChoiceMode = "required" // at least one tool call
	ToolNamed    ToolChoiceMode = "named"    // a call of ToolChoice.Name
)

// ToolChoice constrains tool calls.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string
}

// FormatType is the kind of structured output asked for.
type FormatType string

const (
	FormatText       FormatType = "text"
	FormatJSONObject FormatType = "json_object"
	FormatJSONSchema FormatType = "json_schema"
)

// Format asks for structured output.
type Format struct {
	Type        FormatType
	Name        string
	Description string
	Schema      json.RawMessage
	Strict      bool
}

// Reasoning configures hidden reasoning. Clients speak either in effort
// levels (OpenAI) or token budgets (Anthropic, Gemini); decoders fill the
// one they were given and encoders convert with EffortBudget/BudgetEffort.
type Reasoning struct {
	// Effort is "none", "minimal", "low", "medium", "high", "xhigh" or
	// "max"; empty when the client gave a budget instead.
	Effort string
	// Budget is a token budget; 0 with Effort empty means the provider's
	// default; -1 means dynamic (Gemini).
	Budget int64
	// Disabled is set when the client turned reasoning off.
	Disabled bool
	// Summary asks for the reasoning text to be returned (Anthropic
	// thinking blocks, Gemini includeThoughts, Responses summaries).
	Summary bool
}

// EffortBudget is the token budget used for an effort level when the target
// speaks in budgets.
func EffortBudget(effort string) int64 {
	switch effort {
	case "none":
		return 0
	case "minimal":
		return 1024
	case "low":
		return 1024
	case "medium":
		return 4096
	case "high":
		return 16384
	case "xhigh", "max":
		return 32768
	}
	return 4096
}

// BudgetEffort is the effort level used for a token budget when the target
// speaks in levels.
func BudgetEffort(budget int64) string {
	switch {
	case budget < 0:
		return "medium"
	case budget == 0:
		return "none"
	case budget <= 2048:
		return "low"
	case budget <= 8192:
		return "medium"
	default:
		return "high"
	}
}

// StopReason is why generation ended.
type StopReason string

const (
	StopEnd      StopReason = "end"           // a natural end of turn
	StopLength   StopReason = "length"        // the token limit was reached
	StopToolUse  StopReason = "tool_use"      // the model called tools
	StopSequence StopReason = "stop_sequence" // a stop sequence matched
	StopFilter   StopReason = "content_filter"
	StopPause    StopReason = "pause" // a server-side tool loop paused (Anthropic pause_turn)
)

// Response is a complete, non-streamed answer.
type Response struct {
	ID    string // the upstream's id; never shown to clients
	Model string
	// Parts are the assistant's output in order: thinking, text, tool calls.
	Parts        []Part
	Stop         StopReason
	StopSequence string // the matched sequence, with StopSequence
	Usage        Usage
	// HasUsage is false when the upstream reported no usage.
	HasUsage bool
}

// Meta identifies an answer as the gateway presents it to its client: the
// gateway's own id (never the upstream's) and the model name the client
// asked for.
type Meta struct {
	ID      string
	Model   string
	Created int64 // Unix seconds
}

// ToolNames maps the id of every tool call in the conversation to the name
// of the function called, for protocols whose tool results must name the
// function (Gemini).
func (r *Request) ToolNames() map[string]string {
	names := map[string]string{}
	for _, m := range r.Messages {
		for _, p := range m.Parts {
			if p.Kind == PartToolCall {
				names[p.ID] = p.Name
			}
		}
	}
	return names
}

// Text concatenates the text parts of ps.
func Text(ps []Part) string {
	var b strings.Builder
	for _, p := range ps {
		if p.Kind == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// ParseDataURL splits "data:<mime>;base64,<data>". ok is false for anything
// else, including data URLs that are not base64.
func ParseDataURL(s string) (mime, data string, ok bool) {
	rest, found := strings.CutPrefix(s, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mime, found = strings.CutSuffix(meta, ";base64")
	if !found {
		return "", "", false
	}
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = mime[:i]
	}
	return mime, data, true
}

// DataURL is the inverse of ParseDataURL.
func DataURL(mime, data string) string { return "data:" + mime + ";base64," + data }

// signatureMark separates a tool call id from a reasoning signature packed
// into it (see PackCallID).
const signatureMark = "__sig_"

// PackCallID carries a provider's reasoning signature (Gemini's
// thoughtSignature) inside a tool call id, for clients whose protocol has no
// field for it; the client sends the id back with the tool result and the
// next request's history, and UnpackCallID recovers the signature. The
// signature is re-encoded as unpadded base64url, so the id stays within
// [A-Za-z0-9_-] as Anthropic requires.
func PackCallID(id, signature string) string {
	if signature == "" {
		return id
	}
	raw, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return id
	}
	return id + signatureMark + base64.RawURLEncoding.EncodeToString(raw)
}

// UnpackCallID splits an id made by PackCallID into the original id and the
// signature (standard base64); an ordinary id comes back unchanged.
func UnpackCallID(packed string) (id, signature string) {
	i := strings.LastIndex(packed, signatureMark)
	if i < 0 {
		return packed, ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(packed[i+len(signatureMark):])
	if err != nil {
		return packed, ""
	}
	return packed[:i], base64.StdEncoding.EncodeToString(raw)
}
