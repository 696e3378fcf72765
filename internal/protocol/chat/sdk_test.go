package chat

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// checkChatStream asserts the rules the SDKs and §2.4 impose on a Chat
// stream: data-only events, one id/created/model, a role chunk first,
// dense tool-call indexes with id and name on the first fragment only, at
// most one finish chunk, usage only on one final choices:[] chunk, and an
// end that is either [DONE] or an error payload, never both.
func checkChatStream(t *testing.T, stream []byte) {
	t.Helper()
	events := splitSSE(t, stream)
	if len(events) == 0 {
		t.Fatal("empty stream")
	}
	var finishes, usages int
	seen := map[int64]bool{}
	for i, ev := range events {
		last := i == len(events)-1
		if len(ev.name) > 0 {
			t.Errorf("event %d has an event: line %q; Chat streams are data-only", i, ev.name)
		}
		if string(ev.data) == "[DONE]" {
			if !last {
				t.Errorf("[DONE] at event %d is not last", i)
			}
			continue
		}
		if !gjson.ValidBytes(ev.data) {
			t.Fatalf("event %d is not JSON: %s", i, ev.data)
		}
		c := gjson.ParseBytes(ev.data)
		if c.Get("error").Exists() {
			if !last || !c.Get("error.message").Exists() || !c.Get("error.type").Exists() {
				t.Errorf("error event %d must be last and carry message and type: %s", i, ev.data)
			}
			continue
		}
		if c.Get("object").Str != "chat.completion.chunk" || c.Get("id").Str != testMeta.ID ||
			c.Get("model").Str != testMeta.Model || c.Get("created").Int() != testMeta.Created {
			t.Errorf("event %d has the wrong identity: %s", i, ev.data)
		}
		choices := c.Get("choices").Array()
		if i == 0 && (len(choices) != 1 || choices[0].Get("delta.role").Str != "assistant") {
			t.Errorf("the first chunk is not the role chunk: %s", ev.data)
		}
		if len(choices) == 0 {
			usages++
			if !c.Get("usage").IsObject() || finishes != 1 {
				t.Errorf("choices:[] chunk %d without usage or before the finish chunk: %s", i, ev.data)
			}
			continue
		}
		if u := c.Get("usage"); u.Exists() && u.Type != gjson.Null {
			t.Errorf("usage on a content chunk %d: %s", i, ev.data)
		}
		if fr := choices[0].Get("finish_reason"); fr.Type == gjson.String {
			finishes++
		}
		for _, tc := range choices[0].Get("delta.tool_calls").Array() {
			k := tc.Get("index").Int()
			first := !seen[k]
			if first && k != int64(len(seen)) {
				t.Errorf("tool call index %d is not dense (%d calls so far)", k, len(seen))
			}
			seen[k] = true
			if has := tc.Get("id").Exists() && tc.Get("function.name").Exists(); has != first {
				t.Errorf("tool call %d: id and name must come on the first fragment only: %s", k, ev.data)
			}
		}
	}
	if finishes > 1 || usages > 1 {
		t.Errorf("%d finish chunks and %d usage chunks; want at most one each", finishes, usages)
	}
}

// accumulate reads a stream with openai-go as a client would.
func accumulate(t *testing.T, stream []byte) (openai.ChatCompletionAccumulator, error) {
	t.Helper()
	res := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(stream))}
	s := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(res), nil)
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		if !acc.AddChunk(s.Current()) {
			t.Fatalf("the accumulator refused chunk %s", s.Current().RawJSON())
		}
	}
	return acc, s.Err()
}

type call struct{ ID, Name, Args string }

func TestOpenAIAccumulatorReadsEncoderOutput(t *testing.T) {
	tests := []struct {
		in      string
		content string
		calls   []call
		finish  string
		usage   [4]int64 // prompt, completion, cached, reasoning
	}{
		{in: "text_usage_after_stop.jsonl", content: "Hello <wörld> & \"friends\"\n\u2028", finish: "stop", usage: [4]int64{1300, 42, 1000, 12}},
		{in: "anthropic_thinking_tools.jsonl", content: "Checking both.", finish: "tool_calls", usage: [4]int64{472, 89, 0, 0},
			calls: []call{{"toolu_01", "get_weather", `{"city":"Paris"}`}, {"toolu_02", "get_weather", `{"city":"Rome"}`}}},
		{in: "gemini_whole_calls.jsonl", finish: "tool_calls", usage: [4]int64{20, 40, 0, 30},
			calls: []call{{"call_g1__sig_c2lnbmF0dXJl", "get_weather", `{"city":"Paris"}`}, {"call_g2", "now", "{}"}}},
		{in: "no_stop_cumulative_usage.jsonl", content: "Hi!", finish: "stop", usage: [4]int64{19, 4, 16, 2}},
		{in: "length_with_call.jsonl", finish: "length", calls: []call{{"call_1", "write", `{"text":"cut`}}},
		{in: "text_nousage.jsonl", content: "Hello", finish: "stop"},
		{in: "sparse_indexes.jsonl", content: "Two calls after text.", finish: "tool_calls", usage: [4]int64{5, 5, 0, 0},
			calls: []call{{"toolu_a", "first", `{"x":1}`}, {"toolu_b", "second", `{}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			acc, err := accumulate(t, encodeFile(t, "testdata/encode/"+tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(acc.Choices) != 1 {
				t.Fatalf("%d choices", len(acc.Choices))
			}
			ch := acc.Choices[0]
			var calls []call
			for _, c := range ch.Message.ToolCalls {
				calls = append(calls, call{c.ID, c.Function.Name, c.Function.Arguments})
			}
			got := []any{ch.Message.Content, calls, ch.FinishReason, [4]int64{acc.Usage.PromptTokens, acc.Usage.CompletionTokens,
				acc.Usage.PromptTokensDetails.CachedTokens, acc.Usage.CompletionTokensDetails.ReasoningTokens}}
			want := []any{tt.content, tt.calls, tt.finish, tt.usage}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("accumulated (-want +got):\n%s", diff)
			}
			if acc.ID != testMeta.ID || acc.Model != testMeta.Model {
				t.Errorf("identity %q %q", acc.ID, acc.Model)
			}
		})
	}
}

func TestOpenAISDKRaisesOnFail(t *testing.T) {
	for _, in := range []string{"fail_midstream.jsonl", "upstream_error.jsonl", "fail_before_content.jsonl"} {
		t.Run(in, func(t *testing.T) {
			out := encodeFile(t, "testdata/encode/"+in)
			if bytes.Contains(out, []byte("[DONE]")) {
				t.Error("a failed stream must not end with [DONE]")
			}
			_, err := accumulate(t, out)
			if err == nil || !strings.Contains(err.Error(), "req_test") {
				t.Fatalf("err = %v, want the SDK's stream error carrying the request id", err)
			}
		})
	}
}

// TestDecodeOwnStream reads the encoder's output back with the decoder: the
// two directions must agree (ids with packed signatures included).
func TestDecodeOwnStream(t *testing.T) {
	in := readEvents(t, "testdata/encode/anthropic_thinking_tools.jsonl")
	e := NewEncoder(testMeta, true)
	var stream []byte
	for _, ev := range in {
		stream = e.Encode(stream, ev)
	}
	stream = e.Finish(stream)
	d := NewDecoder()
	var got []llm.Event
	for _, ev := range splitSSE(t, stream) {
		var err error
		if got, err = d.Decode(got, ev.name, ev.data); err != nil {
			t.Fatal(err)
		}
	}
	if !d.Done() {
		t.Error("not done after [DONE]")
	}
	want := []llm.Event{
		{Kind: llm.EventThinking, Text: "The user wants "},
		{Kind: llm.EventThinking, Text: "two cities."},
		{Kind: llm.EventSignature, Text: "EqQBCkYIAxgCIkA="},
		{Kind: llm.EventRedactedThinking, Text: "EmwKAhgBEgy3vaLq"},
		{Kind: llm.EventText, Text: "Checking both."},
		{Kind: llm.EventToolCall, Index: 0, ID: "toolu_01", Name: "get_weather"},
		{Kind: llm.EventToolArgs, Index: 0, Text: `{"city":`},
		{Kind: llm.EventToolArgs, Index: 0, Text: `"Paris"}`},
		{Kind: llm.EventToolCall, Index: 1, ID: "toolu_02", Name: "get_weather", Text: `{"city"`},
		{Kind: llm.EventToolArgs, Index: 1, Text: `:"Rome"}`},
		{Kind: llm.EventStop, Stop: llm.StopToolUse},
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 472, Output: 89}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestResponseRoundTrip: what BuildResponse writes, ParseResponse reads
// back, and openai-go decodes it as a ChatCompletion.
func TestResponseRoundTrip(t *testing.T) {
	r := &llm.Response{ID: testMeta.ID, Model: testMeta.Model, Stop: llm.StopToolUse, HasUsage: true,
		Usage: llm.Usage{Input: 1, CachedInput: 2, CacheWrite: 3, Output: 4, Reasoning: 5},
		Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "think", Signature: "c2ln"},
			{Kind: llm.PartRedactedThinking, Data: "cmVk"},
			{Kind: llm.PartText, Text: "text"},
			{Kind: llm.PartToolCall, ID: "call_1", Name: "f", Arguments: `{"a":1}`, Signature: "c2lnbmF0dXJl"},
		}}
	body := BuildResponse(r, testMeta)
	got, err := ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	var c openai.ChatCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != testMeta.ID || c.Choices[0].FinishReason != "tool_calls" || c.Usage.PromptTokens != 6 ||
		c.Usage.CompletionTokens != 9 || c.Usage.TotalTokens != 15 || c.Choices[0].Message.ToolCalls[0].Function.Name != "f" {
		t.Errorf("openai-go read %s", body)
	}
}
