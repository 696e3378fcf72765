package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/gateway"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/store"
)

const adminToken = "th-admin-clitestclitestclitestclitestclitest"

// adminServer starts a real gateway on SQLite and returns its URL.
func adminServer(t *testing.T) (string, *gateway.Gateway) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"TOKENHOT_ADMIN_TOKEN": adminToken}
	cfg, err := config.Parse(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = "sqlite://" + filepath.Join(dir, "tokenhot.db")
	g, err := gateway.Open(context.Background(), cfg, gateway.Options{
		Getenv: func(k string) string { return env[k] }, Log: slog.New(slog.DiscardHandler), DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	return srv.URL, g
}

// admin runs one command line and returns stdout and stderr.
type adminRunner struct {
	t   *testing.T
	env map[string]string
}

func (r adminRunner) run(line ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := runAdmin(context.Background(), line, func(k string) string { return r.env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// ok runs a command that must succeed and returns its stdout.
func (r adminRunner) ok(line ...string) string {
	r.t.Helper()
	out, errOut, err := r.run(line...)
	if err != nil {
		r.t.Fatalf("tokenhot %s: %v\nstderr: %s", strings.Join(line, " "), err, errOut)
	}
	return out
}

// contains checks that out holds every line of want, spaces collapsed.
func contains(t *testing.T, what, out string, want ...string) {
	t.Helper()
	space := regexp.MustCompile(`[ \t]+`)
	flat := space.ReplaceAllString(out, " ")
	for _, w := range want {
		if !strings.Contains(flat, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

func TestAdminCLISession(t *testing.T) {
	url, g := adminServer(t)
	r := adminRunner{t, map[string]string{"TOKENHOT_URL": url, "TOKENHOT_ADMIN_TOKEN": adminToken}}

	out := r.ok("user", "create", "alice", "--credit-limit", "5")
	contains(t, "user create", out, "name: alice", "status: active", "balance: 0 USD", "credit limit: 5 USD")
	out = r.ok("user", "create", "--credit-limit=0.5", "bob", "--rpm", "600", "--concurrent", "8")
	contains(t, "user create with limits", out, "limits: rpm<=600; concurrent<=8")
	out = r.ok("user", "list")
	contains(t, "user list", out, "ID NAME STATUS BALANCE CREDIT_LIMIT CREATED LIMITS", "1 alice active 0 5 ", "2 bob active 0 0.5 ",
		" rpm<=600; concurrent<=8\n")
	out = r.ok("user", "limits", "bob", "--tpm", "100000", "--rpm", "none")
	contains(t, "user limits", out, "limits: tpm<=100000; concurrent<=8")
	if bob, _ := g.Store.GetUserByName(context.Background(), "bob"); bob.Limits != (store.Limits{TPM: 100_000, Concurrent: 8}) {
		t.Errorf("bob's stored limits %+v", bob.Limits)
	}

	out, warn, err := r.run("key", "create", "alice", "--name", "ci", "--spend-limit", "2.5",
		"--models", "gpt-4o,o3", "--ips", "10.1.2.3/8,192.0.2.1", "--expires", "2099-01-01T00:00:00Z", "--rpm", "60")
	if err != nil {
		t.Fatalf("key create: %v %s", err, warn)
	}
	secret := regexp.MustCompile(`key:\s+(sk-th-\S+)`).FindStringSubmatch(out)
	if secret == nil {
		t.Fatalf("key create printed no key:\n%s", out)
	}
	contains(t, "key create", out, "name: ci", "status: active",
		"limits: spend<=2.5 USD; expires 2099-01-01T00:00:00Z; models gpt-4o,o3; ips 10.0.0.0/8,192.0.2.1; rpm<=60")
	contains(t, "key create warning", warn, "shown only this once")
	for _, line := range [][]string{{"key", "list"}, {"key", "list", "--user", "alice"}, {"key", "show", "1"}, {"key", "list", "--json"}} {
		if out := r.ok(line...); strings.Contains(out, secret[1]) {
			t.Errorf("%v shows the key:\n%s", line, out)
		}
	}
	out = r.ok("key", "list", "--user", "alice")
	contains(t, "key list", out, "ID USER NAME PREFIX STATUS SPENT LIMITS CREATED", "1 alice ci "+secret[1][:12]+" active 0 spend<=2.5 USD;")
	out = r.ok("key", "limits", "1", "--spend-limit", "none", "--models", "o3", "--concurrent", "2")
	contains(t, "key limits", out, "limits: expires 2099-01-01T00:00:00Z; models o3; ips 10.0.0.0/8,192.0.2.1; rpm<=60; concurrent<=2")
	out = r.ok("key", "limits", "1", "--rpm", "0")
	contains(t, "key limits rpm", out, "limits: expires 2099-01-01T00:00:00Z; models o3; ips 10.0.0.0/8,192.0.2.1; concurrent<=2")
	out = r.ok("key", "create", "bob", "--expires", "30d")
	contains(t, "key create 30d", out, "limits: expires "+time.Now().AddDate(0, 0, 30).UTC().Format("2006-01-02"))
	contains(t, "key revoke", r.ok("key", "revoke", "2"), "status: revoked")

	contains(t, "topup", r.ok("topup", "alice", "20.5", "--note", "invoice 7", "--idempotency-key", "inv-7"),
		"topup of 20.5 USD for alice: entry 1, balance now 20.5 USD")
	contains(t, "topup replay", r.ok("topup", "alice", "20.5", "--idempotency-key", "inv-7"),
		"already applied (idempotency key inv-7): entry 1 of 20.5 USD; nothing changed")
	contains(t, "adjust", r.ok("adjust", "1", "-0.000001", "--reason", "rounding"),
		"adjust of -0.000001 USD for 1: entry 2, balance now 20.499999 USD")
	out = r.ok("ledger", "alice")
	contains(t, "ledger", out, "alice: balance 20.499999 USD, ledger sum 20.499999 USD",
		"ID TIME (UTC) KIND AMOUNT BALANCE_AFTER REF NOTE", " adjust -0.000001 20.499999 ", " topup 20.5 20.5 inv-7 invoice 7")
	if strings.Index(out, "adjust") > strings.Index(out, "topup") {
		t.Errorf("ledger is not newest first:\n%s", out)
	}
	contains(t, "ledger paged", r.ok("ledger", "alice", "--limit", "1"), "older entries: tokenhot ledger alice --before 2")

	contains(t, "suspend", r.ok("user", "suspend", "alice"), "status: suspended")
	contains(t, "show", r.ok("user", "show", "alice"), "status: suspended", "balance: 20.499999 USD")
	contains(t, "reactivate", r.ok("user", "reactivate", "alice"), "status: active")

	const k1, k2 = "sk-upstream-first-secret-ab12", "sk-upstream-second-secret-cd34"
	out = r.ok("channel", "add", "--name", "oa", "--type", "openai", "--base-url", "https://api.openai.com/v1/",
		"--key", k1, "--key", k2, "--model", "gpt-4o", "--model", "o3,o4-mini", "--map", "gpt-4o=gpt-4o-2024-11-20",
		"--priority", "-1", "--tpm", "2000000", "--concurrent", "50")
	contains(t, "channel add", out, "keys: 2 (sk-…ab12, sk-…cd34)", "model map: gpt-4o=gpt-4o-2024-11-20",
		"base url: https://api.openai.com/v1", "priority: -1", "weight: 1", "enabled: true",
		"key ids: "+catalog.KeyID(k1)+", "+catalog.KeyID(k2), "limits: tpm<=2000000; concurrent<=50")
	// Only the limits given change.
	contains(t, "channel edit limits", r.ok("channel", "edit", "1", "--rpm", "3000", "--concurrent", "none"),
		"limits: rpm<=3000; tpm<=2000000")
	r.ok("channel", "edit", "1", "--weight", "3")
	r.ok("channel", "disable", "1")
	out = r.ok("channel", "list")
	want := "ID  NAME  TYPE    ENABLED  PRIORITY  WEIGHT  MODELS             KEYS                    BASE_URL                   LIMITS\n" +
		"1   oa    openai  false    -1        3       gpt-4o,o3,o4-mini  2 (sk-…ab12, sk-…cd34)  https://api.openai.com/v1  rpm<=3000; tpm<=2000000\n"
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("channel list (-want +got):\n%s", d)
	}
	for _, line := range [][]string{{"channel", "list", "--json"}, {"channel", "show", "1"}} {
		if out := r.ok(line...); strings.Contains(out, k1) || strings.Contains(out, k2) {
			t.Errorf("%v shows an upstream key:\n%s", line, out)
		}
	}

	r.ok("model", "set", "gpt-4o", "--input", "2.5", "--output", "10", "--cached-input", "1.25", "--max-output-tokens", "16384")
	out = r.ok("model", "set", "o3", "--input", "2", "--output", "8", "--reasoning", "8", "--per-request", "0.000001",
		"--status", "experimental", "--rpm", "100")
	contains(t, "model set", out, "limits: rpm<=100")
	out = r.ok("model", "list")
	want = "NAME    STATUS        INPUT  OUTPUT  CACHED_INPUT  CACHE_WRITE  REASONING  PER_REQUEST  MAX_OUTPUT  LIMITS\n" +
		"gpt-4o  available     2.5    10      1.25          -            -          -            16384       -\n" +
		"o3      experimental  2      8       -             -            8          0.000001     0           rpm<=100\n"
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("model list (-want +got):\n%s", d)
	}
	// The catalogue took the changes without a restart.
	if m, ok := g.Catalog.Current().Model("gpt-4o"); !ok || m.Price.CachedInput != 1_250_000 || len(m.Channels) != 0 {
		t.Errorf("catalogue model %+v, %v (the channel is disabled)", m, ok)
	}
	r.ok("channel", "enable", "1")
	if m, _ := g.Catalog.Current().Model("gpt-4o"); m == nil || len(m.Channels) != 1 {
		t.Errorf("catalogue model after enable: %+v", m)
	}
	contains(t, "model delete", r.ok("model", "delete", "o3"), "deleted model o3")

	err = g.Store.InsertRequestLogs(context.Background(), []store.RequestLog{{Time: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		RequestID: "req-1", UserID: 1, KeyID: 1, KeyPrefix: "sk-th-abcdef", Model: "gpt-4o", ChannelID: 1,
		Usage: llm.Usage{Input: 90, CachedInput: 10, Output: 5}, Source: llm.SourceUpstream,
		Cost: billing.Micros(262_500), LatencyMS: 812.4, Status: 200}})
	if err != nil {
		t.Fatal(err)
	}
	out = r.ok("logs", "--user", "alice", "--model", "gpt-4o")
	contains(t, "logs", out, "ID TIME (UTC) USER KEY MODEL STATUS IN OUT COST MS SOURCE REQUEST",
		"1 2030-01-02 03:04:05 alice sk-th-abcdef gpt-4o 200 100 5 0.2625 812 upstream req-1")

	var u struct {
		Name    string `json:"name"`
		Balance string `json:"balance"`
	}
	if err := json.Unmarshal([]byte(r.ok("user", "show", "alice", "--json")), &u); err != nil || u.Balance != "20.499999" {
		t.Errorf("user show --json: %+v, %v", u, err)
	}
	contains(t, "delete", r.ok("user", "delete", "bob"), "deleted user bob")
}

func TestAdminCLIErrors(t *testing.T) {
	url, _ := adminServer(t)
	r := adminRunner{t, map[string]string{"TOKENHOT_URL": url, "TOKENHOT_ADMIN_TOKEN": adminToken}}
	r.ok("user", "create", "alice")
	for _, tc := range []struct {
		name  string
		env   map[string]string
		line  []string
		usage bool   // a usage error
		want  string // in the error (or stderr, for usage errors)
	}{
		{"unknown user", nil, []string{"user", "show", "bob"}, false, `no user named "bob"`},
		{"zero topup", nil, []string{"topup", "alice", "0"}, false, "amount must be greater than zero (an adjustment can take money away) (HTTP 400 invalid_request)"},
		{"adjust without reason", nil, []string{"adjust", "alice", "-1"}, false, "reason is required"},
		{"bad channel", nil, []string{"channel", "add", "--name", "x", "--type", "azure"}, false, "type must be one of"},
		{"edit nothing", nil, []string{"channel", "edit", "1"}, false, "nothing to change"},
		{"bad map", nil, []string{"channel", "add", "--map", "gpt-4o"}, false, "want public=upstream"},
		{"limits nothing", nil, []string{"key", "limits", "1"}, false, "nothing to change"},
		{"user limits nothing", nil, []string{"user", "limits", "alice"}, false, "nothing to change: give --rpm, --tpm or --concurrent"},
		{"bad rpm", nil, []string{"user", "limits", "alice", "--rpm", "lots"}, false, `--rpm "lots": want a whole number`},
		{"negative tpm", nil, []string{"model", "set", "m", "--input", "1", "--output", "1", "--tpm", "-5"}, false, `--tpm "-5"`},
		{"bad expiry", nil, []string{"key", "create", "alice", "--expires", "soon"}, false, "--expires"},
		{"missing model", nil, []string{"model", "show", "nope"}, false, `model "nope" not found (HTTP 404 not_found)`},
		{"model without price", nil, []string{"model", "set", "m"}, false, "price.input and price.output are required"},
		{"bad id", nil, []string{"key", "show", "x"}, false, `"x" is not an id`},
		{"wrong token", map[string]string{"TOKENHOT_ADMIN_TOKEN": "th-admin-wrong"}, []string{"user", "list"}, false,
			"check --token, TOKENHOT_ADMIN_TOKEN or data/admin-token"},
		{"no server", map[string]string{"TOKENHOT_URL": "http://127.0.0.1:1"}, []string{"user", "list"}, false, "cannot reach the Tokenhot server"},
		{"bad server", map[string]string{"TOKENHOT_URL": "localhost:3000"}, []string{"user", "list"}, false, "is not http(s)://"},
		{"unknown command", nil, []string{"user", "frobnicate"}, true, `unknown command "tokenhot user frobnicate"`},
		{"no verb", nil, []string{"key"}, true, "tokenhot key list"},
		{"missing argument", nil, []string{"user", "create"}, true, "usage: tokenhot user create NAME"},
		{"extra argument", nil, []string{"user", "list", "x"}, true, "usage: tokenhot user list"},
		{"unknown flag", nil, []string{"user", "list", "--all"}, true, "flag provided but not defined: -all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"TOKENHOT_URL": url, "TOKENHOT_ADMIN_TOKEN": adminToken}
			for k, v := range tc.env {
				env[k] = v
			}
			_, errOut, err := adminRunner{t, env}.run(tc.line...)
			switch {
			case tc.usage && !errors.Is(err, errUsage):
				t.Errorf("error %v, want a usage error", err)
			case tc.usage:
				contains(t, "stderr", errOut, tc.want)
			case err == nil:
				t.Errorf("no error, want %q", tc.want)
			default:
				contains(t, "error", err.Error(), tc.want)
			}
		})
	}
}

// The token is read from data/admin-token, where the server writes it.
func TestAdminCLITokenFile(t *testing.T) {
	url, _ := adminServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	r := adminRunner{t, map[string]string{}}
	if _, _, err := r.run("user", "list", "--server", url); err == nil || !strings.Contains(err.Error(), "no admin token") {
		t.Errorf("without a token: %v", err)
	}
	if err := os.MkdirAll("data", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("data/admin-token", []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	contains(t, "user list", r.ok("user", "list", "--server", url), "ID NAME STATUS")
}
