package relay

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/protocol/anthropic"
	"github.com/tokenhot/tokenhot/internal/protocol/chat"
	"github.com/tokenhot/tokenhot/internal/protocol/gemini"
)

// upstreamAnswer is an upstream's error answer.
func upstreamAnswer(status int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

// TestUpstreamStatusKeepsItsMeaning: provider-protocols §10.9 keeps an
// upstream error's status when the body is rewritten into the client's
// protocol. An overloaded upstream (503, or Anthropic's own 529) is 503 for
// OpenAI and Gemini clients and 529 overloaded_error for Anthropic clients
// (docs/TRANSLATION.md says the same); an upstream timeout (504) stays a
// timeout.
func TestUpstreamStatusKeepsItsMeaning(t *testing.T) {
	tests := []struct {
		name                 string
		status               int
		body                 string
		chat, gemini, anthro int    // the HTTP status each client gets
		anthroType           string // the Anthropic client's error.type
	}{
		{"anthropic 529", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			503, 503, 529, "overloaded_error"},
		{"openai 503", 503, `{"error":{"message":"The server is overloaded","type":"server_error","code":"server_is_overloaded"}}`,
			503, 503, 529, "overloaded_error"},
		{"gemini 503", 503, `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`,
			503, 503, 529, "overloaded_error"},
		{"gemini 504", 504, `{"error":{"code":504,"message":"Deadline exceeded","status":"DEADLINE_EXCEEDED"}}`,
			504, 504, 504, "timeout_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := upstreamStatusError(upstreamAnswer(tt.status, nil, tt.body))
			chatStatus, _ := chat.ErrorBody(e, "")
			geminiStatus, _ := gemini.ErrorBody(e, "")
			anthroStatus, anthroBody := anthropic.ErrorBody(e, "")
			got := [4]any{chatStatus, geminiStatus, anthroStatus, gjson.GetBytes(anthroBody, "error.type").Str}
			want := [4]any{tt.chat, tt.gemini, tt.anthro, tt.anthroType}
			if got != want {
				t.Errorf("upstream %d reaches clients as (chat, gemini, anthropic, anthropic type) %v, want %v (kind %v)",
					tt.status, got, want, e.Kind)
			}
		})
	}
}

// TestGeminiBadKeyIsNotTheCallersError: the Gemini Developer API refuses a
// bad API key with 400 INVALID_ARGUMENT and the ErrorInfo reason
// API_KEY_INVALID (provider-protocols §10.9, the 401 row). The key is the
// gateway's: the client must not get a 400 that blames its request with
// Google's message about the key.
func TestGeminiBadKeyIsNotTheCallersError(t *testing.T) {
	body := `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
		`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`
	e := upstreamStatusError(upstreamAnswer(http.StatusBadRequest, nil, body))
	if e.Kind == llm.KindUpstreamClient || strings.Contains(e.Message, "API key") {
		t.Errorf("the gateway's refused key reached the client as the client's error: kind %v, status %d, message %q",
			e.Kind, e.Status, e.Message)
	}
}

// TestUpstreamRetryAfter: an upstream's retry delay reaches the client
// (provider-protocols §10.9): Retry-After-Ms or Retry-After headers, and
// for Gemini, which sends no header, the RetryInfo.retryDelay of the body.
func TestUpstreamRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   time.Duration
	}{
		{"Retry-After", http.Header{"Retry-After": {"7"}}, `{"error":{"message":"slow down"}}`, 7 * time.Second},
		{"Retry-After-Ms wins", http.Header{"Retry-After": {"7"}, "Retry-After-Ms": {"1500"}}, `{}`, 1500 * time.Millisecond},
		{"none", nil, `{}`, 0},
		{"gemini RetryInfo", nil, `{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"43s"}]}}`, 43 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := upstreamStatusError(upstreamAnswer(http.StatusTooManyRequests, tt.header, tt.body))
			if e.Kind != llm.KindRateLimited || e.RetryAfter != tt.want {
				t.Errorf("kind %v, RetryAfter %v; want rate_limited, %v", e.Kind, e.RetryAfter, tt.want)
			}
		})
	}
}
