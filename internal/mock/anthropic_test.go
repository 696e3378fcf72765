package mock

import (
	"context"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"
)

// claudeModel is any model name; the mock echoes it.
const claudeModel = "claude-sonnet-4-5"

func anthropicClient(url string, opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithBaseURL(url), option.WithAPIKey(testKey), option.WithMaxRetries(0),
	}, opts...)...)
}

var anthropicWeather = anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
	Properties: weatherSchema["properties"],
	Required:   []string{"city", "days", "unit"},
}, "get_weather")

func TestAnthropicMessages(t *testing.T) {
	tests := []struct {
		name   string
		params anthropic.MessageNewParams
		want   result
	}{{
		name: "text",
		params: anthropic.MessageNewParams{
			Model:     claudeModel,
			MaxTokens: 1024,
			System:    []anthropic.TextBlockParam{{Text: "Be terse."}},
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello to the world"))},
		},
		want: result{Text: eightWords, Finish: "end_turn", Prompt: 9, Completion: 8},
	}, {
		name: "max tokens",
		params: anthropic.MessageNewParams{
			Model:     claudeModel,
			MaxTokens: 5,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		},
		want: result{Text: "Tokenhot mock reply: the quick", Finish: "max_tokens", Prompt: 2, Completion: 5},
	}, {
		name: "tool use",
		params: anthropic.MessageNewParams{
			Model:     claudeModel,
			MaxTokens: 1024,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in Oslo?"))},
			Tools:     []anthropic.ToolUnionParam{anthropicWeather},
		},
		want: result{ToolName: "get_weather", ToolArgs: weatherArgs, Finish: "tool_use", Prompt: 7, Completion: 4},
	}, {
		name: "tool result answered with text",
		params: anthropic.MessageNewParams{
			Model:     claudeModel,
			MaxTokens: 1024,
			Messages: []anthropic.MessageParam{
				anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather?")),
				anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "New York"}, "get_weather")),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "15C and sunny", false)),
			},
			Tools: []anthropic.ToolUnionParam{anthropicWeather},
		},
		want: result{Text: eightWords, Finish: "end_turn", Prompt: 12, Completion: 8},
	}, {
		name: "thinking",
		params: anthropic.MessageNewParams{
			Model:     claudeModel,
			MaxTokens: 4096,
			Thinking:  anthropic.ThinkingConfigParamOfEnabled(1024),
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("think [[mock:tool]]"))},
			Tools:     []anthropic.ToolUnionParam{anthropicWeather},
		},
		want: result{Reasoning: reasoningText, ToolName: "get_weather", ToolArgs: weatherArgs, Finish: "tool_use", Prompt: 3, Completion: 4 + 15},
	}}
	_, url := startMock(t, Options{})
	client := anthropicClient(url)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := client.Messages.New(ctx, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, messageResult(t, msg)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			stream := client.Messages.NewStreaming(ctx, tt.params)
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, messageResult(t, &acc)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

func messageResult(t *testing.T, m *anthropic.Message) result {
	t.Helper()
	r := result{Finish: string(m.StopReason), Prompt: m.Usage.InputTokens, Completion: m.Usage.OutputTokens}
	for _, block := range m.Content {
		switch b := block.AsAny().(type) {
		case anthropic.TextBlock:
			r.Text += b.Text
		case anthropic.ThinkingBlock:
			r.Reasoning += b.Thinking
			if b.Signature != thinkingSignature {
				t.Errorf("thinking signature = %q", b.Signature)
			}
		case anthropic.ToolUseBlock:
			r.ToolName, r.ToolArgs = b.Name, string(b.Input)
		}
	}
	if m.Usage.CacheReadInputTokens != 0 || !m.Usage.JSON.CacheCreationInputTokens.Valid() {
		t.Errorf("cache usage fields: %s", m.Usage.RawJSON())
	}
	return r
}

func TestAnthropicCountTokensAndModels(t *testing.T) {
	_, url := startMock(t, Options{})
	client := anthropicClient(url)
	ctx := context.Background()
	count, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model:    claudeModel,
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("Be terse.")},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello to the world"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if count.InputTokens != 9 {
		t.Errorf("count_tokens = %d, want 9 (as Messages reports)", count.InputTokens)
	}
	page, err := client.Models.List(ctx, anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	want := []string{"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
}
