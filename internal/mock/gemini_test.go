package mock

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genai"
)

func geminiClient(t *testing.T, url string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      testKey,
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: url},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGemini(t *testing.T) {
	weather := &genai.Tool{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name:                 "get_weather",
		ParametersJsonSchema: weatherSchema,
	}}}
	tests := []struct {
		name     string
		contents []*genai.Content
		config   *genai.GenerateContentConfig
		want     result
	}{{
		name:     "text",
		contents: genai.Text("Say hello to the world"),
		config:   &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText("Be terse.", genai.RoleUser)},
		want:     result{Text: eightWords, Finish: "STOP", Prompt: 9, Completion: 8},
	}, {
		name:     "max output tokens",
		contents: genai.Text("hi"),
		config:   &genai.GenerateContentConfig{MaxOutputTokens: 1},
		want:     result{Text: "Tokenhot", Finish: "MAX_TOKENS", Prompt: 2, Completion: 1},
	}, {
		name:     "function call",
		contents: genai.Text("What is the weather in Lima?"),
		config:   &genai.GenerateContentConfig{Tools: []*genai.Tool{weather}},
		want:     result{ToolName: "get_weather", ToolArgs: weatherArgs, Finish: "STOP", Prompt: 7, Completion: 4},
	}, {
		name:     "function call forced",
		contents: genai.Text("hello"),
		config: &genai.GenerateContentConfig{
			Tools:      []*genai.Tool{weather},
			ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny}},
		},
		want: result{ToolName: "get_weather", ToolArgs: weatherArgs, Finish: "STOP", Prompt: 2, Completion: 4},
	}, {
		name:     "thinking",
		contents: genai.Text("think"),
		config: &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{
			IncludeThoughts: true,
			ThinkingBudget:  genai.Ptr[int32](1024),
		}},
		want: result{Text: eightWords, Reasoning: reasoningText, Finish: "STOP", Prompt: 2, Completion: 8, Thoughts: 15},
	}}
	_, url := startMock(t, Options{})
	client := geminiClient(t, url)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Models.GenerateContent(ctx, "gemini-2.5-flash", tt.contents, tt.config)
			if err != nil {
				t.Fatal(err)
			}
			var got result
			addGemini(t, &got, resp)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			got = result{}
			for chunk, err := range client.Models.GenerateContentStream(ctx, "gemini-2.5-flash", tt.contents, tt.config) {
				if err != nil {
					t.Fatal(err)
				}
				addGemini(t, &got, chunk)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

// addGemini folds a response, or one stream chunk, into r: text deltas add
// up, usage and finish reason are replaced (they are cumulative).
func addGemini(t *testing.T, r *result, resp *genai.GenerateContentResponse) {
	t.Helper()
	if len(resp.Candidates) != 1 {
		t.Fatalf("%d candidates", len(resp.Candidates))
	}
	c := resp.Candidates[0]
	for _, part := range c.Content.Parts {
		switch {
		case part.Thought:
			r.Reasoning += part.Text
		case part.FunctionCall != nil:
			args, err := json.Marshal(part.FunctionCall.Args)
			if err != nil {
				t.Fatal(err)
			}
			r.ToolName, r.ToolArgs = part.FunctionCall.Name, canonicalJSON(t, string(args))
		default:
			r.Text += part.Text
		}
	}
	if c.FinishReason != "" {
		r.Finish = string(c.FinishReason)
	}
	if u := resp.UsageMetadata; u != nil {
		r.Prompt, r.Completion, r.Thoughts = int64(u.PromptTokenCount), int64(u.CandidatesTokenCount), int64(u.ThoughtsTokenCount)
		if u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount+u.ThoughtsTokenCount {
			t.Errorf("totalTokenCount %d is not the sum of %+v", u.TotalTokenCount, u)
		}
	}
}

// canonicalJSON re-encodes an object with the keys of weatherArgs in its
// order, since the SDK hands arguments back as a map.
func canonicalJSON(t *testing.T, s string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range []string{"city", "days", "unit"} {
		if _, ok := m[k]; !ok {
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
		kv, _ := json.Marshal(k)
		v, _ := json.Marshal(m[k])
		b.Write(kv)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

func TestGeminiCountTokensAndModels(t *testing.T) {
	_, url := startMock(t, Options{})
	client := geminiClient(t, url)
	ctx := context.Background()
	count, err := client.Models.CountTokens(ctx, "gemini-2.5-flash", genai.Text("Say hello to the world"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if count.TotalTokens != 6 {
		t.Errorf("countTokens = %d, want 6", count.TotalTokens)
	}
	page, err := client.Models.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range page.Items {
		names = append(names, m.Name)
	}
	want := []string{"models/gemini-2.5-pro", "models/gemini-2.5-flash", "models/gemini-embedding-001"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
}
