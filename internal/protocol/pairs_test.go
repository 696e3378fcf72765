package protocol_test

import (
	"encoding/json"
	goldenfile "github.com/tokenhot/tokenhot/internal/golden"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/protocol/anthropic"
	"github.com/tokenhot/tokenhot/internal/protocol/chat"
	"github.com/tokenhot/tokenhot/internal/protocol/gemini"
	"github.com/tokenhot/tokenhot/internal/protocol/responses"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// side is one protocol with where its own test inputs live.
type side struct {
	name      string
	requests  string // directory of client request samples
	streams   string // directory of upstream SSE recordings
	parse     func([]byte) (*llm.Request, error)
	build     func(*llm.Request) ([]byte, error)
	decoder   func() llm.StreamDecoder
	encoder   func(llm.Meta) llm.StreamEncoder
	streaming bool // the request body carries "stream" (Gemini's is in the URL)
}

var sides = []side{
	{name: "chat", requests: "chat/testdata/parse_request", streams: "chat/testdata/decode",
		parse:   chat.ParseRequest,
		build:   func(r *llm.Request) ([]byte, error) { return chat.BuildRequest(r, chat.Dialect{}) },
		decoder: func() llm.StreamDecoder { return chat.NewDecoder() },
		encoder: func(m llm.Meta) llm.StreamEncoder { return chat.NewEncoder(m, true) }, streaming: true},
	{name: "responses", requests: "responses/testdata/client_request", streams: "responses/testdata/upstream_stream",
		parse: responses.ParseRequest, build: responses.BuildRequest,
		decoder: func() llm.StreamDecoder { return responses.NewDecoder() },
		encoder: func(m llm.Meta) llm.StreamEncoder {
			return responses.NewEncoder(m, responses.WithClock(func() time.Time { return time.Unix(m.Created+1, 0) }))
		}, streaming: true},
	{name: "anthropic", requests: "anthropic/testdata/parse_request", streams: "anthropic/testdata/decode",
		parse: anthropic.ParseRequest, build: anthropic.BuildRequest,
		decoder: func() llm.StreamDecoder { return anthropic.NewDecoder() },
		encoder: func(m llm.Meta) llm.StreamEncoder { return anthropic.NewEncoder(m) }, streaming: true},
	{name: "gemini", requests: "gemini/testdata/parse_request", streams: "gemini/testdata/decode",
		parse: gemini.ParseRequest, build: gemini.BuildRequest,
		decoder: func() llm.StreamDecoder { return gemini.NewDecoder() },
		encoder: func(m llm.Meta) llm.StreamEncoder { return gemini.NewEncoder(m) }},
}

// samples lists the inputs of a directory: *.json or *.sse files that are
// not goldens themselves.
func samples(t *testing.T, dir, ext string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.Contains(filepath.Base(f), ".golden") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no samples in %s", dir)
	}
	return out
}

// randomIDs are the ids a decoder invents when the upstream gives none
// (Gemini function calls); they are replaced so goldens are stable.
var randomIDs = regexp.MustCompile(`call_[0-9a-f]{24}`)

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, randomIDs.ReplaceAll(got, []byte("call_RANDOM")))
}

// TestRequestPairs translates every client request sample of each protocol
// into every other protocol's upstream request.
func TestRequestPairs(t *testing.T) {
	for _, in := range sides {
		for _, f := range samples(t, in.requests, ".json") {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req, err := in.parse(body)
			if err != nil {
				continue // samples of refused requests are the protocol package's business
			}
			req.Model = "upstream-model"
			if !in.streaming {
				req.Stream = true
			}
			for _, out := range sides {
				if out.name == in.name {
					continue
				}
				name := strings.TrimSuffix(filepath.Base(f), ".json")
				t.Run(in.name+"-to-"+out.name+"/"+name, func(t *testing.T) {
					r := *req // builders must not depend on mutations by earlier ones
					got, err := out.build(&r)
					if err != nil {
						e := llm.AsError(err)
						got, _ = json.Marshal(map[string]string{"error": e.Kind.String(), "param": e.Param, "message": e.Message})
					} else {
						var v any
						if err := json.Unmarshal(got, &v); err != nil {
							t.Fatalf("the built request is not JSON: %v\n%s", err, got)
						}
						got, _ = json.MarshalIndent(v, "", "  ")
					}
					golden(t, filepath.Join("testdata/pairs/request", in.name+"-to-"+out.name, name+".json"), append(got, '\n'))
				})
			}
		}
	}
}

// TestStreamPairs translates every upstream stream recording of each
// protocol into every other protocol's client stream, event by event, and
// checks each output event is framed as its client's SDK requires.
func TestStreamPairs(t *testing.T) {
	meta := llm.Meta{ID: "gw_0123456789abcdef", Model: "public-model", Created: 1767225600}
	for _, up := range sides {
		for _, f := range samples(t, up.streams, ".sse") {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, client := range sides {
				if client.name == up.name {
					continue
				}
				name := strings.TrimSuffix(filepath.Base(f), ".sse")
				t.Run(up.name+"-to-"+client.name+"/"+name, func(t *testing.T) {
					dec, enc := up.decoder(), client.encoder(meta)
					var out []byte
					var events []llm.Event
					data := raw
					broken := false
					for {
						end := sse.EventEnd(data)
						if end < 0 {
							break
						}
						ev, payload := sse.Fields(data[:end])
						data = data[end:]
						if len(payload) == 0 {
							continue
						}
						if events, err = dec.Decode(events[:0], ev, payload); err != nil {
							broken = true
							break
						}
						for _, e := range events {
							out = enc.Encode(out, e)
						}
					}
					if !broken && dec.Done() {
						out = enc.Finish(out)
					} else {
						out = enc.Fail(out, &llm.Error{Kind: llm.KindUpstream, Code: "upstream_stream_broken",
							Message: "the upstream stream ended unexpectedly"})
					}
					checkFraming(t, client.name, out)
					golden(t, filepath.Join("testdata/pairs/stream", up.name+"-to-"+client.name, name+".sse"), out)
				})
			}
		}
	}
}

// checkFraming applies the SSE rules of each client SDK (see
// provider-protocols §0.1): whole events, JSON data, event names where the
// SDK routes on them and nowhere else.
func checkFraming(t *testing.T, client string, out []byte) {
	t.Helper()
	for len(out) > 0 {
		end := sse.EventEnd(out)
		if end < 0 {
			t.Fatalf("unterminated event at the end: %q", out)
		}
		name, data := sse.Fields(out[:end])
		out = out[end:]
		if string(data) == "[DONE]" && client == "chat" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("data is not a JSON object: %q", data)
		}
		switch client {
		case "chat", "gemini":
			if len(name) != 0 {
				t.Errorf("%s stream has an event: line %q", client, name)
			}
		case "anthropic", "responses":
			if typ, _ := v["type"].(string); typ != string(name) {
				t.Errorf("event %q carries type %q", name, typ)
			}
		}
	}
}
