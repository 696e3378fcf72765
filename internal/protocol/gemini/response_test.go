package gemini

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func wantKind(t *testing.T, err error, kind llm.Kind, code string) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *llm.Error", err, err)
	}
	if e.Kind != kind || e.Code != code {
		t.Errorf("kind/code = %v/%q, want %v/%q", e.Kind, e.Code, kind, code)
	}
	return e
}

func TestParseResponseErrors(t *testing.T) {
	bad := []struct{ name, body string }{
		{"empty", ``},
		{"not json", `<html>502 Bad Gateway</html>`},
		{"array", `[{"candidates":[]}]`},
		{"string", `"hello"`},
		{"candidates not array", `{"candidates":{"content":{}}}`},
		{"candidate not object", `{"candidates":[1]}`},
		{"content not object", `{"candidates":[{"content":"hi"}]}`},
		{"parts not array", `{"candidates":[{"content":{"parts":{"text":"x"}}}]}`},
		{"part not object", `{"candidates":[{"content":{"parts":["x"]}}]}`},
		{"args not object", `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":"x"}}]}}]}`},
		{"call without name", `{"candidates":[{"content":{"parts":[{"functionCall":{"args":{}}}]}}]}`},
		{"usage not object", `{"usageMetadata":5}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseResponse([]byte(tt.body))
			wantKind(t, err, llm.KindUpstream, "upstream_bad_response")
		})
	}
	t.Run("error body", func(t *testing.T) {
		_, err := ParseResponse([]byte(`{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED",
			"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`))
		e := wantKind(t, err, llm.KindRateLimited, "resource_exhausted")
		if e.Message != "Quota exceeded" || e.RetryAfter != 1500*time.Millisecond {
			t.Errorf("message/retry = %q/%v", e.Message, e.RetryAfter)
		}
	})
}

func TestStopReason(t *testing.T) {
	tests := []struct {
		finish  string
		sawCall bool
		want    llm.StopReason
	}{
		{"STOP", false, llm.StopEnd},
		{"STOP", true, llm.StopToolUse},
		{"", false, llm.StopEnd},
		{"FINISH_REASON_UNSPECIFIED", false, llm.StopEnd},
		{"MAX_TOKENS", false, llm.StopLength},
		{"MAX_TOKENS", true, llm.StopLength},
		{"SAFETY", false, llm.StopFilter},
		{"RECITATION", false, llm.StopFilter},
		{"LANGUAGE", false, llm.StopFilter},
		{"BLOCKLIST", false, llm.StopFilter},
		{"PROHIBITED_CONTENT", false, llm.StopFilter},
		{"SPII", false, llm.StopFilter},
		{"OTHER", false, llm.StopFilter},
		{"IMAGE_SAFETY", false, llm.StopFilter},
		{"IMAGE_PROHIBITED_CONTENT", false, llm.StopFilter},
		{"IMAGE_RECITATION", false, llm.StopFilter},
		{"IMAGE_OTHER", false, llm.StopFilter},
		{"NO_IMAGE", false, llm.StopEnd},
		{"MALFORMED_FUNCTION_CALL", false, llm.StopEnd},
		{"UNEXPECTED_TOOL_CALL", false, llm.StopEnd},
		{"TOO_MANY_TOOL_CALLS", false, llm.StopEnd},
		{"MISSING_THOUGHT_SIGNATURE", false, llm.StopEnd},
		{"SOMETHING_NEW", false, llm.StopEnd}, // unknown reasons end normally, as LiteLLM does (§10.4)
		{"SOMETHING_NEW", true, llm.StopToolUse},
	}
	for _, tt := range tests {
		if got := stopReason(tt.finish, tt.sawCall); got != tt.want {
			t.Errorf("stopReason(%q, %v) = %q, want %q", tt.finish, tt.sawCall, got, tt.want)
		}
	}
}

func TestFinishReason(t *testing.T) {
	tests := map[llm.StopReason]string{
		llm.StopEnd: "STOP", llm.StopSequence: "STOP", llm.StopPause: "STOP", llm.StopToolUse: "STOP",
		llm.StopLength: "MAX_TOKENS", llm.StopFilter: "SAFETY", "": "STOP",
	}
	for in, want := range tests {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// The usage of an answer survives the trip Gemini → llm → Gemini client.
func TestUsageRoundTrip(t *testing.T) {
	body := `{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}],
		"usageMetadata":{"promptTokenCount":120,"cachedContentTokenCount":100,"candidatesTokenCount":18,"thoughtsTokenCount":64,"totalTokenCount":202}}`
	r, err := ParseResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{Input: 20, CachedInput: 100, Output: 18, Reasoning: 64}
	if diff := cmp.Diff(want, r.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	out := string(BuildResponse(r, testMeta))
	const wantUsage = `"usageMetadata":{"promptTokenCount":120,"candidatesTokenCount":18,"cachedContentTokenCount":100,"thoughtsTokenCount":64,"totalTokenCount":202}`
	if !strings.Contains(out, wantUsage) {
		t.Errorf("BuildResponse = %s, want it to contain %s", out, wantUsage)
	}
}

// BuildResponse never shows the upstream's id or model.
func TestBuildResponseIdentity(t *testing.T) {
	out := string(BuildResponse(&llm.Response{ID: "upstream-id", Model: "upstream-model", Stop: llm.StopEnd}, testMeta))
	if strings.Contains(out, "upstream") {
		t.Errorf("upstream identity leaked: %s", out)
	}
	checkClientChunk(t, []byte(out))
}

func TestDecoderErrors(t *testing.T) {
	bad := []struct{ name, data string }{
		{"not json", `{"candidates":[`},
		{"number", `42`},
		{"done marker", `[DONE]`},
		{"array of strings", `["a"]`},
		{"parts not array", `{"candidates":[{"content":{"parts":"x"}}]}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoder().Decode(nil, nil, []byte(tt.data))
			wantKind(t, err, llm.KindUpstream, "upstream_bad_response")
		})
	}
	t.Run("blank data", func(t *testing.T) {
		d := NewDecoder()
		events, err := d.Decode(nil, []byte("ping"), []byte("  "))
		if err != nil || len(events) != 0 || d.Done() {
			t.Errorf("Decode(blank) = %v, %v, done %v", events, err, d.Done())
		}
	})
}

// The call counter runs across chunks, and the event name is ignored.
func TestDecoderCallIndexes(t *testing.T) {
	stubCallIDs(t)
	d := NewDecoder()
	var events []llm.Event
	var err error
	for _, data := range []string{
		`{"candidates":[{"content":{"parts":[{"text":"a"},{"functionCall":{"name":"f","args":{}}}]}}]}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"g"}}]}}]}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"id":"x","name":"h","args":{"k":[1]}}}]},"finishReason":"STOP"}]}`,
	} {
		if events, err = d.Decode(events, []byte("message"), []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	want := []llm.Event{
		{Kind: llm.EventText, Text: "a"},
		{Kind: llm.EventToolCall, Index: 0, ID: "call_gen_1", Name: "f", Text: "{}"},
		{Kind: llm.EventToolCall, Index: 1, ID: "call_gen_2", Name: "g", Text: "{}"},
		{Kind: llm.EventToolCall, Index: 2, ID: "x", Name: "h", Text: `{"k":[1]}`},
		{Kind: llm.EventStop, Stop: llm.StopToolUse},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if !d.Done() {
		t.Error("Done = false after a finish reason")
	}
}
