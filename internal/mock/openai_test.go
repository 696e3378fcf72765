package mock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
)

func openaiClient(url string) openai.Client {
	return openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(testKey), option.WithMaxRetries(0))
}

// result is what a client made of a reply, in protocol-neutral terms, so that
// the streamed and non-streamed forms of a request can be compared.
type result struct {
	Text       string
	Reasoning  string
	ToolName   string
	ToolArgs   string
	Finish     string
	Prompt     int64
	Completion int64
	Thoughts   int64
}

var weatherSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"city": map[string]any{"type": "string"},
		"days": map[string]any{"type": "integer"},
		"unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
		"note": map[string]any{"type": "string"},
	},
	"required": []string{"city", "days", "unit"},
}

const weatherArgs = `{"city":"mock","days":1,"unit":"celsius"}`

// eightWords is the reply of a default mock.
const eightWords = "Tokenhot mock reply: the quick brown fox jumps"

func TestOpenAIChat(t *testing.T) {
	tool := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather", Parameters: weatherSchema})
	tests := []struct {
		name   string
		params openai.ChatCompletionNewParams
		want   result
	}{{
		name: "text",
		params: openai.ChatCompletionNewParams{
			Model:    "gpt-4o",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be terse."), openai.UserMessage("Say hello to the world")},
		},
		// 2 + 5 words, 2 messages.
		want: result{Text: eightWords, Finish: "stop", Prompt: 9, Completion: 8},
	}, {
		name: "max tokens",
		params: openai.ChatCompletionNewParams{
			Model:               "gpt-4o",
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			MaxCompletionTokens: openai.Int(3),
		},
		want: result{Text: "Tokenhot mock reply:", Finish: "length", Prompt: 2, Completion: 3},
	}, {
		name: "tool call on weather",
		params: openai.ChatCompletionNewParams{
			Model:    "gpt-4o",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
			Tools:    []openai.ChatCompletionToolUnionParam{tool},
		},
		want: result{ToolName: "get_weather", ToolArgs: weatherArgs, Finish: "tool_calls", Prompt: 7, Completion: 4},
	}, {
		name: "tool required",
		params: openai.ChatCompletionNewParams{
			Model:      "gpt-4o",
			Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
			Tools:      []openai.ChatCompletionToolUnionParam{tool},
			ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
		},
		want: result{ToolName: "get_weather", ToolArgs: weatherArgs, Finish: "tool_calls", Prompt: 2, Completion: 4},
	}, {
		name: "text after tool result",
		params: openai.ChatCompletionNewParams{
			Model: "gpt-4o",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage("What is the weather?"),
				{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"New York"}`}},
				}}}},
				openai.ToolMessage("15C and sunny", "call_1"),
			},
			Tools: []openai.ChatCompletionToolUnionParam{tool},
		},
		// 4 + 2 (argument strings) + 3 words, 3 messages.
		want: result{Text: eightWords, Finish: "stop", Prompt: 12, Completion: 8},
	}, {
		name: "reasoning effort",
		params: openai.ChatCompletionNewParams{
			Model:           "o4-mini",
			Messages:        []openai.ChatCompletionMessageParamUnion{openai.UserMessage("think")},
			ReasoningEffort: shared.ReasoningEffortLow,
		},
		want: result{Text: eightWords, Finish: "stop", Prompt: 2, Completion: 8 + 15, Thoughts: 15},
	}}
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Chat.Completions.New(ctx, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, chatResult(resp)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			params := tt.params
			params.StreamOptions.IncludeUsage = openai.Bool(true)
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				if !acc.AddChunk(stream.Current()) {
					t.Fatalf("accumulator refused chunk %d", chunks)
				}
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, chatResult(&acc.ChatCompletion)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

func chatResult(c *openai.ChatCompletion) result {
	var r result
	if len(c.Choices) > 0 {
		m := c.Choices[0].Message
		r.Text, r.Finish = m.Content, c.Choices[0].FinishReason
		if len(m.ToolCalls) > 0 {
			r.ToolName, r.ToolArgs = m.ToolCalls[0].Function.Name, m.ToolCalls[0].Function.Arguments
		}
	}
	r.Prompt, r.Completion = c.Usage.PromptTokens, c.Usage.CompletionTokens
	r.Thoughts = c.Usage.CompletionTokensDetails.ReasoningTokens
	return r
}

func TestOpenAIChatStreamWithoutUsage(t *testing.T) {
	_, url := startMock(t, Options{Chunks: 3})
	client := openaiClient(url)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := result{Text: "Tokenhot mock reply:", Finish: "stop"}
	if diff := cmp.Diff(want, chatResult(&acc.ChatCompletion)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOpenAIResponses(t *testing.T) {
	tool := responses.ToolParamOfFunction("get_weather", weatherSchema, false)
	tests := []struct {
		name   string
		params responses.ResponseNewParams
		want   result
	}{{
		name: "text",
		params: responses.ResponseNewParams{
			Model:        "gpt-4o",
			Instructions: openai.String("Be terse."),
			Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")},
		},
		want: result{Text: eightWords, Finish: "completed", Prompt: 6, Completion: 8},
	}, {
		name: "max output tokens",
		params: responses.ResponseNewParams{
			Model:           "gpt-4o",
			Input:           responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
			MaxOutputTokens: openai.Int(2),
		},
		want: result{Text: "Tokenhot mock", Finish: "incomplete", Prompt: 2, Completion: 2},
	}, {
		name: "function call",
		params: responses.ResponseNewParams{
			Model: "gpt-4o",
			Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfMessage("Weather in Rome?", responses.EasyInputMessageRoleUser),
			}},
			Tools: []responses.ToolUnionParam{tool},
		},
		want: result{ToolName: "get_weather", ToolArgs: weatherArgs, Finish: "completed", Prompt: 4, Completion: 4},
	}}
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Responses.New(ctx, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, responseResult(resp)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			stream := client.Responses.NewStreaming(ctx, tt.params)
			var final *responses.Response
			var deltas, args string
			seq := int64(0)
			for stream.Next() {
				ev := stream.Current()
				if ev.SequenceNumber != seq {
					t.Errorf("event %s has sequence_number %d, want %d", ev.Type, ev.SequenceNumber, seq)
				}
				seq++
				switch ev.Type {
				case "response.output_text.delta":
					deltas += ev.Delta
				case "response.function_call_arguments.delta":
					args += ev.Delta
				case "response.completed", "response.incomplete":
					final = &ev.Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if final == nil {
				t.Fatal("no terminal event")
			}
			if diff := cmp.Diff(tt.want, responseResult(final)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
			if deltas != tt.want.Text || args != tt.want.ToolArgs {
				t.Errorf("deltas = %q, argument deltas = %q; want %q, %q", deltas, args, tt.want.Text, tt.want.ToolArgs)
			}
		})
	}
}

func responseResult(resp *responses.Response) result {
	r := result{Text: resp.OutputText(), Finish: string(resp.Status)}
	for _, item := range resp.Output {
		if item.Type == "function_call" {
			r.ToolName, r.ToolArgs = item.Name, item.Arguments.OfString
		}
	}
	r.Prompt, r.Completion = resp.Usage.InputTokens, resp.Usage.OutputTokens
	r.Thoughts = resp.Usage.OutputTokensDetails.ReasoningTokens
	return r
}

func TestOpenAIEmbeddings(t *testing.T) {
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	params := openai.EmbeddingNewParams{
		Model:      "text-embedding-3-small",
		Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello world", "good bye", "hello world"}},
		Dimensions: openai.Int(64),
	}
	resp, err := client.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 3 {
		t.Fatalf("got %d embeddings, want 3", len(resp.Data))
	}
	for i, d := range resp.Data {
		if len(d.Embedding) != 64 || d.Index != int64(i) {
			t.Fatalf("embedding %d: index %d, %d dimensions", i, d.Index, len(d.Embedding))
		}
		var norm float64
		for _, f := range d.Embedding {
			norm += f * f
		}
		if math.Abs(norm-1) > 1e-3 {
			t.Errorf("embedding %d has norm² %v, want 1", i, norm)
		}
	}
	if diff := cmp.Diff(resp.Data[0].Embedding, resp.Data[2].Embedding); diff != "" {
		t.Errorf("same input, different vectors (-first +third):\n%s", diff)
	}
	if cmp.Equal(resp.Data[0].Embedding, resp.Data[1].Embedding) {
		t.Error("different inputs, same vector")
	}
	if resp.Usage.PromptTokens != 6 || resp.Usage.TotalTokens != 6 {
		t.Errorf("usage = %+v, want 6 prompt and total tokens", resp.Usage)
	}

	// base64 carries the same float32 values.
	raw := send(t, url+"/v1/embeddings", `{"model":"m","input":["hello world"],"dimensions":64,"encoding_format":"base64"}`, bearerAuth(testKey)...)
	b64 := jsonPath(t, raw.body, "data.0.embedding").Str
	bin, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(bin) != 4*64 {
		t.Fatalf("base64 embedding: %d bytes, %v", len(bin), err)
	}
	for i := range 64 {
		got := math.Float32frombits(binary.LittleEndian.Uint32(bin[4*i:]))
		if got != float32(resp.Data[0].Embedding[i]) {
			t.Fatalf("base64 value %d = %v, float value %v", i, got, resp.Data[0].Embedding[i])
		}
	}
}

func TestOpenAIModels(t *testing.T) {
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if diff := cmp.Diff(openaiModels, ids); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	m, err := client.Models.Get(ctx, "my-fine-tune")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "my-fine-tune" || m.OwnedBy != "tokenhot-mock" {
		t.Errorf("model = %+v", m)
	}
}
