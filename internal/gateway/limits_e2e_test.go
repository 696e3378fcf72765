package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/store"
)

// limitsConfig is a gateway with one model on two channels (the second a
// fallback) and the given extra YAML (limit defaults).
func limitsConfig(extra, channelLimits string) func(mockURL, dsn string) string {
	return func(mockURL, dsn string) string {
		return fmt.Sprintf(`
database: %q
%s
channels:
  - name: capped
    type: openai
    base_url: %s
    keys: ["key-capped"]
    models: [lim]
    %s
  - name: spare
    type: openai
    base_url: %s
    keys: ["key-spare"]
    models: [lim]
    priority: 1
models:
  - name: lim
    price: {input: 1, output: 2}
users:
  - name: alice
    balance: 10.00
    keys: [%q]
`, dsn, extra, mockURL, channelLimits, mockURL, aliceKey)
	}
}

// burst sends n identical requests at once and returns the answers'
// statuses and bodies.
func (e *env) burst(n int, path string, headers map[string]string, body string) ([]int, [][]byte, []http.Header) {
	statuses, bodies, hdrs := make([]int, n), make([][]byte, n), make([]http.Header, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			start.Wait()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses[i], bodies[i], hdrs[i] = resp.StatusCode, b, resp.Header
		}()
	}
	start.Done()
	done.Wait()
	return statuses, bodies, hdrs
}

func count(statuses []int, want int) int {
	n := 0
	for _, s := range statuses {
		if s == want {
			n++
		}
	}
	return n
}

var bearer = map[string]string{"authorization": "Bearer " + aliceKey}

const limHello = `{"model":"lim","messages":[{"role":"user","content":"hello"}]}`

func TestRateLimitsAreExactUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvConfig(t, backend, mock.Options{Chunks: 3}, limitsConfig("limits: {key: {rpm: 50}}", ""))
		statuses, bodies, headers := e.burst(200, "/v1/chat/completions", bearer, limHello)
		if ok, limited := count(statuses, 200), count(statuses, 429); ok != 50 || limited != 150 {
			t.Fatalf("200 concurrent requests under rpm 50: %d admitted, %d refused", ok, limited)
		}
		for i, s := range statuses {
			if s != 429 {
				continue
			}
			h := headers[i]
			if gjson.GetBytes(bodies[i], "error.code").Str != "rate_limit_exceeded" || h.Get("Retry-After") == "" ||
				h.Get("X-Ratelimit-Limit-Requests") != "50" || h.Get("X-Ratelimit-Remaining-Requests") != "0" {
				t.Fatalf("refusal: %v %s", h, bodies[i])
			}
			break
		}
		// Exactly the admitted requests were billed, once each.
		e.flushLogs()
		rows := e.logRows(t, "alice")
		billed := 0
		for _, r := range rows {
			if r.Status == 200 && r.Cost > 0 {
				billed++
			}
		}
		if billed != 50 {
			t.Fatalf("%d requests billed, want 50", billed)
		}
	})
}

func TestRateLimitsInEachProtocol(t *testing.T) {
	e := newEnvConfig(t, "sqlite", mock.Options{Chunks: 3}, limitsConfig("limits: {user: {rpm: 1}}", ""))
	if resp, body := e.post("/v1/chat/completions", aliceKey, limHello); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	tests := []struct {
		name, path, body string
		headers          map[string]string
		check            func(body []byte) bool
	}{
		{"openai", "/v1/responses", `{"model":"lim","input":"hi"}`, bearer,
			func(b []byte) bool { return gjson.GetBytes(b, "error.type").Str == "rate_limit_error" }},
		{"anthropic", "/v1/messages", `{"model":"lim","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"x-api-key": aliceKey},
			func(b []byte) bool { return gjson.GetBytes(b, "error.type").Str == "rate_limit_error" }},
		{"gemini", "/v1beta/models/lim:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
			map[string]string{"x-goog-api-key": aliceKey},
			func(b []byte) bool { return gjson.GetBytes(b, "error.status").Str == "RESOURCE_EXHAUSTED" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.postHeaders(tt.path, tt.headers, tt.body)
			if resp.StatusCode != 429 || !tt.check(body) || resp.Header.Get("Retry-After") == "" ||
				resp.Header.Get("X-Ratelimit-Limit-Requests") != "1" {
				t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
			}
		})
	}
}

// TestTokenLimitIsCorrectedByUsage: a request reserves its worst case
// (prompt estimate plus max_tokens) against the tokens-per-minute limit and
// gives back what it did not use when it ends, so sequential requests whose
// worst cases would not fit together all pass.
func TestTokenLimitIsCorrectedByUsage(t *testing.T) {
	e := newEnvConfig(t, "sqlite", mock.Options{Chunks: 3}, limitsConfig("limits: {key: {tpm: 2000}}", ""))
	body := `{"model":"lim","max_tokens":900,"messages":[{"role":"user","content":"hello"}]}`
	for i := range 10 {
		if resp, out := e.post("/v1/chat/completions", aliceKey, body); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, out)
		}
	}
	// At once, the worst cases do collide: two fit in 2000, the rest wait.
	statuses, _, _ := e.burst(6, "/v1/chat/completions", bearer,
		`{"model":"lim","max_tokens":900,"messages":[{"role":"user","content":"hello [[mock:delay=300ms]]"}]}`)
	if ok := count(statuses, 200); ok != 1 && ok != 2 {
		t.Fatalf("%d of 6 simultaneous 900-token requests admitted under tpm 2000 after 10 small ones", ok)
	}
}

func TestConcurrencyLimitAndChannelCap(t *testing.T) {
	e := newEnvConfig(t, "sqlite", mock.Options{Chunks: 3},
		limitsConfig("limits: {user: {concurrent: 2}}", "limits: {concurrent: 1}"))
	slow := `{"model":"lim","messages":[{"role":"user","content":"hello [[mock:delay=300ms]]"}]}`
	statuses, bodies, _ := e.burst(10, "/v1/chat/completions", bearer, slow)
	if ok := count(statuses, 200); ok != 2 {
		t.Fatalf("%d of 10 simultaneous requests admitted under a concurrency limit of 2", ok)
	}
	for i, s := range statuses {
		if s == 429 && !strings.Contains(gjson.GetBytes(bodies[i], "error.message").Str, "concurrent") {
			t.Fatalf("refusal: %s", bodies[i])
		}
	}
	// The two admitted ran on different channels: the first channel takes
	// one request at a time.
	e.flushLogs()
	channels := map[int64]int{}
	for _, r := range e.logRows(t, "alice") {
		if r.Status == 200 {
			channels[r.ChannelID]++
		}
	}
	if len(channels) != 2 {
		t.Fatalf("admitted requests by channel: %v", channels)
	}
	// Slots are given back: the next request passes.
	if resp, out := e.post("/v1/chat/completions", aliceKey, limHello); resp.StatusCode != 200 {
		t.Fatalf("after the burst: %d %s", resp.StatusCode, out)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t, "sqlite")
	if resp, body := e.post("/v1/chat/completions", aliceKey, `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get(""); status != 401 {
		t.Fatalf("metrics without the admin token: %d", status)
	}
	status, text := get("admin-secret-token")
	if status != 200 {
		t.Fatalf("%d", status)
	}
	for _, want := range []string{
		`tokenhot_requests_total{channel="openai",model="gpt-5",status_class="2xx",stream="false",surface="openai-chat"} 1`,
		`tokenhot_upstream_attempts_total{channel="openai",outcome="ok"} 1`,
		`tokenhot_tokens_total{kind="output",model="gpt-5"}`,
		`tokenhot_request_duration_seconds_count{model="gpt-5",surface="openai-chat"} 1`,
		`tokenhot_inflight_requests 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// logRows returns a user's request log rows (newest first).
func (e *env) logRows(t *testing.T, name string) []store.RequestLog {
	t.Helper()
	rows, err := e.g.Store.RequestLogs(context.Background(), store.LogFilter{UserID: e.user(name).ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
