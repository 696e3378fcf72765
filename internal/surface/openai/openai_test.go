package openai

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestParseChat(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		want  Chat
		param string // expected error param; "" with wantErr means any
		kind  llm.Kind
		err   bool
	}{
		{name: "minimal", body: `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`,
			want: Chat{Model: "gpt-5", N: 1}},
		{name: "stream with usage and limits",
			body: `{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":100,"n":2,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x"}},{"type":"image_url","image_url":{"url":"https://y"}}]}]}`,
			want: Chat{Model: "m", Stream: true, IncludeUsage: true, MaxTokens: 100, N: 2, Images: 2}},
		{name: "max_completion_tokens wins", body: `{"model":"m","max_completion_tokens":7,"max_tokens":100,"messages":[{}]}`,
			want: Chat{Model: "m", MaxTokens: 7, N: 1}},
		{name: "null fields are unset", body: `{"model":"m","stream":null,"max_tokens":null,"n":null,"messages":[{}]}`,
			want: Chat{Model: "m", N: 1}},
		{name: "not json", body: `{"model":`, err: true, kind: llm.KindInvalid},
		{name: "array", body: `[1,2]`, err: true, kind: llm.KindInvalid},
		{name: "no model", body: `{"messages":[{}]}`, err: true, param: "model", kind: llm.KindInvalid},
		{name: "model not a string", body: `{"model":5,"messages":[{}]}`, err: true, param: "model", kind: llm.KindInvalid},
		{name: "no messages", body: `{"model":"m"}`, err: true, param: "messages", kind: llm.KindInvalid},
		{name: "empty messages", body: `{"model":"m","messages":[]}`, err: true, param: "messages", kind: llm.KindInvalid},
		{name: "stream not bool", body: `{"model":"m","stream":"yes","messages":[{}]}`, err: true, param: "stream", kind: llm.KindInvalid},
		{name: "negative max_tokens", body: `{"model":"m","max_tokens":-1,"messages":[{}]}`, err: true, param: "max_tokens", kind: llm.KindInvalid},
		{name: "fractional max_tokens", body: `{"model":"m","max_tokens":1.5,"messages":[{}]}`, err: true, param: "max_tokens", kind: llm.KindInvalid},
		{name: "n too large", body: `{"model":"m","n":1000,"messages":[{}]}`, err: true, param: "n", kind: llm.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChat([]byte(tt.body))
			if tt.err {
				var e *llm.Error
				if !errors.As(err, &e) {
					t.Fatalf("error = %v, want *llm.Error", err)
				}
				if e.Kind != tt.kind || tt.param != "" && e.Param != tt.param {
					t.Fatalf("error kind %v param %q, want %v %q", e.Kind, e.Param, tt.kind, tt.param)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ParseChat (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPatchesKeepUnknownFields(t *testing.T) {
	body := []byte(`{"model":"pub","messages":[{"role":"user","content":"x"}],"stream":true,"future_field":{"a":[1,2,{"b":null}]},"temperature":0}`)
	out, err := SetModel(body, "upstream-2025")
	if err != nil {
		t.Fatal(err)
	}
	out, err = ForceUsage(out)
	if err != nil {
		t.Fatal(err)
	}
	var before, after map[string]any
	if err := json.Unmarshal(body, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	before["model"] = "upstream-2025"
	before["stream_options"] = map[string]any{"include_usage": true}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("patched body (-want +got):\n%s", diff)
	}
}

func TestForceUsageKeepsOtherStreamOptions(t *testing.T) {
	out, err := ForceUsage([]byte(`{"stream_options":{"include_obfuscation":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != `{"stream_options":{"include_obfuscation":false,"include_usage":true}}` {
		t.Fatalf("got %s", got)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want llm.Usage
		ok   bool
	}{
		{"plain", `{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29}`, llm.Usage{Input: 19, Output: 10}, true},
		{"cached and reasoning are split out", `{"prompt_tokens":100,"completion_tokens":50,"prompt_tokens_details":{"cached_tokens":30},"completion_tokens_details":{"reasoning_tokens":20}}`,
			llm.Usage{Input: 70, CachedInput: 30, Output: 30, Reasoning: 20}, true},
		{"cache writes", `{"prompt_tokens":100,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":30,"cache_write_tokens":50}}`,
			llm.Usage{Input: 20, CachedInput: 30, CacheWrite: 50, Output: 1}, true},
		{"more cached than prompt never goes negative", `{"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":40},"completion_tokens_details":{"reasoning_tokens":9}}`,
			llm.Usage{CachedInput: 10, Reasoning: 5}, true},
		{"null", `null`, llm.Usage{}, false},
		{"empty object", `{}`, llm.Usage{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Usage(gjson.Parse(tt.raw))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Usage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorBody(t *testing.T) {
	e := &llm.Error{Kind: llm.KindInsufficient, Code: "insufficient_balance", Message: `balance "low"`}
	got := string(ErrorBody(e, "req_1"))
	want := `{"error":{"message":"balance \"low\" (request id: req_1)","type":"insufficient_quota","param":null,"code":"insufficient_balance"}}`
	if got != want {
		t.Fatalf("ErrorBody:\n got %s\nwant %s", got, want)
	}
	if Status(e) != 402 {
		t.Fatalf("status %d", Status(e))
	}
	if s := Status(&llm.Error{Kind: llm.KindUpstreamClient, Status: 422}); s != 422 {
		t.Fatalf("override status %d", s)
	}
	ev := string(StreamErrorEvent(e, "req_1"))
	if ev != "data: "+want+"\n\n" {
		t.Fatalf("stream event %q", ev)
	}
}

func FuzzParseChat(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":5}`))
	f.Add([]byte(`{"model":"`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseChat(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalid || e.Message == "" {
				t.Fatalf("error %v is not a clear invalid-request error", err)
			}
			return
		}
		if c.Model == "" || c.N < 1 || c.MaxTokens < 0 {
			t.Fatalf("accepted a request without its essentials: %+v", c)
		}
	})
}

func TestResponseUsage(t *testing.T) {
	want := llm.Usage{Input: 8, CachedInput: 2, Output: 5}
	tests := map[string]string{
		"usage last":        `{"id":"x","choices":[{"message":{"content":"say \"usage\": {}"}}],"usage":{"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":2}}}`,
		"usage first":       `{"usage" : {"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":2}},"choices":[]}`,
		"pretty printed":    "{\n  \"choices\": [],\n  \"usage\": {\n    \"prompt_tokens\": 10,\n    \"completion_tokens\": 5,\n    \"prompt_tokens_details\": {\"cached_tokens\": 2}\n  }\n}",
		"escaped key later": `{"usage":{"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":2}},"choices":[{"message":{"content":"\"usage\":1"}}]}`,
	}
	for name, body := range tests {
		got, ok := ResponseUsage([]byte(body))
		if !ok || got != want {
			t.Errorf("%s: got %+v, %v", name, got, ok)
		}
	}
	if _, ok := ResponseUsage([]byte(`{"choices":[]}`)); ok {
		t.Error("usage found where there is none")
	}
}
