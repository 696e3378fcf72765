package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// These tests put the translators behind an httptest server and drive them
// with anthropic-sdk-go, as a Claude client would.

// sdkServer answers every request with handle and keeps the last request
// body.
type sdkServer struct {
	mu   sync.Mutex
	body []byte
}

func (s *sdkServer) lastBody() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.body
}

func newSDKClient(t *testing.T, handle func(w http.ResponseWriter, body []byte)) (anthropic.Client, *sdkServer) {
	t.Helper()
	s := &sdkServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.body = body
		s.mu.Unlock()
		handle(w, body)
	}))
	t.Cleanup(srv.Close)
	client := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	return client, s
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func writeSSE(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = w.Write(body)
}

// jsonValue compares raw JSON by value, not by bytes.
var jsonValue = cmp.Transformer("json", func(r json.RawMessage) any {
	var v any
	if json.Unmarshal(r, &v) != nil {
		return string(r)
	}
	return v
})

// TestSDKRequestParses: what anthropic-sdk-go sends is read in full.
func TestSDKRequestParses(t *testing.T) {
	client, srv := newSDKClient(t, func(w http.ResponseWriter, _ []byte) {
		writeJSON(w, BuildResponse(&llm.Response{Stop: llm.StopEnd}, testMeta))
	})
	params := anthropic.MessageNewParams{
		Model:         "claude-sonnet-4-5",
		MaxTokens:     2048,
		System:        []anthropic.TextBlockParam{{Text: "Be terse."}, {Text: "Use metric units."}},
		StopSequences: []string{"END"},
		Metadata:      anthropic.MetadataParam{UserID: anthropic.String("user-1")},
		Thinking:      anthropic.ThinkingConfigParamOfEnabled(1024),
		Tools: []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"city": map[string]any{"type": "string"}},
			Required:   []string{"city"},
		}, "get_weather")},
		ToolChoice: anthropic.ToolChoiceUnionParam{OfAuto: &anthropic.ToolChoiceAutoParam{DisableParallelToolUse: anthropic.Bool(true)}},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(
				anthropic.NewTextBlock("Weather here?"),
				anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgo="),
				anthropic.NewImageBlock(anthropic.URLImageSourceParam{URL: "https://example.com/a.jpg"}),
				anthropic.NewDocumentBlock(anthropic.Base64PDFSourceParam{Data: "JVBERi0x"}),
			),
			anthropic.NewAssistantMessage(
				anthropic.NewThinkingBlock("EqQBsig==", "Look it up."),
				anthropic.NewRedactedThinkingBlock("opaque"),
				anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "Oslo"}, "get_weather"),
			),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "-3C", false)),
		},
	}
	// v2 of the SDK has no sampling fields; clients set them as raw JSON.
	sampling := []option.RequestOption{option.WithJSONSet("temperature", 0.5), option.WithJSONSet("top_k", 10)}
	if _, err := client.Messages.New(context.Background(), params, sampling...); err != nil {
		t.Fatal(err)
	}
	got, err := ParseRequest(srv.lastBody())
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.Request{
		Model:  "claude-sonnet-4-5",
		System: []llm.Part{{Kind: llm.PartText, Text: "Be terse."}, {Kind: llm.PartText, Text: "Use metric units."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Kind: llm.PartText, Text: "Weather here?"},
				{Kind: llm.PartImage, MIME: "image/png", Data: "iVBORw0KGgo="},
				{Kind: llm.PartImage, URL: "https://example.com/a.jpg"},
				{Kind: llm.PartFile, MIME: "application/pdf", Data: "JVBERi0x"},
			}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "Look it up.", Signature: "EqQBsig=="},
				{Kind: llm.PartRedactedThinking, Data: "opaque"},
				{Kind: llm.PartToolCall, ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "toolu_1", Name: "get_weather",
				Content: []llm.Part{{Kind: llm.PartText, Text: "-3C"}}}}},
		},
		Tools: []llm.Tool{{Name: "get_weather",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
		ParallelToolCalls: new(false),
		MaxTokens:         2048,
		Temperature:       new(0.5),
		TopK:              new(int64(10)),
		Stop:              []string{"END"},
		Reasoning:         &llm.Reasoning{Budget: 1024, Summary: true},
		User:              "user-1",
	}
	if diff := cmp.Diff(want, got, jsonValue); diff != "" {
		t.Errorf("ParseRequest (-want +got):\n%s", diff)
	}
}

// TestSDKAnswerRoundTrip: a BuildResponse answer decodes in the SDK, and
// the SDK's own ToParam of it, sent back in the next request, gives back
// the tool call ids, the Gemini signature packed into one and the thinking
// signature.
func TestSDKAnswerRoundTrip(t *testing.T) {
	answer := &llm.Response{
		Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "Plan.", Signature: "EqQBsig=="},
			{Kind: llm.PartText, Text: "Checking."},
			{Kind: llm.PartToolCall, ID: "call_g1", Name: "get_weather", Arguments: `{"city":"Paris"}`, Signature: "CiQBcsjafF4="},
		},
		Stop:     llm.StopEnd,
		Usage:    llm.Usage{Input: 10, CachedInput: 200, CacheWrite: 30, Output: 5, Reasoning: 7},
		HasUsage: true,
	}
	client, srv := newSDKClient(t, func(w http.ResponseWriter, _ []byte) { writeJSON(w, BuildResponse(answer, testMeta)) })
	ctx := context.Background()
	msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather?"))}})
	if err != nil {
		t.Fatal(err)
	}
	gotMsg := summarize(msg)
	wantMsg := sdkSummary{ID: testMeta.ID, Model: testMeta.Model, Thinking: "Plan.", Signatures: []string{"EqQBsig=="},
		Text: "Checking.", Tools: []string{`get_weather {"city":"Paris"}`}, Stop: "tool_use",
		Usage: [4]int64{10, 12, 200, 30}}
	if diff := cmp.Diff(wantMsg, gotMsg); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}

	var toolID string
	for _, b := range msg.Content {
		if b.Type == "tool_use" {
			toolID = b.ID
		}
	}
	_, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("Weather?")),
			msg.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(toolID, "15C", false)),
		}})
	if err != nil {
		t.Fatal(err)
	}
	next, err := ParseRequest(srv.lastBody())
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Weather?"}}},
		{Role: llm.RoleAssistant, Parts: answer.Parts},
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "call_g1", Name: "get_weather",
			Content: []llm.Part{{Kind: llm.PartText, Text: "15C"}}}}},
	}
	if diff := cmp.Diff(want, next.Messages); diff != "" {
		t.Errorf("next turn (-want +got):\n%s", diff)
	}
}

// sdkSummary is what a Claude client makes of an answer.
type sdkSummary struct {
	ID, Model  string
	Thinking   string
	Signatures []string
	Redacted   int
	Text       string
	Tools      []string // name and input
	Stop       string
	StopSeq    string
	Usage      [4]int64 // input, output, cache read, cache creation
	Err        string   // the error type of a failed stream
}

func summarize(m *anthropic.Message) sdkSummary {
	s := sdkSummary{ID: m.ID, Model: m.Model, Stop: string(m.StopReason), StopSeq: m.StopSequence,
		Usage: [4]int64{m.Usage.InputTokens, m.Usage.OutputTokens, m.Usage.CacheReadInputTokens, m.Usage.CacheCreationInputTokens}}
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			s.Text += b.Text
		case "thinking":
			s.Thinking += b.Thinking
			if b.Signature != "" {
				s.Signatures = append(s.Signatures, b.Signature)
			}
		case "redacted_thinking":
			s.Redacted++
		case "tool_use":
			s.Tools = append(s.Tools, b.Name+" "+string(b.Input))
		}
	}
	return s
}

// streamSummary streams a request from client and accumulates the events
// with the SDK's Message.Accumulate.
func streamSummary(t *testing.T, client anthropic.Client) sdkSummary {
	t.Helper()
	stream := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	defer stream.Close()
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatalf("Accumulate: %v", err)
		}
	}
	s := summarize(&acc)
	if err := stream.Err(); err != nil {
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("stream error %T %v, want an *anthropic.Error", err, err)
		}
		s.Err = string(apiErr.Type())
	}
	return s
}

// TestSDKStream: the encoder's streams, as the SDK accumulates them.
func TestSDKStream(t *testing.T) {
	tests := []struct {
		input string
		want  sdkSummary
	}{{
		input: "text_usage_first",
		want: sdkSummary{Text: "Hello, <world> & \"friends\"\n", Stop: "end_turn",
			Usage: [4]int64{25, 15, 2000, 100}},
	}, {
		input: "openai_tools",
		want: sdkSummary{Text: "Let me check both.",
			Tools: []string{`get_weather {"city":"Paris"}`, `get_weather {"city":"Rome"}`}, Stop: "tool_use",
			Usage: [4]int64{80, 42, 1024, 0}},
	}, {
		input: "gemini_tools",
		want: sdkSummary{Thinking: "Thinking about the weather.",
			Tools: []string{`get_weather {"city":"Paris"}`, `get_time {}`}, Stop: "tool_use", Usage: [4]int64{40, 112, 0, 0}},
	}, {
		input: "thinking_signed",
		want: sdkSummary{Thinking: "Step one. Step two.A second block.", Redacted: 1,
			Signatures: []string{"EqQBCgIYAhIMsig+/==", "c2lnbmF0dXJlLW9ubHk="}, Text: "The answer is", Stop: "max_tokens",
			Usage: [4]int64{5, 64, 0, 0}},
	}, {
		input: "stop_sequence",
		want:  sdkSummary{Text: "1, 2, 3", Stop: "stop_sequence", StopSeq: "END"},
	}, {
		input: "nothing",
		want:  sdkSummary{Stop: "end_turn"},
	}, {
		input: "filter",
		want:  sdkSummary{Text: "I can't", Stop: "pause_turn", Usage: [4]int64{3, 2, 0, 0}},
	}, {
		input: "error_mid_stream",
		want:  sdkSummary{Text: "Partial", Usage: [4]int64{8, 0, 0, 0}, Err: "overloaded_error"},
	}, {
		input: "fail_before_content",
		want:  sdkSummary{Err: "timeout_error"},
	}}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			out := encodeAll(t, readEvents(t, filepath.Join("testdata", "encode", tt.input+".jsonl")))
			client, _ := newSDKClient(t, func(w http.ResponseWriter, _ []byte) { writeSSE(w, out) })
			got := streamSummary(t, client)
			tt.want.ID, tt.want.Model = testMeta.ID, testMeta.Model
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSDKDecodeReencode: an Anthropic recording decoded and encoded again
// is the same message to the SDK (bar the gateway's id and model).
func TestSDKDecodeReencode(t *testing.T) {
	for _, name := range []string{"text", "thinking_tools"} {
		t.Run(name, func(t *testing.T) {
			recording := readFile(t, filepath.Join("testdata", "decode", name+".sse"))
			events, done, err := decodeAll(t, recording)
			if err != nil || !done {
				t.Fatalf("decode: done %t, %v", done, err)
			}
			e := NewEncoder(testMeta)
			var out []byte
			for _, ev := range events {
				out = e.Encode(out, ev)
			}
			out = e.Finish(out)

			orig, _ := newSDKClient(t, func(w http.ResponseWriter, _ []byte) { writeSSE(w, recording) })
			again, _ := newSDKClient(t, func(w http.ResponseWriter, _ []byte) { writeSSE(w, out) })
			want, got := streamSummary(t, orig), streamSummary(t, again)
			want.ID, want.Model = testMeta.ID, testMeta.Model
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSDKErrors: every Kind reaches the SDK as an *anthropic.Error with the
// table's status and type and the request id.
func TestSDKErrors(t *testing.T) {
	for kind, row := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			e := &llm.Error{Kind: kind, Message: "boom"}
			client, _ := newSDKClient(t, func(w http.ResponseWriter, _ []byte) { WriteError(w, e, "req_1") })
			_, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "m", MaxTokens: 1,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %T %v, want an *anthropic.Error", err, err)
			}
			got := []any{apiErr.StatusCode, string(apiErr.Type()), apiErr.Message, apiErr.RequestID}
			want := []any{row.status, row.typ, "boom (request id: req_1)", "req_1"}
			if row.typ == "request_too_large" {
				want[1] = row.typ // not in the SDK's list, still read from error.type
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !strings.Contains(apiErr.RawJSON(), `"type":"error"`) {
				t.Errorf("body %s has no top-level type", apiErr.RawJSON())
			}
		})
	}
}
