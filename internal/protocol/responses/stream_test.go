package responses

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestDecoderErrors(t *testing.T) {
	tests := []struct{ name, event, data string }{
		{"garbage", "", `{"type":`},
		{"not an object", "", `[1,2]`},
		{"string", "", `"x"`},
		{"call without call_id", "", `{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc"}}`},
		{"args for unknown item", "", `{"type":"response.function_call_arguments.delta","item_id":"fc_9","output_index":9,"delta":"{"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoder().Decode(nil, []byte(tt.event), []byte(tt.data))
			e := asLLMError(t, err)
			if e.Kind != llm.KindUpstream || e.Code != "upstream_bad_response" {
				t.Errorf("error %+v", e)
			}
		})
	}
}

func TestDecoderIgnores(t *testing.T) {
	d := NewDecoder()
	for _, data := range []string{``, `[DONE]`, `{"type":"keepalive"}`, `{"type":"response.web_search_call.searching"}`,
		`{"type":"response.future_event","x":1}`, `{"type":"response.output_text.delta","delta":""}`} {
		got, err := d.Decode(nil, nil, []byte(data))
		if err != nil || len(got) != 0 {
			t.Errorf("%q: events %v error %v", data, got, err)
		}
	}
	if d.Done() {
		t.Error("Done before a terminal event")
	}
}

// TestDecoderEventName checks that the SSE event name stands in for a
// missing type field.
func TestDecoderEventName(t *testing.T) {
	got, err := NewDecoder().Decode(nil, []byte("response.output_text.delta"), []byte(`{"delta":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]llm.Event{{Kind: llm.EventText, Text: "x"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDecoderTruncated(t *testing.T) {
	events, done, err := decodeAll([]byte("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{}}\n\n"))
	if err != nil || done || len(events) != 0 {
		t.Errorf("events %v done %v err %v: a stream without a terminal event is not done", events, done, err)
	}
}

func TestEncoderFailBeforeOutput(t *testing.T) {
	e := NewEncoder(testMeta)
	out := e.Fail(nil, &llm.Error{Kind: llm.KindTimeout, Code: "timeout", Message: "too slow"})
	term := checkStream(t, out)
	if got := term.Get("sequence_number").Int(); got != 2 {
		t.Errorf("error sequence_number %d, want 2 (after the preamble)", got)
	}
	if term.Get("code").String() != "timeout" || term.Get("message").String() != "too slow" {
		t.Errorf("error event %s", term.Raw)
	}
	if more := e.Finish(nil); len(more) != 0 {
		t.Errorf("Finish after Fail wrote %q", more)
	}
	if more := e.Encode(nil, llm.Event{Kind: llm.EventText, Text: "x"}); len(more) != 0 {
		t.Errorf("Encode after Fail wrote %q", more)
	}
	if more := e.Fail(nil, &llm.Error{}); len(more) != 0 {
		t.Errorf("a second Fail wrote %q", more)
	}
}

func TestEncoderEventErrorNil(t *testing.T) {
	out := NewEncoder(testMeta).Encode(nil, llm.Event{Kind: llm.EventError})
	term := checkStream(t, out)
	if term.Get("type").String() != "error" || term.Get("code").String() != "upstream_error" {
		t.Errorf("terminal %s", term.Raw)
	}
}

// TestEncoderUsageOnce checks that usage is reported once, in the final
// event, as the last cumulative figures (replaced, not added), also when it
// arrives after the stop reason.
func TestEncoderUsageOnce(t *testing.T) {
	out := encodeAll(t, []llm.Event{
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 10}},
		{Kind: llm.EventText, Text: "a"},
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 10, Output: 1}},
		{Kind: llm.EventStop, Stop: llm.StopEnd},
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 10, Output: 3}},
	})
	term := checkStream(t, out)
	if got := term.Get("response.usage.output_tokens").Int(); got != 3 {
		t.Errorf("output_tokens %d, want 3", got)
	}
	if n := bytes.Count(out, []byte(`"input_tokens"`)); n != 1 {
		t.Errorf("usage appears %d times, want once", n)
	}
}

// TestEncoderToolArgsAfterClose: arguments for a call closed by later text
// cannot be written any more and are dropped without breaking the stream.
func TestEncoderToolArgsAfterClose(t *testing.T) {
	out := encodeAll(t, []llm.Event{
		{Kind: llm.EventToolCall, Index: 0, ID: "c", Name: "f", Text: "{}"},
		{Kind: llm.EventText, Text: "x"},
		{Kind: llm.EventToolArgs, Index: 0, Text: "late"},
		{Kind: llm.EventToolArgs, Index: 7, Text: "unknown"},
	})
	term := checkStream(t, out)
	if got := term.Get("response.output.0.arguments").String(); got != "{}" {
		t.Errorf("arguments %q", got)
	}
	if bytes.Contains(out, []byte("late")) || bytes.Contains(out, []byte("unknown")) {
		t.Error("dropped arguments were written")
	}
}

// TestEncoderDecoderRoundTrip feeds the encoder's output to the decoder:
// the events that come back must be the ones that went in, with ids packed
// with their signatures.
func TestEncoderDecoderRoundTrip(t *testing.T) {
	in := []llm.Event{
		{Kind: llm.EventThinking, Text: "hmm"},
		{Kind: llm.EventSignature, Text: "sig"},
		{Kind: llm.EventText, Text: "a"},
		{Kind: llm.EventText, Text: "b"},
		{Kind: llm.EventToolCall, Index: 0, ID: "c1", Name: "f", Text: `{"x":`},
		{Kind: llm.EventToolArgs, Index: 0, Text: `1}`},
		{Kind: llm.EventToolCall, Index: 1, ID: "c2", Name: "g", Signature: "AQID"},
		{Kind: llm.EventStop, Stop: llm.StopToolUse},
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 5, CachedInput: 1, CacheWrite: 2, Output: 3, Reasoning: 4}},
	}
	stream := encodeAll(t, in)
	got, done, err := decodeAll(stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Event{
		in[0], in[1], in[2], in[3],
		// The first fragment travels as a delta of its own.
		{Kind: llm.EventToolCall, Index: 0, ID: "c1", Name: "f"},
		{Kind: llm.EventToolArgs, Index: 0, Text: `{"x":`},
		in[5],
		{Kind: llm.EventToolCall, Index: 1, ID: llm.PackCallID("c2", "AQID"), Name: "g"},
		{Kind: llm.EventToolArgs, Index: 1, Text: "{}"}, // a call without arguments gets {}
		in[7], in[8],
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !done {
		t.Error("decoder not done after response.completed")
	}
}

// TestEncoderEscaping checks that arbitrary text, invalid UTF-8 included,
// still yields valid JSON payloads.
func TestEncoderEscaping(t *testing.T) {
	nasty := "\"\\\n\r\t\x00\x1f<>&\u2028\u2029\xff end"
	out := encodeAll(t, []llm.Event{
		{Kind: llm.EventThinking, Text: nasty},
		{Kind: llm.EventText, Text: nasty},
		{Kind: llm.EventToolCall, ID: nasty, Name: nasty, Text: nasty},
	})
	term := checkStream(t, out)
	if got := term.Get("response.output.1.content.0.text").String(); !strings.HasSuffix(got, "\ufffd end") {
		t.Errorf("text %q", got)
	}
	if !gjson.Valid(term.Raw) {
		t.Error("invalid terminal JSON")
	}
}

func BenchmarkEncodeText(b *testing.B) {
	ev := llm.Event{Kind: llm.EventText, Text: "token "}
	b.ReportAllocs()
	for b.Loop() {
		e := NewEncoder(testMeta)
		var out []byte
		for range 100 {
			out = e.Encode(out[:0], ev)
		}
	}
}

func BenchmarkDecodeText(b *testing.B) {
	data := []byte(`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"token ","logprobs":[]}`)
	b.ReportAllocs()
	var evs []llm.Event
	for b.Loop() {
		d := NewDecoder()
		for range 100 {
			evs, _ = d.Decode(evs[:0], nil, data)
		}
	}
}
