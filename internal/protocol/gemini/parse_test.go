package gemini

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// wantInvalid checks that err is the client error the brief asks for.
func wantInvalid(t *testing.T, err error, param, msgPart string) {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *llm.Error", err, err)
	}
	if e.Kind != llm.KindInvalid || e.Code != "invalid_request" {
		t.Errorf("kind/code = %v/%q, want invalid/invalid_request", e.Kind, e.Code)
	}
	if e.Param != param {
		t.Errorf("param = %q, want %q", e.Param, param)
	}
	if !strings.Contains(e.Message, msgPart) {
		t.Errorf("message %q does not contain %q", e.Message, msgPart)
	}
}

func TestParseRequestErrors(t *testing.T) {
	const user = `"contents":[{"role":"user","parts":[{"text":"hi"}]}]`
	tests := []struct {
		name, body, param, msg string
	}{
		{"not json", `{"contents":`, "", "not valid JSON"},
		{"not an object", `[1,2]`, "", "must be a JSON object"},
		{"no contents", `{}`, "contents", "contents is not specified"},
		{"empty contents", `{"contents":[]}`, "contents", "contents is not specified"},
		{"contents not array", `{"contents":{"parts":[]}}`, "contents", "must be an array"},
		{"content not object", `{"contents":["hi"]}`, "contents[0]", "must be an object"},
		{"bad role", `{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}`, "contents[0].role", `"user" or "model"`},
		{"role not string", `{"contents":[{"role":1,"parts":[{"text":"x"}]}]}`, "contents[0].role", "must be a string"},
		{"no parts", `{"contents":[{"role":"user"},{"role":"model","parts":[]}]}`, "contents", "no parts to send"},
		{"only empty text", `{"contents":[{"parts":[{"text":""}]}]}`, "contents", "no parts to send"},
		{"parts not array", `{"contents":[{"parts":{"text":"x"}}]}`, "contents[0].parts", "must be an array"},
		{"text not string", `{"contents":[{"parts":[{"text":5}]}]}`, "contents[0].parts[0].text", "must be a string"},
		{"thought not bool", `{"contents":[{"role":"model","parts":[{"text":"a","thought":"yes"}]}]}`,
			"contents[0].parts[0].thought", "must be a boolean"},
		{"two data fields", `{"contents":[{"parts":[{"text":"a","inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`,
			"contents[0].parts[0]", "exactly one of"},
		{"inline without mime", `{"contents":[{"parts":[{"inlineData":{"data":"AA=="}}]}]}`,
			"contents[0].parts[0].inlineData.mimeType", "is required"},
		{"inline without data", `{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png"}}]}]}`,
			"contents[0].parts[0].inlineData.data", "is required"},
		{"file without uri", `{"contents":[{"parts":[{"fileData":{"mimeType":"image/png"}}]}]}`,
			"contents[0].parts[0].fileData.fileUri", "is required"},
		{"code execution part", `{"contents":[{"role":"model","parts":[{"executableCode":{"code":"print(1)"}}]}]}`,
			"contents[0].parts[0].executableCode", "only available on Gemini models"},
		{"call in user turn", `{"contents":[{"parts":[{"functionCall":{"name":"f"}}]}]}`,
			"contents[0].parts[0].functionCall", `role "model"`},
		{"response in model turn", `{"contents":[{"role":"model","parts":[{"functionResponse":{"name":"f"}}]}]}`,
			"contents[0].parts[0].functionResponse", `role "user"`},
		{"call without name", `{"contents":[{"role":"model","parts":[{"functionCall":{"args":{}}}]}]}`,
			"contents[0].parts[0].functionCall.name", "is required"},
		{"args not object", `{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":[1]}}]}]}`,
			"contents[0].parts[0].functionCall.args", "must be an object"},
		{"response without name", `{"contents":[{"parts":[{"functionResponse":{"response":{}}}]}]}`,
			"contents[0].parts[0].functionResponse.name", "is required"},
		{"response not object", `{"contents":[{"parts":[{"functionResponse":{"name":"f","response":"ok"}}]}]}`,
			"contents[0].parts[0].functionResponse.response", "must be an object"},
		{"response with audio", `{"contents":[{"parts":[{"functionResponse":{"name":"f","parts":[{"inlineData":{"mimeType":"audio/wav","data":"AA=="}}]}}]}]}`,
			"contents[0].parts[0].functionResponse.parts[0].inlineData.mimeType", "only images"},
		{"system image", `{"systemInstruction":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]},` + user + `}`,
			"systemInstruction.parts[0]", "only text parts"},
		{"google search", `{"tools":[{"googleSearch":{}}],` + user + `}`, "tools[0].googleSearch",
			"the tool googleSearch is only available on Gemini models"},
		{"code execution snake", `{"tools":[{"code_execution":{}}],` + user + `}`, "tools[0].codeExecution",
			"the tool codeExecution is only available on Gemini models"},
		{"declaration without name", `{"tools":[{"functionDeclarations":[{"description":"x"}]}],` + user + `}`,
			"tools[0].functionDeclarations[0].name", "is required"},
		{"both schemas", `{"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT"},"parametersJsonSchema":{"type":"object"}}]}],` + user + `}`,
			"tools[0].functionDeclarations[0]", "mutually exclusive"},
		{"schema not object", `{"tools":[{"functionDeclarations":[{"name":"f","parametersJsonSchema":true}]}],` + user + `}`,
			"tools[0].functionDeclarations[0].parametersJsonSchema", "must be an object"},
		{"bad mode", `{"toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}},` + user + `}`,
			"toolConfig.functionCallingConfig.mode", "AUTO, ANY or NONE"},
		{"cached content", `{"cachedContent":"cachedContents/abc",` + user + `}`, "cachedContent", "only available on Gemini models"},
		{"candidate count", `{"generationConfig":{"candidateCount":2},` + user + `}`, "generationConfig.candidateCount",
			"candidateCount > 1 is not supported"},
		{"image output", `{"generationConfig":{"responseModalities":["TEXT","IMAGE"]},` + user + `}`,
			"generationConfig.responseModalities", "IMAGE is only available on Gemini models"},
		{"enum mime", `{"generationConfig":{"responseMimeType":"text/x.enum"},` + user + `}`,
			"generationConfig.responseMimeType", "only available on Gemini models"},
		{"bad mime", `{"generationConfig":{"responseMimeType":"text/html"},` + user + `}`,
			"generationConfig.responseMimeType", "text/plain or application/json"},
		{"two response schemas", `{"generationConfig":{"responseSchema":{"type":"OBJECT"},"responseJsonSchema":{}},` + user + `}`,
			"generationConfig.responseSchema", "mutually exclusive"},
		{"temperature string", `{"generationConfig":{"temperature":"hot"},` + user + `}`,
			"generationConfig.temperature", "must be a number"},
		{"topK fraction", `{"generationConfig":{"topK":1.5},` + user + `}`, "generationConfig.topK", "must be an integer"},
		{"negative max tokens", `{"generationConfig":{"maxOutputTokens":-1},` + user + `}`,
			"generationConfig.maxOutputTokens", "must not be negative"},
		{"stop not strings", `{"generationConfig":{"stopSequences":["a",1]},` + user + `}`,
			"generationConfig.stopSequences", "[1] must be a string"},
		{"bad budget", `{"generationConfig":{"thinkingConfig":{"thinkingBudget":-5}},` + user + `}`,
			"generationConfig.thinkingConfig.thinkingBudget", "-1 (dynamic)"},
		{"bad level", `{"generationConfig":{"thinkingConfig":{"thinkingLevel":"EXTREME"}},` + user + `}`,
			"generationConfig.thinkingConfig.thinkingLevel", "MINIMAL, LOW, MEDIUM or HIGH"},
		{"config not object", `{"generationConfig":[],` + user + `}`, "generationConfig", "must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tt.body))
			if err == nil {
				t.Fatalf("ParseRequest succeeded: %+v", r)
			}
			wantInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestParseRequestToolChoice(t *testing.T) {
	tests := []struct {
		name, config string
		want         llm.ToolChoice
	}{
		{"absent", ``, llm.ToolChoice{}},
		{"auto", `{"functionCallingConfig":{"mode":"AUTO"}}`, llm.ToolChoice{Mode: llm.ToolAuto}},
		{"validated", `{"functionCallingConfig":{"mode":"VALIDATED"}}`, llm.ToolChoice{Mode: llm.ToolAuto}},
		{"none", `{"functionCallingConfig":{"mode":"NONE"}}`, llm.ToolChoice{Mode: llm.ToolNone}},
		{"any", `{"functionCallingConfig":{"mode":"ANY"}}`, llm.ToolChoice{Mode: llm.ToolRequired}},
		{"any lower case", `{"functionCallingConfig":{"mode":"any"}}`, llm.ToolChoice{Mode: llm.ToolRequired}},
		{"any one name", `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`,
			llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}},
		{"any several names", `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f","g"]}}`,
			llm.ToolChoice{Mode: llm.ToolRequired}},
		{"auto ignores names", `{"functionCallingConfig":{"mode":"AUTO","allowedFunctionNames":["f"]}}`,
			llm.ToolChoice{Mode: llm.ToolAuto}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f"},{"name":"g"}]}]`
			if tt.config != "" {
				body += `,"toolConfig":` + tt.config
			}
			r, err := ParseRequest([]byte(body + "}"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.ToolChoice); diff != "" {
				t.Errorf("ToolChoice (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRequestThinking(t *testing.T) {
	tests := []struct {
		name, config string
		want         *llm.Reasoning
	}{
		{"absent", `{}`, nil},
		{"off", `{"thinkingBudget":0}`, &llm.Reasoning{Disabled: true}},
		{"budget", `{"thinkingBudget":1024}`, &llm.Reasoning{Budget: 1024}},
		{"budget as string", `{"thinkingBudget":"2048"}`, &llm.Reasoning{Budget: 2048}},
		{"dynamic with thoughts", `{"thinkingBudget":-1,"includeThoughts":true}`, &llm.Reasoning{Budget: -1, Summary: true}},
		{"thoughts only", `{"includeThoughts":true}`, &llm.Reasoning{Summary: true}},
		{"thoughts off only", `{"includeThoughts":false}`, nil},
		{"level", `{"thinkingLevel":"LOW"}`, &llm.Reasoning{Effort: "low"}},
		{"level minimal", `{"thinking_level":"MINIMAL"}`, &llm.Reasoning{Effort: "minimal"}},
		{"level unspecified", `{"thinkingLevel":"THINKING_LEVEL_UNSPECIFIED"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":` + tt.config + `}}`
			r, err := ParseRequest([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.Reasoning); diff != "" {
				t.Errorf("Reasoning (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRequestUnknownFieldsIgnored(t *testing.T) {
	body := `{"contents":[{"parts":[{"text":"hi","partMetadata":{"x":1},"mediaResolution":{"level":"LOW"}},{"futureThing":{}}],"futureRole":1}],
		"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],"labels":{"a":"b"},
		"generationConfig":{"responseLogprobs":false,"logprobs":3,"mediaResolution":"MEDIA_RESOLUTION_LOW"},
		"toolConfig":{"retrievalConfig":{}}}`
	r, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "hi"}}}}
	if diff := cmp.Diff(want, r.Messages); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
}

func TestParseRequestDeepSchema(t *testing.T) {
	schema := strings.Repeat(`{"type":"ARRAY","items":`, 200) + `{"type":"STRING"}` + strings.Repeat("}", 200)
	body := `{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":` + schema + `}]}]}`
	_, err := ParseRequest([]byte(body))
	wantInvalid(t, err, "tools[0].functionDeclarations[0].parameters", "nested too deeply")
}

func TestParseCountRequest(t *testing.T) {
	want := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Hello"}}}}
	tests := []struct {
		name, body string
		system     bool
	}{
		{"contents", `{"contents":[{"role":"user","parts":[{"text":"Hello"}]}]}`, false},
		{"wrapped", `{"generateContentRequest":{"model":"models/gemini-2.5-flash","contents":[{"parts":[{"text":"Hello"}]}],
			"systemInstruction":{"parts":[{"text":"Be brief."}]},"generationConfig":{"candidateCount":4}}}`, true},
		{"wrapped snake", `{"generate_content_request":{"contents":[{"parts":[{"text":"Hello"}]}],"system_instruction":{"parts":[{"text":"Be brief."}]}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseCountRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, r.Messages); diff != "" {
				t.Errorf("Messages (-want +got):\n%s", diff)
			}
			if got := len(r.System) > 0; got != tt.system {
				t.Errorf("system present = %v, want %v", got, tt.system)
			}
		})
	}
	_, err := ParseCountRequest([]byte(`{"generateContentRequest":[]}`))
	wantInvalid(t, err, "generateContentRequest", "must be an object")
	_, err = ParseCountRequest([]byte(`{}`))
	wantInvalid(t, err, "contents", "contents is not specified")
}

func TestCountResponse(t *testing.T) {
	if got, want := string(CountResponse(1234)), `{"totalTokens":1234}`; got != want {
		t.Errorf("CountResponse = %s, want %s", got, want)
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in, model, method string
		ok                bool
	}{
		{"gemini-2.5-flash:generateContent", "gemini-2.5-flash", "generateContent", true},
		{"models/gemini-2.5-pro:streamGenerateContent", "gemini-2.5-pro", "streamGenerateContent", true},
		{"gemini-3.1-pro-preview:generateContent/", "gemini-3.1-pro-preview", "generateContent", true},
		{"gemini-2.5-flash:countTokens", "gemini-2.5-flash", "countTokens", true},
		{"gemini-2.5-flash", "", "", false},
		{":generateContent", "", "", false},
		{"gemini-2.5-flash:", "", "", false},
		{"models/:generateContent", "", "", false},
		{"tunedModels/x:generateContent", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			model, method, ok := ParsePath(tt.in)
			if model != tt.model || method != tt.method || ok != tt.ok {
				t.Errorf("ParsePath(%q) = %q, %q, %v; want %q, %q, %v", tt.in, model, method, ok, tt.model, tt.method, tt.ok)
			}
		})
	}
}

// go-genai's chat sends back an empty model content for an answer that had
// no parts; it is skipped and the user turns around it become one.
func TestParseRequestSkipsEmptyContent(t *testing.T) {
	body := `{"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"model"},{"role":"user","parts":[{"text":"b"}]}]}`
	r, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "a"}, {Kind: llm.PartText, Text: "b"}}}}
	if diff := cmp.Diff(want, r.Messages); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
}
