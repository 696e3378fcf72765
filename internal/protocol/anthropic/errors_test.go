package anthropic

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// TestErrorBody covers the whole table (§7.5, §10.9): every Kind has its
// status and type, 529 for overload included.
func TestErrorBody(t *testing.T) {
	tests := []struct {
		kind   llm.Kind
		status int
		typ    string
	}{
		{llm.KindInternal, 500, "api_error"},
		{llm.KindInvalid, 400, "invalid_request_error"},
		{llm.KindAuth, 401, "authentication_error"},
		{llm.KindForbidden, 403, "permission_error"},
		{llm.KindNotFound, 404, "not_found_error"},
		{llm.KindTooLarge, 413, "request_too_large"},
		{llm.KindInsufficient, 402, "billing_error"},
		{llm.KindRateLimited, 429, "rate_limit_error"},
		{llm.KindUpstream, 502, "api_error"},
		{llm.KindUnavailable, 529, "overloaded_error"},
		{llm.KindTimeout, 504, "timeout_error"},
		{llm.KindUpstreamClient, 400, "invalid_request_error"},
		{llm.Kind(99), 500, "api_error"},
	}
	if len(tests)-1 != len(kinds) {
		t.Errorf("the table has %d kinds, the test %d", len(kinds), len(tests)-1)
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			status, body := ErrorBody(&llm.Error{Kind: tt.kind, Message: `bad "input" <x>`}, "req_9")
			want := `{"type":"error","error":{"type":"` + tt.typ +
				`","message":"bad \"input\" \u003cx\u003e (request id: req_9)"},"request_id":"req_9"}`
			if status != tt.status || string(body) != want {
				t.Errorf("got %d %s\nwant %d %s", status, body, tt.status, want)
			}
		})
	}
}

func TestErrorBodyOverrides(t *testing.T) {
	status, body := ErrorBody(&llm.Error{Kind: llm.KindUpstreamClient, Status: 422, Message: "nope"}, "")
	if status != 422 || string(body) != `{"type":"error","error":{"type":"invalid_request_error","message":"nope"}}` {
		t.Errorf("got %d %s", status, body)
	}
	_, body = ErrorBody(&llm.Error{Kind: llm.KindTimeout}, "")
	if string(body) != `{"type":"error","error":{"type":"timeout_error","message":"timeout"}}` {
		t.Errorf("an error without message: %s", body)
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &llm.Error{Kind: llm.KindRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, "req_1")
	got := []string{rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"), rec.Header().Get("Request-Id")}
	if diff := cmp.Diff([]string{"application/json", "2", "req_1"}, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if rec.Code != 429 {
		t.Errorf("status %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, &llm.Error{Kind: llm.KindInvalid, Message: "x"}, "")
	if rec.Header().Get("Retry-After") != "" || rec.Code != 400 {
		t.Errorf("got %d with Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestStreamErrorEvent(t *testing.T) {
	got := string(StreamErrorEvent(&llm.Error{Kind: llm.KindUnavailable, Message: "Overloaded"}, "req_2"))
	want := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"," +
		"\"message\":\"Overloaded (request id: req_2)\"},\"request_id\":\"req_2\"}\n\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// The encoder writes the same event, with the id given as an option.
	e := NewEncoder(testMeta, WithRequestID("req_2"))
	out := string(e.Fail(nil, &llm.Error{Kind: llm.KindUnavailable, Message: "Overloaded"}))
	if out[len(out)-len(want):] != want {
		t.Errorf("Fail wrote %q", out)
	}
}

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"x-api-key", map[string]string{"X-Api-Key": "sk-ant-1"}, "sk-ant-1"},
		{"x-api-key first", map[string]string{"X-Api-Key": "sk-a", "Authorization": "Bearer sk-b"}, "sk-a"},
		{"bearer", map[string]string{"Authorization": "Bearer sk-b"}, "sk-b"},
		{"bearer lower case", map[string]string{"Authorization": "bearer  sk-c "}, "sk-c"},
		{"basic", map[string]string{"Authorization": "Basic dXNlcg=="}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			if got := Authenticate(h); got != tt.want {
				t.Errorf("Authenticate = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestErrorBodyTypeFollowsPassedStatus: an upstream's 4xx keeps its status
// (e.Status), and error.type must name that status as the §10.9 table
// does — a 404 is not_found_error and a 413 request_too_large, whichever
// provider refused — so that the type and the status agree, as they do
// for the Gemini surface (gemini.statusNames).
func TestErrorBodyTypeFollowsPassedStatus(t *testing.T) {
	tests := []struct {
		status int
		typ    string
	}{
		{400, "invalid_request_error"},
		{404, "not_found_error"},
		{413, "request_too_large"},
		{422, "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			status, body := ErrorBody(&llm.Error{Kind: llm.KindUpstreamClient, Status: tt.status, Message: "m"}, "")
			want := `{"type":"error","error":{"type":"` + tt.typ + `","message":"m"}}`
			if status != tt.status || string(body) != want {
				t.Errorf("got %d %s\nwant %d %s", status, body, tt.status, want)
			}
		})
	}
}
