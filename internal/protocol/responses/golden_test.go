package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	goldenfile "github.com/tokenhot/tokenhot/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// testMeta is the gateway identity used by every client-side golden.
var testMeta = llm.Meta{ID: "resp_gw123", Model: "gpt-test", Created: 1700000000}

var testClock = func() time.Time { return time.Unix(1700000042, 0) }

// eachInput runs fn for every file in testdata/dir ending in ext (goldens
// excluded) and compares its result with the golden file beside it.
func eachInput(t *testing.T, dir, ext, goldenExt string, fn func(t *testing.T, in []byte) []byte) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.Contains(filepath.Base(f), ".golden") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ext)
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := fn(t, in)
			checkGolden(t, strings.TrimSuffix(f, ext)+goldenExt, got)
		})
	}
	if n == 0 {
		t.Fatalf("no inputs in testdata/%s", dir)
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got)
}

func reindent(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, raw)
	}
	return append(out.Bytes(), '\n')
}

func TestGoldenParseRequest(t *testing.T) {
	eachInput(t, "client_request", ".json", ".golden.json", func(t *testing.T, in []byte) []byte {
		r, err := ParseRequest(in)
		if err != nil {
			t.Fatal(err)
		}
		return compactJSON(t, r)
	})
}

func TestGoldenBuildRequest(t *testing.T) {
	eachInput(t, "upstream_request", ".json", ".golden.json", func(t *testing.T, in []byte) []byte {
		var r llm.Request
		readLLM(t, in, &r)
		out, err := BuildRequest(&r)
		if err != nil {
			t.Fatal(err)
		}
		return reindent(t, out)
	})
}

func TestGoldenParseResponse(t *testing.T) {
	eachInput(t, "upstream_response", ".json", ".golden.json", func(t *testing.T, in []byte) []byte {
		r, err := ParseResponse(in)
		if err != nil {
			t.Fatal(err)
		}
		return compactJSON(t, r)
	})
}

func TestGoldenBuildResponse(t *testing.T) {
	eachInput(t, "client_response", ".json", ".golden.json", func(t *testing.T, in []byte) []byte {
		var r llm.Response
		readLLM(t, in, &r)
		return reindent(t, BuildResponse(&r, testMeta))
	})
}

func TestGoldenDecoder(t *testing.T) {
	eachInput(t, "upstream_stream", ".sse", ".golden.jsonl", func(t *testing.T, in []byte) []byte {
		events, done, err := decodeAll(in)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for _, ev := range events {
			out = append(out, marshalEvent(t, ev)...)
			out = append(out, '\n')
		}
		if done {
			out = append(out, "{\"done\":true}\n"...)
		}
		return out
	})
}

func TestGoldenEncoder(t *testing.T) {
	eachInput(t, "client_stream", ".jsonl", ".golden.sse", func(t *testing.T, in []byte) []byte {
		out := encodeAll(t, readEvents(t, in))
		checkStream(t, out)
		return out
	})
}

// decodeAll runs a recorded upstream stream through a Decoder, splitting
// it into events as the relay does.
func decodeAll(stream []byte) ([]llm.Event, bool, error) {
	d := NewDecoder()
	var events []llm.Event
	for len(stream) > 0 {
		n := sse.EventEnd(stream)
		if n < 0 {
			n = len(stream)
		}
		name, data := sse.Fields(stream[:n])
		stream = stream[n:]
		var err error
		if events, err = d.Decode(events, name, data); err != nil {
			return events, d.Done(), err
		}
	}
	return events, d.Done(), nil
}

func encodeAll(t *testing.T, events []llm.Event) []byte {
	t.Helper()
	e := NewEncoder(testMeta, WithClock(testClock), WithRequestID("req_1"))
	var out []byte
	for _, ev := range events {
		out = e.Encode(out, ev)
	}
	return e.Finish(out)
}

// eventJSON is the readable golden form of an llm.Event.
type eventJSON struct {
	Kind         string     `json:"kind"`
	Index        int        `json:"index,omitempty"`
	Text         string     `json:"text,omitempty"`
	ID           string     `json:"id,omitempty"`
	Name         string     `json:"name,omitempty"`
	Signature    string     `json:"signature,omitempty"`
	Stop         string     `json:"stop,omitempty"`
	StopSequence string     `json:"stop_sequence,omitempty"`
	Usage        *llm.Usage `json:"usage,omitempty"`
	Err          *errorJSON `json:"error,omitempty"`
}

type errorJSON struct {
	Kind    llm.Kind `json:"kind"`
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	Param   string   `json:"param,omitempty"`
}

var kindNames = map[llm.EventKind]string{
	llm.EventText: "text", llm.EventThinking: "thinking", llm.EventSignature: "signature",
	llm.EventRedactedThinking: "redacted_thinking", llm.EventToolCall: "tool_call", llm.EventToolArgs: "tool_args",
	llm.EventUsage: "usage", llm.EventStop: "stop", llm.EventError: "error",
}

func marshalEvent(t *testing.T, ev llm.Event) []byte {
	t.Helper()
	j := eventJSON{Kind: kindNames[ev.Kind], Index: ev.Index, Text: ev.Text, ID: ev.ID, Name: ev.Name,
		Signature: ev.Signature, Stop: string(ev.Stop), StopSequence: ev.StopSequence}
	if ev.Kind == llm.EventUsage {
		j.Usage = &ev.Usage
	}
	if ev.Err != nil {
		j.Err = &errorJSON{Kind: ev.Err.Kind, Code: ev.Err.Code, Message: ev.Err.Message, Param: ev.Err.Param}
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readEvents(t *testing.T, in []byte) []llm.Event {
	t.Helper()
	kinds := map[string]llm.EventKind{}
	for k, v := range kindNames {
		kinds[v] = k
	}
	var events []llm.Event
	for line := range strings.Lines(string(in)) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var j eventJSON
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		k, ok := kinds[j.Kind]
		if !ok {
			t.Fatalf("unknown event kind %q", j.Kind)
		}
		ev := llm.Event{Kind: k, Index: j.Index, Text: j.Text, ID: j.ID, Name: j.Name, Signature: j.Signature,
			Stop: llm.StopReason(j.Stop), StopSequence: j.StopSequence}
		if j.Usage != nil {
			ev.Usage = *j.Usage
		}
		if j.Err != nil {
			ev.Err = &llm.Error{Kind: j.Err.Kind, Code: j.Err.Code, Message: j.Err.Message, Param: j.Err.Param}
		}
		events = append(events, ev)
	}
	return events
}

// asLLMError asserts err is an *llm.Error.
func asLLMError(t *testing.T, err error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	return e
}
