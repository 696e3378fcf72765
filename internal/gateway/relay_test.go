package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/store"
)

const hello = `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`

// Every bad input gets a clear OpenAI-shaped error with the right status and
// a request id, and changes nothing.
func TestErrors(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	st := e.g.Store

	// A revoked key, a suspended account, and keys with limits.
	carol, _ := st.CreateUser(ctx, "carol")
	if _, _, err := st.Credit(ctx, carol.ID, store.EntryTopUp, tenUSD, "t", ""); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, l store.KeyLimits) string {
		key := "sk-th-test-" + name + strings.Repeat("0", 30-len(name))
		if _, err := st.CreateKey(ctx, carol.ID, name, hashOf(key), key[:12], l); err != nil {
			t.Fatal(err)
		}
		return key
	}
	past := time.Now().Add(-time.Hour)
	revoked := mk("revoked", store.KeyLimits{})
	expired := mk("expired", store.KeyLimits{ExpiresAt: &past})
	onlyCheap := mk("onlycheap", store.KeyLimits{AllowedModels: []string{"cheap"}})
	farAway := mk("faraway", store.KeyLimits{AllowedIPs: []string{"203.0.113.0/24"}})
	local := mk("local", store.KeyLimits{AllowedIPs: []string{"127.0.0.1"}})
	capped := mk("capped", store.KeyLimits{SpendLimit: 1})
	keys, _ := st.ListKeys(ctx, carol.ID, revoked[:12])
	if err := st.RevokeKey(ctx, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	dave, _ := st.CreateUser(ctx, "dave")
	daveKey := "sk-th-test-dave-000000000000000000000"
	if _, err := st.CreateKey(ctx, dave.ID, "d", hashOf(daveKey), daveKey[:12], store.KeyLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserStatus(ctx, dave.ID, store.UserSuspended); err != nil {
		t.Fatal(err)
	}
	if err := e.g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	before := snapshotMoney(t, e)

	huge := `{"model":"gpt-5","messages":[{"role":"user","content":"` + strings.Repeat("a", 33<<20) + `"}]}`
	tests := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"no key", "", hello, 401, "missing_api_key"},
		{"unknown key", "sk-th-nope-0000000000000000000000000", hello, 401, "invalid_api_key"},
		{"revoked key", revoked, hello, 401, "invalid_api_key"},
		{"expired key", expired, hello, 401, "expired_api_key"},
		{"suspended account", daveKey, hello, 403, "account_suspended"},
		{"model not allowed for key", onlyCheap, hello, 403, "model_not_allowed"},
		{"ip not allowed", farAway, hello, 403, "ip_not_allowed"},
		{"unknown model", aliceKey, `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found"},
		{"offline model", aliceKey, `{"model":"offline-model","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found"},
		{"malformed json", aliceKey, `{"model":"gpt-5",`, 400, "invalid_json"},
		{"missing messages", aliceKey, `{"model":"gpt-5"}`, 400, "missing_required_parameter"},
		{"missing model", aliceKey, `{"messages":[{"role":"user","content":"hi"}]}`, 400, "missing_required_parameter"},
		{"oversized body", aliceKey, huge, 413, "request_too_large"},
		{"insufficient balance", bobKey, `{"model":"gpt-5","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`, 402, "insufficient_balance"},
		{"key spend limit", capped, hello, 402, "key_spend_limit"},
		{"upstream rejects the request", aliceKey, `{"model":"gpt-5","messages":[{"role":"user","content":"[[mock:status=400]]"}]}`, 400, ""},
		{"upstream fails", aliceKey, `{"model":"gpt-5","messages":[{"role":"user","content":"[[mock:status=500]]"}]}`, 502, "upstream_error"},
		{"upstream overloaded", aliceKey, `{"model":"gpt-5","messages":[{"role":"user","content":"[[mock:status=429]]"}]}`, 429, "upstream_rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.post("/v1/chat/completions", tt.key, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			g := gjson.ParseBytes(body)
			if !g.Get("error.message").Exists() || !g.Get("error.type").Exists() {
				t.Fatalf("not an OpenAI error body: %s", body)
			}
			if tt.code != "" && g.Get("error.code").Str != tt.code {
				t.Fatalf("code %q, want %q (%s)", g.Get("error.code").Str, tt.code, body)
			}
			id := resp.Header.Get("X-Request-Id")
			if id == "" || !strings.Contains(g.Get("error.message").Str, id) {
				t.Fatalf("request id %q missing from %s", id, body)
			}
		})
	}
	// Refused requests and the three that failed upstream changed no
	// balance, so they left no ledger entry (with SQLite a hold lives in
	// memory; the database path's reserve and refund pair is tested on
	// PostgreSQL by the concurrency test).
	if diff := cmp.Diff(before, snapshotMoney(t, e)); diff != "" {
		t.Fatalf("a refused or failed request changed money (-before +after):\n%s", diff)
	}
	// The allowed IP and an allowed model do work.
	if resp, body := e.post("/v1/chat/completions", local, hello); resp.StatusCode != 200 {
		t.Fatalf("local key: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.post("/v1/chat/completions", onlyCheap, `{"model":"cheap","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("allowed model: %d %s", resp.StatusCode, body)
	}
	// The openai-go SDK surfaces these as its own error type.
	_, err := e.client(bobKey).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(1000)})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 402 || apiErr.Code != "insufficient_balance" {
		t.Fatalf("SDK error %v", err)
	}
}

// snapshotMoney records every user's balance and ledger length.
func snapshotMoney(t *testing.T, e *env) map[string][2]int64 {
	t.Helper()
	e.flushLogs()
	ctx := context.Background()
	users, err := e.g.Store.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int64{}
	for _, u := range users {
		entries, err := e.g.Store.Entries(ctx, u.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out[u.Name] = [2]int64{int64(u.Balance), int64(len(entries))}
	}
	return out
}

// The request is forwarded losslessly: only the model name and the usage
// option change; unknown fields reach the upstream untouched.
func TestPassThroughIsLossless(t *testing.T) {
	e := newEnv(t, "sqlite")
	body := `{"model":"gpt-5-mapped","messages":[{"role":"user","content":"hi"}],"stream":true,` +
		`"temperature":0,"seed":42,"future_knob":{"nested":[1,"two",null,{"x":true}]},"metadata":{"k":"v"}}`
	resp, raw := e.post("/v1/chat/completions", aliceKey, body)
	if resp.StatusCode != 200 || !strings.Contains(string(raw), "data: [DONE]") {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), `"choices":[]`) {
		t.Fatal("the usage chunk the gateway asked for leaked to a client that did not")
	}
	var want, got map[string]any
	_ = json.Unmarshal([]byte(body), &want)
	if err := json.Unmarshal(e.upstream.body("/v1/chat/completions"), &got); err != nil {
		t.Fatal(err)
	}
	want["model"] = "gpt-5-2025-08-07"
	want["stream_options"] = map[string]any{"include_usage": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("upstream body (-want +got):\n%s", diff)
	}
}

// Ark and generic OpenAI-compatible channels are reached on their own
// paths with their own keys, and billed from their usage.
func TestOtherOpenAIProtocolUpstreams(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	tests := []struct {
		model, path, auth, upstreamModel string
		price                            billing.Price
	}{
		{"doubao-seed", "/api/v3/chat/completions", "Bearer upstream-ark-key", "doubao-seed-1-6-250615", billing.Price{Input: 110_000, Output: 1_100_000}},
		{"deepseek-chat", "/v1/chat/completions", "Bearer upstream-compatible-key", "deepseek-chat", billing.Price{Input: 270_000, Output: 1_100_000}},
	}
	spent := billing.Micros(0)
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				var u openai.CompletionUsage
				params := openai.ChatCompletionNewParams{Model: tt.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi there")}}
				if stream {
					params.StreamOptions.IncludeUsage = openai.Bool(true)
					s := e.client(aliceKey).Chat.Completions.NewStreaming(ctx, params)
					var acc openai.ChatCompletionAccumulator
					for s.Next() {
						acc.AddChunk(s.Current())
					}
					if err := s.Err(); err != nil {
						t.Fatal(err)
					}
					u = acc.Usage
				} else {
					r, err := e.client(aliceKey).Chat.Completions.New(ctx, params)
					if err != nil {
						t.Fatal(err)
					}
					u = r.Usage
				}
				if u.CompletionTokens == 0 {
					t.Fatalf("no usage (stream=%v)", stream)
				}
				spent += tt.price.Cost(usageOf(u))
				if got := e.upstream.authorization(tt.path); got != tt.auth {
					t.Fatalf("upstream auth %q", got)
				}
				if got := gjson.GetBytes(e.upstream.body(tt.path), "model").Str; got != tt.upstreamModel {
					t.Fatalf("upstream model %q", got)
				}
			}
		})
	}
	e.checkLedger("alice", tenUSD-spent)
}

func TestModelsList(t *testing.T) {
	e := newEnv(t, "sqlite")
	page, err := e.client(aliceKey).Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	want := []string{"cheap", "claude-sonnet", "deepseek-chat", "doubao-seed", "gemini-flash", "gpt-5", "gpt-5-codex", "gpt-5-mapped"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Fatalf("models (-want +got):\n%s", diff)
	}
	m, err := e.client(aliceKey).Models.Get(context.Background(), "doubao-seed")
	if err != nil || m.ID != "doubao-seed" {
		t.Fatalf("get model %v %v", m, err)
	}
	if _, err := e.client(aliceKey).Models.Get(context.Background(), "offline-model"); err == nil {
		t.Fatal("offline model listed")
	}
	if _, err := e.client("sk-th-wrong-000000000000000000000").Models.List(context.Background()); err == nil {
		t.Fatal("models listed without a valid key")
	}
}

// A stream the upstream cuts mid-way ends with an error event for the
// client, never a clean finish, and is billed only for what was delivered,
// marked as estimated.
func TestStreamCutByUpstream(t *testing.T) {
	e := newEnv(t, "sqlite")
	body := `{"model":"gpt-5","stream":true,"messages":[{"role":"user","content":"[[mock:cut=3]] hello"}]}`
	resp, raw := e.post("/v1/chat/completions", aliceKey, body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	s := string(raw)
	if strings.Contains(s, "[DONE]") || !strings.Contains(s, `"code":"upstream_stream_broken"`) {
		t.Fatalf("stream did not end with an error event:\n%s", s)
	}
	// The openai-go SDK raises it as an error.
	st := e.client(aliceKey).Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("[[mock:cut=3]] hello")}})
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("SDK saw a clean end of a broken stream")
	}
	row := e.lastLog("alice")
	if row.Source != llm.SourceEstimated || row.Usage.Output != 3 || row.Cost == 0 {
		t.Fatalf("cut stream billed as %+v", row)
	}
}

// A failed call costs nothing, and a client that leaves mid-stream pays
// for what was delivered.
func TestClientGoneMidStream(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{ChunkDelay: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := e.client(aliceKey).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "gpt-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("go slowly")}})
	got := 0
	for st.Next() {
		if len(st.Current().Choices) > 0 && st.Current().Choices[0].Delta.Content != "" {
			got++
			if got == 2 {
				cancel()
			}
		}
	}
	e.flushLogs()
	// finish runs when the handler notices; wait for the row deterministically.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, _ := e.g.Store.RequestLogs(context.Background(), store.LogFilter{UserID: e.user("alice").ID})
		if len(rows) == 1 {
			row := rows[0]
			if row.ErrorClass != "client_gone" || row.Source != llm.SourceEstimated || row.Cost == 0 {
				t.Fatalf("row %+v", row)
			}
			e.checkLedger("alice", tenUSD-row.Cost)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no log row for the abandoned stream")
		}
		e.flushLogs()
	}
}
