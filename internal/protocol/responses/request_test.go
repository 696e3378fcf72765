package responses

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestParseRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, param, msg string // msg: a substring of the message
	}{
		{"not json", `{"model":`, "", "not valid JSON"},
		{"not an object", `["x"]`, "", "JSON object"},
		{"no model", `{"input":"hi"}`, "model", "model"},
		{"model not a string", `{"model":1,"input":"hi"}`, "model", "model"},
		{"previous_response_id", `{"model":"m","input":"hi","previous_response_id":"resp_1"}`, "previous_response_id",
			"previous_response_id is not supported: this gateway does not store responses (it keeps no prompts or outputs); send the whole conversation in input"},
		{"store true", `{"model":"m","input":"hi","store":true}`, "store",
			"store: true is not supported: this gateway does not store responses; send store: false"},
		{"store not bool", `{"model":"m","input":"hi","store":"no"}`, "store", "boolean"},
		{"background", `{"model":"m","input":"hi","background":true}`, "background", "background: true is not supported"},
		{"conversation", `{"model":"m","input":"hi","conversation":"conv_1"}`, "conversation", "conversation is not supported"},
		{"conversation object", `{"model":"m","input":"hi","conversation":{"id":"conv_1"}}`, "conversation", "not supported"},
		{"no input", `{"model":"m"}`, "input", "input is required"},
		{"input number", `{"model":"m","input":5}`, "input", "string or an array"},
		{"empty input", `{"model":"m","input":[]}`, "input", "at least one"},
		{"only empty text", `{"model":"m","input":""}`, "input", "at least one"},
		{"only system", `{"model":"m","input":[{"role":"system","content":"x"}]}`, "input", "at least one"},
		{"instructions not string", `{"model":"m","input":"hi","instructions":["x"]}`, "instructions", "string"},
		{"item not object", `{"model":"m","input":["hi"]}`, "input[0]", "object"},
		{"item_reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0]",
			`input item type "item_reference" is not supported`},
		{"web_search_call item", `{"model":"m","input":[{"type":"web_search_call","id":"ws_1"}]}`, "input[0]", "web_search_call"},
		{"bad role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", "role"},
		{"content number", `{"model":"m","input":[{"role":"user","content":1}]}`, "input[0].content", "string or an array"},
		{"part not object", `{"model":"m","input":[{"role":"user","content":["x"]}]}`, "input[0].content[0]", "object"},
		{"text not string", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":1}]}]}`,
			"input[0].content[0].text", "string"},
		{"image in system", `{"model":"m","input":[{"role":"system","content":[{"type":"input_image","image_url":"https://x"}]},{"role":"user","content":"hi"}]}`,
			"input[0].content[0].type", "input_text"},
		{"image file_id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`,
			"input[0].content[0].file_id", "file_id is not supported"},
		{"image no url", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]}`,
			"input[0].content[0].image_url", "required"},
		{"image ftp", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"ftp://x"}]}]}`,
			"input[0].content[0].image_url", "data: or https:"},
		{"image data not base64", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png,abc"}]}]}`,
			"input[0].content[0].image_url", "base64"},
		{"file_id file", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`,
			"input[0].content[0].file_id", "not supported"},
		{"file_url file", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_url":"https://x/a.pdf"}]}]}`,
			"input[0].content[0].file_url", "not supported"},
		{"file no data", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","filename":"a.pdf"}]}]}`,
			"input[0].content[0].file_data", "required"},
		{"audio", `{"model":"m","input":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`,
			"input[0].content[0].type", "audio input is not supported"},
		{"image in assistant", `{"model":"m","input":[{"role":"assistant","content":[{"type":"input_image","image_url":"https://x"}]}]}`,
			"input[0].content[0].type", "assistant"},
		{"call without call_id", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`,
			"input[0].call_id", "call_id"},
		{"call without name", `{"model":"m","input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}`,
			"input[0].name", "name"},
		{"call arguments object", `{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}`,
			"input[0].arguments", "string"},
		{"output without call_id", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`,
			"input[0].call_id", "call_id"},
		{"output number", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":1}]}`,
			"input[0].output", "string or an array"},
		{"output file part", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_file","file_data":"x"}]}]}`,
			"input[0].output[0].type", "function_call_output"},
		{"reasoning bad summary", `{"model":"m","input":[{"type":"reasoning","summary":[{"type":"other","text":"x"}]}]}`,
			"input[0].summary[0].type", "summary_text"},
		{"reasoning summary not array", `{"model":"m","input":[{"type":"reasoning","summary":"x"}]}`,
			"input[0].summary", "array"},
		{"web_search tool", `{"model":"m","input":"hi","tools":[{"type":"web_search"}]}`, "tools",
			`the tool type "web_search" is not supported by this model`},
		{"tools not array", `{"model":"m","input":"hi","tools":{}}`, "tools", "array"},
		{"tool without name", `{"model":"m","input":"hi","tools":[{"type":"function"}]}`, "tools[0].name", "name"},
		{"tool parameters array", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":[]}]}`,
			"tools[0].parameters", "object"},
		{"tool strict string", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f","strict":"yes"}]}`,
			"tools[0].strict", "boolean"},
		{"tool_choice unknown string", `{"model":"m","input":"hi","tool_choice":"any"}`, "tool_choice", "tool_choice"},
		{"tool_choice allowed_tools", `{"model":"m","input":"hi","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[]}}`,
			"tool_choice", "allowed_tools"},
		{"tool_choice without name", `{"model":"m","input":"hi","tool_choice":{"type":"function"}}`, "tool_choice.name", "name"},
		{"tool_choice number", `{"model":"m","input":"hi","tool_choice":1}`, "tool_choice", "string or an object"},
		{"stream not bool", `{"model":"m","input":"hi","stream":1}`, "stream", "boolean"},
		{"parallel not bool", `{"model":"m","input":"hi","parallel_tool_calls":"no"}`, "parallel_tool_calls", "boolean"},
		{"max_output_tokens zero", `{"model":"m","input":"hi","max_output_tokens":0}`, "max_output_tokens", "positive integer"},
		{"max_output_tokens fraction", `{"model":"m","input":"hi","max_output_tokens":1.5}`, "max_output_tokens", "positive integer"},
		{"max_output_tokens huge", `{"model":"m","input":"hi","max_output_tokens":1e300}`, "max_output_tokens", "positive integer"},
		{"temperature too high", `{"model":"m","input":"hi","temperature":2.5}`, "temperature", "between 0 and 2"},
		{"top_p string", `{"model":"m","input":"hi","top_p":"1"}`, "top_p", "between 0 and 1"},
		{"user number", `{"model":"m","input":"hi","user":1}`, "user", "string"},
		{"text not object", `{"model":"m","input":"hi","text":"json"}`, "text", "object"},
		{"format type", `{"model":"m","input":"hi","text":{"format":{"type":"xml"}}}`, "text.format.type", "xml"},
		{"schema without name", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}`,
			"text.format.name", "name"},
		{"schema missing", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"x"}}}`,
			"text.format.schema", "schema"},
		{"reasoning effort", `{"model":"m","input":"hi","reasoning":{"effort":"extreme"}}`, "reasoning.effort", "extreme"},
		{"reasoning not object", `{"model":"m","input":"hi","reasoning":"high"}`, "reasoning", "object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tt.body))
			if err == nil {
				t.Fatalf("no error; parsed %+v", r)
			}
			e := asLLMError(t, err)
			if e.Kind != llm.KindInvalid || e.Code != "invalid_request" || e.Param != tt.param {
				t.Errorf("kind %v code %q param %q, want invalid invalid_request %q", e.Kind, e.Code, e.Param, tt.param)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msg)
			}
		})
	}
}

func TestParseRequestFields(t *testing.T) {
	tests := []struct {
		name, extra string // extra top-level members
		check       func(r *llm.Request) any
		want        any
	}{
		{"tool_choice auto", `"tool_choice":"auto"`, func(r *llm.Request) any { return r.ToolChoice }, llm.ToolChoice{}},
		{"tool_choice none", `"tool_choice":"none"`, func(r *llm.Request) any { return r.ToolChoice }, llm.ToolChoice{Mode: llm.ToolNone}},
		{"tool_choice required", `"tool_choice":"required"`, func(r *llm.Request) any { return r.ToolChoice },
			llm.ToolChoice{Mode: llm.ToolRequired}},
		{"tool_choice named", `"tool_choice":{"type":"function","name":"f"}`, func(r *llm.Request) any { return r.ToolChoice },
			llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}},
		{"tool_choice null", `"tool_choice":null`, func(r *llm.Request) any { return r.ToolChoice }, llm.ToolChoice{}},
		{"parallel true", `"parallel_tool_calls":true`, func(r *llm.Request) any { return *r.ParallelToolCalls }, true},
		{"text format", `"text":{"format":{"type":"text"}}`, func(r *llm.Request) any { return *r.Format },
			llm.Format{Type: llm.FormatText}},
		{"text without format", `"text":{"verbosity":"low"}`, func(r *llm.Request) any { return r.Format == nil }, true},
		{"summary only", `"reasoning":{"summary":"detailed"}`, func(r *llm.Request) any { return *r.Reasoning },
			llm.Reasoning{Summary: true}},
		{"generate_summary", `"reasoning":{"effort":"low","generate_summary":"concise"}`,
			func(r *llm.Request) any { return *r.Reasoning }, llm.Reasoning{Effort: "low", Summary: true}},
		{"empty reasoning", `"reasoning":{}`, func(r *llm.Request) any { return r.Reasoning == nil }, true},
		{"user only", `"user":"u1"`, func(r *llm.Request) any { return r.User }, "u1"},
		{"temperature zero kept", `"temperature":0`, func(r *llm.Request) any { return *r.Temperature }, 0.0},
		{"store false", `"store":false,"background":null,"previous_response_id":""`,
			func(r *llm.Request) any { return r.Model }, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(`{"model":"m","input":"hi",` + tt.extra + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.check(r)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseRequestToolResultName checks that a function_call_output gets
// the name of its call (Gemini needs it) even when the call id carried a
// packed signature, and stays nameless when no call matches.
func TestParseRequestToolResultName(t *testing.T) {
	body := `{"model":"m","input":[
		{"type":"function_call","call_id":"c1__sig_AQID","name":"lookup","arguments":"{}"},
		{"type":"function_call_output","call_id":"c1__sig_AQID","output":"found"},
		{"type":"function_call_output","call_id":"orphan","output":""}]}`
	r, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{
		{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, ID: "c1", Name: "lookup", Arguments: "{}", Signature: "AQID"}}},
		{Role: llm.RoleUser, Parts: []llm.Part{
			{Kind: llm.PartToolResult, ID: "c1", Name: "lookup", Content: []llm.Part{{Kind: llm.PartText, Text: "found"}}},
			{Kind: llm.PartToolResult, ID: "orphan"},
		}},
	}
	if diff := cmp.Diff(want, r.Messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
