package chat

import (
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// TestStopReasons covers the OpenAI column of provider-protocols §10.4 both
// ways: finish_reason read from a Chat upstream, and the finish_reason a
// Chat client gets for each stop (tool calls turn a natural end, Gemini's
// STOP with calls included, into "tool_calls"; length and content_filter
// stay as they are even with calls).
func TestStopReasons(t *testing.T) {
	upstream := []struct {
		finish         string
		calls, refused bool
		want           llm.StopReason
	}{
		{"stop", false, false, llm.StopEnd},
		{"stop", true, false, llm.StopToolUse}, // compatible servers that say stop after calls
		{"stop", false, true, llm.StopFilter},  // a refusal
		{"length", false, false, llm.StopLength},
		{"length", true, false, llm.StopLength},
		{"tool_calls", true, false, llm.StopToolUse},
		{"function_call", true, false, llm.StopToolUse},
		{"content_filter", false, false, llm.StopFilter},
		{"", false, false, llm.StopEnd},
		{"something_new", false, false, llm.StopEnd},
	}
	for _, tt := range upstream {
		if got := stopReason(tt.finish, tt.calls, tt.refused); got != tt.want {
			t.Errorf("stopReason(%q, calls %t, refused %t) = %q, want %q", tt.finish, tt.calls, tt.refused, got, tt.want)
		}
	}
	client := []struct {
		stop  llm.StopReason
		calls bool
		want  string
	}{
		{llm.StopEnd, false, "stop"},          // end_turn, STOP
		{llm.StopSequence, false, "stop"},     // stop_sequence
		{llm.StopPause, false, "stop"},        // pause_turn has no equivalent
		{llm.StopLength, false, "length"},     // max_tokens, MAX_TOKENS, model_context_window_exceeded
		{llm.StopToolUse, true, "tool_calls"}, // tool_use
		{llm.StopEnd, true, "tool_calls"},     // Gemini: STOP with functionCall parts
		{"", true, "tool_calls"},
		{llm.StopLength, true, "length"}, // a call cut off by the limit
		{llm.StopFilter, false, "content_filter"},
		{llm.StopFilter, true, "content_filter"},
	}
	for _, tt := range client {
		if got := finishReason(tt.stop, tt.calls); got != tt.want {
			t.Errorf("finishReason(%q, calls %t) = %q, want %q", tt.stop, tt.calls, got, tt.want)
		}
	}
}
