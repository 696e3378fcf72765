package chat

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestEncoderWritesNothingAfterTheEnd(t *testing.T) {
	ends := map[string]func(e *Encoder, dst []byte) []byte{
		"finish": func(e *Encoder, dst []byte) []byte { return e.Finish(dst) },
		"fail":   func(e *Encoder, dst []byte) []byte { return e.Fail(dst, nil) },
		"error event": func(e *Encoder, dst []byte) []byte {
			return e.Encode(dst, llm.Event{Kind: llm.EventError, Err: &llm.Error{Kind: llm.KindUpstream, Message: "x"}})
		},
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			e := NewEncoder(testMeta, true)
			out := end(e, e.Encode(nil, llm.Event{Kind: llm.EventText, Text: "a"}))
			if len(out) == 0 {
				t.Fatal("nothing written")
			}
			more := e.Encode(nil, llm.Event{Kind: llm.EventText, Text: "b"})
			more = e.Encode(more, llm.Event{Kind: llm.EventStop, Stop: llm.StopEnd})
			more = e.Finish(more)
			more = e.Fail(more, &llm.Error{Message: "late"})
			if len(more) != 0 {
				t.Errorf("wrote after the end: %q", more)
			}
		})
	}
}

func TestEncoderFailWithoutErrorIsStillAnError(t *testing.T) {
	out := NewEncoder(testMeta, false).Fail(nil, nil)
	if !bytes.Contains(out, []byte(`data: {"error":{"message":"the upstream stream failed"`)) {
		t.Fatalf("got %s", out)
	}
}

func TestEncoderAppendsToDst(t *testing.T) {
	e := NewEncoder(testMeta, false)
	out := e.Encode([]byte("prefix"), llm.Event{Kind: llm.EventText, Text: "x"})
	if !bytes.HasPrefix(out, []byte("prefixdata: ")) {
		t.Fatalf("got %q", out)
	}
}

func TestDecoderEdges(t *testing.T) {
	tests := []struct {
		name   string
		events []string // data fields
		want   []llm.Event
		err    bool
		done   bool
	}{
		{name: "whitespace and empty data", events: []string{"", "  ", " [DONE] "}, done: true},
		{name: "nothing after DONE", events: []string{"[DONE]", `{"choices":[{"delta":{"content":"late"}}]}`}, done: true},
		{name: "null usage and null finish", events: []string{`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"usage":null}`},
			want: []llm.Event{{Kind: llm.EventText, Text: "a"}}},
		{name: "empty usage object", events: []string{`{"choices":[],"usage":{}}`}},
		{name: "a number", events: []string{`5`}, err: true},
		{name: "error without message", events: []string{`{"error":{}}`},
			want: []llm.Event{{Kind: llm.EventError, Err: &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream reported an error"}}}},
		{name: "args before any call start a call", events: []string{`{"choices":[{"delta":{"tool_calls":[{"index":3,"function":{"arguments":"{}"}}]}}]}`},
			want: []llm.Event{{Kind: llm.EventToolCall, Index: 0, ID: "call_0", Text: "{}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder()
			var got []llm.Event
			var err error
			for _, data := range tt.events {
				if got, err = d.Decode(got, nil, []byte(data)); err != nil {
					break
				}
			}
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			var e *llm.Error
			if err != nil && (!errors.As(err, &e) || e.Kind != llm.KindUpstream || e.Code != "upstream_bad_response") {
				t.Errorf("err = %#v, want upstream_bad_response", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if d.Done() != tt.done {
				t.Errorf("Done = %v", d.Done())
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		e      *llm.Error
		status int
		typ    string
	}{
		{&llm.Error{Kind: llm.KindInvalid, Code: "invalid_request", Message: "bad", Param: "n"}, 400, "invalid_request_error"},
		{&llm.Error{Kind: llm.KindAuth, Message: "key"}, 401, "invalid_request_error"},
		{&llm.Error{Kind: llm.KindForbidden, Message: "not yours"}, 403, "permission_error"},
		{&llm.Error{Kind: llm.KindNotFound, Message: "no model"}, 404, "invalid_request_error"},
		{&llm.Error{Kind: llm.KindTooLarge, Message: "too big"}, 413, "invalid_request_error"},
		{&llm.Error{Kind: llm.KindInternal, Message: "bug"}, 500, "server_error"},
		{&llm.Error{Kind: llm.KindInsufficient, Message: "money"}, 402, "insufficient_quota"},
		{&llm.Error{Kind: llm.KindRateLimited, Message: "slow", RetryAfter: 1500 * time.Millisecond}, 429, "rate_limit_error"},
		{&llm.Error{Kind: llm.KindUpstream, Message: "up"}, 502, "upstream_error"},
		{&llm.Error{Kind: llm.KindUnavailable, Message: "none"}, 503, "service_unavailable_error"},
		{&llm.Error{Kind: llm.KindTimeout, Message: "late"}, 504, "timeout_error"},
		{&llm.Error{Kind: llm.KindUpstreamClient, Message: "no", Status: 422}, 422, "invalid_request_error"},
		{&llm.Error{Kind: llm.KindUnavailable, Message: "anthropic overloaded", Status: 529}, 503, "service_unavailable_error"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.e.Message, func(t *testing.T) {
			status, body := ErrorBody(tt.e, "req_1")
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			b := gjson.ParseBytes(body)
			if b.Get("error.type").Str != tt.typ || b.Get("error.message").Str != tt.e.Message+" (request id: req_1)" {
				t.Errorf("body %s", body)
			}
			rec := httptest.NewRecorder()
			WriteError(rec, tt.e, "req_1")
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/json" || !bytes.Equal(rec.Body.Bytes(), body) {
				t.Errorf("WriteError: %d %v %s", rec.Code, rec.Header(), rec.Body)
			}
			if ra := rec.Header().Get("Retry-After"); (tt.e.RetryAfter > 0) != (ra != "") || tt.e.RetryAfter > 0 && ra != "2" {
				t.Errorf("Retry-After %q", ra)
			}
			if ev := string(StreamErrorEvent(tt.e, "req_1")); ev != "data: "+string(body)+"\n\n" {
				t.Errorf("stream event %q", ev)
			}
		})
	}
}

// TestEncodeIsCheap keeps reflection off the per-token path: encoding a
// text delta allocates nothing once dst has room.
func TestEncodeIsCheap(t *testing.T) {
	e := NewEncoder(testMeta, true)
	dst := e.Encode(make([]byte, 0, 4096), llm.Event{Kind: llm.EventText, Text: "warm"})
	ev := llm.Event{Kind: llm.EventText, Text: strings.Repeat("token ", 3)}
	allocs := testing.AllocsPerRun(100, func() { dst = e.Encode(dst[:0], ev) })
	if allocs != 0 {
		t.Errorf("%v allocations per text delta", allocs)
	}
}

func BenchmarkEncodeText(b *testing.B) {
	e := NewEncoder(testMeta, true)
	ev := llm.Event{Kind: llm.EventText, Text: "Hello, wörld"}
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = e.Encode(dst[:0], ev)
	}
}

func BenchmarkDecodeText(b *testing.B) {
	d := NewDecoder()
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	var evs []llm.Event
	b.ReportAllocs()
	for b.Loop() {
		evs, _ = d.Decode(evs[:0], nil, data)
	}
}
