package anthropic

import (
	"errors"
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
		{"empty", ``, llm.KindUpstream, "upstream_bad_response"},
		{"not JSON", `<html>502</html>`, llm.KindUpstream, "upstream_bad_response"},
		{"array", `[]`, llm.KindUpstream, "upstream_bad_response"},
		{"content not array", `{"type":"message","content":"hi"}`, llm.KindUpstream, "upstream_bad_response"},
		{"error body", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, llm.KindUnavailable, "overloaded_error"},
		{"rate limit body", `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, llm.KindRateLimited, "rate_limit_error"},
		{"api error body", `{"type":"error","error":{"type":"api_error","message":"oops"}}`, llm.KindUpstream, "api_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse([]byte(tt.body))
			var e *llm.Error
			if r != nil || !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want an *llm.Error", r, err)
			}
			if e.Kind != tt.kind || e.Code != tt.code || e.Message == "" {
				t.Errorf("got %v %q %q, want %v %q", e.Kind, e.Code, e.Message, tt.kind, tt.code)
			}
		})
	}
}

// TestStopReasons covers §10.4 both ways.
func TestStopReasons(t *testing.T) {
	upstream := map[string]llm.StopReason{
		"end_turn": llm.StopEnd, "max_tokens": llm.StopLength, "stop_sequence": llm.StopSequence,
		"tool_use": llm.StopToolUse, "refusal": llm.StopFilter, "pause_turn": llm.StopPause,
		"model_context_window_exceeded": llm.StopLength, "": llm.StopEnd, "something_new": llm.StopEnd,
	}
	for in, want := range upstream {
		if got := stopReason(in); got != want {
			t.Errorf("stopReason(%q) = %q, want %q", in, got, want)
		}
	}
	client := []struct {
		stop   llm.StopReason
		called bool
		want   string
	}{
		{llm.StopEnd, false, "end_turn"},
		{"", false, "end_turn"},
		{llm.StopEnd, true, "tool_use"}, // Gemini: STOP with function calls
		{"", true, "tool_use"},
		{llm.StopToolUse, true, "tool_use"},
		{llm.StopLength, true, "max_tokens"},
		{llm.StopLength, false, "max_tokens"},
		{llm.StopSequence, false, "stop_sequence"},
		{llm.StopFilter, false, "refusal"},
		{llm.StopPause, false, "pause_turn"},
	}
	for _, tt := range client {
		if got := clientStop(tt.stop, tt.called); got != tt.want {
			t.Errorf("clientStop(%q, %t) = %q, want %q", tt.stop, tt.called, got, tt.want)
		}
	}
}

// TestUsage covers the disjoint figures both ways: Anthropic's input_tokens
// is the uncached input only (new-api once put the cache in it, §10.5), its
// output_tokens includes thinking.
func TestUsage(t *testing.T) {
	tests := []struct {
		name, in string
		want     llm.Usage
	}{
		{"plain", `{"input_tokens":10,"output_tokens":5}`, llm.Usage{Input: 10, Output: 5}},
		{"cache", `{"input_tokens":10,"cache_read_input_tokens":300,"cache_creation_input_tokens":20,"output_tokens":5}`,
			llm.Usage{Input: 10, CachedInput: 300, CacheWrite: 20, Output: 5}},
		{"thinking", `{"input_tokens":1,"output_tokens":100,"output_tokens_details":{"thinking_tokens":60}}`,
			llm.Usage{Input: 1, Output: 40, Reasoning: 60}},
		{"thinking over total", `{"output_tokens":10,"output_tokens_details":{"thinking_tokens":60}}`,
			llm.Usage{Reasoning: 10}},
		{"negative", `{"input_tokens":-5,"output_tokens":-1}`, llm.Usage{}},
		{"nulls", `{"input_tokens":null,"cache_read_input_tokens":null,"output_tokens":3}`, llm.Usage{Output: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readUsage(gjson.Parse(tt.in), llm.Usage{})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("read (-want +got):\n%s", diff)
			}
			back := usageOut(got)
			if back.InputTokens != got.Input || back.CacheReadInputTokens != got.CachedInput ||
				back.CacheCreationInputTokens != got.CacheWrite || back.OutputTokens != got.Output+got.Reasoning {
				t.Errorf("written back as %+v", back)
			}
		})
	}
}
