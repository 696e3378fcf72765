package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/gateway"
	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/store"
)

// demoConfig is the configuration `tokenhot demo` runs: three channels of
// different OpenAI-protocol kinds, all served by the built-in mock, a few
// priced models, and a demo user with ten dollars.
func demoConfig(mockURL, dsn, listen string) string {
	return fmt.Sprintf(`listen: %q
database: %q
channels:
  - name: mock-openai
    type: openai
    base_url: %s
    keys: ["mock-openai-key"]
    models: [gpt-5, gpt-5-mini]
  - name: mock-ark
    type: ark
    base_url: %s
    keys: ["mock-ark-key"]
    models: [doubao-seed-1.6]
    model_map: {doubao-seed-1.6: doubao-seed-1-6-250615}
  - name: mock-compatible
    type: openai-compatible
    base_url: %s/v1
    keys: ["mock-compatible-key"]
    models: [deepseek-chat]
  - name: mock-anthropic
    type: anthropic
    base_url: %s
    keys: ["mock-anthropic-key"]
    models: [claude-sonnet-4-5]
  - name: mock-gemini
    type: gemini
    base_url: %s
    keys: ["mock-gemini-key"]
    models: [gemini-2.5-flash]
models:
  - name: gpt-5
    price: {input: 1.25, output: 10.00, cached_input: 0.125}
  - name: gpt-5-mini
    price: {input: 0.25, output: 2.00, cached_input: 0.025}
  - name: doubao-seed-1.6
    status: experimental
    price: {input: 0.11, output: 1.10}
  - name: deepseek-chat
    price: {input: 0.27, output: 1.10, cached_input: 0.07}
  - name: claude-sonnet-4-5
    price: {input: 3.00, output: 15.00, cached_input: 0.30, cache_write: 3.75}
  - name: gemini-2.5-flash
    price: {input: 0.30, output: 2.50, cached_input: 0.075}
users:
  - name: demo
    balance: 10.00
`, listen, dsn, mockURL, mockURL, mockURL, mockURL, mockURL)
}

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:3000", "address for the gateway")
	dsn := fs.String("database", "sqlite://data/demo.db", "database")
	dataDir := fs.String("data", "data", "directory for generated secrets")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	// The mock upstreams run in this process, on a free loopback port.
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	msrv := &http.Server{Handler: mock.New(mock.Options{ChunkDelay: 30 * time.Millisecond}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = msrv.Serve(mln) }()
	defer msrv.Close()
	mockURL := "http://" + mln.Addr().String()

	cfg, err := config.Parse([]byte(demoConfig(mockURL, *dsn, *listen)), getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, getenv)
	o := gateway.Options{Getenv: getenv, Log: log, DataDir: *dataDir}
	return serve(ctx, cfg, o, stdout, func(addr string, g *gateway.Gateway) {
		key, err := demoKey(ctx, g)
		if err != nil {
			log.Error("creating the demo key", "err", err)
			return
		}
		base := "http://" + addr
		if h, p, err := net.SplitHostPort(addr); err == nil && (h == "::" || h == "0.0.0.0" || h == "") {
			base = "http://127.0.0.1:" + p
		}
		fmt.Fprint(stdout, demoBanner(base, key))
	})
}

// demoKey issues a fresh key to the demo user (keys are stored hashed, so an
// old one cannot be shown again).
func demoKey(ctx context.Context, g *gateway.Gateway) (string, error) {
	u, err := g.Store.GetUserByName(ctx, "demo")
	if err != nil {
		return "", err
	}
	key := apikey.New()
	name := "demo-" + time.Now().UTC().Format("20060102-150405")
	if _, err := g.Store.CreateKey(ctx, u.ID, name, apikey.Hash(key), apikey.Display(key), store.KeyLimits{}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", fmt.Errorf("key collision: %w", err)
		}
		return "", err
	}
	return key, g.Reload(ctx)
}

func demoBanner(base, key string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nTokenhot demo is running at %s (upstreams: the built-in mock).\n", base)
	fmt.Fprintf(&b, "Demo user \"demo\" has a prepaid balance; its new API key (shown once):\n  %s\n\n", key)
	fmt.Fprintf(&b, "Try a chat completion:\n  curl %s/v1/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n    -d '{\"model\":\"gpt-5\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'\n\n", base, key)
	fmt.Fprintf(&b, "Streamed:\n  curl -N %s/v1/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n    -d '{\"model\":\"gpt-5\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'\n\n", base, key)
	fmt.Fprintf(&b, "Anthropic's Messages API, answered by a Gemini model:\n  curl %s/v1/messages -H 'x-api-key: %s' -H 'Content-Type: application/json' \\\n    -d '{\"model\":\"gemini-2.5-flash\",\"max_tokens\":200,\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'\n\n", base, key)
	fmt.Fprintf(&b, "Gemini's API, answered by a Claude model:\n  curl '%s/v1beta/models/claude-sonnet-4-5:generateContent' -H 'x-goog-api-key: %s' -H 'Content-Type: application/json' \\\n    -d '{\"contents\":[{\"parts\":[{\"text\":\"Hello!\"}]}]}'\n\n", base, key)
	fmt.Fprintf(&b, "Models: curl %s/v1/models -H 'Authorization: Bearer %s'\n", base, key)
	fmt.Fprintf(&b, "Balance and ledger: TOKENHOT_URL=%s go run ./cmd/tokenhot ledger demo\n\n", base)
	return b.String()
}

func runMock(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9000", "address to listen on")
	latency := fs.Duration("latency", 0, "delay before the first byte of every response")
	chunks := fs.Int("chunks", 8, "content chunks (words) per reply")
	chunkDelay := fs.Duration("chunk-delay", 0, "delay between stream chunks")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mock.New(mock.Options{Latency: *latency, Chunks: *chunks, ChunkDelay: *chunkDelay}),
		ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "mock upstreams (OpenAI, Anthropic, Gemini, Ark) listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
