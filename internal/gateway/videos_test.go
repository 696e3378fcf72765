//lint:file-ignore SA1019 Sora is deprecated in openai-go (shutting down upstream); the gateway still serves the API and tests it with the official client.

package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/mock"
)

func videosConfig(mockURL, dsn string) string {
	return fmt.Sprintf(`
database: %q
tasks: {poll_interval: 10ms}
channels:
  - {name: openai, type: openai, base_url: %s, keys: ["k-openai"], models: [sora-2]}
  - {name: ark, type: ark, base_url: %s, keys: ["k-ark"], models: [seedance], model_map: {seedance: doubao-seedance-1-0-pro-250528}}
models:
  - name: sora-2
    price: {input: 0, output: 0, per_second: 0.10, seconds: {"1080p": 0.30}}
  - name: seedance
    price: {input: 0, output: 1.20}
users:
  - {name: alice, balance: 10.00, keys: [%q]}
  - {name: bob, balance: 10.00, keys: [%q]}
`, dsn, mockURL, mockURL, aliceKey, bobKey)
}

// getJSON fetches a gateway path with a key.
func (e *env) getJSON(t *testing.T, path, key string) (int, gjson.Result, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, gjson.ParseBytes(b), b
}

// waitTask polls a task through the gateway, as a client would, until it
// is finished and its money settled.
func (e *env) waitTask(t *testing.T, path, key string) gjson.Result {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, v, body := e.getJSON(t, path, key)
		if status != 200 {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		if s := v.Get("status").Str; s == "completed" || s == "failed" {
			// Settlement follows the final state within a poll round.
			id := v.Get("id").Str
			for time.Now().Before(deadline) {
				task, err := e.g.Store.GetTask(context.Background(), id)
				if err == nil && task.Settled {
					return v
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatalf("task %s never settled", id)
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %s", v.Get("status").Str)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestVideoTasks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvConfig(t, backend, mock.Options{}, videosConfig)
		ctx := context.Background()
		c := e.client(aliceKey)
		spent := billing.Micros(0)

		t.Run("sora: create, poll, content, billed per second", func(t *testing.T) {
			v, err := c.Videos.New(ctx, openai.VideoNewParams{Prompt: "a calico cat playing piano", Model: "sora-2",
				Seconds: "8", Size: "1792x1024"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(v.ID, "video_") || v.Status != "queued" {
				t.Fatalf("%+v", v)
			}
			final := e.waitTask(t, "/v1/videos/"+v.ID, aliceKey)
			if final.Get("status").Str != "completed" || final.Get("progress").Int() != 100 {
				t.Fatalf("%s", final.Raw)
			}
			got, err := c.Videos.Get(ctx, v.ID)
			if err != nil || got.Status != "completed" {
				t.Fatalf("%+v %v", got, err)
			}
			resp, err := c.Videos.DownloadContent(ctx, v.ID, openai.VideoDownloadContentParams{})
			if err != nil {
				t.Fatal(err)
			}
			mp4, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Contains(mp4, []byte("ftyp")) || resp.Header.Get("Content-Type") != "video/mp4" {
				t.Fatalf("content %q %s", mp4, resp.Header.Get("Content-Type"))
			}
			spent += 8 * 300_000 // 8 s at the 1080p rate
			e.checkLedger("alice", tenUSD-spent)
		})
		t.Run("seedance through the generic shape, billed by tokens", func(t *testing.T) {
			resp, body := e.post("/v1/video/generations", aliceKey,
				`{"model":"seedance","prompt":"a kitten yawns","images":["https://example.com/first.png"],"duration":5,"resolution":"1080p","ratio":"16:9"}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			id := gjson.GetBytes(body, "id").Str
			sent := e.upstream.body("/api/v3/contents/generations/tasks")
			if gjson.GetBytes(sent, "content.1.role").Str != "first_frame" || gjson.GetBytes(sent, "model").Str != "doubao-seedance-1-0-pro-250528" {
				t.Fatalf("upstream got %s", sent)
			}
			final := e.waitTask(t, "/v1/video/generations/"+id, aliceKey)
			if final.Get("status").Str != "completed" || final.Get("task_id").Str != id || final.Get("metadata.url").Str == "" {
				t.Fatalf("%s", final.Raw)
			}
			if strings.Contains(final.Raw, "cgt-") {
				t.Fatalf("the upstream's id leaked: %s", final.Raw)
			}
			task, _ := e.g.Store.GetTask(ctx, id)
			price := billing.Price{Output: 1_200_000}
			if task.UsageTokens <= 0 || task.Cost != price.Cost(llmOutput(task.UsageTokens)) {
				t.Fatalf("task %+v", task)
			}
			spent += task.Cost
			e.checkLedger("alice", tenUSD-spent)
			status, _, _ := e.getJSON(t, "/v1/video/generations/"+id+"/content", aliceKey)
			if status != 200 {
				t.Fatalf("content: %d", status)
			}
		})
		t.Run("a failed task is refunded in full", func(t *testing.T) {
			v, err := c.Videos.New(ctx, openai.VideoNewParams{Prompt: "something forbidden [[mock:fail]]", Model: "sora-2"})
			if err != nil {
				t.Fatal(err)
			}
			final := e.waitTask(t, "/v1/videos/"+v.ID, aliceKey)
			if final.Get("status").Str != "failed" || final.Get("error.code").Str == "" {
				t.Fatalf("%s", final.Raw)
			}
			e.checkLedger("alice", tenUSD-spent)
		})
		t.Run("another user's task is not found", func(t *testing.T) {
			v, err := c.Videos.New(ctx, openai.VideoNewParams{Prompt: "a dog", Model: "sora-2"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.client(bobKey).Videos.Get(ctx, v.ID)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
				t.Fatalf("%v", err)
			}
			status, _, _ := e.getJSON(t, "/v1/videos/"+v.ID+"/content", bobKey)
			if status != 404 {
				t.Fatalf("content for another user: %d", status)
			}
			e.waitTask(t, "/v1/videos/"+v.ID, aliceKey)
			spent += 4 * 100_000
			e.checkLedger("alice", tenUSD-spent)
		})
	})
}

func llmOutput(n int64) llm.Usage { return llm.Usage{Output: n} }

// TestVideoTaskSurvivesARestart: a task submitted before the gateway stops
// completes after it starts again and is billed exactly once.
func TestVideoTaskSurvivesARestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvConfig(t, backend, mock.Options{}, func(mockURL, dsn string) string {
			return strings.Replace(videosConfig(mockURL, dsn), "poll_interval: 10ms", "poll_interval: 300ms", 1)
		})
		v, err := e.client(aliceKey).Videos.New(context.Background(), openai.VideoNewParams{Prompt: "a slow one", Model: "sora-2"})
		if err != nil {
			t.Fatal(err)
		}
		e.restart() // before its first poll
		e.waitTask(t, "/v1/videos/"+v.ID, aliceKey)
		e.checkLedger("alice", tenUSD-4*100_000)
	})
}

// TestTwoGatewaysSettleATaskOnce: two gateways poll the same database; the
// task is polled under one lease at a time and settled once.
func TestTwoGatewaysSettleATaskOnce(t *testing.T) {
	if len(backends(t)) < 2 {
		t.Skip("needs TOKENHOT_TEST_POSTGRES_DSN")
	}
	e := newEnvConfig(t, "postgres", mock.Options{}, videosConfig)
	p := e.peer()
	var ids []string
	for i := range 6 {
		v, err := e.client(aliceKey).Videos.New(context.Background(), openai.VideoNewParams{Prompt: fmt.Sprintf("clip %d", i), Model: "sora-2"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	for _, id := range ids {
		p.waitTask(t, "/v1/videos/"+id, aliceKey)
	}
	e.checkLedger("alice", tenUSD-6*4*100_000)
	var settles int
	if err := e.g.Store.DB().QueryRow(`SELECT COUNT(*) FROM ledger WHERE kind = 'settle' AND ref LIKE 'video_%'`).Scan(&settles); err != nil {
		t.Fatal(err)
	}
	if settles != 6 {
		t.Fatalf("%d settle entries for 6 tasks", settles)
	}
}

// TestFinishedVideosAreKept: with tasks.keep_dir set, a finished video is
// copied when its task completes and served from the copy after the
// upstream has forgotten it.
func TestFinishedVideosAreKept(t *testing.T) {
	dir := t.TempDir()
	e := newEnvConfig(t, "sqlite", mock.Options{}, func(mockURL, dsn string) string {
		return strings.Replace(videosConfig(mockURL, dsn), "tasks: {poll_interval: 10ms}",
			fmt.Sprintf("tasks: {poll_interval: 10ms, keep_dir: %q, keep: 1h}", dir), 1)
	})
	v, err := e.client(aliceKey).Videos.New(context.Background(), openai.VideoNewParams{Prompt: "keep me", Model: "sora-2"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitTask(t, "/v1/videos/"+v.ID, aliceKey)
	if _, err := os.Stat(dir + "/" + v.ID + ".mp4"); err != nil {
		t.Fatalf("no copy kept: %v", err)
	}
	e.mock.Reset() // the upstream forgets the video
	status, _, body := e.getJSON(t, "/v1/videos/"+v.ID+"/content", aliceKey)
	if status != 200 || !bytes.Contains(body, []byte("ftyp")) {
		t.Fatalf("%d %q", status, body)
	}
}
