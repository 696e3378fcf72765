package mock

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"
)

func TestFaultStatusBodies(t *testing.T) {
	const msg = "Rate limit reached for requests. (mock fault)"
	want := map[string]string{
		"openai":    `{"error":{"message":"` + msg + `","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
		"responses": `{"error":{"message":"` + msg + `","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
		"ark":       `{"error":{"code":"RateLimitExceeded.EndpointRPMExceeded","message":"` + msg + ` Request id: req_mock_1","param":"","type":"TooManyRequests"}}`,
		"anthropic": `{"type":"error","error":{"type":"rate_limit_error","message":"` + msg + `"},"request_id":"req_mock_1"}`,
		"gemini":    `{"error":{"code":429,"message":"` + msg + `","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`,
	}
	for _, pc := range protocols {
		for _, stream := range []bool{false, true} {
			t.Run(pc.name+streamName(stream), func(t *testing.T) {
				s, url := startMock(t, Options{})
				s.SetFault(testKey, Fault{Status: 429, RetryAfter: 1500 * time.Millisecond})
				path, body := pc.request("hi", stream)
				resp := send(t, url+path, body, pc.headers...)
				got := map[string]string{
					"status":         http.StatusText(resp.status),
					"content-type":   resp.header.Get("Content-Type"),
					"retry-after":    resp.header.Get("Retry-After"),
					"retry-after-ms": resp.header.Get("Retry-After-Ms"),
					"body":           resp.body,
				}
				wantHere := map[string]string{
					"status":         http.StatusText(http.StatusTooManyRequests),
					"content-type":   "application/json",
					"retry-after":    "2",
					"retry-after-ms": "1500",
					"body":           want[pc.name],
				}
				if diff := cmp.Diff(wantHere, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

func streamName(stream bool) string {
	if stream {
		return " stream"
	}
	return ""
}

// TestFaultsThroughSDKs checks that each SDK understands the error it gets.
func TestFaultsThroughSDKs(t *testing.T) {
	ctx := context.Background()
	t.Run("openai 503", func(t *testing.T) {
		s, url := startMock(t, Options{})
		s.SetFault(testKey, Fault{Status: 503})
		client := openaiClient(url)
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "server_is_overloaded" || apiErr.Type != "server_error" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("anthropic 529", func(t *testing.T) {
		s, url := startMock(t, Options{})
		s.SetFault(testKey, Fault{Status: 529})
		client := anthropicClient(url)
		_, err := client.Messages.New(ctx, anthropic.MessageNewParams{
			Model: claudeModel, MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 || apiErr.Type() != "overloaded_error" || apiErr.RequestID != "req_mock_1" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("gemini 500", func(t *testing.T) {
		s, url := startMock(t, Options{})
		s.SetFault(testKey, Fault{Status: 500})
		client := geminiClient(t, url)
		_, err := client.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hi"), nil)
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 500 || apiErr.Status != "INTERNAL" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("openai retries until Times runs out", func(t *testing.T) {
		s, url := startMock(t, Options{})
		s.SetFault(testKey, Fault{Status: 429, RetryAfter: time.Millisecond, Times: 2})
		client := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(testKey)) // default retries
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != eightWords {
			t.Errorf("content = %q", resp.Choices[0].Message.Content)
		}
		want := Stats{Requests: 3, ByStatus: map[int]int64{200: 1, 429: 2}, Faults: 2, PromptTokens: 2, CompletionTokens: 8}
		if diff := cmp.Diff(want, s.Stats(testKey)); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
	})
}

// TestCutStreams checks that a cut stream ends in an unexpected EOF after
// exactly CutAfter content events, without its final events.
func TestCutStreams(t *testing.T) {
	// contentEvent tells a content event of each protocol from the others.
	contentEvent := map[string]func(ev sseEvent) bool{
		"openai": func(ev sseEvent) bool {
			return strings.Contains(ev.data, `"delta":{"content":"`) && !strings.Contains(ev.data, `"content":""`)
		},
		"ark": func(ev sseEvent) bool {
			return strings.Contains(ev.data, `"delta":{"content":"`) && !strings.Contains(ev.data, `"content":""`)
		},
		"responses": func(ev sseEvent) bool { return ev.name == "response.output_text.delta" },
		"anthropic": func(ev sseEvent) bool { return strings.Contains(ev.data, `"text_delta"`) },
		"gemini":    func(ev sseEvent) bool { return !strings.Contains(ev.data, `"text":""`) },
	}
	finalMarkers := []string{"[DONE]", "message_stop", "response.completed", `"finishReason"`, `"finish_reason":"stop"`, `"usage":{"prompt_tokens"`}
	for _, pc := range protocols {
		for _, via := range []string{"fault", "directive", "beyond the reply"} {
			t.Run(pc.name+" "+via, func(t *testing.T) {
				s, url := startMock(t, Options{})
				text := "hi"
				switch via {
				case "fault":
					s.SetFault(testKey, Fault{CutAfter: 3})
				case "directive":
					text = "hi [[mock:cut=3]]"
				default: // a 3-word reply is still cut before its end
					s, url = startMock(t, Options{Chunks: 3})
					text = "hi [[mock:cut=100]]"
				}
				path, body := pc.request(text, true)
				resp := send(t, url+path, body, pc.headers...)
				if !errors.Is(resp.readErr, io.ErrUnexpectedEOF) {
					t.Errorf("read error = %v, want unexpected EOF", resp.readErr)
				}
				n := 0
				for _, ev := range parseSSE(t, resp.body) {
					if contentEvent[pc.name](ev) {
						n++
					}
					for _, m := range finalMarkers {
						if strings.Contains(ev.data, m) || ev.name == m {
							t.Errorf("cut stream has a final event: %s %s", ev.name, ev.data)
						}
					}
				}
				if n != 3 {
					t.Errorf("%d content events, want 3", n)
				}
				want := Stats{Requests: 1, ByStatus: map[int]int64{200: 1}, Streams: 1, StreamsCut: 1, Faults: 1}
				if diff := cmp.Diff(want, s.Stats(testKey)); diff != "" {
					t.Errorf("stats (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestStatusDirective(t *testing.T) {
	for _, pc := range protocols {
		for _, stream := range []bool{false, true} {
			t.Run(pc.name+streamName(stream), func(t *testing.T) {
				s, url := startMock(t, Options{})
				path, body := pc.request("hi [[mock:status=500]]", stream)
				resp := send(t, url+path, body, pc.headers...)
				wantShape := map[string]string{
					"openai": "server_error ", "responses": "server_error ", "ark": "InternalServerError InternalServiceError",
					"anthropic": "error api_error", "gemini": "500 INTERNAL",
				}[pc.name]
				if resp.status != 500 || errorShape(t, pc.name, resp.body) != wantShape {
					t.Errorf("status %d, body %s; want 500 and %q", resp.status, resp.body, wantShape)
				}
				want := Stats{Requests: 1, ByStatus: map[int]int64{500: 1}, Faults: 1}
				if diff := cmp.Diff(want, s.Stats(testKey)); diff != "" {
					t.Errorf("stats (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestCutStreamThroughSDK(t *testing.T) {
	s, url := startMock(t, Options{})
	s.SetFault("", Fault{CutAfter: 2})
	client := openaiClient(url)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var text string
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 {
			text += ch.Choices[0].Delta.Content
		}
	}
	if !errors.Is(stream.Err(), io.ErrUnexpectedEOF) {
		t.Errorf("stream error = %v, want unexpected EOF", stream.Err())
	}
	if text != "Tokenhot mock" {
		t.Errorf("text before the cut = %q", text)
	}
}

func TestFaultSelection(t *testing.T) {
	s, url := startMock(t, Options{})
	pc := protocols[0]
	path, body := pc.request("hi", false)
	status := func(key string) int {
		return send(t, url+path, body, bearerAuth(key)...).status
	}
	type step struct {
		name  string
		setup func()
		key   string
		want  int
	}
	steps := []step{
		{"no fault", func() {}, "a", 200},
		{"times 2, first", func() { s.SetFault("a", Fault{Status: 500, Times: 2}) }, "a", 500},
		{"times 2, other key unaffected", func() {}, "b", 200},
		{"times 2, second", func() {}, "a", 500},
		{"times 2, used up", func() {}, "a", 200},
		{"every key", func() { s.SetFault("", Fault{Status: 503}) }, "b", 503},
		{"own fault wins", func() { s.SetFault("a", Fault{Status: 429}) }, "a", 429},
		{"own fault cleared", func() { s.SetFault("a", Fault{}) }, "a", 503},
		{"directive wins", func() {}, "a", 0},
		{"reset", func() { s.Reset() }, "a", 200},
	}
	for _, st := range steps {
		st.setup()
		got := 0
		if st.want == 0 {
			_, b := pc.request("hi [[mock:status=502]]", false)
			got = send(t, url+path, b, bearerAuth(st.key)...).status
			st.want = 502
		} else {
			got = status(st.key)
		}
		if got != st.want {
			t.Errorf("%s: status %d, want %d", st.name, got, st.want)
		}
	}
	want := Stats{Requests: 1, ByStatus: map[int]int64{200: 1}, PromptTokens: 2, CompletionTokens: 8}
	if diff := cmp.Diff(want, s.Stats("a")); diff != "" {
		t.Errorf("stats after reset (-want +got):\n%s", diff)
	}
}

// TestDelays runs the mock in a synctest bubble, where the clock moves only
// when every goroutine waits, so the delays are measured exactly.
func TestDelays(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		fault  Fault
		text   string
		stream bool
		want   time.Duration
	}{
		{name: "latency", opts: Options{Latency: 100 * time.Millisecond}, want: 100 * time.Millisecond},
		{name: "fault first byte", fault: Fault{FirstByteDelay: time.Second}, want: time.Second},
		{name: "directive first byte", opts: Options{Latency: 50 * time.Millisecond}, text: "hi [[mock:delay=200ms]]", want: 250 * time.Millisecond},
		{name: "chunk delay", opts: Options{Chunks: 4, ChunkDelay: 10 * time.Millisecond}, stream: true, want: 40 * time.Millisecond},
		{name: "chunk delay ignored without stream", opts: Options{Chunks: 4, ChunkDelay: 10 * time.Millisecond}, want: 0},
		{name: "all", opts: Options{Latency: 5 * time.Millisecond, Chunks: 3, ChunkDelay: time.Millisecond}, fault: Fault{FirstByteDelay: 10 * time.Millisecond}, stream: true, want: 18 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(tt.opts)
				s.SetFault("", tt.fault)
				text := tt.text
				if text == "" {
					text = "hi"
				}
				path, body := protocols[0].request(text, tt.stream)
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testKey)
				rec := httptest.NewRecorder()
				start := time.Now()
				s.ServeHTTP(rec, req)
				if got := time.Since(start); got != tt.want {
					t.Errorf("took %v, want %v", got, tt.want)
				}
				if rec.Code != 200 {
					t.Errorf("status %d: %s", rec.Code, rec.Body)
				}
			})
		})
	}
}

func TestClientGoneDuringDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{Latency: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		path, body := protocols[0].request("hi", false)
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		start := time.Now()
		s.ServeHTTP(httptest.NewRecorder(), req)
		if got := time.Since(start); got != time.Second {
			t.Errorf("handler returned after %v, want 1s", got)
		}
		want := Stats{Requests: 1, ByStatus: map[int]int64{}, ClientGone: 1}
		if diff := cmp.Diff(want, s.Stats("")); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
	})
}

func TestParseDirectives(t *testing.T) {
	tests := []struct {
		text string
		want directives
	}{
		{"plain", directives{}},
		{"[[mock:status=500]]", directives{status: 500}},
		{"a [[mock:cut=3]] b [[mock:delay=1.5s]] [[mock:tool]]", directives{cut: 3, delay: 1500 * time.Millisecond, tool: true}},
		{"[[mock:status=200]] [[mock:cut=-1]] [[mock:delay=x]] [[mock:bogus]]", directives{}},
		{"[[mock:status=503", directives{}},
		{"[[mock: status = 429 ]]", directives{status: 429}},
		{"[[mock:cache=30,5]]", directives{cacheRead: 30, cacheWrite: 5}},
		{"[[mock:cache= 7 ]] [[mock:tool]]", directives{cacheRead: 7, tool: true}},
		{"[[mock:cache=0,9]]", directives{cacheWrite: 9}},
		{"[[mock:cache=-1,2]] [[mock:cache=1,x]] [[mock:cache=]] [[mock:cache=1,2,3]]", directives{}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseDirectives(tt.text), cmp.AllowUnexported(directives{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
