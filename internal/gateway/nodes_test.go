package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/store"
)

// peer starts a second gateway on the same database and upstream.
func (e *env) peer() *env {
	e.t.Helper()
	p := &env{t: e.t, mock: e.mock, upstream: e.upstream, logs: &syncBuffer{}, dsn: e.dsn, cfg: e.cfg, dataDir: e.t.TempDir()}
	p.start()
	return p
}

// eventually waits, up to a bound, for cond: the change travels to the
// other gateway asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Gateways sharing a PostgreSQL database see each other's admin changes
// without a restart and without polling: a change made through one is
// pushed to the others.
func TestChangesReachOtherGateways(t *testing.T) {
	if len(backends(t)) < 2 {
		t.Skip("needs TOKENHOT_TEST_POSTGRES_DSN")
	}
	a := newEnv(t, "postgres")
	b := a.peer()
	ctx := context.Background()

	u, err := a.g.Store.CreateUser(ctx, "frank")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.g.Store.Credit(ctx, u.ID, store.EntryTopUp, tenUSD, "frank-1", ""); err != nil {
		t.Fatal(err)
	}
	key := "sk-th-test-frank-00000000000000000000"
	if _, err := a.g.Store.CreateKey(ctx, u.ID, "k", hashOf(key), key[:12], store.KeyLimits{}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.post("/v1/chat/completions", key, hello); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the other gateway knew the key before any reload: %d", resp.StatusCode)
	}
	if err := a.g.Reload(ctx); err != nil { // what every admin write does
		t.Fatal(err)
	}
	eventually(t, "the new key working on the other gateway", func() bool {
		resp, _ := b.post("/v1/chat/completions", key, hello)
		return resp.StatusCode == http.StatusOK
	})
	if err := a.g.Store.SetUserStatus(ctx, u.ID, store.UserSuspended); err != nil {
		t.Fatal(err)
	}
	if err := a.g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the suspension reaching the other gateway", func() bool {
		resp, _ := b.post("/v1/chat/completions", key, hello)
		return resp.StatusCode == http.StatusForbidden
	})
}
