package gateway_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/store"
)

var gpt5Price = billing.Price{Input: 1_250_000, Output: 10_000_000, CachedInput: 125_000}

const tenUSD = billing.Micros(10_000_000)

func (e *env) client(key string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(e.srv.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	return &c
}

// usageOf converts what an OpenAI client sees into the gateway's disjoint kinds.
func usageOf(u openai.CompletionUsage) llm.Usage {
	return llm.Usage{
		Input:       u.PromptTokens - u.PromptTokensDetails.CachedTokens,
		CachedInput: u.PromptTokensDetails.CachedTokens,
		Output:      u.CompletionTokens - u.CompletionTokensDetails.ReasoningTokens,
		Reasoning:   u.CompletionTokensDetails.ReasoningTokens,
	}
}

func (e *env) user(name string) store.User {
	e.t.Helper()
	u, err := e.g.Store.GetUserByName(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// checkLedger asserts the user's balance and that it equals their ledger sum.
func (e *env) checkLedger(name string, want billing.Micros) {
	e.t.Helper()
	e.flushLogs()
	u := e.user(name)
	sum, err := e.g.Store.LedgerSum(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if u.Balance != want || sum != want {
		e.t.Fatalf("%s: balance %s, ledger sum %s; want %s", name, u.Balance, sum, want)
	}
}

// lastLog returns the newest request log row of a user.
func (e *env) lastLog(name string) store.RequestLog {
	e.t.Helper()
	e.flushLogs()
	rows, err := e.g.Store.RequestLogs(context.Background(), store.LogFilter{UserID: e.user(name).ID, Limit: 1})
	if err != nil || len(rows) == 0 {
		e.t.Fatalf("no request log row: %v", err)
	}
	return rows[0]
}

func TestChatCompletionWithOpenAISDK(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		ctx := context.Background()
		c := e.client(aliceKey)
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-5",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hello there, gateway")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" {
			t.Fatalf("unexpected answer: %+v", resp.Choices)
		}
		if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
			t.Fatalf("no usage: %+v", resp.Usage)
		}
		cost := gpt5Price.Cost(usageOf(resp.Usage))
		if cost == 0 {
			t.Fatal("zero cost")
		}
		e.checkLedger("alice", tenUSD-cost)

		row := e.lastLog("alice")
		want := store.RequestLog{Model: "gpt-5", Usage: usageOf(resp.Usage), Source: llm.SourceUpstream, Cost: cost, Status: 200, KeyPrefix: "sk-th-test-a", Stream: false}
		got := store.RequestLog{Model: row.Model, Usage: row.Usage, Source: row.Source, Cost: row.Cost, Status: row.Status, KeyPrefix: row.KeyPrefix, Stream: row.Stream}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("log row (-want +got):\n%s", diff)
		}
		if row.RequestID == "" || row.ChannelID == 0 || row.ClientIP != "127.0.0.1" || row.LatencyMS <= 0 {
			t.Fatalf("log row metadata missing: %+v", row)
		}
		// The client's key never reaches the upstream; the channel's does.
		if got := e.upstream.authorization("/v1/chat/completions"); got != "Bearer upstream-openai-key" {
			t.Fatalf("upstream saw Authorization %q", got)
		}
	})
}

func TestChatCompletionStreamWithOpenAISDK(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, clientAsksUsage := range []bool{true, false} {
			name := "gateway adds usage"
			if clientAsksUsage {
				name = "client asks usage"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, backend)
				ctx := context.Background()
				c := e.client(aliceKey)
				params := openai.ChatCompletionNewParams{
					Model:    "gpt-5",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Stream me something")},
				}
				if clientAsksUsage {
					params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)}
				}
				stream := c.Chat.Completions.NewStreaming(ctx, params)
				var acc openai.ChatCompletionAccumulator
				chunks, usageOnly := 0, 0
				for stream.Next() {
					ch := stream.Current()
					acc.AddChunk(ch)
					chunks++
					if len(ch.Choices) == 0 {
						usageOnly++
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				if acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason != "stop" {
					t.Fatalf("stream result %+v", acc.Choices)
				}
				if clientAsksUsage != (usageOnly == 1) {
					t.Fatalf("client asked usage=%v but saw %d usage-only chunks", clientAsksUsage, usageOnly)
				}
				// The same request without streaming tells the usage the
				// stream must have been billed for.
				ref, err := c.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if clientAsksUsage {
					if diff := cmp.Diff(usageOf(ref.Usage), usageOf(acc.Usage)); diff != "" {
						t.Fatalf("stream usage differs from non-stream (-want +got):\n%s", diff)
					}
				}
				cost := gpt5Price.Cost(usageOf(ref.Usage))
				e.checkLedger("alice", tenUSD-2*cost)
				e.flushLogs()
				rows, err := e.g.Store.RequestLogs(ctx, store.LogFilter{UserID: e.user("alice").ID})
				if err != nil || len(rows) != 2 {
					t.Fatalf("rows %d, %v", len(rows), err)
				}
				// The stream's row may be written after the next request's:
				// its handler settles after the client has seen [DONE].
				streamed := rows[0]
				if !streamed.Stream {
					streamed = rows[1]
				}
				if !streamed.Stream || streamed.Source != llm.SourceUpstream || streamed.Cost != cost || streamed.TTFTMS <= 0 {
					t.Fatalf("stream log row %+v", streamed)
				}
			})
		}
	})
}
