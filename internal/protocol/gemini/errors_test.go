package gemini

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestErrorBody(t *testing.T) {
	tests := []struct {
		name   string
		err    *llm.Error
		id     string
		status int
		body   string
	}{
		{"invalid", &llm.Error{Kind: llm.KindInvalid, Code: "invalid_request", Param: "contents", Message: "contents is not specified"}, "req1",
			400, `{"error":{"code":400,"message":"contents is not specified (request id: req1)","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"invalid_request","domain":"tokenhot","metadata":{"param":"contents"}}]}}`},
		{"auth", &llm.Error{Kind: llm.KindAuth, Message: "invalid API key"}, "",
			401, `{"error":{"code":401,"message":"invalid API key","status":"UNAUTHENTICATED"}}`},
		{"forbidden", &llm.Error{Kind: llm.KindForbidden, Message: "m"}, "", 403, `{"error":{"code":403,"message":"m","status":"PERMISSION_DENIED"}}`},
		{"not found", &llm.Error{Kind: llm.KindNotFound, Message: "m"}, "", 404, `{"error":{"code":404,"message":"m","status":"NOT_FOUND"}}`},
		{"too large", &llm.Error{Kind: llm.KindTooLarge, Message: "m"}, "", 413, `{"error":{"code":413,"message":"m","status":"INVALID_ARGUMENT"}}`},
		{"insufficient", &llm.Error{Kind: llm.KindInsufficient, Message: "m"}, "", 402, `{"error":{"code":402,"message":"m","status":"FAILED_PRECONDITION"}}`},
		{"rate limited", &llm.Error{Kind: llm.KindRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, "r",
			429, `{"error":{"code":429,"message":"slow down (request id: r)","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}]}}`},
		{"internal", &llm.Error{Kind: llm.KindInternal, Message: "m"}, "", 500, `{"error":{"code":500,"message":"m","status":"INTERNAL"}}`},
		{"upstream", &llm.Error{Kind: llm.KindUpstream, Message: "m"}, "", 502, `{"error":{"code":502,"message":"m","status":"UNAVAILABLE"}}`},
		{"unavailable", &llm.Error{Kind: llm.KindUnavailable, Message: "m"}, "", 503, `{"error":{"code":503,"message":"m","status":"UNAVAILABLE"}}`},
		{"timeout", &llm.Error{Kind: llm.KindTimeout, Message: "m"}, "", 504, `{"error":{"code":504,"message":"m","status":"DEADLINE_EXCEEDED"}}`},
		{"upstream client", &llm.Error{Kind: llm.KindUpstreamClient, Message: "m"}, "", 400, `{"error":{"code":400,"message":"m","status":"INVALID_ARGUMENT"}}`},
		{"status override", &llm.Error{Kind: llm.KindUpstreamClient, Status: 404, Message: "m"}, "", 404, `{"error":{"code":404,"message":"m","status":"NOT_FOUND"}}`},
		{"anthropic 529 becomes 503", &llm.Error{Kind: llm.KindUnavailable, Status: 529, Message: "m"}, "", 503, `{"error":{"code":503,"message":"m","status":"UNAVAILABLE"}}`},
		{"other 5xx", &llm.Error{Kind: llm.KindUpstream, Status: 520, Message: "m"}, "", 520, `{"error":{"code":520,"message":"m","status":"INTERNAL"}}`},
		{"other 4xx", &llm.Error{Kind: llm.KindUpstreamClient, Status: 422, Message: "m"}, "", 422, `{"error":{"code":422,"message":"m","status":"INVALID_ARGUMENT"}}`},
		{"unknown kind", &llm.Error{Kind: llm.Kind(99), Message: "m"}, "", 500, `{"error":{"code":500,"message":"m","status":"INTERNAL"}}`},
		{"escaping", &llm.Error{Kind: llm.KindInvalid, Message: "bad \"x\"\n"}, "", 400, `{"error":{"code":400,"message":"bad \"x\"\n","status":"INVALID_ARGUMENT"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := ErrorBody(tt.err, tt.id)
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if diff := cmp.Diff(tt.body, string(body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, &llm.Error{Kind: llm.KindRateLimited, Message: "slow down", RetryAfter: 2500 * time.Millisecond}, "abc")
	if w.Code != 429 {
		t.Errorf("status = %d, want 429", w.Code)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := w.Header().Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3", got)
	}
	_, body := ErrorBody(&llm.Error{Kind: llm.KindRateLimited, Message: "slow down", RetryAfter: 2500 * time.Millisecond}, "abc")
	if w.Body.String() != string(body) {
		t.Errorf("body = %s, want %s", w.Body.String(), body)
	}

	w = httptest.NewRecorder()
	WriteError(w, &llm.Error{Kind: llm.KindAuth, Message: "no key"}, "")
	if w.Header().Get("Retry-After") != "" || w.Code != 401 {
		t.Errorf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestStreamErrorEvent(t *testing.T) {
	got := string(StreamErrorEvent(&llm.Error{Kind: llm.KindUnavailable, Message: "overloaded"}, "r1"))
	want := "data: {\"error\":{\"code\":503,\"message\":\"overloaded (request id: r1)\",\"status\":\"UNAVAILABLE\"}}\n\n"
	if got != want {
		t.Errorf("StreamErrorEvent = %q, want %q", got, want)
	}
}

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		query  string
		want   string
	}{
		{"goog header", http.Header{"X-Goog-Api-Key": {"k1"}, "Authorization": {"Bearer k3"}}, "key=k2", "k1"},
		{"query", http.Header{"Authorization": {"Bearer k3"}}, "alt=sse&key=k2", "k2"},
		{"bearer", http.Header{"Authorization": {"Bearer k3"}}, "alt=sse", "k3"},
		{"bearer lower case", http.Header{"Authorization": {"bearer  k3 "}}, "", "k3"},
		{"basic is not a key", http.Header{"Authorization": {"Basic abc"}}, "", ""},
		{"nothing", http.Header{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: tt.header, URL: &url.URL{RawQuery: tt.query}}
			if got := Authenticate(r); got != tt.want {
				t.Errorf("Authenticate = %q, want %q", got, tt.want)
			}
		})
	}
}
