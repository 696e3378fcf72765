package gemini

import (
	"encoding/json"
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
		return llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, ID: "c1", Name: "f", Arguments: args}}}
	}
	tests := []struct {
		name, param, msg string
		req              llm.Request
	}{
		{"remote image", "messages[0].parts[0]", "image URL must be fetched before encoding", llm.Request{Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartImage, URL: "https://example.com/cat.png"}}}}}},
		{"remote file", "messages[0].parts[0]", "must be fetched", llm.Request{Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartFile, MIME: "application/pdf", URL: "https://example.com/a.pdf"}}}}}},
		{"image without data", "messages[0].parts[0]", "has no data", llm.Request{Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartImage, MIME: "image/png"}}}}}},
		{"unknown mime", "messages[0].parts[0]", "MIME type", llm.Request{Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartFile, Data: "aGVsbG8gd29ybGQ="}}}}}},
		{"args array", "messages[1].parts[0]", "not a JSON object", llm.Request{Messages: []llm.Message{userText("x"), call("[1,2]")}}},
		{"args broken", "messages[1].parts[0]", "not a JSON object", llm.Request{Messages: []llm.Message{userText("x"), call(`{"a":`)}}},
		{"args trailing", "messages[1].parts[0]", "not a JSON object", llm.Request{Messages: []llm.Message{userText("x"), call(`{} {}`)}}},
		{"call without name", "messages[1].parts[0]", "no function name", llm.Request{Messages: []llm.Message{userText("x"),
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, ID: "c1", Arguments: "{}"}}}}}},
		{"orphan result", "messages[0].parts[0]", "needs the function's name", llm.Request{Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "nope", Content: []llm.Part{{Kind: llm.PartText, Text: "x"}}}}}}}},
		{"too many stops", "stop", "at most 5 stop sequences", llm.Request{Messages: []llm.Message{userText("x")},
			Stop: []string{"a", "b", "c", "d", "e", "f"}}},
		{"no messages", "messages", "no content", llm.Request{}},
		{"only thinking", "messages", "no content", llm.Request{Messages: []llm.Message{
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartThinking, Text: "hmm"}}}}}},
		{"bad tool schema", "tools[0]", "not valid JSON", llm.Request{Messages: []llm.Message{userText("x")},
			Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":`)}}}},
		{"bad response schema", "format", "not valid JSON", llm.Request{Messages: []llm.Message{userText("x")},
			Format: &llm.Format{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{]`)}}},
		{"bad role", "messages[0].role", "cannot be sent", llm.Request{Messages: []llm.Message{{Role: "system", Parts: []llm.Part{{Kind: llm.PartText, Text: "x"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := BuildRequest(&tt.req)
			if err == nil {
				t.Fatalf("BuildRequest succeeded: %s", body)
			}
			wantInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestBuildRequestThinking(t *testing.T) {
	tests := []struct {
		name string
		in   *llm.Reasoning
		want string // generationConfig.thinkingConfig, "" when absent
	}{
		{"none", nil, ""},
		{"default", &llm.Reasoning{}, ""},
		{"disabled", &llm.Reasoning{Disabled: true, Summary: true}, `{"thinkingBudget":0}`},
		{"effort none", &llm.Reasoning{Effort: "none"}, `{"thinkingBudget":0}`},
		{"effort low", &llm.Reasoning{Effort: "low"}, `{"thinkingBudget":1024}`},
		{"effort medium summary", &llm.Reasoning{Effort: "medium", Summary: true}, `{"thinkingBudget":4096,"includeThoughts":true}`},
		{"effort xhigh", &llm.Reasoning{Effort: "xhigh"}, `{"thinkingBudget":32768}`},
		{"budget", &llm.Reasoning{Budget: 5000}, `{"thinkingBudget":5000}`},
		{"budget wins over effort", &llm.Reasoning{Budget: 700, Effort: "high"}, `{"thinkingBudget":700}`},
		{"dynamic", &llm.Reasoning{Budget: -1, Summary: true}, `{"thinkingBudget":-1,"includeThoughts":true}`},
		{"summary only", &llm.Reasoning{Summary: true}, `{"includeThoughts":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := BuildRequest(&llm.Request{Messages: []llm.Message{userText("x")}, Reasoning: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			got := gjson.GetBytes(body, "generationConfig.thinkingConfig").Raw
			if got != tt.want {
				t.Errorf("thinkingConfig = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBuildRequestToolChoice(t *testing.T) {
	tools := []llm.Tool{{Name: "f", Parameters: json.RawMessage(`null`)}}
	tests := []struct {
		name   string
		tools  []llm.Tool
		choice llm.ToolChoice
		want   string
	}{
		{"auto", tools, llm.ToolChoice{}, ""},
		{"none", tools, llm.ToolChoice{Mode: llm.ToolNone}, `{"functionCallingConfig":{"mode":"NONE"}}`},
		{"required", tools, llm.ToolChoice{Mode: llm.ToolRequired}, `{"functionCallingConfig":{"mode":"ANY"}}`},
		{"named", tools, llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"},
			`{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`},
		{"no tools", nil, llm.ToolChoice{Mode: llm.ToolRequired}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := BuildRequest(&llm.Request{Messages: []llm.Message{userText("x")}, Tools: tt.tools, ToolChoice: tt.choice})
			if err != nil {
				t.Fatal(err)
			}
			if got := gjson.GetBytes(body, "toolConfig").Raw; got != tt.want {
				t.Errorf("toolConfig = %s, want %s", got, tt.want)
			}
			if len(tt.tools) > 0 {
				if got := gjson.GetBytes(body, "tools").Raw; got != `[{"functionDeclarations":[{"name":"f"}]}]` {
					t.Errorf("tools = %s (a null schema must be omitted)", got)
				}
			}
		})
	}
}

func TestBuildRequestToolResultShapes(t *testing.T) {
	tests := []struct {
		name    string
		content []llm.Part
		isError bool
		want    string
	}{
		{"text", []llm.Part{{Kind: llm.PartText, Text: "sunny"}}, false, `{"result":"sunny"}`},
		{"several texts", []llm.Part{{Kind: llm.PartText, Text: "a"}, {Kind: llm.PartText, Text: "b"}}, false, `{"result":"ab"}`},
		{"empty", nil, false, `{"result":""}`},
		{"object", []llm.Part{{Kind: llm.PartText, Text: ` {"t": 1} `}}, false, `{"t":1}`},
		{"array", []llm.Part{{Kind: llm.PartText, Text: `[1,2]`}}, false, `{"result":"[1,2]"}`},
		{"error", []llm.Part{{Kind: llm.PartText, Text: "boom"}}, true, `{"error":"boom"}`},
		{"error object", []llm.Part{{Kind: llm.PartText, Text: `{"code":5}`}}, true, `{"error":"{\"code\":5}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &llm.Request{Messages: []llm.Message{
				userText("x"),
				{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, ID: "c1", Name: "f"}}},
				{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "c1", Content: tt.content, IsError: tt.isError}}},
			}}
			body, err := BuildRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			resp := gjson.GetBytes(body, "contents.2.parts.0.functionResponse")
			if diff := cmp.Diff(tt.want, resp.Get("response").Raw); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if resp.Get("name").Str != "f" {
				t.Errorf("name = %q, want the call's name f", resp.Get("name").Str)
			}
		})
	}
}

// A request that went from a Gemini client to the llm form comes back to
// Gemini unchanged in substance: the translation is stable both ways.
func TestRequestRoundTrip(t *testing.T) {
	in := `{"systemInstruction":{"parts":[{"text":"Be brief."}]},
		"contents":[{"role":"user","parts":[{"text":"Weather?"}]},
		{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Oslo"}},"thoughtSignature":"CiQBcsjafHpbmQ=="}]},
		{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temp":3}}}]}],
		"tools":[{"functionDeclarations":[{"name":"get_weather","parametersJsonSchema":{"type":"object"}}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},
		"generationConfig":{"maxOutputTokens":100,"temperature":0.5,"stopSequences":["x"],
		"responseMimeType":"application/json","thinkingConfig":{"thinkingBudget":512,"includeThoughts":true}}}`
	r, err := ParseRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := BuildRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestBuildRequestSchemasVerbatim: Gemini's `parameters` and
// `responseSchema` take only an OpenAPI subset, so JSON Schemas go out
// verbatim as parametersJsonSchema and responseJsonSchema, keeping what the
// subset lacks and other gateways strip (provider-protocols §10.3, §10.6).
func TestBuildRequestSchemasVerbatim(t *testing.T) {
	tests := []struct{ name, schema string }{
		{"$schema and additionalProperties", `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`},
		{"default and examples", `{"type":"object","properties":{"n":{"type":"integer","default":3,"examples":[1,2]}}}`},
		{"format", `{"type":"object","properties":{"mail":{"type":"string","format":"email"},"at":{"type":"string","format":"date-time"}}}`},
		{"$defs and $ref", `{"type":"object","properties":{"unit":{"$ref":"#/$defs/unit"}},"$defs":{"unit":{"type":"string","enum":["c","f"]}}}`},
		{"combinators and const", `{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"const":1}]}},"required":["v"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := BuildRequest(&llm.Request{Messages: []llm.Message{userText("x")},
				Tools:  []llm.Tool{{Name: "f", Parameters: json.RawMessage(tt.schema)}},
				Format: &llm.Format{Type: llm.FormatJSONSchema, Name: "out", Schema: json.RawMessage(tt.schema)}})
			if err != nil {
				t.Fatal(err)
			}
			fn := gjson.GetBytes(body, "tools.0.functionDeclarations.0")
			if got := fn.Get("parametersJsonSchema").Raw; got != tt.schema {
				t.Errorf("parametersJsonSchema = %s, want %s", got, tt.schema)
			}
			if fn.Get("parameters").Exists() {
				t.Errorf("the OpenAPI-subset field parameters was sent: %s", fn.Raw)
			}
			gc := gjson.GetBytes(body, "generationConfig")
			if got := gc.Get("responseJsonSchema").Raw; got != tt.schema {
				t.Errorf("responseJsonSchema = %s, want %s", got, tt.schema)
			}
			if gc.Get("responseSchema").Exists() || gc.Get("responseMimeType").Str != "application/json" {
				t.Errorf("generationConfig = %s", gc.Raw)
			}
		})
	}
}
