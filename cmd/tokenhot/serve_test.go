package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/gateway"
	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/secret"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Shutting down lets a stream in flight finish and settles its bill before
// the process exits.
func TestServeDrainsStreamsOnShutdown(t *testing.T) {
	up := httptest.NewServer(mock.New(mock.Options{ChunkDelay: 40 * time.Millisecond}))
	defer up.Close()
	dir := t.TempDir()
	dsn := "sqlite://" + dir + "/t.db"
	const key = "sk-th-drain-test-000000000000000000"
	master := secret.NewMasterKey()
	env := func(k string) string {
		return map[string]string{"TOKENHOT_MASTER_KEY": master, "TOKENHOT_ADMIN_TOKEN": "admin-token-for-tests"}[k]
	}
	cfg, err := config.Parse([]byte(`
listen: "127.0.0.1:0"
database: "`+dsn+`"
channels:
  - {name: m, type: openai, base_url: "`+up.URL+`", keys: [k], models: [gpt-5]}
models:
  - {name: gpt-5, price: {input: 1, output: 1}}
users:
  - {name: u, balance: 1, keys: ["`+key+`"]}
`), env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- serve(ctx, cfg, gateway.Options{Getenv: env, Log: log, DataDir: dir}, io.Discard,
			func(a string, _ *gateway.Gateway) { addr <- a })
	}()
	base := "http://" + <-addr
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-5","stream":true,"messages":[{"role":"user","content":"hello"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil { // the stream has begun
		t.Fatal(err)
	}
	stop() // SIGTERM, as far as serve is concerned
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("the stream was cut by the shutdown: %v", err)
	}
	if !strings.Contains(string(rest), "data: [DONE]") {
		t.Fatalf("the stream did not finish:\n%s", rest)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The process has exited: the bill is in the database.
	box, _ := secret.NewBox(master)
	st, err := store.Open(context.Background(), dsn, box)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _ := st.GetUserByName(context.Background(), "u")
	entries, _ := st.Entries(context.Background(), u.ID, 0, 10)
	sum, _ := st.LedgerSum(context.Background(), u.ID)
	if len(entries) != 2 || entries[0].Kind != store.EntrySettle || sum != u.Balance || u.Balance >= 1_000_000 {
		t.Fatalf("after shutdown: balance %d, sum %d, entries %+v", u.Balance, sum, entries)
	}
}
