package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/secret"
	"github.com/tokenhot/tokenhot/internal/store"
	surface "github.com/tokenhot/tokenhot/internal/surface/openai"
)

// A gateway killed without warning (SIGKILL) loses no settlement: what was
// journaled before each request finished reaches the database at the next
// start, once, and the balance equals what the clients were told they used.
func TestKilledGatewayLosesNoSettlement(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway as a separate process")
	}
	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "t.db")
	const key = "sk-th-crash-test-000000000000000000"
	master := secret.NewMasterKey()
	cfgPath := filepath.Join(dir, "tokenhot.yaml")
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`listen: %q
database: %q
channels:
  - {name: m, type: openai, base_url: %q, keys: [k], models: [gpt-5]}
models:
  - {name: gpt-5, price: {input: 1.25, output: 10}}
users:
  - {name: u, balance: 10, keys: [%q]}
`, addr, dsn, up.URL, key)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		t.Helper()
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(self, "serve", "--config", cfgPath, "--data", filepath.Join(dir, "data"))
		cmd.Env = append(os.Environ(), benchChildEnv+"=1", "TOKENHOT_MASTER_KEY="+master, "TOKENHOT_ADMIN_TOKEN=crash-test-admin-token")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				return cmd
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatal("the gateway did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	price := billing.Price{Input: 1_250_000, Output: 10_000_000}
	gw := start()
	var mu sync.Mutex
	var billed billing.Micros
	ok := 0
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				body := fmt.Sprintf(`{"model":"gpt-5","messages":[{"role":"user","content":"worker %d request %d"}]}`, w, i)
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				u, found := surface.ResponseUsage(raw)
				if resp.StatusCode != http.StatusOK || !found {
					t.Errorf("status %d: %s", resp.StatusCode, raw)
					return
				}
				mu.Lock()
				billed += price.Cost(u)
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// No warning, no drain: whatever the applier had not yet written is
	// only in the journal.
	_ = gw.Process.Kill()
	_ = gw.Wait()
	if st, err := os.Stat(filepath.Join(dir, "t.db.journal")); err == nil {
		t.Logf("journal left by the kill: %d bytes", st.Size())
	}

	gw = start() // replays the journal
	_ = gw.Process.Signal(syscall.SIGTERM)
	if err := gw.Wait(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}

	box, _ := secret.NewBox(master)
	st, err := store.Open(context.Background(), dsn, box)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	u, _ := st.GetUserByName(ctx, "u")
	sum, _ := st.LedgerSum(ctx, u.ID)
	entries, _ := st.Entries(ctx, u.ID, 0, 1000)
	settles := map[string]int{}
	for _, e := range entries {
		if e.Kind == store.EntrySettle {
			settles[e.Ref]++
		}
	}
	if len(settles) != ok || ok != 400 {
		t.Fatalf("%d requests answered, %d settled", ok, len(settles))
	}
	for ref, n := range settles {
		if n != 1 {
			t.Fatalf("request %s settled %d times", ref, n)
		}
	}
	if want := billing.Micros(10_000_000) - billed; u.Balance != want || sum != want {
		t.Fatalf("balance %s, ledger sum %s; want %s", u.Balance, sum, want)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
