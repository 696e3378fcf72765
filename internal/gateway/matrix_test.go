package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/mock"
)

// outcome is what a client saw, in terms every protocol can express.
type outcome struct {
	Text       string
	ToolName   string
	ToolArgs   string // canonical JSON
	Stop       string // "end", "tool" or "length"
	Prompt     int64  // every input-side token the client was told of
	Completion int64  // every output-side token, reasoning included
}

// matrixClient calls the gateway with one official SDK.
type matrixClient struct {
	name string
	call func(t *testing.T, e *env, model string, stream, tools bool) outcome
}

const (
	matrixSystem = "Be brief."
	matrixPrompt = "Say hello to the world"
	matrixTools  = "What is the weather in Oslo?"
)

var weatherParams = map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required":   []string{"city"},
}

func canonical(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("tool arguments %q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var matrixClients = []matrixClient{
	{"openai-chat", chatOutcome},
	{"openai-responses", responsesOutcome},
	{"anthropic-messages", anthropicOutcome},
	{"gemini", geminiOutcome},
}

func chatOutcome(t *testing.T, e *env, model string, stream, tools bool) outcome {
	c := e.client(aliceKey)
	ctx := context.Background()
	p := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage(matrixSystem), openai.UserMessage(matrixPrompt)}}
	if tools {
		p.Messages[1] = openai.UserMessage(matrixTools)
		p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: weatherParams})}
	}
	var cc *openai.ChatCompletion
	if stream {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		s := c.Chat.Completions.NewStreaming(ctx, p)
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		cc = &acc.ChatCompletion
	} else {
		var err error
		if cc, err = c.Chat.Completions.New(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if len(cc.Choices) != 1 {
		t.Fatalf("%d choices", len(cc.Choices))
	}
	ch := cc.Choices[0]
	o := outcome{Text: ch.Message.Content, Prompt: cc.Usage.PromptTokens, Completion: cc.Usage.CompletionTokens}
	switch ch.FinishReason {
	case "stop":
		o.Stop = "end"
	case "tool_calls":
		o.Stop = "tool"
	default:
		o.Stop = ch.FinishReason
	}
	if len(ch.Message.ToolCalls) > 0 {
		tc := ch.Message.ToolCalls[0]
		if tc.ID == "" {
			t.Error("tool call without an id")
		}
		o.ToolName, o.ToolArgs = tc.Function.Name, canonical(t, tc.Function.Arguments)
	}
	return o
}

func responsesOutcome(t *testing.T, e *env, model string, stream, tools bool) outcome {
	c := e.client(aliceKey)
	ctx := context.Background()
	p := responses.ResponseNewParams{Model: model, Instructions: openai.String(matrixSystem),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(matrixPrompt)}}
	if tools {
		p.Input = responses.ResponseNewParamsInputUnion{OfString: openai.String(matrixTools)}
		p.Tools = []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", weatherParams, false)}
	}
	var r *responses.Response
	if stream {
		s := c.Responses.NewStreaming(ctx, p)
		seq := int64(0)
		var deltas string
		for s.Next() {
			ev := s.Current()
			if ev.SequenceNumber != seq {
				t.Errorf("event %s has sequence_number %d, want %d", ev.Type, ev.SequenceNumber, seq)
			}
			seq++
			switch ev.Type {
			case "response.output_text.delta":
				deltas += ev.Delta
			case "response.completed", "response.incomplete":
				r = &ev.Response
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if r == nil {
			t.Fatal("no terminal event")
		}
		if deltas != r.OutputText() {
			t.Errorf("text deltas %q, final text %q", deltas, r.OutputText())
		}
	} else {
		var err error
		if r, err = c.Responses.New(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	o := outcome{Text: r.OutputText(), Prompt: r.Usage.InputTokens, Completion: r.Usage.OutputTokens, Stop: "end"}
	for _, item := range r.Output {
		if item.Type == "function_call" {
			if item.CallID == "" {
				t.Error("function call without a call_id")
			}
			o.ToolName, o.ToolArgs, o.Stop = item.Name, canonical(t, item.Arguments.OfString), "tool"
		}
	}
	if r.Status == "incomplete" {
		o.Stop = "length"
	}
	return o
}

func (e *env) anthropicClient() anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(e.srv.URL), aoption.WithAPIKey(aliceKey), aoption.WithMaxRetries(0))
}

func anthropicOutcome(t *testing.T, e *env, model string, stream, tools bool) outcome {
	c := e.anthropicClient()
	ctx := context.Background()
	p := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 1024,
		System:   []anthropic.TextBlockParam{{Text: matrixSystem}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(matrixPrompt))}}
	if tools {
		p.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(matrixTools))}
		p.Tools = []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
			Properties: weatherParams["properties"], Required: []string{"city"}}, "get_weather")}
	}
	var m *anthropic.Message
	if stream {
		s := c.Messages.NewStreaming(ctx, p)
		var acc anthropic.Message
		for s.Next() {
			if err := acc.Accumulate(s.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		m = &acc
	} else {
		var err error
		if m, err = c.Messages.New(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	u := m.Usage
	o := outcome{Prompt: u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens, Completion: u.OutputTokens}
	switch m.StopReason {
	case "end_turn":
		o.Stop = "end"
	case "tool_use":
		o.Stop = "tool"
	case "max_tokens":
		o.Stop = "length"
	default:
		o.Stop = string(m.StopReason)
	}
	for _, b := range m.Content {
		switch b := b.AsAny().(type) {
		case anthropic.TextBlock:
			o.Text += b.Text
		case anthropic.ToolUseBlock:
			if b.ID == "" {
				t.Error("tool_use without an id")
			}
			o.ToolName, o.ToolArgs = b.Name, canonical(t, string(b.Input))
		}
	}
	return o
}

func (e *env) geminiClient(t *testing.T) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: aliceKey, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: e.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func geminiOutcome(t *testing.T, e *env, model string, stream, tools bool) outcome {
	c := e.geminiClient(t)
	ctx := context.Background()
	cfg := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(matrixSystem, genai.RoleUser)}
	contents := genai.Text(matrixPrompt)
	if tools {
		contents = genai.Text(matrixTools)
		cfg.Tools = []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
			Name: "get_weather", ParametersJsonSchema: weatherParams}}}}
	}
	var o outcome
	var finish genai.FinishReason
	add := func(r *genai.GenerateContentResponse) {
		if len(r.Candidates) != 1 {
			t.Fatalf("%d candidates", len(r.Candidates))
		}
		cand := r.Candidates[0]
		if cand.Content != nil {
			for _, part := range cand.Content.Parts {
				switch {
				case part.Thought:
				case part.FunctionCall != nil:
					args, _ := json.Marshal(part.FunctionCall.Args)
					o.ToolName, o.ToolArgs = part.FunctionCall.Name, canonical(t, string(args))
				default:
					o.Text += part.Text
				}
			}
		}
		if cand.FinishReason != "" {
			finish = cand.FinishReason
		}
		if u := r.UsageMetadata; u != nil {
			o.Prompt = int64(u.PromptTokenCount)
			o.Completion = int64(u.CandidatesTokenCount + u.ThoughtsTokenCount)
		}
	}
	if stream {
		for chunk, err := range c.Models.GenerateContentStream(ctx, model, contents, cfg) {
			if err != nil {
				t.Fatal(err)
			}
			add(chunk)
		}
	} else {
		r, err := c.Models.GenerateContent(ctx, model, contents, cfg)
		if err != nil {
			t.Fatal(err)
		}
		add(r)
	}
	switch {
	case finish == genai.FinishReasonStop && o.ToolName != "":
		o.Stop = "tool"
	case finish == genai.FinishReasonStop:
		o.Stop = "end"
	case finish == genai.FinishReasonMaxTokens:
		o.Stop = "length"
	default:
		o.Stop = string(finish)
	}
	return o
}

// matrixUpstreams are the models of the test configuration, one per kind of
// channel.
var matrixUpstreams = []struct{ name, model string }{
	{"openai", "gpt-5"},
	{"anthropic", "claude-sonnet"},
	{"gemini", "gemini-flash"},
	{"ark", "doubao-seed"},
	{"compatible", "deepseek-chat"},
	{"openai-responses", "gpt-5-codex"},
}

// TestProtocolMatrix drives every client SDK against every kind of upstream,
// plain, streamed and with a tool call, and checks what the client sees
// against what the ledger charged.
func TestProtocolMatrix(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{Chunks: 6})
	const words = "Tokenhot mock reply: the quick brown"
	for _, c := range matrixClients {
		for _, up := range matrixUpstreams {
			for _, mode := range []string{"plain", "stream", "tools"} {
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, up.name, mode), func(t *testing.T) {
					before := e.user("alice").Balance
					got := c.call(t, e, up.model, mode == "stream", mode == "tools")
					want := outcome{Text: words, Stop: "end"}
					if mode == "tools" {
						want = outcome{ToolName: "get_weather", ToolArgs: `{"city":"mock"}`, Stop: "tool"}
					}
					if got.Text != want.Text || got.ToolName != want.ToolName || got.ToolArgs != want.ToolArgs || got.Stop != want.Stop {
						t.Errorf("client saw %+v\nwant text %q, tool %s(%s), stop %s", got, want.Text, want.ToolName, want.ToolArgs, want.Stop)
					}
					row := e.lastLog("alice")
					if row.Source != llm.SourceUpstream || row.Status != 200 || row.Model != up.model {
						t.Errorf("log row: source %s, status %d, model %s", row.Source, row.Status, row.Model)
					}
					if got.Prompt != row.Usage.PromptTokens() || got.Completion != row.Usage.CompletionTokens() {
						t.Errorf("client usage %d+%d, billed usage %+v", got.Prompt, got.Completion, row.Usage)
					}
					if got.Prompt <= 0 || got.Completion <= 0 {
						t.Errorf("empty usage %d+%d", got.Prompt, got.Completion)
					}
					m, _ := e.g.Catalog.Current().Model(up.model)
					if cost := m.Price.Cost(row.Usage); cost != row.Cost || cost <= 0 {
						t.Errorf("cost %s, log row %s", cost, row.Cost)
					}
					if after := e.user("alice").Balance; before-after != row.Cost {
						t.Errorf("balance moved by %s, log row cost %s", before-after, row.Cost)
					}
				})
			}
		}
	}
	e.checkLedger("alice", e.user("alice").Balance)
}

// TestCachedTokensAcrossProtocols: prompt-cache figures reported by each
// upstream in its own shape reach each client in its shape and the ledger
// once: cached reads at the cached price, cache writes at the write price,
// never also as plain input.
func TestCachedTokensAcrossProtocols(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{Chunks: 3})
	prompt := "Say hello to the cached world [[mock:cache=4,2]]"
	for _, up := range []struct{ model string }{{"gpt-5"}, {"claude-sonnet"}, {"gemini-flash"}} {
		for _, c := range []struct {
			name, path, body string
			headers          map[string]string
		}{
			{"chat", "/v1/chat/completions", `{"model":%q,"messages":[{"role":"user","content":%q}]}`,
				map[string]string{"authorization": "Bearer " + aliceKey}},
			{"responses", "/v1/responses", `{"model":%q,"input":%q}`, map[string]string{"authorization": "Bearer " + aliceKey}},
			{"anthropic", "/v1/messages", `{"model":%q,"max_tokens":50,"messages":[{"role":"user","content":%q}]}`,
				map[string]string{"x-api-key": aliceKey}},
		} {
			t.Run(c.name+"/"+up.model, func(t *testing.T) {
				resp, body := e.postHeaders(c.path, c.headers, fmt.Sprintf(c.body, up.model, prompt))
				if resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
				row := e.lastLog("alice")
				wantWrite := int64(2)
				if up.model == "gemini-flash" {
					wantWrite = 0 // Gemini reports no cache writes
				}
				if row.Usage.CachedInput != 4 || row.Usage.CacheWrite != wantWrite || row.Usage.Input <= 0 {
					t.Fatalf("billed usage %+v", row.Usage)
				}
				var seen int64
				switch c.name {
				case "chat":
					seen = gjson.GetBytes(body, "usage.prompt_tokens_details.cached_tokens").Int()
				case "responses":
					seen = gjson.GetBytes(body, "usage.input_tokens_details.cached_tokens").Int()
				case "anthropic":
					seen = gjson.GetBytes(body, "usage.cache_read_input_tokens").Int()
					if w := gjson.GetBytes(body, "usage.cache_creation_input_tokens").Int(); w != wantWrite {
						t.Errorf("client saw %d cache-write tokens", w)
					}
					if in := gjson.GetBytes(body, "usage.input_tokens").Int(); in != row.Usage.Input {
						t.Errorf("client saw input_tokens %d, uncached input billed %d", in, row.Usage.Input)
					}
				}
				if seen != 4 {
					t.Errorf("client saw %d cached tokens: %s", seen, body)
				}
				m, _ := e.g.Catalog.Current().Model(up.model)
				if row.Cost != m.Price.Cost(row.Usage) {
					t.Errorf("cost %s for %+v", row.Cost, row.Usage)
				}
			})
		}
	}
}
