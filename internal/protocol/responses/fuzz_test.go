package responses

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// seeds adds every input file of testdata/dir to the corpus.
func seeds(f *testing.F, dir, pattern string, add func(b []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", dir, pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

func mustBeLLMError(t *testing.T, err error) {
	t.Helper()
	var e *llm.Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
}

func FuzzParseRequest(f *testing.F) {
	seeds(f, "client_request", "*.json", func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"model":"m","input":[{"type":"function_call_output","call_id":"x__sig_!!","output":[{}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		mustBeLLMError(t, err)
		if err == nil {
			// Whatever parses must also encode for an upstream.
			if _, err := BuildRequest(r); err != nil {
				mustBeLLMError(t, err)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	seeds(f, "upstream_response", "*.json", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		mustBeLLMError(t, err)
		if err != nil {
			return
		}
		out := BuildResponse(r, testMeta)
		if !gjson.ValidBytes(out) {
			t.Fatalf("BuildResponse wrote invalid JSON: %s", out)
		}
		ids := map[string]bool{}
		for _, it := range gjson.GetBytes(out, "output").Array() {
			for _, key := range []string{"id", "call_id"} {
				v := it.Get(key)
				if v.Exists() && (v.String() == "" || ids[key+v.String()]) {
					t.Fatalf("empty or repeated %s %q", key, v.String())
				}
				ids[key+v.String()] = true
			}
		}
	})
}

// FuzzDecoder feeds arbitrary event/data pairs, and the decoded events on
// to an encoder, whose output must stay a valid stream.
func FuzzDecoder(f *testing.F) {
	seeds(f, "upstream_stream", "*.sse", func(stream []byte) {
		for len(stream) > 0 {
			n := sse.EventEnd(stream)
			if n < 0 {
				n = len(stream)
			}
			name, data := sse.Fields(stream[:n])
			f.Add(name, data)
			stream = stream[n:]
		}
	})
	f.Fuzz(func(t *testing.T, event, data []byte) {
		d := NewDecoder()
		var evs []llm.Event
		var err error
		// Twice, so that state from the first call (items, tool calls)
		// meets the second.
		for range 2 {
			evs, err = d.Decode(evs, event, data)
			mustBeLLMError(t, err)
		}
		e := NewEncoder(testMeta, WithClock(testClock))
		var out []byte
		for _, ev := range evs {
			out = e.Encode(out, ev)
		}
		checkStream(t, e.Finish(out))
	})
}

// FuzzDecodeStream decodes whole recorded streams, so that the fuzzer can
// combine events (items, calls, deltas, terminal events) in any order.
func FuzzDecodeStream(f *testing.F) {
	seeds(f, "upstream_stream", "*.sse", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, stream []byte) {
		evs, _, err := decodeAll(stream)
		mustBeLLMError(t, err)
		e := NewEncoder(testMeta, WithClock(testClock))
		var out []byte
		for _, ev := range evs {
			out = e.Encode(out, ev)
		}
		checkStream(t, e.Finish(out))
	})
}
