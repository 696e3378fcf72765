package chat

import (
	"bytes"
	"encoding/json"
	goldenfile "github.com/tokenhot/tokenhot/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// testMeta is the gateway identity every client-side golden is written under.
var testMeta = llm.Meta{ID: "chatcmpl-gw123", Model: "client-model", Created: 1700000000}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got)
}

// inputs lists testdata/<dir>/*<ext>, skipping the goldens.
func inputs(t *testing.T, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.Contains(f, ".golden.") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no inputs in testdata/%s", dir)
	}
	return out
}

func goldenPath(in, ext string) string {
	return strings.TrimSuffix(in, filepath.Ext(in)) + ".golden" + ext
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func indent(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		t.Fatalf("invalid JSON %q: %v", raw, err)
	}
	return append(b.Bytes(), '\n')
}

func TestGoldenParseRequest(t *testing.T) {
	for _, in := range inputs(t, "parse_request", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			r, err := ParseRequest(read(t, in))
			var got []byte
			if err != nil {
				got = errorJSON(t, err)
			} else {
				got = readable(t, r, nil, true)
			}
			golden(t, goldenPath(in, ".json"), got)
		})
	}
}

func TestGoldenBuildRequest(t *testing.T) {
	for _, in := range inputs(t, "build_request", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var r llm.Request
			fromReadable(t, read(t, in), &r, nil)
			d := Dialect{LegacyMaxTokens: strings.Contains(in, "legacy")}
			body, err := BuildRequest(&r, d)
			var got []byte
			if err != nil {
				got = errorJSON(t, err)
			} else {
				got = indent(t, body)
			}
			golden(t, goldenPath(in, ".json"), got)
		})
	}
}

func TestGoldenParseResponse(t *testing.T) {
	for _, in := range inputs(t, "parse_response", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			r, err := ParseResponse(read(t, in))
			var got []byte
			if err != nil {
				got = errorJSON(t, err)
			} else {
				got = readable(t, r, nil, true)
			}
			golden(t, goldenPath(in, ".json"), got)
		})
	}
}

func TestGoldenBuildResponse(t *testing.T) {
	for _, in := range inputs(t, "build_response", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var r llm.Response
			fromReadable(t, read(t, in), &r, nil)
			golden(t, goldenPath(in, ".json"), indent(t, BuildResponse(&r, testMeta)))
		})
	}
}

// TestGoldenDecode feeds a recorded upstream stream to the Decoder, event
// by event as the relay does, and lists the Events, any error and Done.
func TestGoldenDecode(t *testing.T) {
	for _, in := range inputs(t, "decode", ".sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var out bytes.Buffer
			d := NewDecoder()
			for _, ev := range splitSSE(t, read(t, in)) {
				evs, err := d.Decode(nil, ev.name, ev.data)
				for _, e := range evs {
					out.Write(readable(t, e, eventKinds, false))
				}
				if err != nil {
					out.Write(errorJSON(t, err))
					break
				}
			}
			done, _ := json.Marshal(map[string]bool{"done": d.Done()})
			out.Write(append(done, '\n'))
			golden(t, goldenPath(in, ".jsonl"), out.Bytes())
		})
	}
}

// TestGoldenEncode turns an Event list into the client stream. Inputs named
// *nousage* are encoded for a client that did not ask for usage, *fail*
// ones end with Fail instead of Finish.
func TestGoldenEncode(t *testing.T) {
	for _, in := range inputs(t, "encode", ".jsonl") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got := encodeFile(t, in)
			checkChatStream(t, got)
			golden(t, goldenPath(in, ".sse"), got)
		})
	}
}

func encodeFile(t *testing.T, in string) []byte {
	t.Helper()
	e := NewEncoder(testMeta, !strings.Contains(in, "nousage"), WithRequestID("req_test"))
	var out []byte
	for _, ev := range readEvents(t, in) {
		out = e.Encode(out, ev)
	}
	if strings.Contains(in, "fail") {
		return e.Fail(out, &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "upstream connection reset"})
	}
	return e.Finish(out)
}

func readEvents(t *testing.T, path string) []llm.Event {
	t.Helper()
	var evs []llm.Event
	for line := range strings.Lines(string(read(t, path))) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev llm.Event
		fromReadable(t, []byte(line), &ev, eventKinds)
		evs = append(evs, ev)
	}
	return evs
}

type sseEvent struct{ name, data []byte }

func splitSSE(t *testing.T, stream []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	for {
		n := sse.EventEnd(stream)
		if n < 0 {
			if len(bytes.TrimSpace(stream)) > 0 {
				t.Fatalf("unterminated event at the end: %q", stream)
			}
			return out
		}
		name, data := sse.Fields(stream[:n])
		if len(name) > 0 || len(data) > 0 {
			out = append(out, sseEvent{name, data})
		}
		stream = stream[n:]
	}
}

// errorJSON records an error in a golden: its Kind by name, Code, Param and
// Message.
func errorJSON(t *testing.T, err error) []byte {
	t.Helper()
	var e *llm.Error
	if !asError(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	b, _ := json.Marshal(map[string]string{"error": e.Kind.String(), "code": e.Code, "param": e.Param, "message": e.Message})
	return append(b, '\n')
}
