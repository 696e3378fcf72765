package mock

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// testKey is the upstream key the SDK tests use.
const testKey = "sk-test"

var fixedNow = func() time.Time { return time.Unix(1_700_000_000, 0) }

// startMock serves a mock over HTTP for the duration of the test.
func startMock(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// rawResponse is a response read in full; readErr is what reading the body
// ended with (io.ErrUnexpectedEOF for a cut stream).
type rawResponse struct {
	status  int
	header  http.Header
	body    string
	readErr error
}

// send makes a request with headers given as name, value pairs. A GET is
// made when body is empty.
func send(t *testing.T, url, body string, headers ...string) rawResponse {
	t.Helper()
	method := http.MethodPost
	if body == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b), readErr: readErr}
}

// sseEvent is one parsed SSE event.
type sseEvent struct {
	name string
	data string
}

// parseSSE splits a stream into events. It fails the test on an event that
// does not end with a blank line.
func parseSSE(t *testing.T, body string) []sseEvent {
	t.Helper()
	var events []sseEvent
	for body != "" {
		block, rest, ok := strings.Cut(body, "\n\n")
		if !ok {
			t.Fatalf("event without a terminating blank line: %q", body)
		}
		body = rest
		var ev sseEvent
		for line := range strings.SplitSeq(block, "\n") {
			name, value, _ := strings.Cut(line, ": ")
			switch name {
			case "event":
				ev.name = value
			case "data":
				ev.data = value
			default:
				t.Fatalf("unexpected SSE line %q", line)
			}
		}
		events = append(events, ev)
	}
	return events
}

// protocolCase is one protocol's way to make a request: where to send it and
// with which headers.
type protocolCase struct {
	name    string
	path    string
	headers []string
	body    string // a valid request; "%s" is replaced by the user text
	stream  string // the same, streamed
}

func bearerAuth(key string) []string { return []string{"Authorization", "Bearer " + key} }

var protocols = []protocolCase{
	{
		name:    "openai",
		path:    "/v1/chat/completions",
		headers: bearerAuth(testKey),
		body:    `{"model":"gpt-4o","messages":[{"role":"user","content":"%s"}]}`,
		stream:  `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"%s"}]}`,
	},
	{
		name:    "ark",
		path:    "/api/v3/chat/completions",
		headers: bearerAuth(testKey),
		body:    `{"model":"doubao-seed-1-6","messages":[{"role":"user","content":"%s"}]}`,
		stream:  `{"model":"doubao-seed-1-6","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"%s"}]}`,
	},
	{
		name:    "responses",
		path:    "/v1/responses",
		headers: bearerAuth(testKey),
		body:    `{"model":"gpt-4o","input":"%s"}`,
		stream:  `{"model":"gpt-4o","stream":true,"input":"%s"}`,
	},
	{
		name:    "anthropic",
		path:    "/v1/messages",
		headers: []string{"x-api-key", testKey, "anthropic-version", "2023-06-01"},
		body:    `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"%s"}]}`,
		stream:  `{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"%s"}]}`,
	},
	{
		name:    "gemini",
		path:    "/v1beta/models/gemini-2.5-flash:generateContent",
		headers: []string{"x-goog-api-key", testKey},
		body:    `{"contents":[{"role":"user","parts":[{"text":"%s"}]}]}`,
	},
}

// request returns the protocol's request with the given user text.
func (pc protocolCase) request(text string, stream bool) (path, body string) {
	if !stream {
		return pc.path, strings.Replace(pc.body, "%s", text, 1)
	}
	if pc.name == "gemini" {
		return "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", strings.Replace(pc.body, "%s", text, 1)
	}
	return pc.path, strings.Replace(pc.stream, "%s", text, 1)
}

// jsonPath returns the value at a gjson path of a JSON body, failing the test
// if it is missing.
func jsonPath(t *testing.T, body, path string) gjson.Result {
	t.Helper()
	v := gjson.Get(body, path)
	if !v.Exists() {
		t.Fatalf("%s missing in %s", path, body)
	}
	return v
}
