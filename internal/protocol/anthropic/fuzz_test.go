package anthropic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

func addSeeds(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseRequest: no input panics; a rejection is a KindInvalid
// *llm.Error; an accepted request can be built for an Anthropic upstream
// without panicking, into valid JSON.
func FuzzParseRequest(f *testing.F) {
	addSeeds(f, "testdata/parse_request/*.json")
	f.Add([]byte(minimal(`,"tools":[{"type":"bash_20250124","name":"bash"}]`)))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a b","name":"f","input":{}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, parse := range []func([]byte) (*llm.Request, error){ParseRequest, ParseCountRequest} {
			r, err := parse(body)
			if err != nil {
				var e *llm.Error
				if !errors.As(err, &e) || e.Kind != llm.KindInvalid || e.Message == "" {
					t.Fatalf("error %#v", err)
				}
				continue
			}
			out, err := BuildRequest(r)
			if err != nil {
				var e *llm.Error
				if !errors.As(err, &e) || e.Kind != llm.KindInvalid {
					t.Fatalf("BuildRequest error %#v", err)
				}
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("BuildRequest wrote invalid JSON: %s", out)
			}
		}
	})
}

// FuzzDecoder: no event panics; errors are *llm.Error; whatever the decoder
// makes of a stream, the encoder turns into a stream that keeps the
// client framing.
func FuzzDecoder(f *testing.F) {
	files, _ := filepath.Glob("testdata/decode/*.sse")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("", []byte(nil), b)
	}
	f.Add("content_block_delta", []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`), []byte(nil))
	f.Add("error", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`), []byte(nil))
	f.Fuzz(func(t *testing.T, event string, data, stream []byte) {
		d := NewDecoder()
		events, err := d.Decode(nil, []byte(event), data)
		for err == nil && len(stream) > 0 {
			n := sse.EventEnd(stream)
			if n < 0 {
				n = len(stream)
			}
			name, payload := sse.Fields(stream[:n])
			stream = stream[n:]
			events, err = d.Decode(events, name, payload)
		}
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindUpstream {
				t.Fatalf("error %#v", err)
			}
		}
		e := NewEncoder(llm.Meta{ID: "msg_1", Model: "m"})
		var out []byte
		for _, ev := range events {
			out = e.Encode(out, ev)
		}
		out = e.Finish(out)
		if ferr := checkFraming(out); ferr != nil {
			t.Fatalf("%v\n%s", ferr, out)
		}
	})
}

// FuzzParseResponse: no body panics; errors are *llm.Error; an accepted
// answer gives a client body that is valid JSON.
func FuzzParseResponse(f *testing.F) {
	addSeeds(f, "testdata/parse_response/*.json")
	f.Add([]byte(`{"type":"error","error":{"type":"api_error","message":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if out := BuildResponse(r, llm.Meta{ID: "msg_1", Model: "m"}); !json.Valid(out) {
			t.Fatalf("BuildResponse wrote invalid JSON: %s", out)
		}
	})
}
