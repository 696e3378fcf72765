package gateway_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/mock"
)

// TestErrorsInEachSurfacesShape checks that every SDK raises its own error
// type, with the right status, for the gateway's own refusals.
func TestErrorsInEachSurfacesShape(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	t.Run("openai", func(t *testing.T) {
		_, err := e.client("sk-unknown").Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-sonnet",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
			t.Fatalf("%v", err)
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		bad := anthropic.NewClient(aoption.WithBaseURL(e.srv.URL), aoption.WithAPIKey("sk-unknown"), aoption.WithMaxRetries(0))
		_, err := bad.Messages.New(ctx, anthropic.MessageNewParams{Model: "gpt-5", MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || gjson.Get(apiErr.RawJSON(), "error.type").Str != "authentication_error" {
			t.Fatalf("%v", err)
		}
		c := e.anthropicClient()
		_, err = c.Messages.New(ctx, anthropic.MessageNewParams{Model: "no-such-model", MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || gjson.Get(apiErr.RawJSON(), "error.type").Str != "not_found_error" {
			t.Fatalf("%v", err)
		}
		// A Messages request without max_tokens is the caller's error, named.
		resp, body := e.postHeaders("/v1/messages", map[string]string{"x-api-key": aliceKey, "anthropic-version": "2023-06-01"},
			`{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 400 || gjson.GetBytes(body, "type").Str != "error" ||
			!strings.Contains(gjson.GetBytes(body, "error.message").Str, "max_tokens") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("gemini", func(t *testing.T) {
		bad, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "sk-unknown", Backend: genai.BackendGeminiAPI,
			HTTPOptions: genai.HTTPOptions{BaseURL: e.srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Models.GenerateContent(ctx, "gpt-5", genai.Text("hi"), nil)
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 401 || apiErr.Status != "UNAUTHENTICATED" {
			t.Fatalf("%#v", err)
		}
		_, err = e.geminiClient(t).Models.GenerateContent(ctx, "no-such-model", genai.Text("hi"), nil)
		if !errors.As(err, &apiErr) || apiErr.Code != 404 || apiErr.Status != "NOT_FOUND" {
			t.Fatalf("%#v", err)
		}
	})
	t.Run("upstream error translated", func(t *testing.T) {
		// The Anthropic upstream fails; an OpenAI client sees an OpenAI error.
		_, err := e.client(aliceKey).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-sonnet",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi [[mock:status=500]]")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 {
			t.Fatalf("%v", err)
		}
	})
	e.checkLedger("alice", tenUSD) // nothing that failed was charged
}

// postHeaders sends a raw request with the given headers.
func (e *env) postHeaders(path string, headers map[string]string, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, []byte(b.String())
}

func TestGeminiAndAnthropicSurfaces(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	t.Run("key in the query and trailing slash", func(t *testing.T) {
		resp, body := e.postHeaders("/v1beta/models/gpt-5:generateContent/?key="+aliceKey, nil,
			`{"contents":[{"parts":[{"text":"hi"}]}]}`)
		if resp.StatusCode != 200 || gjson.GetBytes(body, "candidates.0.content.parts.0.text").Str == "" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		resp, body = e.postHeaders("/v1/messages/", map[string]string{"authorization": "Bearer " + aliceKey},
			`{"model":"gemini-flash","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 200 || gjson.GetBytes(body, "type").Str != "message" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("model lists", func(t *testing.T) {
		var ids []string
		for m, err := range e.geminiClient(t).Models.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.Name)
		}
		if !cmp.Equal(ids[:2], []string{"models/cheap", "models/claude-sonnet"}) {
			t.Fatalf("gemini models %v", ids)
		}
		ac := e.anthropicClient()
		page, err := ac.Models.List(ctx, anthropic.ModelListParams{})
		if err != nil || len(page.Data) != 8 || page.Data[1].ID != "claude-sonnet" {
			t.Fatalf("anthropic models %+v %v", page, err)
		}
	})
	t.Run("count tokens", func(t *testing.T) {
		c := e.anthropicClient()
		params := anthropic.MessageCountTokensParams{Model: "claude-sonnet",
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("one two three"))}}
		n, err := c.Messages.CountTokens(ctx, params)
		if err != nil || n.InputTokens != 4 { // the mock's count: three words and one message
			t.Fatalf("forwarded count %+v %v", n, err)
		}
		params.Model = "gpt-5"
		if n, err = c.Messages.CountTokens(ctx, params); err != nil || n.InputTokens <= 0 {
			t.Fatalf("estimated count %+v %v", n, err)
		}
		r, err := e.geminiClient(t).Models.CountTokens(ctx, "gemini-flash", genai.Text("one two three"), nil)
		if err != nil || r.TotalTokens != 4 {
			t.Fatalf("gemini count %+v %v", r, err)
		}
	})
	t.Run("responses state is refused when translated", func(t *testing.T) {
		resp, body := e.post("/v1/responses", aliceKey, `{"model":"claude-sonnet","input":"hi","previous_response_id":"resp_1"}`)
		if resp.StatusCode != 400 || gjson.GetBytes(body, "error.param").Str != "previous_response_id" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		resp, body = e.post("/v1/responses", aliceKey, `{"model":"gemini-flash","input":"hi","store":true}`)
		if resp.StatusCode != 400 || gjson.GetBytes(body, "error.param").Str != "store" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		r, err := e.client(aliceKey).Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "gpt-5",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello world", "bye"}}})
		if err != nil || len(r.Data) != 2 || r.Usage.PromptTokens != 3 {
			t.Fatalf("%+v %v", r, err)
		}
		row := e.lastLog("alice")
		if row.Usage.Input != 3 || row.Source != llm.SourceUpstream || row.Cost <= 0 {
			t.Fatalf("%+v", row)
		}
		resp, body := e.post("/v1/embeddings", aliceKey, `{"model":"claude-sonnet","input":"hi"}`)
		if resp.StatusCode != 400 || gjson.GetBytes(body, "error.code").Str != "unsupported_endpoint" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}

// TestImageURLsForGemini checks the fetch of images sent by URL to an
// upstream that takes inline data only: refused for a private address by
// default, fetched and inlined when the operator allows it.
func TestImageURLsForGemini(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n0000000000000000")
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	}))
	defer img.Close()
	body := `{"model":"gemini-flash","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},` +
		`{"type":"image_url","image_url":{"url":"` + img.URL + `/cat.png"}}]}]}`

	e := newEnvWith(t, "sqlite", mock.Options{})
	resp, out := e.post("/v1/chat/completions", aliceKey, body)
	if resp.StatusCode != 400 || gjson.GetBytes(out, "error.code").Str != "invalid_image_url" ||
		strings.Contains(string(out), "127.0.0.1:") && !strings.Contains(string(out), img.URL) {
		t.Fatalf("private address: %d %s", resp.StatusCode, out)
	}

	e.cfg += "media:\n  allow_private: true\n"
	e.restart()
	resp, out = e.post("/v1/chat/completions", aliceKey, body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	sent := e.upstream.body("/v1beta/models/gemini-2.5-flash:generateContent")
	if got := gjson.GetBytes(sent, "contents.0.parts.1.inlineData"); got.Get("mimeType").Str != "image/png" ||
		got.Get("data").Str != base64.StdEncoding.EncodeToString(png) {
		t.Fatalf("upstream got %s", sent)
	}
}

// TestTranslatedStreamCut: a translated stream the upstream breaks mid-way
// ends, for each client, with that protocol's error event — never a clean
// finish — and is billed for what was delivered, marked estimated.
func TestTranslatedStreamCut(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{Chunks: 8})
	tests := []struct {
		name, path, body string
		headers          map[string]string
		errorEvent       string // a line the stream must contain
		cleanEnd         string // a line it must not contain
	}{
		{"chat from anthropic", "/v1/chat/completions",
			`{"model":"claude-sonnet","stream":true,"messages":[{"role":"user","content":"hello [[mock:cut=3]]"}]}`,
			map[string]string{"authorization": "Bearer " + aliceKey}, `data: {"error":`, "data: [DONE]"},
		{"anthropic from openai", "/v1/messages",
			`{"model":"gpt-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello [[mock:cut=3]]"}]}`,
			map[string]string{"x-api-key": aliceKey}, "event: error", "event: message_stop"},
		{"responses from gemini", "/v1/responses",
			`{"model":"gemini-flash","stream":true,"input":"hello [[mock:cut=3]]"}`,
			map[string]string{"authorization": "Bearer " + aliceKey}, "event: error", "event: response.completed"},
		{"gemini from anthropic", "/v1beta/models/claude-sonnet:streamGenerateContent?alt=sse",
			`{"contents":[{"parts":[{"text":"hello [[mock:cut=3]]"}]}]}`,
			map[string]string{"x-goog-api-key": aliceKey}, `data: {"error":`, `"finishReason"`},
		{"anthropic passed through", "/v1/messages",
			`{"model":"claude-sonnet","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello [[mock:cut=3]]"}]}`,
			map[string]string{"x-api-key": aliceKey}, "event: error", "event: message_stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.postHeaders(tt.path, tt.headers, tt.body)
			if resp.StatusCode != 200 || !strings.Contains(string(body), tt.errorEvent) || strings.Contains(string(body), tt.cleanEnd) {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
			row := e.lastLog("alice")
			if row.Source != llm.SourceEstimated || row.Cost <= 0 || row.ErrorClass != "upstream_error" {
				t.Fatalf("log row %+v", row)
			}
		})
	}
}
