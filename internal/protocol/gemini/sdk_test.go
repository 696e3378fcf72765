package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genai"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// fakeGateway answers as the gateway would once translation is done: the
// scripted events go through the Encoder, the scripted answer through
// BuildResponse, and a scripted error through WriteError. It records what
// the SDK sent.
type fakeGateway struct {
	events  []llm.Event
	fail    *llm.Error // after the events, instead of Finish
	answer  *llm.Response
	httpErr *llm.Error

	mu     sync.Mutex
	bodies [][]byte
	paths  []string
	keys   []string
}

func (f *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies, f.paths, f.keys = append(f.bodies, body), append(f.paths, r.URL.Path), append(f.keys, Authenticate(r))
	f.mu.Unlock()
	if f.httpErr != nil {
		WriteError(w, f.httpErr, "req-42")
		return
	}
	_, method, ok := ParsePath(path.Base(r.URL.Path))
	switch {
	case ok && method == "streamGenerateContent":
		w.Header().Set("Content-Type", "text/event-stream")
		e := NewEncoder(testMeta)
		for _, ev := range f.events {
			_, _ = w.Write(e.Encode(nil, ev))
			w.(http.Flusher).Flush()
		}
		if f.fail != nil {
			_, _ = w.Write(e.Fail(nil, f.fail))
		} else {
			_, _ = w.Write(e.Finish(nil))
		}
	case ok && method == "generateContent":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(BuildResponse(f.answer, testMeta))
	default:
		http.NotFound(w, r)
	}
}

func newClient(t *testing.T, f *fakeGateway) *genai.Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "sk-test", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// streamEvents is what an Anthropic upstream with thinking and two tool
// calls becomes once decoded.
var streamEvents = []llm.Event{
	{Kind: llm.EventUsage, Usage: llm.Usage{Input: 20, CachedInput: 100}},
	{Kind: llm.EventThinking, Text: "Two lookups"},
	{Kind: llm.EventThinking, Text: " are needed."},
	{Kind: llm.EventSignature, Text: "EqQBCkgIARABGAIiQA=="},
	{Kind: llm.EventText, Text: "Checking "},
	{Kind: llm.EventText, Text: "both."},
	{Kind: llm.EventToolCall, Index: 0, ID: "toolu_01A", Name: "get_weather"},
	{Kind: llm.EventToolArgs, Index: 0, Text: `{"city":`},
	{Kind: llm.EventToolArgs, Index: 0, Text: `"Boston"}`},
	{Kind: llm.EventToolCall, Index: 1, ID: "toolu_01B", Name: "get_weather", Text: `{"city":"Paris"}`},
	{Kind: llm.EventStop, Stop: llm.StopToolUse},
	{Kind: llm.EventUsage, Usage: llm.Usage{Input: 20, CachedInput: 100, Output: 40, Reasoning: 12}},
}

func TestSDKStream(t *testing.T) {
	f := &fakeGateway{events: streamEvents}
	client := newClient(t, f)
	var text, thoughts strings.Builder
	var calls []*genai.FunctionCall
	var last *genai.GenerateContentResponse
	for chunk, err := range client.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatalf("stream error: %v", err)
		}
		for _, p := range chunk.Candidates[0].Content.Parts {
			if p.Thought {
				thoughts.WriteString(p.Text)
			} else {
				text.WriteString(p.Text) // chunk.Text() would log a warning per function call
			}
		}
		calls = append(calls, chunk.FunctionCalls()...)
		last = chunk
	}
	if got := text.String(); got != "Checking both." {
		t.Errorf("text = %q", got)
	}
	if got := thoughts.String(); got != "Two lookups are needed." {
		t.Errorf("thoughts = %q", got)
	}
	wantCalls := []*genai.FunctionCall{
		{ID: "toolu_01A", Name: "get_weather", Args: map[string]any{"city": "Boston"}},
		{ID: "toolu_01B", Name: "get_weather", Args: map[string]any{"city": "Paris"}},
	}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("function calls (-want +got):\n%s", diff)
	}
	if got := last.Candidates[0].FinishReason; got != genai.FinishReasonStop {
		t.Errorf("finish reason = %q", got)
	}
	u := last.UsageMetadata
	if u == nil || u.PromptTokenCount != 120 || u.CachedContentTokenCount != 100 || u.CandidatesTokenCount != 40 ||
		u.ThoughtsTokenCount != 12 || u.TotalTokenCount != 172 {
		t.Errorf("usage = %+v", u)
	}
	if last.ResponseID != testMeta.ID || last.ModelVersion != testMeta.Model {
		t.Errorf("identity = %q/%q", last.ResponseID, last.ModelVersion)
	}
	if f.paths[0] != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || f.keys[0] != "sk-test" {
		t.Errorf("path/key = %q/%q", f.paths[0], f.keys[0])
	}
}

// go-genai's chat records the streamed turn and sends it back; parsed
// again, it is the assistant turn whole, with the thought's signature and
// the calls' ids.
func TestSDKChatHistoryRoundTrip(t *testing.T) {
	f := &fakeGateway{events: streamEvents}
	client := newClient(t, f)
	chat, err := client.Chats.Create(context.Background(), "gemini-2.5-flash", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range chat.SendMessageStream(context.Background(), genai.Part{Text: "Weather?"}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.events = []llm.Event{{Kind: llm.EventText, Text: "Done."}}
	reply := genai.NewPartFromFunctionResponse("get_weather", map[string]any{"result": "15C"})
	reply.FunctionResponse.ID = "toolu_01A"
	for _, err := range chat.SendStream(context.Background(), reply) {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := ParseRequest(f.bodies[1])
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Weather?"}}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "Two lookups are needed.", Signature: "EqQBCkgIARABGAIiQA=="},
			{Kind: llm.PartText, Text: "Checking both."},
			{Kind: llm.PartToolCall, ID: "toolu_01A", Name: "get_weather", Arguments: `{"city":"Boston"}`},
			{Kind: llm.PartToolCall, ID: "toolu_01B", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		}},
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "toolu_01A", Name: "get_weather",
			Content: []llm.Part{{Kind: llm.PartText, Text: "15C"}}}}},
	}
	if diff := cmp.Diff(want, r.Messages); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestSDKGenerateContent(t *testing.T) {
	f := &fakeGateway{answer: &llm.Response{
		Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "hmm", Signature: "EqQBCkgIARAB"},
			{Kind: llm.PartText, Text: "Calling."},
			{Kind: llm.PartToolCall, ID: "call_1", Name: "lookup", Arguments: `{"q":"x","n":[1,2]}`, Signature: "CiQBcsjafHpbmQ=="},
		},
		Stop:  llm.StopToolUse,
		Usage: llm.Usage{Input: 7, CachedInput: 3, CacheWrite: 2, Output: 5, Reasoning: 4}, HasUsage: true,
	}}
	client := newClient(t, f)
	resp, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-pro", genai.Text("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Candidates[0].Content.Parts[1].Text; got != "Calling." {
		t.Errorf("text = %q", got)
	}
	calls := resp.FunctionCalls()
	if len(calls) != 1 || calls[0].ID != "call_1" || calls[0].Name != "lookup" || calls[0].Args["q"] != "x" {
		t.Errorf("calls = %+v", calls)
	}
	parts := resp.Candidates[0].Content.Parts
	if string(parts[2].ThoughtSignature) != "\n$\x01r\xc8\xda|z[\x99" {
		t.Errorf("signature bytes = %q", parts[2].ThoughtSignature)
	}
	if resp.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Errorf("finish reason = %q", resp.Candidates[0].FinishReason)
	}
	u := resp.UsageMetadata
	if u.PromptTokenCount != 12 || u.CachedContentTokenCount != 3 || u.CandidatesTokenCount != 5 ||
		u.ThoughtsTokenCount != 4 || u.TotalTokenCount != 21 {
		t.Errorf("usage = %+v", u)
	}
}

func TestSDKStreamFailure(t *testing.T) {
	f := &fakeGateway{
		events: []llm.Event{{Kind: llm.EventText, Text: "Partial"}},
		fail:   &llm.Error{Kind: llm.KindUnavailable, Code: "overloaded", Message: "the upstream is overloaded"},
	}
	client := newClient(t, f)
	var text string
	var got error
	for chunk, err := range client.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil) {
		if err != nil {
			got = err
			break
		}
		text += chunk.Text()
	}
	var apiErr genai.APIError
	if !errors.As(got, &apiErr) {
		t.Fatalf("error = %v (%T), want genai.APIError", got, got)
	}
	if apiErr.Code != 503 || apiErr.Status != "UNAVAILABLE" || !strings.Contains(apiErr.Message, "the upstream is overloaded") {
		t.Errorf("APIError = %+v", apiErr)
	}
	if text != "Partial" {
		t.Errorf("text before the error = %q", text)
	}
}

func TestSDKHTTPError(t *testing.T) {
	f := &fakeGateway{httpErr: &llm.Error{Kind: llm.KindRateLimited, Code: "rate_limited", Message: "too many requests"}}
	client := newClient(t, f)
	_, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v (%T), want genai.APIError", err, err)
	}
	if apiErr.Code != 429 || apiErr.Status != "RESOURCE_EXHAUSTED" || apiErr.Message != "too many requests (request id: req-42)" {
		t.Errorf("APIError = %+v", apiErr)
	}
	if len(apiErr.Details) != 1 || apiErr.Details[0]["reason"] != "rate_limited" {
		t.Errorf("details = %v", apiErr.Details)
	}
}

// What go-genai really sends decodes into the request it means.
func TestSDKRequestParses(t *testing.T) {
	f := &fakeGateway{answer: &llm.Response{Stop: llm.StopEnd}}
	client := newClient(t, f)
	budget := int32(1024)
	temp, topP, topK := float32(0.5), float32(0.9), float32(40)
	seed := int32(7)
	call := genai.NewPartFromFunctionCall("get_weather", map[string]any{"city": "Oslo"})
	call.ThoughtSignature = []byte("sig")
	contents := []*genai.Content{
		genai.NewContentFromParts([]*genai.Part{genai.NewPartFromText("Weather in Oslo?"),
			genai.NewPartFromBytes([]byte("\x89PNG"), "image/png")}, genai.RoleUser),
		genai.NewContentFromParts([]*genai.Part{call}, genai.RoleModel),
		genai.NewContentFromFunctionResponse("get_weather", map[string]any{"output": "3C"}, genai.RoleUser),
	}
	config := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText("Be brief.", genai.RoleUser),
		Temperature:       &temp, TopP: &topP, TopK: &topK, Seed: &seed,
		MaxOutputTokens: 256, StopSequences: []string{"END"},
		ResponseMIMEType:   "application/json",
		ResponseJsonSchema: map[string]any{"type": "object"},
		ThinkingConfig:     &genai.ThinkingConfig{ThinkingBudget: &budget, IncludeThoughts: true},
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
			Name: "get_weather", Description: "Weather",
			Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}},
				Required: []string{"city"}},
		}}}},
		ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{
			Mode: genai.FunctionCallingConfigModeAny, AllowedFunctionNames: []string{"get_weather"}}},
	}
	if _, err := client.Models.GenerateContent(context.Background(), "models/gemini-2.5-flash", contents, config); err != nil {
		t.Fatal(err)
	}
	got, err := ParseRequest(f.bodies[0])
	if err != nil {
		t.Fatalf("ParseRequest(%s): %v", f.bodies[0], err)
	}
	f32 := func(v float32) *float64 { x := float64(v); return &x }
	f64 := func(v float64) *float64 { return &v }
	i64 := func(v int64) *int64 { return &v }
	want := &llm.Request{
		System: []llm.Part{{Kind: llm.PartText, Text: "Be brief."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Weather in Oslo?"},
				{Kind: llm.PartImage, MIME: "image/png", Data: "iVBORw=="}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall, ID: "call_1_0", Name: "get_weather",
				Arguments: `{"city":"Oslo"}`, Signature: "c2ln"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ID: "call_1_0", Name: "get_weather",
				Content: []llm.Part{{Kind: llm.PartText, Text: "3C"}}}}},
		},
		Tools: []llm.Tool{{Name: "get_weather", Description: "Weather",
			Parameters: json.RawMessage(`{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}`)}},
		ToolChoice:  llm.ToolChoice{Mode: llm.ToolNamed, Name: "get_weather"},
		MaxTokens:   256,
		Temperature: f32(temp), TopP: f64(0.9), TopK: i64(40), Seed: i64(7),
		Stop:      []string{"END"},
		Format:    &llm.Format{Type: llm.FormatJSONSchema, Name: "response", Schema: json.RawMessage(`{"type":"object"}`)},
		Reasoning: &llm.Reasoning{Budget: 1024, Summary: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed request (-want +got):\n%s\nbody: %s", diff, f.bodies[0])
	}
	if f.paths[0] != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("path = %q", f.paths[0])
	}
}
