package anthropic

import (
	"bytes"
	"encoding/json"
	goldenfile "github.com/tokenhot/tokenhot/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// goldenCases lists the inputs of a golden suite: testdata/<suite>/*.<ext>,
// goldens excluded.
func goldenCases(t *testing.T, suite, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", suite, "*."+ext))
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, f := range files {
		if !strings.Contains(filepath.Base(f), ".golden.") {
			in = append(in, f)
		}
	}
	if len(in) == 0 {
		t.Fatalf("no test cases in testdata/%s", suite)
	}
	return in
}

// goldenPath is the golden file of input with extension ext.
func goldenPath(input, ext string) string {
	return strings.TrimSuffix(input, filepath.Ext(input)) + ".golden." + ext
}

// checkGolden compares got with the golden file, or rewrites it under
// -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func marshalIndent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// The views below show llm values in goldens with kinds by name and
// without the zero fields of every part and event, which would bury what
// matters.

var partKinds = map[llm.PartKind]string{
	llm.PartText: "text", llm.PartImage: "image", llm.PartFile: "file", llm.PartThinking: "thinking",
	llm.PartRedactedThinking: "redacted_thinking", llm.PartToolCall: "tool_call", llm.PartToolResult: "tool_result",
}

var eventKinds = map[llm.EventKind]string{
	llm.EventText: "text", llm.EventThinking: "thinking", llm.EventSignature: "signature",
	llm.EventRedactedThinking: "redacted_thinking", llm.EventToolCall: "tool_call", llm.EventToolArgs: "tool_args",
	llm.EventUsage: "usage", llm.EventStop: "stop", llm.EventError: "error",
}

func kindByName[K comparable](t *testing.T, names map[K]string, name string) K {
	t.Helper()
	for k, n := range names {
		if n == name {
			return k
		}
	}
	t.Fatalf("unknown kind %q", name)
	var zero K
	return zero
}

type partView struct {
	Kind      string     `json:"kind"`
	Text      string     `json:"text,omitempty"`
	MIME      string     `json:"mime,omitempty"`
	Data      string     `json:"data,omitempty"`
	URL       string     `json:"url,omitempty"`
	Name      string     `json:"name,omitempty"`
	ID        string     `json:"id,omitempty"`
	Arguments string     `json:"arguments,omitempty"`
	Signature string     `json:"signature,omitempty"`
	Content   []partView `json:"content,omitempty"`
	IsError   bool       `json:"is_error,omitempty"`
}

func viewParts(ps []llm.Part) []partView {
	var vs []partView
	for _, p := range ps {
		vs = append(vs, partView{Kind: partKinds[p.Kind], Text: p.Text, MIME: p.MIME, Data: p.Data, URL: p.URL,
			Name: p.Name, ID: p.ID, Arguments: p.Arguments, Signature: p.Signature,
			Content: viewParts(p.Content), IsError: p.IsError})
	}
	return vs
}

func unviewParts(t *testing.T, vs []partView) []llm.Part {
	t.Helper()
	var ps []llm.Part
	for _, v := range vs {
		ps = append(ps, llm.Part{Kind: kindByName(t, partKinds, v.Kind), Text: v.Text, MIME: v.MIME, Data: v.Data,
			URL: v.URL, Name: v.Name, ID: v.ID, Arguments: v.Arguments, Signature: v.Signature,
			Content: unviewParts(t, v.Content), IsError: v.IsError})
	}
	return ps
}

type messageView struct {
	Role  llm.Role   `json:"role"`
	Parts []partView `json:"parts"`
}

type requestView struct {
	Model             string          `json:"model,omitempty"`
	Stream            bool            `json:"stream,omitempty"`
	System            []partView      `json:"system,omitempty"`
	Messages          []messageView   `json:"messages,omitempty"`
	Tools             []llm.Tool      `json:"tools,omitempty"`
	ToolChoice        *llm.ToolChoice `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	MaxTokens         int64           `json:"max_tokens,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	TopP              *float64        `json:"top_p,omitempty"`
	TopK              *int64          `json:"top_k,omitempty"`
	Stop              []string        `json:"stop,omitempty"`
	Seed              *int64          `json:"seed,omitempty"`
	FrequencyPenalty  *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty   *float64        `json:"presence_penalty,omitempty"`
	Format            *llm.Format     `json:"format,omitempty"`
	Reasoning         *llm.Reasoning  `json:"reasoning,omitempty"`
	User              string          `json:"user,omitempty"`
}

func viewRequest(r *llm.Request) requestView {
	v := requestView{Model: r.Model, Stream: r.Stream, System: viewParts(r.System), Tools: r.Tools,
		ParallelToolCalls: r.ParallelToolCalls, MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP,
		TopK: r.TopK, Stop: r.Stop, Seed: r.Seed, FrequencyPenalty: r.FrequencyPenalty,
		PresencePenalty: r.PresencePenalty, Format: r.Format, Reasoning: r.Reasoning, User: r.User}
	if r.ToolChoice != (llm.ToolChoice{}) {
		v.ToolChoice = &r.ToolChoice
	}
	for _, m := range r.Messages {
		v.Messages = append(v.Messages, messageView{Role: m.Role, Parts: viewParts(m.Parts)})
	}
	return v
}

func (v requestView) request(t *testing.T) *llm.Request {
	t.Helper()
	r := &llm.Request{Model: v.Model, Stream: v.Stream, System: unviewParts(t, v.System), Tools: v.Tools,
		ParallelToolCalls: v.ParallelToolCalls, MaxTokens: v.MaxTokens, Temperature: v.Temperature, TopP: v.TopP,
		TopK: v.TopK, Stop: v.Stop, Seed: v.Seed, FrequencyPenalty: v.FrequencyPenalty,
		PresencePenalty: v.PresencePenalty, Format: v.Format, Reasoning: v.Reasoning, User: v.User}
	if v.ToolChoice != nil {
		r.ToolChoice = *v.ToolChoice
	}
	for _, m := range v.Messages {
		r.Messages = append(r.Messages, llm.Message{Role: m.Role, Parts: unviewParts(t, m.Parts)})
	}
	return r
}

type responseView struct {
	ID           string         `json:"id,omitempty"`
	Model        string         `json:"model,omitempty"`
	Parts        []partView     `json:"parts,omitempty"`
	Stop         llm.StopReason `json:"stop,omitempty"`
	StopSequence string         `json:"stop_sequence,omitempty"`
	Usage        llm.Usage      `json:"usage"`
	HasUsage     bool           `json:"has_usage"`
}

func viewResponse(r *llm.Response) responseView {
	return responseView{ID: r.ID, Model: r.Model, Parts: viewParts(r.Parts), Stop: r.Stop,
		StopSequence: r.StopSequence, Usage: r.Usage, HasUsage: r.HasUsage}
}

func (v responseView) response(t *testing.T) *llm.Response {
	t.Helper()
	return &llm.Response{ID: v.ID, Model: v.Model, Parts: unviewParts(t, v.Parts), Stop: v.Stop,
		StopSequence: v.StopSequence, Usage: v.Usage, HasUsage: v.HasUsage}
}

type errorView struct {
	Kind    string `json:"kind"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

var errorKinds = map[llm.Kind]string{}

func init() {
	for k := llm.KindInternal; k <= llm.KindUpstreamClient; k++ {
		errorKinds[k] = k.String()
	}
}

// eventView is an llm.Event in goldens; the pseudo-kind "fail" in an
// encoder's input stands for a call of Fail.
type eventView struct {
	Kind         string         `json:"kind"`
	Index        *int           `json:"index,omitempty"`
	Text         string         `json:"text,omitempty"`
	ID           string         `json:"id,omitempty"`
	Name         string         `json:"name,omitempty"`
	Signature    string         `json:"signature,omitempty"`
	Stop         llm.StopReason `json:"stop,omitempty"`
	StopSequence string         `json:"stop_sequence,omitempty"`
	Usage        *llm.Usage     `json:"usage,omitempty"`
	Err          *errorView     `json:"error,omitempty"`
}

func viewEvent(e llm.Event) eventView {
	v := eventView{Kind: eventKinds[e.Kind], Text: e.Text, ID: e.ID, Name: e.Name, Signature: e.Signature,
		Stop: e.Stop, StopSequence: e.StopSequence}
	switch e.Kind {
	case llm.EventToolCall, llm.EventToolArgs:
		v.Index = &e.Index
	case llm.EventUsage:
		v.Usage = &e.Usage
	case llm.EventError:
		v.Err = &errorView{Kind: errorKinds[e.Err.Kind], Code: e.Err.Code, Message: e.Err.Message}
	}
	return v
}

func (v eventView) event(t *testing.T) llm.Event {
	t.Helper()
	e := llm.Event{Text: v.Text, ID: v.ID, Name: v.Name, Signature: v.Signature, Stop: v.Stop,
		StopSequence: v.StopSequence}
	if v.Kind != "fail" {
		e.Kind = kindByName(t, eventKinds, v.Kind)
	}
	if v.Index != nil {
		e.Index = *v.Index
	}
	if v.Usage != nil {
		e.Usage = *v.Usage
	}
	if v.Err != nil {
		e.Err = &llm.Error{Kind: kindByName(t, errorKinds, v.Err.Kind), Code: v.Err.Code, Message: v.Err.Message}
	}
	return e
}
