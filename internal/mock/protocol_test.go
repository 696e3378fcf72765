package mock

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"
)

// errorShape reduces an error body to the fields that identify its
// protocol's envelope, so one table can check all of them.
func errorShape(t *testing.T, protocol, body string) string {
	t.Helper()
	if !gjson.Valid(body) {
		t.Fatalf("error body is not JSON: %s", body)
	}
	switch protocol {
	case "anthropic":
		return gjson.Get(body, "type").Str + " " + gjson.Get(body, "error.type").Str
	case "ark":
		return gjson.Get(body, "error.type").Str + " " + gjson.Get(body, "error.code").Str
	case "gemini":
		return gjson.Get(body, "error.code").Raw + " " + gjson.Get(body, "error.status").Str
	}
	return gjson.Get(body, "error.type").Str + " " + gjson.Get(body, "error.code").String()
}

func TestRequestErrors(t *testing.T) {
	type want map[string]string // protocol → error shape
	tests := []struct {
		name    string
		keys    []string
		headers func(pc protocolCase) []string
		body    func(pc protocolCase) string
		status  int
		want    want
	}{{
		name:    "missing key",
		headers: func(pc protocolCase) []string { return noAuth(pc.headers) },
		status:  401,
		want: want{
			"openai": "invalid_request_error invalid_api_key", "responses": "invalid_request_error invalid_api_key",
			"ark": "Unauthorized AuthenticationError", "anthropic": "error authentication_error", "gemini": "401 UNAUTHENTICATED",
		},
	}, {
		name:   "unknown key",
		keys:   []string{"sk-other"},
		status: 401,
		want: want{
			"openai": "invalid_request_error invalid_api_key", "responses": "invalid_request_error invalid_api_key",
			"ark": "Unauthorized AuthenticationError", "anthropic": "error authentication_error", "gemini": "401 UNAUTHENTICATED",
		},
	}, {
		name:   "bad JSON",
		body:   func(protocolCase) string { return `{"model":` },
		status: 400,
		want: want{
			"openai": "invalid_request_error ", "responses": "invalid_request_error ",
			"ark": "BadRequest InvalidParameter", "anthropic": "error invalid_request_error", "gemini": "400 INVALID_ARGUMENT",
		},
	}, {
		name:   "not an object",
		body:   func(protocolCase) string { return `[1,2]` },
		status: 400,
		want: want{
			"openai": "invalid_request_error ", "responses": "invalid_request_error ",
			"ark": "BadRequest InvalidParameter", "anthropic": "error invalid_request_error", "gemini": "400 INVALID_ARGUMENT",
		},
	}, {
		name:   "too deep",
		body:   func(protocolCase) string { return strings.Repeat("[", 100000) + strings.Repeat("]", 100000) },
		status: 400,
		want: want{
			"openai": "invalid_request_error ", "responses": "invalid_request_error ",
			"ark": "BadRequest InvalidParameter", "anthropic": "error invalid_request_error", "gemini": "400 INVALID_ARGUMENT",
		},
	}, {
		name:   "nothing to answer",
		body:   func(protocolCase) string { return `{"model":"m","max_tokens":1}` },
		status: 400,
		want: want{
			"openai": "invalid_request_error ", "responses": "invalid_request_error ",
			"ark": "BadRequest InvalidParameter", "anthropic": "error invalid_request_error", "gemini": "400 INVALID_ARGUMENT",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url := startMock(t, Options{Keys: tt.keys})
			got := want{}
			for _, pc := range protocols {
				path, body := pc.request("hi", false)
				if tt.body != nil {
					body = tt.body(pc)
				}
				headers := pc.headers
				if tt.headers != nil {
					headers = tt.headers(pc)
				}
				resp := send(t, url+path, body, headers...)
				if resp.status != tt.status {
					t.Errorf("%s: status %d, want %d: %s", pc.name, resp.status, tt.status, resp.body)
				}
				if ct := resp.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s: Content-Type %q", pc.name, ct)
				}
				got[pc.name] = errorShape(t, pc.name, resp.body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error shapes (-want +got):\n%s", diff)
			}
			if n := s.Stats("").ByStatus[tt.status]; n != int64(len(protocols)) {
				t.Errorf("stats count %d requests with status %d, want %d", n, tt.status, len(protocols))
			}
		})
	}
}

func noAuth(headers []string) []string {
	var out []string
	for i := 0; i+1 < len(headers); i += 2 {
		switch strings.ToLower(headers[i]) {
		case "authorization", "x-api-key", "x-goog-api-key":
			continue
		}
		out = append(out, headers[i], headers[i+1])
	}
	return out
}

func TestAuthVariants(t *testing.T) {
	_, url := startMock(t, Options{Keys: []string{"good"}})
	anthropicBody := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	geminiBody := `{"contents":[{"parts":[{"text":"hi"}]}]}`
	tests := []struct {
		name    string
		path    string
		body    string
		headers []string
		want    int
	}{
		{"anthropic x-api-key", "/v1/messages", anthropicBody, []string{"x-api-key", "good", "anthropic-version", "2023-06-01"}, 200},
		{"anthropic bearer", "/v1/messages", anthropicBody, []string{"Authorization", "Bearer good", "anthropic-version", "2023-06-01"}, 200},
		{"anthropic without version", "/v1/messages", anthropicBody, []string{"x-api-key", "good"}, 400},
		{"gemini header", "/v1beta/models/g:generateContent", geminiBody, []string{"x-goog-api-key", "good"}, 200},
		{"gemini query", "/v1beta/models/g:generateContent?key=good", geminiBody, nil, 200},
		{"gemini bearer", "/v1beta/models/g:generateContent", geminiBody, []string{"Authorization", "Bearer good"}, 200},
		{"gemini bad query key", "/v1beta/models/g:generateContent?key=bad", geminiBody, nil, 401},
		{"openai lower-case bearer", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", "bearer good"}, 200},
		{"unknown path", "/v1/nothing", "", bearerAuth("good"), 404},
		{"wrong method", "/v1/chat/completions", "", bearerAuth("good"), 405},
		{"unknown gemini method", "/v1beta/models/g:predict", geminiBody, []string{"x-goog-api-key", "good"}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := send(t, url+tt.path, tt.body, tt.headers...)
			if resp.status != tt.want {
				t.Errorf("status %d, want %d: %s", resp.status, tt.want, resp.body)
			}
		})
	}
}

// TestStreamFraming checks headers and SSE framing of every protocol's
// stream: the event names where the protocol needs them, and none where it
// forbids them.
func TestStreamFraming(t *testing.T) {
	for _, pc := range protocols {
		t.Run(pc.name, func(t *testing.T) {
			_, url := startMock(t, Options{})
			path, body := pc.request("hi", true)
			resp := send(t, url+path, body, pc.headers...)
			if resp.readErr != nil {
				t.Fatal(resp.readErr)
			}
			idHeader := "x-request-id"
			if pc.name == "anthropic" {
				idHeader = "request-id"
			}
			got := []string{resp.header.Get("Content-Type"), resp.header.Get("Cache-Control"), resp.header.Get(idHeader)}
			if diff := cmp.Diff([]string{"text/event-stream", "no-cache", "req_mock_1"}, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			events := parseSSE(t, resp.body)
			for i, ev := range events {
				named := pc.name == "anthropic" || pc.name == "responses"
				switch {
				case ev.data == "[DONE]":
					if pc.name != "openai" && pc.name != "ark" || i != len(events)-1 {
						t.Errorf("unexpected [DONE] at %d", i)
					}
				case !json.Valid([]byte(ev.data)):
					t.Errorf("event %d is not JSON: %s", i, ev.data)
				case named && ev.name != gjson.Get(ev.data, "type").Str:
					t.Errorf("event %d: name %q, data type %q", i, ev.name, gjson.Get(ev.data, "type").Str)
				case !named && ev.name != "":
					t.Errorf("event %d has an event line %q", i, ev.name)
				}
			}
		})
	}
}

func TestToolCallFragments(t *testing.T) {
	_, url := startMock(t, Options{})
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi [[mock:tool]]"}],` +
		`"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}}]}`
	resp := send(t, url+"/v1/chat/completions", body, bearerAuth(testKey)...)
	var headers, args []string
	for _, ev := range parseSSE(t, resp.body) {
		tc := gjson.Get(ev.data, "choices.0.delta.tool_calls.0")
		if !tc.Exists() {
			continue
		}
		if tc.Get("index").Int() != 0 {
			t.Errorf("tool call index %s", tc.Get("index").Raw)
		}
		if tc.Get("id").Exists() || tc.Get("function.name").Exists() {
			headers = append(headers, tc.Get("id").Str+" "+tc.Get("type").Str+" "+tc.Get("function.name").Str)
		}
		if a := tc.Get("function.arguments").Str; a != "" {
			args = append(args, a)
		}
	}
	if diff := cmp.Diff([]string{"call_mock_1 function lookup"}, headers); diff != "" {
		t.Errorf("id/type/name fragments (-want +got):\n%s", diff)
	}
	if len(args) < 2 || strings.Join(args, "") != `{"q":"mock"}` {
		t.Errorf("argument fragments %q", args)
	}
}

func TestArkChat(t *testing.T) {
	_, url := startMock(t, Options{Chunks: 4})
	const msgs = `"messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"hi there"}]`
	plain := send(t, url+"/api/v3/chat/completions", `{"model":"doubao",`+msgs+`}`, bearerAuth(testKey)...)
	wantUsage := `{"prompt_tokens":6,"completion_tokens":19,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":15,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
	got := []string{
		jsonPath(t, plain.body, "choices.0.message.content").Str,
		jsonPath(t, plain.body, "choices.0.message.reasoning_content").Str,
		jsonPath(t, plain.body, "usage").Raw,
	}
	if diff := cmp.Diff([]string{"Tokenhot mock reply: the", reasoningText, wantUsage}, got); diff != "" {
		t.Errorf("non-stream (-want +got):\n%s", diff)
	}

	streamed := send(t, url+"/api/v3/chat/completions",
		`{"model":"doubao","stream":true,"stream_options":{"chunk_include_usage":true},`+msgs+`}`, bearerAuth(testKey)...)
	var content, reasoning string
	last := int64(-1)
	var lastUsage string
	for _, ev := range parseSSE(t, streamed.body) {
		if ev.data == "[DONE]" {
			continue
		}
		u := jsonPath(t, ev.data, "usage")
		if c := u.Get("completion_tokens").Int(); c < last {
			t.Errorf("usage went down: %d after %d", c, last)
		} else {
			last = c
		}
		lastUsage = u.Raw
		content += gjson.Get(ev.data, "choices.0.delta.content").Str
		reasoning += gjson.Get(ev.data, "choices.0.delta.reasoning_content").Str
	}
	if diff := cmp.Diff([]string{"Tokenhot mock reply: the", reasoningText, wantUsage}, []string{content, reasoning, lastUsage}); diff != "" {
		t.Errorf("stream with chunk_include_usage (-want +got):\n%s", diff)
	}

	off := send(t, url+"/api/v3/chat/completions", `{"model":"doubao","thinking":{"type":"disabled"},`+msgs+`}`, bearerAuth(testKey)...)
	if gjson.Get(off.body, "choices.0.message.reasoning_content").Exists() || gjson.Get(off.body, "usage.completion_tokens").Int() != 4 {
		t.Errorf("thinking disabled: %s", off.body)
	}
}

func TestGeminiJSONArrayStream(t *testing.T) {
	_, url := startMock(t, Options{Chunks: 2})
	resp := send(t, url+"/v1beta/models/g:streamGenerateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`, "x-goog-api-key", testKey)
	var chunks []json.RawMessage
	if err := json.Unmarshal([]byte(resp.body), &chunks); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, resp.body)
	}
	if len(chunks) != 3 {
		t.Errorf("%d chunks, want 2 words and a final one", len(chunks))
	}
}

func TestControlSurface(t *testing.T) {
	s, url := startMock(t, Options{})
	remote := Remote{BaseURL: url}
	ctx := context.Background()
	if err := remote.SetFault(ctx, "k1", Fault{Status: 503, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if f := (Fault{Status: 503, Times: 1}); s.faults.m["k1"] == nil || *s.faults.m["k1"] != f {
		t.Fatalf("fault not installed: %+v", s.faults.m)
	}
	path, body := protocols[0].request("one two", false)
	for range 2 {
		send(t, url+path, body, bearerAuth("k1")...)
	}
	send(t, url+path, body, bearerAuth("k2")...)

	st, err := remote.Stats(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Requests: 2, ByStatus: map[int]int64{200: 1, 503: 1}, Faults: 1, PromptTokens: 3, CompletionTokens: 8}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("k1 stats (-want +got):\n%s", diff)
	}
	total, err := remote.Stats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want = Stats{Requests: 3, ByStatus: map[int]int64{200: 2, 503: 1}, Faults: 1, PromptTokens: 6, CompletionTokens: 16}
	if diff := cmp.Diff(want, total); diff != "" {
		t.Errorf("total stats (-want +got):\n%s", diff)
	}
	if err := remote.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(""); st.Requests != 0 {
		t.Errorf("after reset: %+v", st)
	}

	// The wire form of a fault, as another process would write it.
	resp := send(t, url+"/_mock/faults", `{"key":"k3","fault":{"status":429,"retry_after":"1.5s","first_byte_delay":250,"cut_after":2,"times":3}}`)
	if resp.status != 204 {
		t.Fatalf("POST /_mock/faults: %d %s", resp.status, resp.body)
	}
	wantFault := Fault{Status: 429, RetryAfter: 1500 * 1e6, FirstByteDelay: 250 * 1e6, CutAfter: 2, Times: 3}
	if diff := cmp.Diff(wantFault, *s.faults.m["k3"]); diff != "" {
		t.Errorf("fault (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"key":"k","fault":{"status":"x"}}`, `{"key":"k","fault":{"retry_after":"soon"}}`, `{"kee":"k"}`} {
		if resp := send(t, url+"/_mock/faults", bad); resp.status != 400 {
			t.Errorf("%s: status %d, want 400", bad, resp.status)
		}
	}
}
