package responses

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// expectedItemType is the output item type each item-scoped event needs,
// as the npm SDK's response accumulator checks it.
var expectedItemType = map[string]string{
	"response.content_part.added":            "message",
	"response.content_part.done":             "message",
	"response.output_text.delta":             "message",
	"response.output_text.done":              "message",
	"response.function_call_arguments.delta": "function_call",
	"response.function_call_arguments.done":  "function_call",
	"response.reasoning_summary_part.added":  "reasoning",
	"response.reasoning_summary_part.done":   "reasoning",
	"response.reasoning_summary_text.delta":  "reasoning",
	"response.reasoning_summary_text.done":   "reasoning",
	"response.output_item.added":             "",
	"response.output_item.done":              "",
	"response.created":                       "",
	"response.in_progress":                   "",
	"response.completed":                     "",
	"response.incomplete":                    "",
	"error":                                  "",
}

type snapItem struct {
	id, typ, callID  string
	content, summary int
}

// checkStream applies the rules the official SDKs enforce on a Responses
// stream (npm openai v7 response-accumulator, openai-go ssestream): each
// frame has an event name equal to its data's type, sequence numbers count
// from 0, response.created comes first, items are appended densely, every
// item-scoped event names the item at its output_index, parts are added
// before their deltas, call ids are unique, nothing follows the terminal
// event, and data never has a top-level "error" key. It returns the
// terminal event's data.
func checkStream(t *testing.T, stream []byte) gjson.Result {
	t.Helper()
	var (
		out      []snapItem
		callIDs  = map[string]bool{}
		seq      int64
		terminal gjson.Result
	)
	for len(stream) > 0 {
		n := sse.EventEnd(stream)
		if n < 0 {
			t.Fatalf("stream ends without a blank line: %q", stream)
		}
		name, data := sse.Fields(stream[:n])
		stream = stream[n:]
		if terminal.Exists() {
			t.Fatalf("event %s after the terminal event", name)
		}
		if !gjson.ValidBytes(data) {
			t.Fatalf("invalid JSON: %s", data)
		}
		v := gjson.ParseBytes(data)
		typ := v.Get("type").String()
		if typ == "" || typ != string(name) {
			t.Fatalf("event name %q, data type %q", name, typ)
		}
		if _, ok := expectedItemType[typ]; !ok {
			t.Fatalf("unexpected event type %q", typ)
		}
		if v.Get("error").Exists() {
			t.Fatalf("top-level error key in %s", data)
		}
		if got := v.Get("sequence_number"); got.Type != gjson.Number || got.Int() != seq {
			t.Fatalf("sequence_number %s, want %d", got.Raw, seq)
		}
		seq++
		if seq == 1 && typ != "response.created" {
			t.Fatalf("first event %s, want response.created", typ)
		}
		idx := int(v.Get("output_index").Int())
		switch typ {
		case "response.completed", "response.incomplete", "error":
			terminal = v
			continue
		case "response.output_item.added":
			if idx != len(out) {
				t.Fatalf("output_item.added at %d, want %d", idx, len(out))
			}
			it := v.Get("item")
			s := snapItem{id: it.Get("id").String(), typ: it.Get("type").String(), callID: it.Get("call_id").String()}
			if s.id == "" {
				t.Fatalf("item without id: %s", data)
			}
			if s.typ == "function_call" {
				if s.callID == "" || callIDs[s.callID] {
					t.Fatalf("empty or duplicate call_id %q", s.callID)
				}
				callIDs[s.callID] = true
			}
			out = append(out, s)
			continue
		}
		if idx < 0 || idx >= len(out) {
			if typ == "response.created" || typ == "response.in_progress" {
				continue
			}
			t.Fatalf("%s: missing output at index %d", typ, idx)
		}
		it := &out[idx]
		if typ == "response.output_item.done" {
			if got := v.Get("item"); got.Get("id").String() != it.id || got.Get("type").String() != it.typ ||
				got.Get("call_id").String() != it.callID {
				t.Fatalf("output_item.done changes the item identity: %s", data)
			}
			continue
		}
		if got := v.Get("item_id").String(); got != it.id {
			t.Fatalf("%s: expected item_id %q, got %q", typ, it.id, got)
		}
		if want := expectedItemType[typ]; want != it.typ {
			t.Fatalf("%s: expected output item type %q, got %q", typ, want, it.typ)
		}
		ci, si := int(v.Get("content_index").Int()), int(v.Get("summary_index").Int())
		switch typ {
		case "response.content_part.added":
			if ci != it.content {
				t.Fatalf("content_part.added at %d, want %d", ci, it.content)
			}
			it.content++
		case "response.output_text.delta", "response.output_text.done", "response.content_part.done":
			if ci >= it.content {
				t.Fatalf("%s: missing content at index %d", typ, ci)
			}
		case "response.reasoning_summary_part.added":
			if si != it.summary {
				t.Fatalf("summary_part.added at %d, want %d", si, it.summary)
			}
			it.summary++
		case "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
			"response.reasoning_summary_part.done":
			if si >= it.summary {
				t.Fatalf("%s: missing summary at index %d", typ, si)
			}
		}
	}
	if !terminal.Exists() {
		t.Fatal("stream has no terminal event")
	}
	if terminal.Get("type").String() != "error" {
		final := terminal.Get("response.output").Array()
		if len(final) != len(out) {
			t.Fatalf("final output has %d items, the stream announced %d", len(final), len(out))
		}
		for i, it := range final {
			if it.Get("id").String() != out[i].id {
				t.Fatalf("final output[%d].id = %q, want %q", i, it.Get("id").String(), out[i].id)
			}
		}
	}
	return terminal
}

func serve(t *testing.T, contentType string, body []byte) *openai.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/responses" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"), option.WithMaxRetries(0))
	return &c
}

var sdkParams = responses.ResponseNewParams{
	Model: "gpt-test",
	Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
}

// TestOpenAIGoStreaming runs encoder output through openai-go's streaming
// client, as a user of the gateway would.
func TestOpenAIGoStreaming(t *testing.T) {
	events := []llm.Event{
		{Kind: llm.EventThinking, Text: "Considering."},
		{Kind: llm.EventSignature, Text: "EqQBsig=="},
		{Kind: llm.EventText, Text: "Hello, "},
		{Kind: llm.EventText, Text: "world"},
		{Kind: llm.EventToolCall, Index: 0, ID: "call_1", Name: "get_weather", Signature: "AQID"},
		{Kind: llm.EventToolArgs, Index: 0, Text: `{"city":`},
		{Kind: llm.EventToolArgs, Index: 0, Text: `"Boston"}`},
		{Kind: llm.EventStop, Stop: llm.StopToolUse},
		{Kind: llm.EventUsage, Usage: llm.Usage{Input: 10, CachedInput: 5, CacheWrite: 1, Output: 7, Reasoning: 3}},
	}
	stream := serve(t, "text/event-stream", encodeAll(t, events)).Responses.NewStreaming(context.Background(), sdkParams)
	var (
		text, args string
		types      []string
		final      responses.Response
	)
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		switch e := ev.AsAny().(type) {
		case responses.ResponseTextDeltaEvent:
			text += e.Delta
		case responses.ResponseFunctionCallArgumentsDeltaEvent:
			args += e.Delta
		case responses.ResponseCompletedEvent:
			final = e.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text != "Hello, world" || args != `{"city":"Boston"}` {
		t.Errorf("streamed text %q args %q", text, args)
	}
	if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
		t.Errorf("event types %v", types)
	}
	if final.ID != testMeta.ID || final.Model != testMeta.Model || final.Status != "completed" {
		t.Errorf("final response %s %s %s", final.ID, final.Model, final.Status)
	}
	if got := final.OutputText(); got != "Hello, world" {
		t.Errorf("OutputText = %q", got)
	}
	checkSDKOutput(t, final)
	want := [5]int64{16, 5, 1, 10, 3} // input, cached, cache write, output, reasoning
	u := final.Usage
	if got := [5]int64{u.InputTokens, u.InputTokensDetails.CachedTokens, u.InputTokensDetails.CacheWriteTokens,
		u.OutputTokens, u.OutputTokensDetails.ReasoningTokens}; got != want || u.TotalTokens != 26 {
		t.Errorf("usage %v total %d, want %v total 26", got, u.TotalTokens, want)
	}
}

// checkSDKOutput checks the items of the response built from the events
// of TestOpenAIGoStreaming and the body of TestOpenAIGoNew.
func checkSDKOutput(t *testing.T, r responses.Response) {
	t.Helper()
	if len(r.Output) != 3 {
		t.Fatalf("%d output items, want 3", len(r.Output))
	}
	rs := r.Output[0].AsReasoning()
	if rs.EncryptedContent != "EqQBsig==" || len(rs.Summary) != 1 || rs.Summary[0].Text != "Considering." {
		t.Errorf("reasoning item %+v", rs)
	}
	fc := r.Output[2].AsFunctionCall()
	if fc.Name != "get_weather" || fc.Arguments != `{"city":"Boston"}` {
		t.Errorf("function call %+v", fc)
	}
	// The Gemini signature travels inside the call id and comes back out.
	if id, sig := llm.UnpackCallID(fc.CallID); id != "call_1" || sig != "AQID" {
		t.Errorf("call_id %q unpacks to %q %q", fc.CallID, id, sig)
	}
}

func TestOpenAIGoNew(t *testing.T) {
	r := &llm.Response{
		Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "Considering.", Signature: "EqQBsig=="},
			{Kind: llm.PartText, Text: "Hello, "}, {Kind: llm.PartText, Text: "world"},
			{Kind: llm.PartToolCall, ID: "call_1", Name: "get_weather", Arguments: `{"city":"Boston"}`, Signature: "AQID"},
		},
		Stop:     llm.StopToolUse,
		Usage:    llm.Usage{Input: 10, CachedInput: 5, CacheWrite: 1, Output: 7, Reasoning: 3},
		HasUsage: true,
	}
	c := serve(t, "application/json", BuildResponse(r, testMeta))
	got, err := c.Responses.New(context.Background(), sdkParams)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != testMeta.ID || got.Status != "completed" || got.CreatedAt != float64(testMeta.Created) {
		t.Errorf("response %s %s %v", got.ID, got.Status, got.CreatedAt)
	}
	if got.OutputText() != "Hello, world" {
		t.Errorf("OutputText = %q", got.OutputText())
	}
	checkSDKOutput(t, *got)
	if got.Usage.InputTokens != 16 || got.Usage.OutputTokens != 10 || got.Usage.TotalTokens != 26 {
		t.Errorf("usage %+v", got.Usage)
	}
}

// TestOpenAIGoStreamError checks that a failed stream reaches openai-go as
// an error event carrying the code and the request id.
func TestOpenAIGoStreamError(t *testing.T) {
	e := NewEncoder(testMeta, WithRequestID("req_9"))
	out := e.Encode(nil, llm.Event{Kind: llm.EventText, Text: "partial"})
	out = e.Fail(out, &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: "the upstream failed"})
	stream := serve(t, "text/event-stream", out).Responses.NewStreaming(context.Background(), sdkParams)
	var got responses.ResponseErrorEvent
	for stream.Next() {
		if ev, ok := stream.Current().AsAny().(responses.ResponseErrorEvent); ok {
			got = ev
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := "the upstream failed (request id: req_9)"
	if got.Code != "upstream_error" || got.Message != want {
		t.Errorf("error event code %q message %q", got.Code, got.Message)
	}
}

// TestOpenAIGoErrorBody checks the non-stream error body reaches openai-go
// as an *openai.Error with status, code and param.
func TestOpenAIGoErrorBody(t *testing.T) {
	e := invalid("store", "store: true is not supported")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteError(w, e, "req_2")
	}))
	defer srv.Close()
	c := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("k"), option.WithMaxRetries(0))
	_, err := c.Responses.New(context.Background(), sdkParams)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not *openai.Error", err)
	}
	got := []any{apiErr.StatusCode, apiErr.Code, apiErr.Param, apiErr.Type, strings.HasSuffix(apiErr.Message, "(request id: req_2)")}
	want := []any{400, "invalid_request", "store", "invalid_request_error", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("api error (-want +got):\n%s", diff)
	}
}
