package responses

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name, body string
		kind       llm.Kind
		code       string
	}{
		{"garbage", `<html>`, llm.KindUpstream, "upstream_bad_response"},
		{"array", `[]`, llm.KindUpstream, "upstream_bad_response"},
		{"no output", `{"id":"r","status":"completed"}`, llm.KindUpstream, "upstream_bad_response"},
		{"item not object", `{"output":[1]}`, llm.KindUpstream, "upstream_bad_response"},
		{"call without id", `{"output":[{"type":"function_call","name":"f"}]}`, llm.KindUpstream, "upstream_bad_response"},
		{"error body", `{"error":{"code":"rate_limit_exceeded","message":"slow down org-x"}}`, llm.KindRateLimited, "rate_limit_exceeded"},
		{"client error", `{"error":{"code":"invalid_prompt","message":"bad prompt"}}`, llm.KindUpstreamClient, "invalid_prompt"},
		{"failed response", `{"status":"failed","error":{"code":"server_error","message":"x"},"output":[]}`,
			llm.KindUpstream, "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseResponse([]byte(tt.body))
			e := asLLMError(t, err)
			if e.Kind != tt.kind || e.Code != tt.code {
				t.Errorf("kind %v code %q, want %v %q", e.Kind, e.Code, tt.kind, tt.code)
			}
		})
	}
}

func TestUpstreamErrorHidesDetail(t *testing.T) {
	e := upstreamError("server_error", "failure on org-secret")
	if strings.Contains(e.Message, "org-secret") || e.Cause == nil || !strings.Contains(e.Cause.Error(), "org-secret") {
		t.Errorf("message %q cause %v: the detail must reach the log only", e.Message, e.Cause)
	}
	if e := upstreamError("context_length_exceeded", "too long"); e.Message != "too long" || e.Kind != llm.KindUpstreamClient {
		t.Errorf("caller-fault error %+v must keep the upstream message", e)
	}
	if e := upstreamError("", ""); e.Code != "upstream_error" || e.Kind != llm.KindUpstream {
		t.Errorf("empty error %+v", e)
	}
}

func TestStopReason(t *testing.T) {
	tests := []struct {
		status, reason string
		calls          bool
		want           llm.StopReason
	}{
		{"completed", "", false, llm.StopEnd},
		{"completed", "", true, llm.StopToolUse},
		{"incomplete", "max_output_tokens", true, llm.StopLength},
		{"incomplete", "content_filter", false, llm.StopFilter},
		{"incomplete", "other", false, llm.StopEnd},
	}
	for _, tt := range tests {
		if got := stopReason(tt.status, tt.reason, tt.calls); got != tt.want {
			t.Errorf("stopReason(%q, %q, %v) = %q, want %q", tt.status, tt.reason, tt.calls, got, tt.want)
		}
	}
}

// TestUsageSplit checks the conversion from Responses totals to disjoint
// kinds and back: input_tokens includes cached and cache-write tokens,
// output_tokens includes reasoning.
func TestUsageSplit(t *testing.T) {
	tests := []struct {
		name, raw string
		want      llm.Usage
	}{
		{"plain", `{"input_tokens":10,"output_tokens":5}`, llm.Usage{Input: 10, Output: 5}},
		{"cached", `{"input_tokens":100,"input_tokens_details":{"cached_tokens":80},"output_tokens":5}`,
			llm.Usage{Input: 20, CachedInput: 80, Output: 5}},
		{"cache write", `{"input_tokens":100,"input_tokens_details":{"cached_tokens":10,"cache_write_tokens":30},"output_tokens":5}`,
			llm.Usage{Input: 60, CachedInput: 10, CacheWrite: 30, Output: 5}},
		{"reasoning", `{"input_tokens":1,"output_tokens":50,"output_tokens_details":{"reasoning_tokens":40}}`,
			llm.Usage{Input: 1, Output: 10, Reasoning: 40}},
		{"inconsistent never negative", `{"input_tokens":5,"input_tokens_details":{"cached_tokens":9},"output_tokens":1,"output_tokens_details":{"reasoning_tokens":3}}`,
			llm.Usage{CachedInput: 9, Reasoning: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := usage(gjson.Parse(tt.raw))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("usage (-want +got):\n%s", diff)
			}
			if tt.name == "inconsistent never negative" {
				return
			}
			back := gjson.ParseBytes(appendUsage(nil, got))
			if back.Get("input_tokens").Int() != gjson.Get(tt.raw, "input_tokens").Int() ||
				back.Get("output_tokens").Int() != gjson.Get(tt.raw, "output_tokens").Int() ||
				back.Get("total_tokens").Int() != got.Total() {
				t.Errorf("appendUsage does not restore the totals: %s", back.Raw)
			}
		})
	}
}

// TestResponseRoundTrip: what BuildResponse writes, ParseResponse reads
// back to the same parts (a gateway in front of a gateway).
func TestResponseRoundTrip(t *testing.T) {
	in := &llm.Response{
		Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "why", Signature: "sig"},
			{Kind: llm.PartText, Text: "answer"},
			{Kind: llm.PartToolCall, ID: "c1", Name: "f", Arguments: `{"a":1}`},
		},
		Stop:     llm.StopToolUse,
		Usage:    llm.Usage{Input: 1, CachedInput: 2, CacheWrite: 3, Output: 4, Reasoning: 5},
		HasUsage: true,
	}
	out, err := ParseResponse(BuildResponse(in, testMeta))
	if err != nil {
		t.Fatal(err)
	}
	in.ID, in.Model = testMeta.ID, testMeta.Model
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestBuildResponseStatus(t *testing.T) {
	for stop, want := range map[llm.StopReason]string{
		llm.StopEnd: "completed", llm.StopToolUse: "completed", llm.StopSequence: "completed", llm.StopPause: "completed",
		llm.StopLength: "incomplete", llm.StopFilter: "incomplete", "": "completed",
	} {
		body := BuildResponse(&llm.Response{Stop: stop}, testMeta)
		if got := gjson.GetBytes(body, "status").String(); got != want {
			t.Errorf("stop %q: status %q, want %q", stop, got, want)
		}
		if !gjson.ValidBytes(body) {
			t.Errorf("stop %q: invalid JSON %s", stop, body)
		}
	}
}
