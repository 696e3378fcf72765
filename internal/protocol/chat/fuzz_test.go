package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParseRequest: any body gives a request or an invalid-request error,
// and a parsed request always builds into valid JSON or a clear error.
func FuzzParseRequest(f *testing.F) {
	addFiles(f, "testdata/parse_request/*.json")
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","tool_call_id":"x__sig_!!","content":[]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalid || e.Message == "" {
				t.Fatalf("error %v is not a clear invalid-request error", err)
			}
			return
		}
		if r.Model == "" || len(r.Messages) == 0 && len(r.System) == 0 {
			t.Fatalf("accepted a request without its essentials: %+v", r)
		}
		for _, legacy := range []bool{false, true} {
			out, err := BuildRequest(r, Dialect{LegacyMaxTokens: legacy})
			var e *llm.Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("BuildRequest error %v is not an *llm.Error", err)
			}
			if err == nil && !json.Valid(out) {
				t.Fatalf("BuildRequest wrote invalid JSON %s", out)
			}
		}
	})
}

// FuzzParseResponse: any body gives a response or an upstream error, and a
// parsed response always writes valid JSON back.
func FuzzParseResponse(f *testing.F) {
	addFiles(f, "testdata/parse_response/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindUpstream || e.Message == "" {
				t.Fatalf("error %v is not an upstream *llm.Error", err)
			}
			return
		}
		if out := BuildResponse(r, testMeta); !json.Valid(out) {
			t.Fatalf("BuildResponse wrote invalid JSON %s", out)
		}
	})
}

// FuzzDecoder feeds arbitrary events (the data split on blank lines, the
// event name given) and re-encodes what comes out: no panic, errors are
// *llm.Error, and every chunk written is valid JSON.
func FuzzDecoder(f *testing.F) {
	files, _ := filepath.Glob("testdata/decode/*.sse")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add([]byte(""), b)
		}
	}
	f.Add([]byte("error"), []byte(`{"message":"x"}`))
	f.Fuzz(func(t *testing.T, event, stream []byte) {
		d := NewDecoder()
		e := NewEncoder(testMeta, true)
		var out []byte
		for _, data := range bytes.Split(stream, []byte("\n\n")) {
			data = bytes.TrimPrefix(data, []byte("data: "))
			evs, err := d.Decode(nil, event, data)
			for _, ev := range evs {
				out = e.Encode(out, ev)
			}
			if err != nil {
				var le *llm.Error
				if !errors.As(err, &le) || le.Kind != llm.KindUpstream {
					t.Fatalf("error %v is not an upstream *llm.Error", err)
				}
				break
			}
		}
		out = e.Finish(out)
		for len(out) > 0 {
			n := sse.EventEnd(out)
			if n < 0 {
				t.Fatalf("unterminated event %q", out)
			}
			_, data := sse.Fields(out[:n])
			if string(data) != "[DONE]" && !json.Valid(data) {
				t.Fatalf("invalid chunk %q", data)
			}
			out = out[n:]
		}
	})
}
