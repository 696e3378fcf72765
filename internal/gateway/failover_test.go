package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/mock"
)

// closedURL is an address nothing listens on: connecting fails at once.
func closedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// haConfig serves the model "ha" from three channels: two in the first
// tier (one unreachable, one with two keys), a fallback in the second.
func haConfig(dead string) func(mockURL, dsn string) string {
	return func(mockURL, dsn string) string {
		return fmt.Sprintf(`
database: %q
upstream:
  first_byte_timeout: 300ms
routing:
  max_attempts: 4
  retry_timeout: 10s
  breaker: {failures: 2, window: 1m, cooldown: 1m, max_cooldown: 5m}
channels:
  - name: primary
    type: openai
    base_url: %s
    keys: ["key-primary-1", "key-primary-2"]
    models: [ha]
    priority: 0
    weight: 1000000
  - name: unreachable
    type: openai
    base_url: %s
    keys: ["key-dead"]
    models: [ha]
    priority: 0
    weight: 1
  - name: fallback
    type: anthropic
    base_url: %s
    keys: ["key-fallback"]
    models: [ha]
    priority: 1
models:
  - name: ha
    price: {input: 1, output: 2}
users:
  - name: alice
    balance: 10.00
    keys: [%q]
`, dsn, mockURL, dead, mockURL, aliceKey)
	}
}

func (e *env) channelHealth(t *testing.T, name string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/admin/v1/channels/"+name+"/health", nil)
	req.Header.Set("Authorization", "Bearer admin-secret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Keys []struct{ Key, State string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %d %v", resp.StatusCode, err)
	}
	states := map[string]string{}
	for _, k := range out.Keys {
		states[k.Key] = k.State
	}
	return states
}

func stateCounts(states map[string]string) map[string]int {
	n := map[string]int{}
	for _, s := range states {
		n[s]++
	}
	return n
}

// TestFailover injects faults into upstream keys and checks that the client
// sees one clean answer, that failed attempts cost nothing and that nothing
// is billed twice.
func TestFailover(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvConfig(t, backend, mock.Options{Chunks: 4}, haConfig(closedURL(t)))
		ctx := context.Background()
		c := e.client(aliceKey)
		ask := func(stream bool) (string, error) {
			p := openai.ChatCompletionNewParams{Model: "ha", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}
			if !stream {
				r, err := c.Chat.Completions.New(ctx, p)
				if err != nil {
					return "", err
				}
				return r.Choices[0].Message.Content, nil
			}
			s := c.Chat.Completions.NewStreaming(ctx, p)
			var acc openai.ChatCompletionAccumulator
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if err := s.Err(); err != nil {
				return "", err
			}
			return acc.Choices[0].Message.Content, nil
		}
		const answer = "Tokenhot mock reply: the"
		spent := billing.Micros(0)
		charge := func(t *testing.T, wantChannel string) {
			t.Helper()
			row := e.lastLog("alice")
			if row.Status != 200 || row.Cost <= 0 {
				t.Fatalf("log row %+v", row)
			}
			if wantChannel != "" {
				ch, err := e.g.Store.GetChannelByName(ctx, wantChannel)
				if err != nil || row.ChannelID != ch.ID {
					t.Fatalf("served by channel %d, want %s (%v)", row.ChannelID, wantChannel, err)
				}
			}
			spent += row.Cost
		}

		t.Run("500s on every primary key fail over to the fallback", func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				e.mock.Reset()
				for _, k := range []string{"key-primary-1", "key-primary-2"} {
					e.mock.SetFault(k, mock.Fault{Status: 500, Times: 1})
				}
				got, err := ask(stream)
				if err != nil || got != answer {
					t.Fatalf("stream=%v: %q, %v", stream, got, err)
				}
				charge(t, "")
			}
			e.enableAll(t, "primary")
		})
		t.Run("429 with Retry-After rests the key and fails over", func(t *testing.T) {
			e.mock.Reset()
			e.mock.SetFault("key-primary-1", mock.Fault{Status: 429, RetryAfter: 30 * time.Second})
			e.mock.SetFault("key-primary-2", mock.Fault{Status: 429, RetryAfter: 30 * time.Second})
			if got, err := ask(false); err != nil || got != answer {
				t.Fatalf("%q, %v", got, err)
			}
			charge(t, "fallback")
			states := e.channelHealth(t, "primary")
			if stateCounts(states)["open"] != 2 {
				t.Fatalf("primary keys after 429s: %v", states)
			}
			// While they rest, requests go straight to the fallback.
			before := e.mock.Stats("key-primary-1").Requests + e.mock.Stats("key-primary-2").Requests
			if got, err := ask(true); err != nil || got != answer {
				t.Fatalf("%q, %v", got, err)
			}
			charge(t, "fallback")
			if after := e.mock.Stats("key-primary-1").Requests + e.mock.Stats("key-primary-2").Requests; after != before {
				t.Fatalf("a resting key was called (%d → %d)", before, after)
			}
			e.enableAll(t, "primary")
		})
		t.Run("a refused credential takes the key out until an operator brings it back", func(t *testing.T) {
			e.mock.Reset()
			e.mock.SetFault("key-primary-1", mock.Fault{Status: 401})
			for range 4 {
				if got, err := ask(false); err != nil || got != answer {
					t.Fatalf("%q, %v", got, err)
				}
				charge(t, "")
			}
			if got := e.channelHealth(t, "primary")[keyID("key-primary-1")]; got != "disabled" {
				t.Fatalf("refused key is %q", got)
			}
			if n := e.mock.Stats("key-primary-1").Requests; n != 1 {
				t.Fatalf("the refused key was called %d times", n)
			}
			if !strings.Contains(e.logs.String(), `"to":"disabled"`) {
				t.Fatal("the key's removal is not in the logs")
			}
			e.mock.Reset()
			e.enableAll(t, "primary")
			if got := e.channelHealth(t, "primary")[keyID("key-primary-1")]; got != "closed" {
				t.Fatalf("after enable: %q", got)
			}
		})
		t.Run("slow first byte times out and fails over", func(t *testing.T) {
			e.mock.Reset()
			e.mock.SetFault("key-primary-1", mock.Fault{FirstByteDelay: 2 * time.Second, Times: 1})
			e.mock.SetFault("key-primary-2", mock.Fault{FirstByteDelay: 2 * time.Second, Times: 1})
			if got, err := ask(false); err != nil || got != answer {
				t.Fatalf("%q, %v", got, err)
			}
			charge(t, "")
			e.enableAll(t, "primary")
		})
		t.Run("a caller error is not retried", func(t *testing.T) {
			e.mock.Reset()
			e.mock.SetFault("", mock.Fault{Status: 400})
			_, err := ask(false)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
				t.Fatalf("%v", err)
			}
			total := e.mock.Stats("").Requests
			if total != 1 {
				t.Fatalf("a 400 was tried %d times", total)
			}
			e.mock.Reset()
		})
		t.Run("the breaker opens after repeated failures", func(t *testing.T) {
			e.mock.Reset()
			e.mock.SetFault("key-primary-1", mock.Fault{Status: 503})
			e.mock.SetFault("key-primary-2", mock.Fault{Status: 503})
			for range 4 {
				if got, err := ask(false); err != nil || got != answer {
					t.Fatalf("%q, %v", got, err)
				}
				charge(t, "fallback")
			}
			states := e.channelHealth(t, "primary")
			if stateCounts(states)["open"] != 2 {
				t.Fatalf("after repeated 503s: %v", states)
			}
			// The unreachable channel (connection refused) was tried on the
			// way and is out of rotation too.
			if got := e.channelHealth(t, "unreachable")[keyID("key-dead")]; got != "open" {
				t.Fatalf("unreachable channel key: %q", got)
			}
			calls := e.mock.Stats("key-primary-1").Requests + e.mock.Stats("key-primary-2").Requests
			if calls != 4 { // two failures each open both breakers; later requests skip them
				t.Fatalf("open keys were called: %d attempts", calls)
			}
			// A channel test that succeeds closes them again.
			e.mock.Reset()
			res := e.adminPost(t, "/admin/v1/channels/primary/test", "")
			if gjson.Get(res, "keys.#(ok==true)#").Array() == nil || len(gjson.Get(res, "keys.#(ok==true)#").Array()) != 2 {
				t.Fatalf("channel test: %s", res)
			}
			if got := stateCounts(e.channelHealth(t, "primary")); got["closed"] != 2 {
				t.Fatalf("after a good test: %v", got)
			}
		})
		t.Run("everything down: one clean error, nothing billed", func(t *testing.T) {
			e.mock.Reset()
			e.mock.SetFault("", mock.Fault{Status: 502})
			before := e.user("alice").Balance
			_, err := ask(false)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode < 500 {
				t.Fatalf("%v", err)
			}
			e.flushLogs()
			if after := e.user("alice").Balance; after != before {
				t.Fatalf("a failed request cost %s", before-after)
			}
			e.mock.Reset()
			e.enableAll(t, "primary")
			e.enableAll(t, "fallback")
		})
		e.checkLedger("alice", tenUSD-spent)
	})
}

// keyID is the display id of an upstream key, as the admin API shows it.
func keyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "k" + hex.EncodeToString(sum[:4])
}

func (e *env) adminPost(t *testing.T, path, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-secret-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b.String())
	}
	return b.String()
}

// enableAll puts every key of a channel back into rotation.
func (e *env) enableAll(t *testing.T, channel string) {
	t.Helper()
	for key := range e.channelHealth(t, channel) {
		e.adminPost(t, "/admin/v1/channels/"+channel+"/keys/"+key+"/enable", "")
	}
}

// TestScheduledProbeBringsAKeyBack: a key disabled by a refused credential
// returns to rotation by itself once a scheduled channel test succeeds.
func TestScheduledProbeBringsAKeyBack(t *testing.T) {
	e := newEnvConfig(t, "sqlite", mock.Options{Chunks: 2}, func(mockURL, dsn string) string {
		return fmt.Sprintf(`
database: %q
routing: {test_interval: 20ms}
channels:
  - {name: solo, type: anthropic, base_url: %s, keys: ["key-solo"], models: [solo]}
models:
  - {name: solo, price: {input: 1, output: 1}}
users:
  - {name: alice, balance: 1.00, keys: [%q]}
`, dsn, mockURL, aliceKey)
	})
	e.mock.SetFault("key-solo", mock.Fault{Status: 401})
	resp, body := e.post("/v1/chat/completions", aliceKey, `{"model":"solo","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 502 || gjson.GetBytes(body, "error.code").Str != "upstream_auth_error" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got := e.channelHealth(t, "solo")[keyID("key-solo")]; got != "disabled" {
		t.Fatalf("after a 401: %q", got)
	}
	resp, body = e.post("/v1/chat/completions", aliceKey, `{"model":"solo","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 503 || gjson.GetBytes(body, "error.code").Str != "no_channel" {
		t.Fatalf("with the only key out: %d %s", resp.StatusCode, body)
	}
	e.mock.Reset() // the operator fixed the account upstream
	deadline := time.Now().Add(10 * time.Second)
	for e.channelHealth(t, "solo")[keyID("key-solo")] != "closed" {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled test did not bring the key back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, body := e.post("/v1/chat/completions", aliceKey, `{"model":"solo","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Fatalf("after recovery: %d %s", resp.StatusCode, body)
	}
}
