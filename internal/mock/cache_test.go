package mock

import (
	"context"
	"fmt"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"
	"google.golang.org/genai"
)

// cacheCases are user prompts with and without [[mock:cache=R,W]] and the
// prompt and cache figures they make, before each protocol's own split. The
// directive is one word of the prompt.
var cacheCases = []struct {
	name                string
	text                string
	prompt, read, write int64
}{
	{"no directive", "Say hello to the world", 6, 0, 0},
	{"read and write", "Say hello to the world [[mock:cache=3,2]]", 7, 3, 2},
	{"read only", "Say hello [[mock:cache=2]]", 4, 2, 0},
	{"write only", "Say hello [[mock:cache=0,3]]", 4, 0, 3},
	{"write clamped", "Say hello to the world [[mock:cache=5,100]]", 7, 5, 2},
	{"read clamped", "Say hello to the world [[mock:cache=100,5]]", 7, 7, 0},
	{"bad value ignored", "Say hello [[mock:cache=-1,2]]", 4, 0, 0},
}

// cacheUsage is the prompt-cache accounting of a usage as a client reads it.
type cacheUsage struct {
	Prompt    int64 // the protocol's prompt / input figure
	Read      int64
	Write     int64
	WriteSent bool // the cache-write field is present
}

// openaiCache is what OpenAI chat, Ark and Responses report: the whole
// prompt, and a cache-write figure only when there is one.
func openaiCache(prompt, read, write int64) cacheUsage {
	return cacheUsage{Prompt: prompt, Read: read, Write: write, WriteSent: write > 0}
}

func TestCacheOpenAIChat(t *testing.T) {
	s, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	var prompts int64
	for _, tc := range cacheCases {
		t.Run(tc.name, func(t *testing.T) {
			want := openaiCache(tc.prompt, tc.read, tc.write)
			params := openai.ChatCompletionNewParams{
				Model:    "gpt-4o",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(tc.text)},
			}
			resp, err := client.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, chatCache(resp.Usage)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			params.StreamOptions.IncludeUsage = openai.Bool(true)
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var final *openai.CompletionUsage
			for stream.Next() {
				if c := stream.Current(); len(c.Choices) == 0 {
					final = &c.Usage
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if final == nil {
				t.Fatal("no usage chunk")
			}
			if diff := cmp.Diff(want, chatCache(*final)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
			prompts += 2 * tc.prompt
		})
	}
	if got := s.Stats("").PromptTokens; got != prompts {
		t.Errorf("stats count %d prompt tokens, want the whole prompts, %d", got, prompts)
	}
}

func chatCache(u openai.CompletionUsage) cacheUsage {
	d := u.PromptTokensDetails
	return cacheUsage{u.PromptTokens, d.CachedTokens, d.CacheWriteTokens, d.JSON.CacheWriteTokens.Valid()}
}

// TestCacheArk checks Ark's usage without an SDK: the JSON body, the final
// usage chunk, and the cumulative usage of chunk_include_usage, which carries
// the cache figures from the first chunk on.
func TestCacheArk(t *testing.T) {
	_, url := startMock(t, Options{Chunks: 3})
	for _, tc := range cacheCases {
		t.Run(tc.name, func(t *testing.T) {
			want := openaiCache(tc.prompt, tc.read, tc.write)
			msgs := fmt.Sprintf(`"messages":[{"role":"user","content":%q}]`, tc.text)
			plain := send(t, url+"/api/v3/chat/completions", `{"model":"doubao",`+msgs+`}`, bearerAuth(testKey)...)
			if diff := cmp.Diff(want, rawChatCache(t, plain.body)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			for _, opts := range []string{`{"include_usage":true}`, `{"chunk_include_usage":true}`} {
				resp := send(t, url+"/api/v3/chat/completions",
					`{"model":"doubao","stream":true,"stream_options":`+opts+`,`+msgs+`}`, bearerAuth(testKey)...)
				usages := 0
				for _, ev := range parseSSE(t, resp.body) {
					if !gjson.Get(ev.data, "usage").IsObject() {
						continue
					}
					usages++
					if diff := cmp.Diff(want, rawChatCache(t, ev.data)); diff != "" {
						t.Errorf("stream %s, chunk %d (-want +got):\n%s", opts, usages, diff)
					}
				}
				if usages == 0 {
					t.Errorf("stream %s: no usage", opts)
				}
			}
		})
	}
}

func rawChatCache(t *testing.T, body string) cacheUsage {
	t.Helper()
	u := jsonPath(t, body, "usage")
	w := u.Get("prompt_tokens_details.cache_write_tokens")
	return cacheUsage{u.Get("prompt_tokens").Int(), jsonPath(t, u.Raw, "prompt_tokens_details.cached_tokens").Int(), w.Int(), w.Exists()}
}

func TestCacheResponses(t *testing.T) {
	_, url := startMock(t, Options{})
	client := openaiClient(url)
	ctx := context.Background()
	for _, tc := range cacheCases {
		t.Run(tc.name, func(t *testing.T) {
			want := openaiCache(tc.prompt, tc.read, tc.write)
			params := responses.ResponseNewParams{
				Model: "gpt-4o",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(tc.text)},
			}
			resp, err := client.Responses.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, responsesCache(resp.Usage)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			stream := client.Responses.NewStreaming(ctx, params)
			var final *responses.Response
			for stream.Next() {
				if ev := stream.Current(); ev.Type == "response.completed" {
					final = &ev.Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if final == nil {
				t.Fatal("no response.completed")
			}
			if diff := cmp.Diff(want, responsesCache(final.Usage)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

func responsesCache(u responses.ResponseUsage) cacheUsage {
	d := u.InputTokensDetails
	return cacheUsage{u.InputTokens, d.CachedTokens, d.CacheWriteTokens, d.JSON.CacheWriteTokens.Valid()}
}

// TestCacheAnthropic checks that Anthropic splits the prompt: input_tokens
// is what was neither read from nor written to the cache, in the message,
// in message_start, in message_delta and in what the SDK accumulates.
func TestCacheAnthropic(t *testing.T) {
	_, url := startMock(t, Options{})
	client := anthropicClient(url)
	ctx := context.Background()
	for _, tc := range cacheCases {
		t.Run(tc.name, func(t *testing.T) {
			want := cacheUsage{Prompt: tc.prompt - tc.read - tc.write, Read: tc.read, Write: tc.write, WriteSent: true}
			params := anthropic.MessageNewParams{
				Model:     claudeModel,
				MaxTokens: 1024,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(tc.text))},
			}
			msg, err := client.Messages.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, anthropicCache(msg.Usage)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}

			stream := client.Messages.NewStreaming(ctx, params)
			var acc anthropic.Message
			var start, delta *cacheUsage
			for stream.Next() {
				ev := stream.Current()
				if err := acc.Accumulate(ev); err != nil {
					t.Fatal(err)
				}
				switch e := ev.AsAny().(type) {
				case anthropic.MessageStartEvent:
					u := anthropicCache(e.Message.Usage)
					start = &u
				case anthropic.MessageDeltaEvent:
					u := e.Usage
					delta = &cacheUsage{u.InputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens, u.JSON.CacheCreationInputTokens.Valid()}
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if start == nil || delta == nil {
				t.Fatal("no message_start or message_delta")
			}
			got := map[string]cacheUsage{"message_start": *start, "message_delta": *delta, "accumulated": anthropicCache(acc.Usage)}
			wantAll := map[string]cacheUsage{"message_start": want, "message_delta": want, "accumulated": want}
			if diff := cmp.Diff(wantAll, got); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

// anthropicCache reads a usage and checks that cache_creation breaks the
// writes down as 5-minute ones.
func anthropicCache(u anthropic.Usage) cacheUsage {
	got := cacheUsage{u.InputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens, u.JSON.CacheCreationInputTokens.Valid()}
	if c := u.CacheCreation; c.Ephemeral5mInputTokens != u.CacheCreationInputTokens || c.Ephemeral1hInputTokens != 0 {
		got.Write = -1 // shows in the diff
	}
	return got
}

// TestCacheGemini checks cachedContentTokenCount, within promptTokenCount,
// on the response and on every streamed chunk; Gemini reports no writes.
func TestCacheGemini(t *testing.T) {
	_, url := startMock(t, Options{Chunks: 3})
	client := geminiClient(t, url)
	ctx := context.Background()
	for _, tc := range cacheCases {
		t.Run(tc.name, func(t *testing.T) {
			want := cacheUsage{Prompt: tc.prompt, Read: tc.read}
			resp, err := client.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text(tc.text), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, geminiCache(t, resp.UsageMetadata)); diff != "" {
				t.Errorf("non-stream (-want +got):\n%s", diff)
			}
			chunks := 0
			for chunk, err := range client.Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text(tc.text), nil) {
				if err != nil {
					t.Fatal(err)
				}
				chunks++
				if diff := cmp.Diff(want, geminiCache(t, chunk.UsageMetadata)); diff != "" {
					t.Errorf("stream chunk %d (-want +got):\n%s", chunks, diff)
				}
			}
			if chunks == 0 {
				t.Error("no chunks")
			}
		})
	}
}

// geminiCache reads usageMetadata and checks that cacheTokensDetails agrees
// with cachedContentTokenCount.
func geminiCache(t *testing.T, u *genai.GenerateContentResponseUsageMetadata) cacheUsage {
	t.Helper()
	if u == nil {
		t.Fatal("no usageMetadata")
	}
	var details int32
	for _, d := range u.CacheTokensDetails {
		details += d.TokenCount
	}
	if details != u.CachedContentTokenCount {
		t.Errorf("cacheTokensDetails total %d, cachedContentTokenCount %d", details, u.CachedContentTokenCount)
	}
	return cacheUsage{Prompt: int64(u.PromptTokenCount), Read: int64(u.CachedContentTokenCount)}
}
