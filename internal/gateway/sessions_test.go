package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/mock"
)

// mockSignature is the thinking signature the mock's Anthropic upstream
// signs every thinking block with.
const mockSignature = "bW9jay10aGlua2luZy1zaWduYXR1cmU="

// TestClaudeCodeSession plays a Claude Code style session — streamed
// Messages with thinking, tools, a beta header, then the tool result and a
// follow-up — against a model of every provider.
func TestClaudeCodeSession(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{Chunks: 5})
	for _, model := range []string{"claude-sonnet", "gpt-5", "gemini-flash", "doubao-seed"} {
		t.Run(model, func(t *testing.T) {
			c := anthropic.NewClient(aoption.WithBaseURL(e.srv.URL), aoption.WithAPIKey(aliceKey), aoption.WithMaxRetries(0),
				aoption.WithHeader("anthropic-beta", "interleaved-thinking-2025-05-14"))
			tools := []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
				Properties: map[string]any{"command": map[string]any{"type": "string"}}, Required: []string{"command"}}, "Bash")}
			params := anthropic.MessageNewParams{
				Model: anthropic.Model(model), MaxTokens: 8192,
				System:   []anthropic.TextBlockParam{{Text: "You are Claude Code."}, {Text: "Use tools when needed."}},
				Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
				Tools:    tools,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("List the files [[mock:tool]]"))},
			}
			turn := func() anthropic.Message {
				t.Helper()
				s := c.Messages.NewStreaming(context.Background(), params)
				var acc anthropic.Message
				for s.Next() {
					if err := acc.Accumulate(s.Current()); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				return acc
			}
			first := turn()
			if first.StopReason != "tool_use" {
				t.Fatalf("turn 1 stop %q, content %+v", first.StopReason, first.Content)
			}
			var call anthropic.ToolUseBlock
			for _, b := range first.Content {
				if tu, ok := b.AsAny().(anthropic.ToolUseBlock); ok {
					call = tu
				}
			}
			if call.Name != "Bash" || call.ID == "" || !strings.Contains(string(call.Input), `"command"`) {
				t.Fatalf("tool call %+v", call)
			}
			params.Messages = append(params.Messages, first.ToParam(),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock(call.ID, "main.go go.mod", false)))
			second := turn()
			if second.StopReason != "end_turn" || textOf(second) != "Tokenhot mock reply: the quick" {
				t.Fatalf("turn 2: stop %q text %q", second.StopReason, textOf(second))
			}
			if model == "claude-sonnet" {
				// The thinking block went back to Anthropic with its signature.
				if sent := string(e.upstream.body("/v1/messages")); !strings.Contains(sent, mockSignature) {
					t.Errorf("signature lost on the way back: %s", sent)
				}
			}
			params.Messages = append(params.Messages, second.ToParam(),
				anthropic.NewUserMessage(anthropic.NewTextBlock("Thanks")))
			if third := turn(); third.StopReason != "end_turn" || textOf(third) == "" {
				t.Fatalf("turn 3: stop %q", third.StopReason)
			}
			if row := e.lastLog("alice"); row.Status != 200 || row.Cost <= 0 {
				t.Fatalf("log row %+v", row)
			}
		})
	}
}

func textOf(m anthropic.Message) string {
	var s string
	for _, b := range m.Content {
		if tb, ok := b.AsAny().(anthropic.TextBlock); ok {
			s += tb.Text
		}
	}
	return s
}

// sseEvents reads a Responses stream into its events' data payloads.
func sseEvents(t *testing.T, resp *http.Response) []gjson.Result {
	t.Helper()
	var out []gjson.Result
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, gjson.Parse(d))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCodexSession plays a Codex CLI style session — streamed Responses
// with store:false, reasoning with encrypted content, a function call, its
// output and the reasoning item replayed — against every provider.
func TestCodexSession(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{Chunks: 5})
	for _, model := range []string{"gpt-5", "claude-sonnet", "gemini-flash", "deepseek-chat"} {
		t.Run(model, func(t *testing.T) {
			input := []any{map[string]any{"type": "message", "role": "user",
				"content": []any{map[string]any{"type": "input_text", "text": "Run the tests [[mock:tool]]"}}}}
			turn := func() []gjson.Result {
				t.Helper()
				body, _ := json.Marshal(map[string]any{
					"model": model, "instructions": "You are Codex.", "input": input, "stream": true, "store": false,
					"reasoning": map[string]any{"effort": "medium", "summary": "auto"},
					"include":   []string{"reasoning.encrypted_content"}, "parallel_tool_calls": false,
					"tools": []any{map[string]any{"type": "function", "name": "shell", "strict": false,
						"parameters": map[string]any{"type": "object", "properties": map[string]any{
							"command": map[string]any{"type": "string"}}, "required": []string{"command"}}}},
				})
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/responses", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+aliceKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				return sseEvents(t, resp)
			}
			completed := func(evs []gjson.Result) gjson.Result {
				t.Helper()
				for i, ev := range evs {
					if ev.Get("sequence_number").Int() != int64(i) {
						t.Fatalf("event %d has sequence_number %d", i, ev.Get("sequence_number").Int())
					}
				}
				if len(evs) == 0 || evs[0].Get("type").Str != "response.created" {
					t.Fatal("the stream does not start with response.created")
				}
				last := evs[len(evs)-1]
				if last.Get("type").Str != "response.completed" {
					t.Fatalf("last event %s", last.Raw)
				}
				return last.Get("response")
			}
			first := completed(turn())
			var call gjson.Result
			for _, item := range first.Get("output").Array() {
				switch item.Get("type").Str {
				case "function_call":
					call = item
				}
				input = append(input, json.RawMessage(item.Raw)) // Codex replays every output item
			}
			if call.Get("name").Str != "shell" || call.Get("call_id").Str == "" {
				t.Fatalf("no function call in %s", first.Raw)
			}
			input = append(input, map[string]any{"type": "function_call_output", "call_id": call.Get("call_id").Str,
				"output": "ok: 12 passed"})
			second := completed(turn())
			var text string
			for _, item := range second.Get("output").Array() {
				if item.Get("type").Str == "message" {
					text += item.Get("content.0.text").Str
				}
			}
			if text != "Tokenhot mock reply: the quick" {
				t.Fatalf("turn 2 text %q in %s", text, second.Raw)
			}
			if model == "claude-sonnet" {
				if sent := string(e.upstream.body("/v1/messages")); !strings.Contains(sent, mockSignature) {
					t.Errorf("the reasoning item's encrypted content did not reach Anthropic as a signature: %s", sent)
				}
			}
			if second.Get("usage.output_tokens").Int() <= 0 {
				t.Errorf("no usage in %s", second.Raw)
			}
		})
	}
}
