package anthropic

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// TestDecoderDoesNotAlias: the relay reuses its read buffer, so events must
// not point into data.
func TestDecoderDoesNotAlias(t *testing.T) {
	d := NewDecoder()
	buf := []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	if _, err := d.Decode(nil, []byte("content_block_start"), buf); err != nil {
		t.Fatal(err)
	}
	buf = []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}`)
	events, err := d.Decode(nil, []byte("content_block_delta"), buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, bytes.Repeat([]byte("x"), len(buf)))
	if len(events) != 1 || events[0].Text != "hello" {
		t.Errorf("events %+v changed with the buffer", events)
	}
}

func TestDecoderEdges(t *testing.T) {
	tests := []struct {
		name  string
		event string
		data  string
		want  []llm.Event
		err   bool
	}{
		{name: "ping without data", event: "ping"},
		{name: "empty"},
		{name: "unknown type", event: "future_event", data: `{"type":"future_event","x":1}`},
		{name: "type from data only", data: `{"type":"message_delta","delta":{"stop_reason":"end_turn"}}`,
			want: []llm.Event{{Kind: llm.EventStop, Stop: llm.StopEnd}}},
		{name: "error without details", event: "error", data: `{"type":"error"}`,
			want: []llm.Event{{Kind: llm.EventError, Err: &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error",
				Message: "the upstream reported an error"}}}},
		{name: "rate limited", event: "error", data: `{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}`,
			want: []llm.Event{{Kind: llm.EventError, Err: &llm.Error{Kind: llm.KindRateLimited, Code: "rate_limit_error", Message: "slow"}}}},
		{name: "no type", data: `{"index":0}`, err: true},
		{name: "not an object", event: "message_start", data: `[]`, err: true},
		{name: "not JSON", event: "message_start", data: `{"type":`, err: true},
		{name: "start without index", data: `{"type":"content_block_start","content_block":{"type":"text"}}`, err: true},
		{name: "delta without block", data: `{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"x"}}`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data []byte
			if tt.data != "" {
				data = []byte(tt.data)
			}
			got, err := NewDecoder().Decode(nil, []byte(tt.event), data)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error: %t", err, tt.err)
			}
			if err != nil {
				var e *llm.Error
				if !asLLM(err, &e) || e.Kind != llm.KindUpstream || e.Code != "upstream_bad_response" {
					t.Errorf("error %#v, want KindUpstream upstream_bad_response", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func asLLM(err error, e **llm.Error) bool {
	v, ok := err.(*llm.Error)
	*e = v
	return ok
}

// TestDecoderInputJSONDeltaOnText: arguments for a block that is not a
// tool call are a broken stream.
func TestDecoderInputJSONDeltaOnText(t *testing.T) {
	d := NewDecoder()
	_, _ = d.Decode(nil, nil, []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	if _, err := d.Decode(nil, nil, []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}`)); err == nil {
		t.Error("no error")
	}
}

// TestDecoderAfterStop: message_stop ends the stream; later events change
// nothing.
func TestDecoderAfterStop(t *testing.T) {
	d := NewDecoder()
	if _, err := d.Decode(nil, []byte("message_stop"), []byte(`{"type":"message_stop"}`)); err != nil || !d.Done() {
		t.Fatalf("done %t, err %v", d.Done(), err)
	}
	got, err := d.Decode(nil, []byte("error"), []byte(`{"type":"error","error":{"type":"api_error","message":"x"}}`))
	if err != nil || len(got) != 0 {
		t.Errorf("after message_stop: %v, %v", got, err)
	}
}

// TestDecoderStartInput: a tool_use start that carries its whole input
// gives it as the call's first fragment, as the SDKs' accumulators do.
func TestDecoderStartInput(t *testing.T) {
	d := NewDecoder()
	got, err := d.Decode(nil, nil, []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{"a": 1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Event{{Kind: llm.EventToolCall, ID: "t", Name: "f", Text: `{"a":1}`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestEncoderUsage: usage is cumulative (the last replaces the others), may
// come after the stop, and goes out once, in message_delta; a first usage
// gives message_start its input figures.
func TestEncoderUsage(t *testing.T) {
	e := NewEncoder(testMeta)
	var out []byte
	for _, ev := range []llm.Event{
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 7, CachedInput: 3}},
		{Kind: llm.EventText, Text: "a"},
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 7, CachedInput: 3, Output: 1}},
		{Kind: llm.EventStop, Stop: llm.StopEnd},
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 8, CachedInput: 3, CacheWrite: 2, Output: 4}},
	} {
		out = e.Encode(out, ev)
	}
	out = e.Finish(out)
	frames := sseEvents(t, out)
	var starts, deltas []string
	for _, f := range frames {
		switch string(f[0]) {
		case "message_start":
			starts = append(starts, gjson.GetBytes(f[1], "message.usage").Raw)
		case "message_delta":
			deltas = append(deltas, gjson.GetBytes(f[1], "usage").Raw)
		}
	}
	want := []string{`{"input_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":3,"output_tokens":0}`}
	if diff := cmp.Diff(want, starts); diff != "" {
		t.Errorf("message_start usage (-want +got):\n%s", diff)
	}
	want = []string{`{"input_tokens":8,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":4}`}
	if diff := cmp.Diff(want, deltas); diff != "" {
		t.Errorf("message_delta usage (-want +got):\n%s", diff)
	}
	if n := strings.Count(string(out), `"usage"`); n != 2 {
		t.Errorf("usage written %d times, want 2 (message_start, message_delta)", n)
	}
}

// TestEncoderEnds: nothing is written after Finish or Fail, and Fail is
// never followed by a clean finish.
func TestEncoderEnds(t *testing.T) {
	e := NewEncoder(testMeta)
	out := e.Encode(nil, llm.Event{Kind: llm.EventText, Text: "a"})
	out = e.Encode(out, llm.Event{Kind: llm.EventError}) // an upstream error without details
	n := len(out)
	out = e.Encode(out, llm.Event{Kind: llm.EventText, Text: "b"})
	out = e.Fail(out, &llm.Error{Kind: llm.KindTimeout})
	out = e.Finish(out)
	if len(out) != n {
		t.Errorf("written after the error: %q", out[n:])
	}
	if !bytes.HasSuffix(out, []byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"the upstream stream broke\"}}\n\n")) {
		t.Errorf("stream ends with %q", out)
	}
	if bytes.Contains(out, []byte("message_stop")) {
		t.Error("a failed stream has message_stop")
	}

	e = NewEncoder(testMeta)
	out = e.Finish(nil)
	n = len(out)
	out = e.Encode(out, llm.Event{Kind: llm.EventText, Text: "late"})
	out = e.Finish(out)
	out = e.Fail(out, nil)
	if len(out) != n {
		t.Errorf("written after Finish: %q", out[n:])
	}
}

func BenchmarkEncoderText(b *testing.B) {
	ev := llm.Event{Kind: llm.EventText, Text: "Hello, world! This is a token."}
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		e := NewEncoder(testMeta)
		dst = dst[:0]
		for range 100 {
			dst = e.Encode(dst[:0], ev)
		}
		dst = e.Finish(dst[:0])
	}
}

func BenchmarkDecoderText(b *testing.B) {
	start := []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	delta := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, world! This is a token."}}`)
	events := make([]llm.Event, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder()
		events, _ = d.Decode(events[:0], []byte("content_block_start"), start)
		for range 100 {
			events, _ = d.Decode(events[:0], []byte("content_block_delta"), delta)
		}
	}
}
