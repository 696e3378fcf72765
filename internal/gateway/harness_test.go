package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/gateway"
	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/reqlog"
)

// Keys of the bootstrap users in every test gateway.
const (
	aliceKey = "sk-th-test-alice-000000000000000000"
	bobKey   = "sk-th-test-bob-00000000000000000000"
)

// recorder keeps the last request body each upstream path received, so
// tests can see exactly what the gateway forwarded.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	last map[string][]byte
	auth map[string]string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.last[req.URL.Path] = body
	r.auth[req.URL.Path] = req.Header.Get("Authorization")
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.next.ServeHTTP(w, req)
}

func (r *recorder) body(path string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[path]
}

func (r *recorder) authorization(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.auth[path]
}

// syncBuffer collects the gateway's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t        testing.TB
	g        *gateway.Gateway
	srv      *httptest.Server
	mock     *mock.Server
	upstream *recorder
	logs     *syncBuffer
	dsn      string
	cfg      string
	dataDir  string
}

// backends lists the databases the suite runs on: SQLite always, and
// PostgreSQL when TOKENHOT_TEST_POSTGRES_DSN is set.
func backends(t *testing.T) []string {
	out := []string{"sqlite"}
	if os.Getenv("TOKENHOT_TEST_POSTGRES_DSN") != "" {
		out = append(out, "postgres")
	}
	return out
}

// forEachBackend runs f on every database.
func forEachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range backends(t) {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

// freshDSN returns a DSN for an empty database of the given kind.
func freshDSN(t testing.TB, backend string) string {
	t.Helper()
	if backend == "sqlite" {
		return "sqlite://" + t.TempDir() + "/tokenhot.db"
	}
	base := os.Getenv("TOKENHOT_TEST_POSTGRES_DSN")
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "gw_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func testConfig(mockURL, dsn string) string {
	return fmt.Sprintf(`
database: %q
channels:
  - name: openai
    type: openai
    base_url: %s
    keys: ["upstream-openai-key"]
    models: [gpt-5, gpt-5-mapped, offline-model, cheap]
    model_map: {gpt-5-mapped: gpt-5-2025-08-07}
  - name: ark
    type: ark
    base_url: %s
    keys: ["upstream-ark-key"]
    models: [doubao-seed]
    model_map: {doubao-seed: doubao-seed-1-6-250615}
  - name: compatible
    type: openai-compatible
    base_url: %s/v1
    keys: ["upstream-compatible-key"]
    models: [deepseek-chat]
  - name: responses-only
    type: openai-responses
    base_url: %s
    keys: ["upstream-responses-key"]
    models: [gpt-5-codex]
  - name: anthropic
    type: anthropic
    base_url: %s
    keys: ["upstream-anthropic-key"]
    models: [claude-sonnet]
    model_map: {claude-sonnet: claude-sonnet-4-5}
  - name: gemini
    type: gemini
    base_url: %s
    keys: ["upstream-gemini-key"]
    models: [gemini-flash]
    model_map: {gemini-flash: gemini-2.5-flash}
models:
  - name: gpt-5
    price: {input: 1.25, output: 10.00, cached_input: 0.125}
  - name: gpt-5-mapped
    price: {input: 1.25, output: 10.00}
  - name: doubao-seed
    status: experimental
    price: {input: 0.11, output: 1.10}
  - name: deepseek-chat
    price: {input: 0.27, output: 1.10}
  - name: gpt-5-codex
    price: {input: 1.25, output: 10.00, cached_input: 0.125}
  - name: claude-sonnet
    price: {input: 3.00, output: 15.00, cached_input: 0.30, cache_write: 3.75}
  - name: gemini-flash
    price: {input: 0.30, output: 2.50, cached_input: 0.075}
  - name: offline-model
    status: offline
    price: {input: 1, output: 1}
  - name: cheap
    price: {input: 1, output: 1}
    max_output_tokens: 100
users:
  - name: alice
    balance: 10.00
    keys: [%q]
  - name: bob
    balance: 0.001
    keys: [%q]
`, dsn, mockURL, mockURL, mockURL, mockURL, mockURL, mockURL, aliceKey, bobKey)
}

// newEnv starts a gateway on a fresh database in front of the mock.
func newEnv(t *testing.T, backend string) *env {
	t.Helper()
	return newEnvWith(t, backend, mock.Options{})
}

// newEnvWith is newEnv with a mock tuned by o.
func newEnvWith(t testing.TB, backend string, o mock.Options) *env {
	t.Helper()
	return newEnvConfig(t, backend, o, testConfig)
}

// newEnvConfig is newEnvWith with a configuration of the test's own, made
// from the mock's URL and the database DSN.
func newEnvConfig(t testing.TB, backend string, o mock.Options, config func(mockURL, dsn string) string) *env {
	t.Helper()
	m := mock.New(o)
	rec := &recorder{next: m, last: map[string][]byte{}, auth: map[string]string{}}
	up := httptest.NewServer(rec)
	t.Cleanup(up.Close)
	e := &env{t: t, mock: m, upstream: rec, logs: &syncBuffer{}, dsn: freshDSN(t, backend), dataDir: t.TempDir()}
	e.cfg = config(up.URL, e.dsn)
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	cfg, err := config.Parse([]byte(e.cfg), func(string) string { return "" })
	if err != nil {
		e.t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := gateway.Open(context.Background(), cfg, gateway.Options{
		Getenv: func(k string) string {
			return map[string]string{"TOKENHOT_MASTER_KEY": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "TOKENHOT_ADMIN_TOKEN": "admin-secret-token"}[k]
		},
		Log:          log,
		DataDir:      e.dataDir,
		LogOptions:   reqlog.Options{Interval: 10 * time.Millisecond},
		PasswordCost: 4, // bcrypt.MinCost: the tests sign up many users
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.g = g
	e.srv = httptest.NewServer(g.Handler)
	e.t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
	if e.g != nil {
		e.g.Close()
		e.g = nil
	}
}

// restart stops the gateway and starts it again on the same database.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// flushLogs makes every settlement and request log row so far visible in
// the database.
func (e *env) flushLogs() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.g.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// post sends a raw request to the gateway.
func (e *env) post(path, key, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func hashOf(key string) apikey.Digest { return apikey.Hash(key) }
