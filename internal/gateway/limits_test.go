package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/gateway"
	"github.com/tokenhot/tokenhot/internal/store"
)

// openConfig starts a gateway from a config file's text, without serving.
func openConfig(t *testing.T, text string) *gateway.Gateway {
	t.Helper()
	cfg, err := config.Parse([]byte(text), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOKENHOT_MASTER_KEY": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"TOKENHOT_ADMIN_TOKEN": "admin-secret-token"}
	dir := t.TempDir()
	g, err := gateway.Open(context.Background(), cfg, gateway.Options{
		Getenv: func(k string) string { return env[k] }, Log: slog.New(slog.DiscardHandler), DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestApplyLimits: the file's model and channel limits are written like the
// other declared fields (the file wins at every start), and its defaults
// fill the keys' and users' unset limits in the catalogue.
func TestApplyLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		dsn := freshDSN(t, backend)
		file := func(channelLimits, modelLimits, defaults string) string {
			return fmt.Sprintf(`
database: %q
channels:
  - name: up
    type: openai
    base_url: http://127.0.0.1:1
    keys: ["upstream-key-1", "upstream-key-2"]
    models: [m]
    %s
models:
  - name: m
    price: {input: 1, output: 1}
    %s
users:
  - name: alice
    keys: [%q]
%s
`, dsn, channelLimits, modelLimits, aliceKey, defaults)
		}
		g := openConfig(t, file("limits: {rpm: 100, tpm: 200000, concurrent: 10}", "limits: {rpm: 50}",
			"limits:\n  key: {rpm: 60, concurrent: 2}\n  user: {tpm: 1000000}"))
		m, err := g.Store.GetModel(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		chans, err := g.Store.ListChannels(ctx)
		if err != nil || len(chans) != 1 {
			t.Fatalf("channels %v, %v", chans, err)
		}
		if d := cmp.Diff([]store.Limits{{RPM: 50}, {RPM: 100, TPM: 200_000, Concurrent: 10}},
			[]store.Limits{m.Limits, chans[0].Limits}); d != "" {
			t.Errorf("stored model and channel limits (-want +got):\n%s", d)
		}
		snap := g.Catalog.Current()
		k, ok := snap.Key(hashOf(aliceKey))
		if !ok {
			t.Fatal("alice's key is not in the catalogue")
		}
		if d := cmp.Diff([]store.Limits{{RPM: 60, Concurrent: 2}, {TPM: 1_000_000}}, []store.Limits{k.KeyRate, k.UserRate}); d != "" {
			t.Errorf("effective key and user limits (-want +got):\n%s", d)
		}
		// A user's own limit wins over the default; the reload keeps the defaults.
		if err := g.Store.SetUserLimits(ctx, k.UserID, store.Limits{TPM: 5, RPM: 7}); err != nil {
			t.Fatal(err)
		}
		if err := g.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		k, _ = g.Catalog.Current().Key(hashOf(aliceKey))
		if d := cmp.Diff(store.Limits{RPM: 7, TPM: 5}, k.UserRate); d != "" {
			t.Errorf("user limits after an admin change (-want +got):\n%s", d)
		}
		ch := g.Catalog.Current().Channel(chans[0].ID)
		if ch == nil || len(ch.KeyIDs) != 2 || ch.Limits.Concurrent != 10 {
			t.Errorf("catalogue channel %+v", ch)
		}
		g.Close()

		// The next start applies the file again: limits removed from it are
		// removed from the database.
		g = openConfig(t, file("", "limits: {tpm: 9}", ""))
		defer g.Close()
		m, _ = g.Store.GetModel(ctx, "m")
		chans, _ = g.Store.ListChannels(ctx)
		if d := cmp.Diff([]store.Limits{{TPM: 9}, {}}, []store.Limits{m.Limits, chans[0].Limits}); d != "" {
			t.Errorf("limits after the file changed (-want +got):\n%s", d)
		}
		k, _ = g.Catalog.Current().Key(hashOf(aliceKey))
		if d := cmp.Diff([]store.Limits{{}, {RPM: 7, TPM: 5}}, []store.Limits{k.KeyRate, k.UserRate}); d != "" {
			t.Errorf("effective limits without defaults (-want +got):\n%s", d)
		}
	})
}
