package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/config"
)

// benchChildEnv makes the test binary act as tokenhot: the bench starts its
// servers by running its own executable again, which under `go test` is
// this binary.
const benchChildEnv = "TOKENHOT_BENCH_CHILD"

func init() {
	if os.Getenv(benchChildEnv) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenhot:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestParseBenchFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    benchFlags
		wantErr bool
	}{
		{"defaults", nil, benchFlags{duration: 4 * time.Second, warmup: time.Second, concurrency: []int{1, 64},
			streams: 1000, streamDelay: 500 * time.Millisecond}, false},
		{"quick", []string{"--quick"}, benchFlags{duration: 800 * time.Millisecond, warmup: 200 * time.Millisecond,
			concurrency: []int{1, 64}, streams: 1000, streamDelay: 250 * time.Millisecond}, false},
		{"explicit flags beat quick", []string{"--duration", "2s", "--quick", "--concurrency", "1, 8,32", "--streams", "0", "--out", "r.md"},
			benchFlags{duration: 2 * time.Second, warmup: 200 * time.Millisecond, concurrency: []int{1, 8, 32},
				streamDelay: 250 * time.Millisecond, out: "r.md"}, false},
		{"bad concurrency", []string{"--concurrency", "1,zero"}, benchFlags{}, true},
		{"zero concurrency", []string{"--concurrency", "0"}, benchFlags{}, true},
		{"zero duration", []string{"--duration", "0s"}, benchFlags{}, true},
		{"stray argument", []string{"now"}, benchFlags{}, true},
		{"unknown flag", []string{"--fast"}, benchFlags{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBenchFlags(tt.args, io.Discard)
			if tt.wantErr {
				if !errors.Is(err, errUsage) {
					t.Errorf("err = %v, want errUsage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(benchFlags{})); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBenchConfigIsValid(t *testing.T) {
	key := "sk-bench-" + randomHex(24)
	raw := benchConfig("127.0.0.1:1", "/tmp/x/tokenhot.db", "http://127.0.0.1:2", "http://127.0.0.1:3", key)
	cfg, err := config.Parse([]byte(raw), func(string) string { return "" })
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if len(cfg.Channels) != 2 || len(cfg.Models) != 2 || len(cfg.Users) != 1 || cfg.Users[0].Keys[0] != key {
		t.Errorf("unexpected config: %+v", cfg)
	}
	if cfg.Database != "sqlite:///tmp/x/tokenhot.db" {
		t.Errorf("database %q", cfg.Database)
	}
}

func TestBenchBody(t *testing.T) {
	for _, stream := range []bool{false, true} {
		b := benchBodyFor(benchModel, stream)
		var v struct {
			Model         string `json:"model"`
			Stream        bool   `json:"stream"`
			MaxTokens     int    `json:"max_tokens"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if v.Model != benchModel || v.Stream != stream || v.MaxTokens != benchMaxTokens || len(v.Messages) != 2 ||
			(v.StreamOptions != nil) != stream {
			t.Errorf("body %s", b)
		}
		if len(b) < 350 || len(b) > 500 {
			t.Errorf("body is %d bytes, want about 400", len(b))
		}
	}
}

func TestBenchProxyUsage(t *testing.T) {
	err := runBench(t.Context(), []string{"proxy", "--target", "not a url"}, os.Getenv, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Errorf("err = %v, want errUsage", err)
	}
}

// TestBenchQuick runs the whole bench, briefly: every process, every
// scenario, a small burst of streams and the audit of Tokenhot's books. It
// checks that everything ran and balanced, not how fast: whether the burst
// held all its streams open at once depends on the machine (and -race).
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four servers and loads them for about 10 s")
	}
	t.Setenv(benchChildEnv, "1")
	out := filepath.Join(t.TempDir(), "bench.md")
	var stdout, stderr bytes.Buffer
	args := []string{"--quick", "--duration", "200ms", "--warmup", "50ms", "--streams", "20", "--stream-chunk-delay", "50ms", "--out", out}
	if err := runBench(t.Context(), args, os.Getenv, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	report := stdout.String()
	saved, err := os.ReadFile(out)
	if err != nil || string(saved) != report {
		t.Errorf("--out file differs from stdout (err %v)", err)
	}
	for _, want := range []string{"## Latency", "## Added latency over direct calls", "## Throughput at concurrency 64",
		"## Tokenhot memory", "20 streams asked for",
		", 20 completed, 0 errors", "**PASS** correctness"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if n := strings.Count(stderr.String(), "errors 0\n"); n != 12 {
		t.Errorf("want 12 scenarios without errors, found %d:\n%s", n, stderr.String())
	}
}
