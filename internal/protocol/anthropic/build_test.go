package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func userText(s string) llm.Message {
	return llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: s}}}
}

func TestBuildRequestErrors(t *testing.T) {
	call := func(args string) llm.Message {
		return llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, ID: "c1", Name: "lookup", Arguments: args}}}
	}
	tests := []struct {
		name    string
		req     llm.Request
		message string
	}{
		{"no messages", llm.Request{}, "at least one message"},
		{"only empty text", llm.Request{Messages: []llm.Message{userText("")}}, "at least one message"},
		{"arguments not JSON", llm.Request{Messages: []llm.Message{userText("x"), call(`{"a":`)}}, `tool "lookup" are not a JSON object`},
		{"arguments an array", llm.Request{Messages: []llm.Message{userText("x"), call(`[1,2]`)}}, `tool "lookup" are not a JSON object`},
		{"image type", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartImage, MIME: "image/bmp", Data: "Qk0="}}}}}, `"image/bmp" is not supported`},
		{"image data URL not base64", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartImage, URL: "data:image/png,raw"}}}}}, "base64"},
		{"file type", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartFile, MIME: "application/zip", Data: "UEs="}}}}}, `"application/zip" is not supported`},
		{"text file not base64", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartFile, MIME: "text/plain", Data: "%%%", Name: "a.txt"}}}}}, `"a.txt" is not valid base64`},
		{"image in tool result", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "c", Content: []llm.Part{{Kind: llm.PartImage, MIME: "image/tiff", Data: "x"}}}}}}}, `"image/tiff"`},
		{"schema not object", llm.Request{Messages: []llm.Message{userText("x")}, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"string"}`)}}}, `tool "f" must be a JSON Schema object`},
		{"schema array", llm.Request{Messages: []llm.Message{userText("x")}, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`[]`)}}}, `tool "f"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := BuildRequest(&tt.req)
			if body != nil {
				t.Errorf("got a body with the error: %s", body)
			}
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalid {
				t.Fatalf("error %T %v, want a KindInvalid *llm.Error", err, err)
			}
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q, want %q in it", e.Message, tt.message)
			}
		})
	}
}

// buildJSON builds r and returns the body for gjson queries.
func buildJSON(t *testing.T, r *llm.Request) gjson.Result {
	t.Helper()
	body, err := BuildRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	return gjson.ParseBytes(body)
}

// TestBuildToolChoice covers the §10.3 table, parallel_tool_calls:false
// included, and that tool_choice goes only with tools.
func TestBuildToolChoice(t *testing.T) {
	tests := []struct {
		name     string
		choice   llm.ToolChoice
		parallel *bool
		want     string // the tool_choice JSON, "" when absent
	}{
		{"auto", llm.ToolChoice{}, nil, ""},
		{"auto parallel allowed", llm.ToolChoice{}, new(true), ""},
		{"auto no parallel", llm.ToolChoice{}, new(false), `{"type":"auto","disable_parallel_tool_use":true}`},
		{"required", llm.ToolChoice{Mode: llm.ToolRequired}, nil, `{"type":"any"}`},
		{"required no parallel", llm.ToolChoice{Mode: llm.ToolRequired}, new(false), `{"type":"any","disable_parallel_tool_use":true}`},
		{"named", llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}, nil, `{"type":"tool","name":"f"}`},
		{"none", llm.ToolChoice{Mode: llm.ToolNone}, new(false), `{"type":"none"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &llm.Request{Messages: []llm.Message{userText("x")}, Tools: []llm.Tool{{Name: "f"}},
				ToolChoice: tt.choice, ParallelToolCalls: tt.parallel}
			if got := buildJSON(t, r).Get("tool_choice").Raw; got != tt.want {
				t.Errorf("tool_choice = %s, want %s", got, tt.want)
			}
			r.Tools = nil
			if got := buildJSON(t, r).Get("tool_choice"); got.Exists() {
				t.Errorf("tool_choice without tools: %s", got.Raw)
			}
		})
	}
}

// TestBuildThinking covers the reasoning settings: budgets (at least 1024,
// max_tokens above them and never lowered), effort levels, the cases that
// leave thinking off, and the sampling parameters thinking forbids.
func TestBuildThinking(t *testing.T) {
	tests := []struct {
		name      string
		reasoning *llm.Reasoning
		maxTokens int64
		want      string // thinking JSON, "" when absent
		wantMax   int64
	}{
		{"unset", nil, 0, "", 4096},
		{"disabled", &llm.Reasoning{Disabled: true, Budget: 9000}, 0, "", 4096},
		{"effort none", &llm.Reasoning{Effort: "none"}, 0, "", 4096},
		{"summary only", &llm.Reasoning{Summary: true}, 0, "", 4096},
		{"budget", &llm.Reasoning{Budget: 5000}, 0, `{"type":"enabled","budget_tokens":5000}`, 9096},
		{"budget below max", &llm.Reasoning{Budget: 5000}, 64000, `{"type":"enabled","budget_tokens":5000}`, 64000},
		{"budget equal max", &llm.Reasoning{Budget: 5000}, 5000, `{"type":"enabled","budget_tokens":5000}`, 9096},
		{"small budget", &llm.Reasoning{Budget: 10}, 2000, `{"type":"enabled","budget_tokens":1024}`, 2000},
		{"dynamic", &llm.Reasoning{Budget: -1}, 0, `{"type":"enabled","budget_tokens":4096}`, 8192},
		{"minimal", &llm.Reasoning{Effort: "minimal"}, 0, `{"type":"enabled","budget_tokens":1024}`, 4096},
		{"low", &llm.Reasoning{Effort: "low"}, 0, `{"type":"enabled","budget_tokens":1024}`, 4096},
		{"medium", &llm.Reasoning{Effort: "medium"}, 0, `{"type":"enabled","budget_tokens":4096}`, 8192},
		{"high", &llm.Reasoning{Effort: "high"}, 0, `{"type":"enabled","budget_tokens":16384}`, 20480},
		{"xhigh", &llm.Reasoning{Effort: "xhigh"}, 0, `{"type":"enabled","budget_tokens":32768}`, 36864},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &llm.Request{Messages: []llm.Message{userText("x")}, Reasoning: tt.reasoning, MaxTokens: tt.maxTokens,
				Temperature: new(0.5), TopK: new(int64(3))}
			body := buildJSON(t, r)
			if got := body.Get("thinking").Raw; got != tt.want {
				t.Errorf("thinking = %s, want %s", got, tt.want)
			}
			if got := body.Get("max_tokens").Int(); got != tt.wantMax {
				t.Errorf("max_tokens = %d, want %d", got, tt.wantMax)
			}
			sampled := body.Get("temperature").Exists() || body.Get("top_k").Exists()
			if sampled != (tt.want == "") {
				t.Errorf("temperature/top_k sent: %t, with thinking %s", sampled, tt.want)
			}
		})
	}
}

// TestBuildSampling covers temperature clamping to 0–1 and top_p next to
// a temperature.
func TestBuildSampling(t *testing.T) {
	tests := []struct {
		name       string
		temp, topP *float64
		want       string
		wantTopP   bool
	}{
		{"clamped high", new(2.0), nil, "1", false},
		{"clamped low", new(-0.5), nil, "0", false},
		{"kept", new(0.25), new(0.9), "0.25", false},
		{"top_p alone", nil, new(0.9), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := buildJSON(t, &llm.Request{Messages: []llm.Message{userText("x")}, Temperature: tt.temp, TopP: tt.topP})
			if got := body.Get("temperature").Raw; got != tt.want {
				t.Errorf("temperature = %s, want %s", got, tt.want)
			}
			if got := body.Get("top_p").Exists(); got != tt.wantTopP {
				t.Errorf("top_p sent: %t, want %t", got, tt.wantTopP)
			}
		})
	}
}

// TestBuildIDs: ids outside ^[a-zA-Z0-9_-]+$ are rewritten the same way
// for a call and its result, and distinct ids stay distinct.
func TestBuildIDs(t *testing.T) {
	ids := []string{"call:1", "call.1", "call 1", "call_1", "ü", ""}
	var calls, results []llm.Part
	for _, id := range ids {
		calls = append(calls, llm.Part{Kind: llm.PartToolCall, ID: id, Name: "f", Arguments: "{}"})
		results = append(results, llm.Part{Kind: llm.PartToolResult, ID: id})
	}
	body := buildJSON(t, &llm.Request{Messages: []llm.Message{userText("x"),
		{Role: llm.RoleAssistant, Parts: calls}, {Role: llm.RoleUser, Parts: results}}})
	var gotCalls, gotResults []string
	for _, v := range body.Get("messages.1.content.#.id").Array() {
		gotCalls = append(gotCalls, v.Str)
	}
	for _, v := range body.Get("messages.2.content.#.tool_use_id").Array() {
		gotResults = append(gotResults, v.Str)
	}
	if diff := cmp.Diff(gotCalls, gotResults); diff != "" {
		t.Errorf("call and result ids differ (-calls +results):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, id := range gotCalls {
		if id == "" || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			t.Errorf("id %q does not match ^[a-zA-Z0-9_-]+$", id)
		}
		if seen[id] {
			t.Errorf("id %q used twice", id)
		}
		seen[id] = true
	}
	if gotCalls[3] != "call_1" {
		t.Errorf("a valid id was rewritten: %q", gotCalls[3])
	}
}

// TestBuildAfterParse: an Anthropic request parsed and built again keeps
// what the Messages API needs (a check of both directions together).
func TestBuildAfterParse(t *testing.T) {
	in := readFile(t, "testdata/parse_request/multi_turn_tools.json")
	r, err := ParseRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	out := buildJSON(t, r)
	orig := gjson.ParseBytes(in)
	for _, path := range []string{"messages.1.content.0", "messages.1.content.1", "messages.1.content.3",
		"tools.0.input_schema", "tools.1.input_schema", "thinking"} {
		var want, got any
		_ = json.Unmarshal([]byte(orig.Get(path).Raw), &want)
		_ = json.Unmarshal([]byte(out.Get(path).Raw), &got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	// The call whose id carried a Gemini signature goes back with its
	// plain id; the signature means nothing to Anthropic.
	if got := out.Get("messages.1.content.4.id").Str; got != "call_7" {
		t.Errorf("packed id became %q, want call_7", got)
	}
	if got := out.Get("messages.2.content.1.tool_use_id").Str; got != "call_7" {
		t.Errorf("its result's id became %q, want call_7", got)
	}
}

// TestBuildThinkingOmitsSampling: with thinking on the API requires the
// default sampling, so none of temperature, top_p and top_k is sent, each
// alone included (provider-protocols §10.6); with thinking off they are.
func TestBuildThinkingOmitsSampling(t *testing.T) {
	tests := []struct {
		name string
		req  llm.Request
		key  string
	}{
		{"temperature", llm.Request{Temperature: new(0.2)}, "temperature"},
		{"top_p", llm.Request{TopP: new(0.9)}, "top_p"},
		{"top_k", llm.Request{TopK: new(int64(5))}, "top_k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Messages = []llm.Message{userText("x")}
			if !buildJSON(t, &tt.req).Get(tt.key).Exists() {
				t.Fatalf("%s not sent without thinking", tt.key)
			}
			tt.req.Reasoning = &llm.Reasoning{Effort: "low"}
			body := buildJSON(t, &tt.req)
			if !body.Get("thinking").Exists() || body.Get(tt.key).Exists() {
				t.Errorf("with thinking: thinking %s, %s %s", body.Get("thinking").Raw, tt.key, body.Get(tt.key).Raw)
			}
		})
	}
}

// TestBuildToolSchemaKeepsEveryKey: input_schema gets "type":"object" when
// it lacks one and keeps every other key, top level included (one-api
// copied only type, properties and required, losing $defs and enum;
// provider-protocols §10.3).
func TestBuildToolSchemaKeepsEveryKey(t *testing.T) {
	tests := []struct{ name, schema, want string }{
		{"$defs", `{"type":"object","properties":{"u":{"$ref":"#/$defs/u"}},"$defs":{"u":{"enum":["c","f"]}}}`,
			`{"type":"object","properties":{"u":{"$ref":"#/$defs/u"}},"$defs":{"u":{"enum":["c","f"]}}}`},
		{"definitions", `{"type":"object","definitions":{"d":{"type":"string"}}}`,
			`{"type":"object","definitions":{"d":{"type":"string"}}}`},
		{"top-level enum and const", `{"type":"object","enum":[{"a":1}],"const":{"a":1}}`,
			`{"type":"object","enum":[{"a":1}],"const":{"a":1}}`},
		{"additionalProperties and anyOf", `{"type":"object","additionalProperties":false,"anyOf":[{"required":["a"]},{"required":["b"]}]}`,
			`{"type":"object","additionalProperties":false,"anyOf":[{"required":["a"]},{"required":["b"]}]}`},
		{"type added, rest kept", `{"properties":{"q":{"type":"string"}},"$defs":{"x":{}},"enum":[{}]}`,
			`{"properties":{"q":{"type":"string"}},"$defs":{"x":{}},"enum":[{}],"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := buildJSON(t, &llm.Request{Messages: []llm.Message{userText("x")},
				Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(tt.schema)}}})
			if got := body.Get("tools.0.input_schema").Raw; got != tt.want {
				t.Errorf("input_schema = %s, want %s", got, tt.want)
			}
		})
	}
}
