package gemini

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// seedFiles adds the inputs of testdata/<dir> to a fuzz corpus.
func seedFiles(f *testing.F, dir string, add func(b []byte)) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, name := range files {
		if strings.Contains(name, ".golden") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// mustBeLLMError fails unless err is nil or an *llm.Error.
func mustBeLLMError(t *testing.T, err error) {
	t.Helper()
	var e *llm.Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("error %v is a %T, want *llm.Error", err, err)
	}
}

func FuzzParseRequest(f *testing.F) {
	seedFiles(f, "parse_request", func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"contents":[{"parts":[{"functionResponse":{"name":"f","parts":[{"inlineData":{}}]}}]}]}`))
	f.Add([]byte(`{"generateContentRequest":{"contents":[{"parts":[{"text":"x"}]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		mustBeLLMError(t, err)
		if err == nil {
			// Whatever parses must also encode (or be refused cleanly).
			_, err := BuildRequest(r)
			mustBeLLMError(t, err)
		}
		_, err = ParseCountRequest(body)
		mustBeLLMError(t, err)
	})
}

func FuzzDecoder(f *testing.F) {
	seedFiles(f, "decode", func(b []byte) {
		for len(b) > 0 {
			end := sse.EventEnd(b)
			if end < 0 {
				break
			}
			name, data := sse.Fields(b[:end])
			f.Add(string(name), data)
			b = b[end:]
		}
	})
	f.Add("", []byte(`[{"error":{}},{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f"}}]}}]}]`))
	f.Fuzz(func(t *testing.T, event string, data []byte) {
		d := NewDecoder()
		// Twice, as a stream repeats chunks: the decoder's state must hold.
		for range 2 {
			events, err := d.Decode(nil, []byte(event), data)
			mustBeLLMError(t, err)
			for _, ev := range events {
				if ev.Kind == llm.EventError && ev.Err == nil {
					t.Fatal("EventError without Err")
				}
			}
			// Whatever decodes must encode into frames go-genai accepts.
			e := NewEncoder(testMeta)
			var out []byte
			for _, ev := range events {
				out = e.Encode(out, ev)
			}
			checkFrames(t, e.Finish(out))
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	seedFiles(f, "parse_response", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		mustBeLLMError(t, err)
		if err != nil {
			return
		}
		out := BuildResponse(r, testMeta)
		for _, p := range r.Parts {
			if p.Kind == llm.PartImage || p.Kind == llm.PartFile {
				// Media data is passed through unchecked (it is Google's
				// own base64), so only the JSON can be checked.
				if !json.Valid(out) {
					t.Fatalf("invalid JSON: %s", out)
				}
				return
			}
		}
		checkClientChunk(t, out)
	})
}
