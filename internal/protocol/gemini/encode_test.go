package gemini

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// frames splits an encoder's output into its JSON payloads.
func frames(t *testing.T, out []byte) []gjson.Result {
	t.Helper()
	checkFrames(t, out)
	var res []gjson.Result
	for _, f := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		res = append(res, gjson.Parse(strings.TrimPrefix(f, "data: ")))
	}
	return res
}

// Usage goes out once, in the last frame, and is the last EventUsage's
// (usage events are cumulative and replace each other).
func TestEncoderUsageOnceLast(t *testing.T) {
	e := NewEncoder(testMeta)
	var out []byte
	out = e.Encode(out, llm.Event{Kind: llm.EventUsage, Usage: llm.Usage{Input: 1}})
	out = e.Encode(out, llm.Event{Kind: llm.EventText, Text: "a"})
	out = e.Encode(out, llm.Event{Kind: llm.EventUsage, Usage: llm.Usage{Input: 5, Output: 2}})
	out = e.Encode(out, llm.Event{Kind: llm.EventText, Text: "b"})
	out = e.Encode(out, llm.Event{Kind: llm.EventStop, Stop: llm.StopEnd})
	out = e.Encode(out, llm.Event{Kind: llm.EventUsage, Usage: llm.Usage{Input: 5, Output: 7, Reasoning: 3}})
	out = e.Finish(out)
	fs := frames(t, out)
	for i, f := range fs {
		has := f.Get("usageMetadata").Exists()
		if has != (i == len(fs)-1) {
			t.Errorf("frame %d has usage = %v", i, has)
		}
	}
	last := fs[len(fs)-1]
	if got := last.Get("usageMetadata").Raw; got != `{"promptTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":3,"totalTokenCount":15}` {
		t.Errorf("usage = %s", got)
	}
	if got := last.Get("candidates.0.finishReason").Str; got != "STOP" {
		t.Errorf("finishReason = %q", got)
	}
}

// Nothing is written before the first content: Gemini has no preamble.
func TestEncoderLazy(t *testing.T) {
	e := NewEncoder(testMeta)
	out := e.Encode(nil, llm.Event{Kind: llm.EventUsage, Usage: llm.Usage{Input: 3}})
	out = e.Encode(out, llm.Event{Kind: llm.EventToolCall, Index: 0, ID: "c", Name: "f"})
	out = e.Encode(out, llm.Event{Kind: llm.EventToolArgs, Index: 0, Text: "{}"})
	out = e.Encode(out, llm.Event{Kind: llm.EventRedactedThinking, Text: "x"})
	out = e.Encode(out, llm.Event{Kind: llm.EventSignature, Text: "not base64 at all"})
	if len(out) != 0 {
		t.Errorf("wrote before any content: %q", out)
	}
}

// After Finish or Fail nothing more is written, and Fail after Finish is a
// no-op (the relay may call both on a racing disconnect).
func TestEncoderEndsOnce(t *testing.T) {
	e := NewEncoder(testMeta)
	out := e.Finish(nil)
	n := len(out)
	out = e.Encode(out, llm.Event{Kind: llm.EventText, Text: "late"})
	out = e.Finish(out)
	out = e.Fail(out, &llm.Error{Kind: llm.KindUpstream, Message: "x"})
	if len(out) != n {
		t.Errorf("wrote after Finish: %q", out[n:])
	}

	e = NewEncoder(testMeta)
	out = e.Encode(nil, llm.Event{Kind: llm.EventError})
	n = len(out)
	if !bytes.Contains(out, []byte(`"status":"UNAVAILABLE"`)) {
		t.Errorf("EventError without Err = %q, want an upstream error frame", out)
	}
	out = e.Finish(out)
	if len(out) != n {
		t.Errorf("Finish wrote after an error: %q", out[n:])
	}
	checkFrames(t, out)
}

// A stop reason other than a normal end survives tool calls; a normal end
// (or none) with calls is still STOP, Gemini's reason for calls.
func TestEncoderFinishReasons(t *testing.T) {
	tests := []struct {
		name  string
		stop  llm.StopReason
		calls bool
		want  string
	}{
		{"none", "", false, "STOP"},
		{"end", llm.StopEnd, false, "STOP"},
		{"sequence", llm.StopSequence, false, "STOP"},
		{"pause", llm.StopPause, false, "STOP"},
		{"tool use", llm.StopToolUse, true, "STOP"},
		{"length with call", llm.StopLength, true, "MAX_TOKENS"},
		{"filter", llm.StopFilter, false, "SAFETY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder(testMeta)
			var out []byte
			if tt.calls {
				out = e.Encode(out, llm.Event{Kind: llm.EventToolCall, ID: "c", Name: "f", Text: `{"a":1}`})
			}
			if tt.stop != "" {
				out = e.Encode(out, llm.Event{Kind: llm.EventStop, Stop: tt.stop})
			}
			fs := frames(t, e.Finish(out))
			last := fs[len(fs)-1]
			if got := last.Get("candidates.0.finishReason").Str; got != tt.want {
				t.Errorf("finishReason = %q, want %q", got, tt.want)
			}
			if got := last.Get("candidates.0.content.parts.0.functionCall.args").Raw; tt.calls && got != `{"a":1}` {
				t.Errorf("args = %s", got)
			}
		})
	}
}

// Pretty-printed arguments from an upstream still make one-line frames.
func TestEncoderMultilineArgs(t *testing.T) {
	e := NewEncoder(testMeta)
	out := e.Encode(nil, llm.Event{Kind: llm.EventToolCall, ID: "c", Name: "f", Text: "{\n  \"a\": [1,\n 2]\n}"})
	fs := frames(t, e.Finish(out))
	if got := fs[0].Get("candidates.0.content.parts.0.functionCall.args").Raw; got != `{"a":[1,2]}` {
		t.Errorf("args = %s", got)
	}
}

func BenchmarkEncoderText(b *testing.B) {
	ev := llm.Event{Kind: llm.EventText, Text: "a typical token "}
	e := NewEncoder(testMeta)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Encode(buf[:0], ev)
	}
}

func BenchmarkDecoderText(b *testing.B) {
	data := []byte(`{"candidates":[{"content":{"parts":[{"text":" world, how"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash","responseId":"abc123"}`)
	d := NewDecoder()
	events := make([]llm.Event, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if events, err = d.Decode(events[:0], nil, data); err != nil {
			b.Fatal(err)
		}
	}
}
