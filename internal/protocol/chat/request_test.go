package chat

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// msgs wraps one message into a minimal request.
func msgs(m string) string { return `{"model":"m","messages":[` + m + `]}` }

func TestParseRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, param, msg string
	}{
		{"not an object", `[1]`, "", "the request body must be a JSON object"},
		{"no model", `{"messages":[{"role":"user","content":"x"}]}`, "model", ""},
		{"model not a string", `{"model":1,"messages":[{"role":"user","content":"x"}]}`, "model", ""},
		{"no messages", `{"model":"m"}`, "messages", ""},
		{"empty messages", `{"model":"m","messages":[]}`, "messages", ""},
		{"message not an object", msgs(`"hi"`), "messages[0]", ""},
		{"unknown role", msgs(`{"role":"robot","content":"x"}`), "messages[0].role", ""},
		{"user without content", msgs(`{"role":"user"}`), "messages[0].content", ""},
		{"user with empty parts", msgs(`{"role":"user","content":[]}`), "messages[0].content", ""},
		{"content a number", msgs(`{"role":"user","content":5}`), "messages[0].content", ""},
		{"part without type", msgs(`{"role":"user","content":[{"text":"x"}]}`), "messages[0].content[0].type", ""},
		{"unknown part", msgs(`{"role":"user","content":[{"type":"video_url","video_url":{"url":"https://v"}}]}`), "messages[0].content[0].type", ""},
		{"text not a string", msgs(`{"role":"user","content":[{"type":"text","text":1}]}`), "messages[0].content[0].text", ""},
		{"image in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, "messages[0].content[0].type", ""},
		{"system without content", msgs(`{"role":"system"}`), "messages[0].content", ""},
		{"data URL not base64", msgs(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}`), "messages[0].content[0].image_url.url", ""},
		{"image without url", msgs(`{"role":"user","content":[{"type":"image_url","image_url":{}}]}`), "messages[0].content[0].image_url.url", ""},
		{"file without data", msgs(`{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf"}}]}`), "messages[0].content[0].file.file_data", ""},
		{"audio", msgs(`{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}`), "messages[0].content[0]", "audio input is not supported for this model"},
		{"tool call without id", msgs(`{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}`), "messages[0].tool_calls[0].id", ""},
		{"tool call without name", msgs(`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}`), "messages[0].tool_calls[0].function.name", ""},
		{"custom tool call", msgs(`{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"f","input":"x"}}]}`), "messages[0].tool_calls[0].type", ""},
		{"arguments an object", msgs(`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]}`), "messages[0].tool_calls[0].function.arguments", ""},
		{"tool without id", msgs(`{"role":"tool","content":"x"}`), "messages[0].tool_call_id", ""},
		{"tool without content", msgs(`{"role":"tool","tool_call_id":"c"}`), "messages[0].content", ""},
		{"function without name", msgs(`{"role":"function","content":"x"}`), "messages[0].name", ""},
		{"bad thinking block", msgs(`{"role":"assistant","content":"x","thinking_blocks":[{"type":"secret"}]}`), "messages[0].thinking_blocks[0].type", ""},
		{"redacted without data", msgs(`{"role":"assistant","content":"x","thinking_blocks":[{"type":"redacted_thinking"}]}`), "messages[0].thinking_blocks[0].data", ""},
		{"n not an integer", `{"model":"m","n":1.5,"messages":[{"role":"user","content":"x"}]}`, "n", ""},
		{"n zero", `{"model":"m","n":0,"messages":[{"role":"user","content":"x"}]}`, "n", ""},
		{"stream not bool", `{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}`, "stream", ""},
		{"max_tokens zero", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, "max_tokens", ""},
		{"max_completion_tokens fractional", `{"model":"m","max_completion_tokens":2.5,"messages":[{"role":"user","content":"x"}]}`, "max_completion_tokens", ""},
		{"temperature a string", `{"model":"m","temperature":"hot","messages":[{"role":"user","content":"x"}]}`, "temperature", ""},
		{"seed too big", `{"model":"m","seed":1e30,"messages":[{"role":"user","content":"x"}]}`, "seed", ""},
		{"stop a number", `{"model":"m","stop":5,"messages":[{"role":"user","content":"x"}]}`, "stop", ""},
		{"stop array of numbers", `{"model":"m","stop":[5],"messages":[{"role":"user","content":"x"}]}`, "stop[0]", ""},
		{"tools not an array", `{"model":"m","tools":{},"messages":[{"role":"user","content":"x"}]}`, "tools", ""},
		{"tool without name", `{"model":"m","tools":[{"type":"function","function":{}}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].function.name", ""},
		{"parameters not an object", `{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":"x"}}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].function.parameters", ""},
		{"tool_choice unknown", `{"model":"m","tool_choice":"any","messages":[{"role":"user","content":"x"}]}`, "tool_choice", ""},
		{"tool_choice allowed_tools", `{"model":"m","tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}},"messages":[{"role":"user","content":"x"}]}`, "tool_choice.type", ""},
		{"tool_choice without name", `{"model":"m","tool_choice":{"type":"function","function":{}},"messages":[{"role":"user","content":"x"}]}`, "tool_choice.function.name", ""},
		{"function_call without name", `{"model":"m","function_call":{},"messages":[{"role":"user","content":"x"}]}`, "function_call.name", ""},
		{"parallel not bool", `{"model":"m","parallel_tool_calls":1,"messages":[{"role":"user","content":"x"}]}`, "parallel_tool_calls", ""},
		{"response_format unknown", `{"model":"m","response_format":{"type":"yaml"},"messages":[{"role":"user","content":"x"}]}`, "response_format.type", ""},
		{"json_schema missing", `{"model":"m","response_format":{"type":"json_schema"},"messages":[{"role":"user","content":"x"}]}`, "response_format.json_schema", ""},
		{"schema not an object", `{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":[]}},"messages":[{"role":"user","content":"x"}]}`, "response_format.json_schema.schema", ""},
		{"reasoning_effort unknown", `{"model":"m","reasoning_effort":"extreme","messages":[{"role":"user","content":"x"}]}`, "reasoning_effort", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRequest([]byte(tt.body))
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			if e.Kind != llm.KindInvalid || e.Code != "invalid_request" || e.Param != tt.param || e.Message == "" {
				t.Errorf("got %+v, want invalid_request with param %q", e, tt.param)
			}
			if tt.msg != "" && e.Message != tt.msg {
				t.Errorf("message %q, want %q", e.Message, tt.msg)
			}
		})
	}
}

func TestParseRequestNullsAreUnset(t *testing.T) {
	body := `{"model":"m","stream":null,"temperature":null,"top_p":null,"seed":null,"stop":null,"n":null,"max_tokens":null,
		"tools":null,"tool_choice":null,"response_format":null,"reasoning_effort":null,"user":null,"parallel_tool_calls":null,
		"messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":null,"reasoning_content":null,"thinking_blocks":null}]}`
	r, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "x"}}}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestRequestRoundTrip: a Chat request parsed and rebuilt for a Chat
// upstream is stable: parsing the built body and building again gives the
// same bytes, so nothing Chat can express is lost on the way.
func TestRequestRoundTrip(t *testing.T) {
	for _, in := range inputs(t, "parse_request", ".json") {
		r, err := ParseRequest(read(t, in))
		if err != nil {
			continue // the error goldens
		}
		t.Run(in, func(t *testing.T) {
			out, err := BuildRequest(r, Dialect{})
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseRequest(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			out2, err := BuildRequest(again, Dialect{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(out), string(out2)); diff != "" {
				t.Errorf("second build (-first +second):\n%s", diff)
			}
		})
	}
}

func TestBuildRequestRejectsInvalidSchema(t *testing.T) {
	r := &llm.Request{Model: "m", Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":`)}},
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "x"}}}}}
	_, err := BuildRequest(r, Dialect{})
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindInvalid {
		t.Fatalf("err = %v, want an invalid-request *llm.Error", err)
	}
}

func TestBuildRequestImageWithoutSource(t *testing.T) {
	r := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartImage}}}}}
	_, err := BuildRequest(r, Dialect{})
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindInvalid || e.Param != "messages[0].content[0]" {
		t.Fatalf("err = %v, want an invalid-request error on messages[0].content[0]", err)
	}
}

func TestParseRequestNeedsSomeContent(t *testing.T) {
	_, err := ParseRequest([]byte(msgs(`{"role":"assistant","content":""}`)))
	var e *llm.Error
	if !errors.As(err, &e) || e.Param != "messages" {
		t.Fatalf("err = %v, want an error on messages", err)
	}
}

func TestParseToolChoice(t *testing.T) {
	tests := []struct {
		raw  string
		want llm.ToolChoice
	}{
		{`"tool_choice":"auto"`, llm.ToolChoice{Mode: llm.ToolAuto}},
		{`"tool_choice":"none"`, llm.ToolChoice{Mode: llm.ToolNone}},
		{`"tool_choice":"required"`, llm.ToolChoice{Mode: llm.ToolRequired}},
		{`"tool_choice":{"type":"function","function":{"name":"f"}}`, llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}},
		{`"function_call":"none"`, llm.ToolChoice{Mode: llm.ToolNone}},
		{`"function_call":{"name":"f"}`, llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}},
		{`"tool_choice":"required","function_call":"none"`, llm.ToolChoice{Mode: llm.ToolRequired}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			r, err := ParseRequest([]byte(`{"model":"m",` + tt.raw + `,"messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.ToolChoice); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
