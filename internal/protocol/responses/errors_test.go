package responses

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

func TestErrorBody(t *testing.T) {
	tests := []struct {
		kind   llm.Kind
		status int
		typ    string
	}{
		{llm.KindInternal, 500, "server_error"},
		{llm.KindInvalid, 400, "invalid_request_error"},
		{llm.KindAuth, 401, "invalid_request_error"},
		{llm.KindForbidden, 403, "permission_error"},
		{llm.KindNotFound, 404, "invalid_request_error"},
		{llm.KindTooLarge, 413, "invalid_request_error"},
		{llm.KindInsufficient, 402, "insufficient_quota"},
		{llm.KindRateLimited, 429, "rate_limit_error"},
		{llm.KindUpstream, 502, "upstream_error"},
		{llm.KindUnavailable, 503, "service_unavailable_error"}, // never Anthropic's 529
		{llm.KindTimeout, 504, "timeout_error"},
		{llm.KindUpstreamClient, 400, "invalid_request_error"},
	}
	for _, tt := range tests {
		status, body := ErrorBody(&llm.Error{Kind: tt.kind, Code: "c", Message: "m"}, "req_1")
		got := []any{status, gjson.GetBytes(body, "error.type").String(), gjson.GetBytes(body, "error.message").String(),
			gjson.GetBytes(body, "error.code").String()}
		want := []any{tt.status, tt.typ, "m (request id: req_1)", "c"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("kind %v (-want +got):\n%s", tt.kind, diff)
		}
	}
	if status, _ := ErrorBody(&llm.Error{Kind: llm.KindUpstreamClient, Status: 422}, ""); status != 422 {
		t.Errorf("status override: %d", status)
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, &llm.Error{Kind: llm.KindRateLimited, Message: "slow", RetryAfter: 1500 * time.Millisecond}, "r")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" ||
		w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("status %d headers %v", w.Code, w.Header())
	}
}

func TestStreamErrorEvent(t *testing.T) {
	ev := StreamErrorEvent(&llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "bad \"thing\"", Param: "input"}, "req_7")
	if sse.EventEnd(ev) != len(ev) {
		t.Fatalf("not one whole event: %q", ev)
	}
	name, data := sse.Fields(ev)
	want := `{"type":"error","code":"upstream_error","message":"bad \"thing\" (request id: req_7)","param":"input","sequence_number":0}`
	if string(name) != "error" || string(data) != want {
		t.Errorf("event %q data %s, want error %s", name, data, want)
	}
	_, data = sse.Fields(StreamErrorEvent(&llm.Error{}, ""))
	if got := `{"type":"error","code":null,"message":"","param":null,"sequence_number":0}`; string(data) != got {
		t.Errorf("data %s, want %s", data, got)
	}
}
