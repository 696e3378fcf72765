package gemini

import (
	"bytes"
	"encoding/json"
	goldenfile "github.com/tokenhot/tokenhot/internal/golden"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// testMeta names every answer the tests build.
var testMeta = llm.Meta{ID: "0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4", Model: "gemini-2.5-flash", Created: 1750000000}

// stubCallIDs makes newCallID deterministic for one test.
func stubCallIDs(t *testing.T) {
	t.Helper()
	saved, n := newCallID, 0
	newCallID = func() string { n++; return "call_gen_" + strconv.Itoa(n) }
	t.Cleanup(func() { newCallID = saved })
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got)
}

// eachCase runs fn on every testdata/<dir>/*<ext> file (golden files
// excluded) and checks its output against <name>.golden<goldenExt>.
func eachCase(t *testing.T, dir, ext, goldenExt string, fn func(t *testing.T, in []byte) []byte) {
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
			stubCallIDs(t)
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := fn(t, in)
			checkGolden(t, strings.TrimSuffix(f, ext)+".golden"+goldenExt, got)
		})
	}
	if n == 0 {
		t.Fatalf("no cases in testdata/%s", dir)
	}
}

// partKinds spells llm.PartKind in the golden files.
var partKinds = []string{llm.PartText: "text", llm.PartImage: "image", llm.PartFile: "file",
	llm.PartThinking: "thinking", llm.PartRedactedThinking: "redacted_thinking",
	llm.PartToolCall: "tool_call", llm.PartToolResult: "tool_result"}

// readableJSON is v (an llm.Request or llm.Response) as indented JSON
// without its empty strings and nulls, part kinds spelt out, so that a
// golden file shows what was set.
func readableJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return prettyJSON(t, appendReadable(nil, gjson.ParseBytes(b)))
}

func appendReadable(b []byte, v gjson.Result) []byte {
	switch {
	case v.IsObject():
		b = append(b, '{')
		n := 0
		v.ForEach(func(k, m gjson.Result) bool {
			if m.Type == gjson.Null || m.Type == gjson.String && m.Str == "" {
				return true
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(append(b, k.Raw...), ':')
			if k.Str == "Kind" && m.Type == gjson.Number && int(m.Int()) < len(partKinds) {
				b = strconv.AppendQuote(b, partKinds[m.Int()])
			} else {
				b = appendReadable(b, m)
			}
			return true
		})
		return append(b, '}')
	case v.IsArray():
		b = append(b, '[')
		for i, e := range v.Array() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendReadable(b, e)
		}
		return append(b, ']')
	}
	return append(b, v.Raw...)
}

// kindName matches a spelt-out part kind in a test input.
var kindName = regexp.MustCompile(`"Kind":\s*"(\w+)"`)

// unmarshalReadable reads an llm.Request or llm.Response written with
// part kinds spelt out.
func unmarshalReadable(t *testing.T, in []byte, v any) {
	t.Helper()
	in = kindName.ReplaceAllFunc(in, func(m []byte) []byte {
		name := kindName.FindSubmatch(m)[1]
		for k, n := range partKinds {
			if n != "" && n == string(name) {
				return []byte(`"Kind":` + strconv.Itoa(k))
			}
		}
		t.Fatalf("unknown part kind %s", name)
		return nil
	})
	if err := json.Unmarshal(in, v); err != nil {
		t.Fatal(err)
	}
}

// prettyJSON indents a JSON body the code produced, failing on invalid JSON.
func prettyJSON(t *testing.T, body []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		t.Fatalf("invalid JSON %q: %v", body, err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestGoldenParseRequest(t *testing.T) {
	eachCase(t, "parse_request", ".json", ".json", func(t *testing.T, in []byte) []byte {
		r, err := ParseRequest(in)
		if err != nil {
			t.Fatalf("ParseRequest: %v", err)
		}
		return readableJSON(t, r)
	})
}

func TestGoldenBuildRequest(t *testing.T) {
	eachCase(t, "build_request", ".json", ".json", func(t *testing.T, in []byte) []byte {
		var r llm.Request
		unmarshalReadable(t, in, &r)
		body, err := BuildRequest(&r)
		if err != nil {
			t.Fatalf("BuildRequest: %v", err)
		}
		checkUpstreamRequest(t, body)
		return prettyJSON(t, body)
	})
}

func TestGoldenParseResponse(t *testing.T) {
	eachCase(t, "parse_response", ".json", ".json", func(t *testing.T, in []byte) []byte {
		r, err := ParseResponse(in)
		if err != nil {
			t.Fatalf("ParseResponse: %v", err)
		}
		return readableJSON(t, r)
	})
}

func TestGoldenBuildResponse(t *testing.T) {
	eachCase(t, "build_response", ".json", ".json", func(t *testing.T, in []byte) []byte {
		var r llm.Response
		unmarshalReadable(t, in, &r)
		body := BuildResponse(&r, testMeta)
		checkClientChunk(t, body)
		return prettyJSON(t, body)
	})
}

func TestGoldenDecode(t *testing.T) {
	eachCase(t, "decode", ".sse", ".jsonl", func(t *testing.T, in []byte) []byte {
		d := NewDecoder()
		var events []llm.Event
		for len(in) > 0 {
			end := sse.EventEnd(in)
			if end < 0 {
				t.Fatalf("unterminated event %q", in)
			}
			name, data := sse.Fields(in[:end])
			in = in[end:]
			var err error
			if events, err = d.Decode(events, name, data); err != nil {
				t.Fatalf("Decode(%q): %v", data, err)
			}
		}
		out := marshalEvents(t, events)
		return append(out, "# done: "+strconv.FormatBool(d.Done())+"\n"...)
	})
}

func TestGoldenEncode(t *testing.T) {
	eachCase(t, "encode", ".jsonl", ".sse", func(t *testing.T, in []byte) []byte {
		e := NewEncoder(testMeta)
		var out []byte
		failed := false
		for _, ev := range unmarshalEvents(t, in) {
			if ev.Kind == 0 { // the test script's "fail": the upstream broke
				out = e.Fail(out, ev.Err)
				failed = true
				continue
			}
			out = e.Encode(out, ev)
		}
		if !failed {
			out = e.Finish(out)
		}
		checkFrames(t, out)
		return out
	})
}

// eventJSON is an llm.Event as the golden files spell it: kinds by name,
// only the fields that matter.
type eventJSON struct {
	Kind         string     `json:"kind"`
	Index        *int       `json:"index,omitempty"`
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
	Kind       string `json:"kind"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
}

var eventNames = map[llm.EventKind]string{
	llm.EventText: "text", llm.EventThinking: "thinking", llm.EventSignature: "signature",
	llm.EventRedactedThinking: "redacted_thinking", llm.EventToolCall: "tool_call", llm.EventToolArgs: "tool_args",
	llm.EventUsage: "usage", llm.EventStop: "stop", llm.EventError: "error",
}

var kindByName = func() map[string]llm.Kind {
	m := map[string]llm.Kind{}
	for k := llm.KindInternal; k <= llm.KindUpstreamClient; k++ {
		m[k.String()] = k
	}
	return m
}()

func marshalEvents(t *testing.T, events []llm.Event) []byte {
	t.Helper()
	var out []byte
	for _, ev := range events {
		j := eventJSON{Kind: eventNames[ev.Kind], Text: ev.Text, ID: ev.ID, Name: ev.Name, Signature: ev.Signature,
			Stop: string(ev.Stop), StopSequence: ev.StopSequence}
		if ev.Kind == llm.EventToolCall || ev.Kind == llm.EventToolArgs {
			j.Index = &ev.Index
		}
		if ev.Kind == llm.EventUsage {
			j.Usage = &ev.Usage
		}
		if ev.Err != nil {
			j.Err = &errorJSON{Kind: ev.Err.Kind.String(), Code: ev.Err.Code, Message: ev.Err.Message,
				Status: ev.Err.Status}
			if ev.Err.RetryAfter > 0 {
				j.Err.RetryAfter = ev.Err.RetryAfter.String()
			}
		}
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, b...), '\n')
	}
	return out
}

// unmarshalEvents reads an event script; the kind "fail" has Kind 0 and
// makes the test call Fail with its error.
func unmarshalEvents(t *testing.T, in []byte) []llm.Event {
	t.Helper()
	kinds := map[string]llm.EventKind{"fail": 0}
	for k, name := range eventNames {
		kinds[name] = k
	}
	var events []llm.Event
	for i, line := range bytes.Split(in, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		var j eventJSON
		if err := json.Unmarshal(line, &j); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		kind, ok := kinds[j.Kind]
		if !ok {
			t.Fatalf("line %d: unknown kind %q", i+1, j.Kind)
		}
		ev := llm.Event{Kind: kind, Text: j.Text, ID: j.ID, Name: j.Name, Signature: j.Signature,
			Stop: llm.StopReason(j.Stop), StopSequence: j.StopSequence}
		if j.Index != nil {
			ev.Index = *j.Index
		}
		if j.Usage != nil {
			ev.Usage = *j.Usage
		}
		if j.Err != nil {
			ev.Err = &llm.Error{Kind: kindByName[j.Err.Kind], Code: j.Err.Code, Message: j.Err.Message, Status: j.Err.Status}
		}
		events = append(events, ev)
	}
	return events
}
