package anthropic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// sseEvents splits a recording into its events' (event, data) fields.
func sseEvents(t *testing.T, stream []byte) [][2][]byte {
	t.Helper()
	var out [][2][]byte
	for len(stream) > 0 {
		n := sse.EventEnd(stream)
		if n < 0 {
			n = len(stream) // a last event without its blank line
		}
		name, data := sse.Fields(stream[:n])
		if name != nil || data != nil {
			out = append(out, [2][]byte{name, data})
		}
		stream = stream[n:]
	}
	return out
}

// decodeAll runs a recording through a Decoder.
func decodeAll(t *testing.T, stream []byte) (events []llm.Event, done bool, err error) {
	t.Helper()
	d := NewDecoder()
	for _, ev := range sseEvents(t, stream) {
		if events, err = d.Decode(events, ev[0], ev[1]); err != nil {
			return events, d.Done(), err
		}
	}
	return events, d.Done(), nil
}

// TestDecoderGolden: upstream SSE recording → llm.Events (JSON lines), then
// whether the stream was complete.
func TestDecoderGolden(t *testing.T) {
	for _, in := range goldenCases(t, "decode", "sse") {
		t.Run(caseName(in), func(t *testing.T) {
			events, done, err := decodeAll(t, readFile(t, in))
			var out bytes.Buffer
			for _, e := range events {
				line, _ := json.Marshal(viewEvent(e))
				out.Write(append(line, '\n'))
			}
			if err != nil {
				fmt.Fprintf(&out, "{\"decode_error\":%q}\n", err.Error())
			}
			fmt.Fprintf(&out, "{\"done\":%t}\n", done)
			checkGolden(t, goldenPath(in, "jsonl"), out.Bytes())
		})
	}
}

// readEvents reads an encoder input: one eventView per line.
func readEvents(t *testing.T, path string) []eventView {
	t.Helper()
	var vs []eventView
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v eventView
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		vs = append(vs, v)
	}
	return vs
}

// encodeAll runs events through an Encoder and finishes the stream; "fail"
// pseudo-events call Fail.
func encodeAll(t *testing.T, vs []eventView, opts ...Option) []byte {
	t.Helper()
	e := NewEncoder(testMeta, opts...)
	var out []byte
	for _, v := range vs {
		ev := v.event(t)
		if v.Kind == "fail" {
			out = e.Fail(out, ev.Err)
			continue
		}
		out = e.Encode(out, ev)
	}
	return e.Finish(out)
}

// TestEncoderGolden: llm.Event list → client SSE.
func TestEncoderGolden(t *testing.T) {
	for _, in := range goldenCases(t, "encode", "jsonl") {
		t.Run(caseName(in), func(t *testing.T) {
			out := encodeAll(t, readEvents(t, in))
			checkGolden(t, goldenPath(in, "sse"), out)
			if err := checkFraming(out); err != nil {
				t.Error(err)
			}
		})
	}
}
