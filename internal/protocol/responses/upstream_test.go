package responses

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func userHi() []llm.Message {
	return []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "hi"}}}}
}

func TestBuildRequestStopRefused(t *testing.T) {
	_, err := BuildRequest(&llm.Request{Model: "m", Messages: userHi(), Stop: []string{"END"}})
	e := asLLMError(t, err)
	if e.Kind != llm.KindInvalid || e.Param != "stop" {
		t.Errorf("kind %v param %q, want invalid stop", e.Kind, e.Param)
	}
}

// TestBuildRequestFields checks single fields of the upstream body, by
// gjson path ("" = must be absent).
func TestBuildRequestFields(t *testing.T) {
	f := false
	tests := []struct {
		name string
		req  llm.Request
		path string
		want string // raw JSON, "" for absent
	}{
		{"auto choice omitted", llm.Request{ToolChoice: llm.ToolChoice{Mode: llm.ToolAuto}}, "tool_choice", ""},
		{"none", llm.Request{ToolChoice: llm.ToolChoice{Mode: llm.ToolNone}}, "tool_choice", `"none"`},
		{"required", llm.Request{ToolChoice: llm.ToolChoice{Mode: llm.ToolRequired}}, "tool_choice", `"required"`},
		{"named", llm.Request{ToolChoice: llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}}, "tool_choice",
			`{"type":"function","name":"f"}`},
		{"parallel false", llm.Request{ParallelToolCalls: &f}, "parallel_tool_calls", `false`},
		{"parallel unset", llm.Request{}, "parallel_tool_calls", ""},
		{"store always false", llm.Request{}, "store", `false`},
		{"stream unset", llm.Request{}, "stream", ""},
		{"no reasoning", llm.Request{}, "reasoning", ""},
		{"effort kept", llm.Request{Reasoning: &llm.Reasoning{Effort: "xhigh"}}, "reasoning", `{"effort":"xhigh"}`},
		{"budget low", llm.Request{Reasoning: &llm.Reasoning{Budget: 1024}}, "reasoning.effort", `"low"`},
		{"budget medium", llm.Request{Reasoning: &llm.Reasoning{Budget: 8192}}, "reasoning.effort", `"medium"`},
		{"budget high", llm.Request{Reasoning: &llm.Reasoning{Budget: 30000}}, "reasoning.effort", `"high"`},
		{"dynamic budget", llm.Request{Reasoning: &llm.Reasoning{Budget: -1}}, "reasoning.effort", `"medium"`},
		{"summary", llm.Request{Reasoning: &llm.Reasoning{Summary: true}}, "reasoning", `{"summary":"auto"}`},
		{"disabled", llm.Request{Reasoning: &llm.Reasoning{Disabled: true, Budget: 0, Summary: true}}, "reasoning", ""},
		{"effort none no summary", llm.Request{Reasoning: &llm.Reasoning{Effort: "none", Disabled: true, Summary: true}},
			"reasoning", `{"effort":"none"}`},
		{"include with reasoning", llm.Request{Reasoning: &llm.Reasoning{Effort: "low"}}, "include",
			`["reasoning.encrypted_content"]`},
		{"no include without reasoning", llm.Request{}, "include", ""},
		{"no include when off", llm.Request{Reasoning: &llm.Reasoning{Effort: "none"}}, "include", ""},
		{"include for signed thinking", llm.Request{Messages: []llm.Message{{Role: llm.RoleAssistant,
			Parts: []llm.Part{{Kind: llm.PartThinking, Text: "t", Signature: "s"}}}}}, "include", `["reasoning.encrypted_content"]`},
		{"unsigned thinking dropped", llm.Request{Messages: []llm.Message{{Role: llm.RoleAssistant,
			Parts: []llm.Part{{Kind: llm.PartThinking, Text: "t"}}}}}, "input", `[]`},
		{"assistant image dropped", llm.Request{Messages: []llm.Message{{Role: llm.RoleAssistant,
			Parts: []llm.Part{{Kind: llm.PartImage, URL: "https://x"}, {Kind: llm.PartText, Text: "a"}}}}}, "input.0.content",
			`[{"type":"output_text","text":"a"}]`},
		{"empty tool result", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser,
			Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "c"}}}}}, "input.0", `{"type":"function_call_output","call_id":"c","output":""}`},
		{"json object", llm.Request{Format: &llm.Format{Type: llm.FormatJSONObject}}, "text", `{"format":{"type":"json_object"}}`},
		{"strict schema", llm.Request{Format: &llm.Format{Type: llm.FormatJSONSchema, Name: "n", Schema: []byte(`{}`), Strict: true}},
			"text.format", `{"type":"json_schema","name":"n","schema":{},"strict":true}`},
		{"temperature zero sent", llm.Request{Temperature: new(0.0)}, "temperature", `0`},
		{"user", llm.Request{User: "u"}, "safety_identifier", `"u"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Model = "m"
			body, err := BuildRequest(&tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := gjson.GetBytes(body, tt.path).Raw; got != tt.want {
				t.Errorf("%s = %s, want %s\nbody %s", tt.path, got, tt.want, body)
			}
		})
	}
}

// TestRequestRoundTrip parses a client request, builds an upstream body
// from it and parses that again: a Responses conversation must survive,
// signatures and call ids included.
func TestRequestRoundTrip(t *testing.T) {
	body := `{"model":"m","instructions":"sys","input":[
		{"role":"user","content":[{"type":"input_text","text":"q"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]},
		{"type":"reasoning","summary":[{"type":"summary_text","text":"a"},{"type":"summary_text","text":"b"}],"encrypted_content":"enc"},
		{"role":"assistant","content":"calling"},
		{"type":"function_call","call_id":"c1","name":"f","arguments":"{\"x\":1}"},
		{"type":"function_call_output","call_id":"c1","output":"r"},
		{"role":"user","content":"thanks"}],
		"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}],
		"reasoning":{"effort":"low","summary":"auto"},"max_output_tokens":9,"stream":true}`
	first, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	up, err := BuildRequest(first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ParseRequest(up)
	if err != nil {
		t.Fatalf("%v\n%s", err, up)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("round trip (-first +second):\n%s", diff)
	}
}

func TestNoStore(t *testing.T) {
	for _, body := range []string{`{"model":"m","input":"hi"}`, `{"model":"m","store":true,"x":{"y":1}}`, `{"store":false}`} {
		out, err := NoStore([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := gjson.GetBytes(out, "store").Raw; got != "false" || !gjson.ValidBytes(out) {
			t.Errorf("%s → %s", body, out)
		}
	}
}
