package anthropic

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// minimal wraps messages in a request that is otherwise valid.
func minimal(extra string) string {
	return `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]` + extra + `}`
}

func TestParseRequestErrors(t *testing.T) {
	tests := []struct {
		name, body string
		param      string
		message    string // a part of the message
	}{
		{"not JSON", `{"model":`, "", "not valid JSON"},
		{"not an object", `[1]`, "", "must be a JSON object"},
		{"missing model", `{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, "model", "field required"},
		{"missing max_tokens", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, "max_tokens", "field required"},
		{"max_tokens zero", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, "max_tokens", "at least 1"},
		{"max_tokens fraction", `{"model":"m","max_tokens":1.5,"messages":[]}`, "max_tokens", "integer"},
		{"max_tokens string", `{"model":"m","max_tokens":"10","messages":[]}`, "max_tokens", "integer"},
		{"stream string", minimal(`,"stream":"yes"`), "stream", "boolean"},
		{"temperature string", minimal(`,"temperature":"hot"`), "temperature", "number"},
		{"temperature overflow", minimal(`,"temperature":1e999`), "temperature", "finite"},
		{"top_k fraction", minimal(`,"top_k":2.5`), "top_k", "integer"},
		{"stop_sequences string", minimal(`,"stop_sequences":"END"`), "stop_sequences", "array"},
		{"stop sequence number", minimal(`,"stop_sequences":["a",1]`), "stop_sequences.1", "string"},
		{"metadata user number", minimal(`,"metadata":{"user_id":5}`), "metadata.user_id", "string"},
		{"system number", minimal(`,"system":5`), "system", "string or an array"},
		{"system image", minimal(`,"system":[{"type":"image"}]`), "system.0.type", `not "image"`},
		{"no messages", `{"model":"m","max_tokens":1,"messages":[]}`, "messages", "at least one"},
		{"messages missing", `{"model":"m","max_tokens":1}`, "messages", "field required"},
		{"system role", `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, "messages.0.role", "top-level system"},
		{"content missing", `{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages.0.content", "field required"},
		{"content number", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":3}]}`, "messages.0.content", "string or an array"},
		{"block not object", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":["x"]}]}`, "messages.0.content.0", "object"},
		{"unknown block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages.0.content.0.type", `"video" is not supported`},
		{"server tool block", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`, "messages.0.content.0.type", `"server_tool_use" is not supported`},
		{"text missing", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages.0.content.0.text", "field required"},
		{"image without source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages.0.content.0.source", "field required"},
		{"image file source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages.0.content.0.source.type", "Files API"},
		{"image without data", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`, "messages.0.content.0.source.data", "field required"},
		{"document bad source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"s3"}}]}]}`, "messages.0.content.0.source.type", `not "s3"`},
		{"tool_use in user turn", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}]}`, "messages.0.content.0.type", "only allowed in assistant"},
		{"tool_result in assistant turn", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]}`, "messages.0.content.0.type", "only allowed in user"},
		{"tool_use without id", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`, "messages.0.content.0.id", "field required"},
		{"tool_use input array", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":[1]}]}]}`, "messages.0.content.0.input", "object"},
		{"tool_result without id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages.0.content.0.tool_use_id", "field required"},
		{"tool_result bad content", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":5}]}]}`, "messages.0.content.0.content", "string or an array"},
		{"tool_result search result", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"search_result"}]}]}]}`, "messages.0.content.0.content.0.type", "not supported"},
		{"redacted without data", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"redacted_thinking"}]}]}`, "messages.0.content.0.data", "field required"},
		{"server tool", minimal(`,"tools":[{"type":"web_search_20250305","name":"web_search"}]`), "tools.0.type", "the tool type web_search_20250305 is only available on Anthropic models"},
		{"tool without name", minimal(`,"tools":[{"input_schema":{"type":"object"}}]`), "tools.0.name", "field required"},
		{"tool schema string", minimal(`,"tools":[{"name":"f","input_schema":"object"}]`), "tools.0.input_schema", "JSON Schema object"},
		{"tool_choice string", minimal(`,"tool_choice":"auto"`), "tool_choice", "object"},
		{"tool_choice unknown", minimal(`,"tool_choice":{"type":"required"}`), "tool_choice.type", `not "required"`},
		{"tool_choice tool without name", minimal(`,"tool_choice":{"type":"tool"}`), "tool_choice.name", "field required"},
		{"thinking without budget", minimal(`,"thinking":{"type":"enabled"}`), "thinking.budget_tokens", "positive budget"},
		{"thinking unknown", minimal(`,"thinking":{"type":"on"}`), "thinking.type", `not "on"`},
		{"thinking display number", minimal(`,"thinking":{"type":"adaptive","display":1}`), "thinking.display", "string"},
		{"effort unknown", minimal(`,"output_config":{"effort":"extreme"}`), "output_config.effort", `not "extreme"`},
		{"format unknown", minimal(`,"output_config":{"format":{"type":"json_object"}}`), "output_config.format.type", `not "json_object"`},
		{"format without schema", minimal(`,"output_config":{"format":{"type":"json_schema"}}`), "output_config.format.schema", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tt.body))
			if r != nil {
				t.Errorf("got a request with the error: %+v", r)
			}
			checkInvalid(t, err, tt.param, tt.message)
		})
	}
}

// checkInvalid checks that err is a KindInvalid *llm.Error about param
// whose message contains message and names the field.
func checkInvalid(t *testing.T, err error, param, message string) {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v, want an *llm.Error", err, err)
	}
	if e.Kind != llm.KindInvalid || e.Code != "invalid_request" || e.Param != param {
		t.Errorf("kind %v code %q param %q, want invalid_request and param %q", e.Kind, e.Code, e.Param, param)
	}
	if !strings.Contains(e.Message, message) || !strings.HasPrefix(e.Message, param) {
		t.Errorf("message %q, want %q in it, after the field name %q", e.Message, message, param)
	}
}

func TestParseCountRequest(t *testing.T) {
	r, err := ParseCountRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxTokens != 0 || r.Model != "m" || len(r.Messages) != 1 {
		t.Errorf("got %+v", r)
	}
	_, err = ParseCountRequest([]byte(`{"model":"m","messages":[]}`))
	checkInvalid(t, err, "messages", "at least one")
	if got, want := string(CountResponse(2095)), `{"input_tokens":2095}`; got != want {
		t.Errorf("CountResponse = %s, want %s", got, want)
	}
}

// TestParseReasoning covers every thinking form and the effort.
func TestParseReasoning(t *testing.T) {
	tests := []struct {
		name, extra string
		want        *llm.Reasoning
	}{
		{"none", ``, nil},
		{"enabled", `,"thinking":{"type":"enabled","budget_tokens":3000}`, &llm.Reasoning{Budget: 3000, Summary: true}},
		{"enabled omitted", `,"thinking":{"type":"enabled","budget_tokens":3000,"display":"omitted"}`, &llm.Reasoning{Budget: 3000}},
		{"enabled with effort", `,"thinking":{"type":"enabled","budget_tokens":3000},"output_config":{"effort":"max"}`, &llm.Reasoning{Budget: 3000, Summary: true}},
		{"adaptive", `,"thinking":{"type":"adaptive"}`, &llm.Reasoning{Effort: "medium", Summary: true}},
		{"adaptive with effort", `,"thinking":{"type":"adaptive","display":"summarized"},"output_config":{"effort":"xhigh"}`, &llm.Reasoning{Effort: "xhigh", Summary: true}},
		{"disabled", `,"thinking":{"type":"disabled"},"output_config":{"effort":"high"}`, &llm.Reasoning{Disabled: true}},
		{"effort alone", `,"output_config":{"effort":"low"}`, &llm.Reasoning{Effort: "low"}},
		{"null thinking", `,"thinking":null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(minimal(tt.extra)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.Reasoning); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseToolChoice covers the four choices; "any" must not be lost
// (one-api mapped only some of them, §10.3).
func TestParseToolChoice(t *testing.T) {
	tests := []struct {
		choice   string
		want     llm.ToolChoice
		parallel *bool
	}{
		{`{"type":"auto"}`, llm.ToolChoice{Mode: llm.ToolAuto}, nil},
		{`{"type":"auto","disable_parallel_tool_use":false}`, llm.ToolChoice{Mode: llm.ToolAuto}, nil},
		{`{"type":"any","disable_parallel_tool_use":true}`, llm.ToolChoice{Mode: llm.ToolRequired}, new(false)},
		{`{"type":"tool","name":"f","disable_parallel_tool_use":true}`, llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}, new(false)},
		{`{"type":"none","disable_parallel_tool_use":true}`, llm.ToolChoice{Mode: llm.ToolNone}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.choice, func(t *testing.T) {
			r, err := ParseRequest([]byte(minimal(`,"tools":[{"name":"f"}],"tool_choice":` + tt.choice)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.ToolChoice); diff != "" {
				t.Errorf("choice (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.parallel, r.ParallelToolCalls); diff != "" {
				t.Errorf("parallel (-want +got):\n%s", diff)
			}
		})
	}
}
