package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/store"
)

// adminPut sends an admin API PUT and returns the status.
func (e *env) adminPut(t *testing.T, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-secret-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var adminPages = []string{"/admin", "/admin/users", "/admin/channels", "/admin/models", "/admin/logs", "/admin/audit"}

const chatHi = `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`

func TestConsoleAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvWith(t, backend, mock.Options{})
		ctx := context.Background()
		op, mallory := newBrowser(t, e), newBrowser(t, e)
		op.signup("operator", "operator password")
		mallory.signup("mallory", "another long password")
		alice, bob := e.user("alice"), e.user("bob")
		openai, err := e.g.Store.GetChannelByName(ctx, "openai")
		if err != nil {
			t.Fatal(err)
		}
		posts := []string{
			fmt.Sprintf("/admin/users/%d/suspend", alice.ID), fmt.Sprintf("/admin/users/%d/reactivate", alice.ID),
			fmt.Sprintf("/admin/users/%d/delete", alice.ID), fmt.Sprintf("/admin/users/%d/adjust", bob.ID),
			fmt.Sprintf("/admin/users/%d/admin", mallory.e.user("mallory").ID),
			fmt.Sprintf("/admin/channels/%d/disable", openai.ID), fmt.Sprintf("/admin/channels/%d/test", openai.ID),
			"/admin/models/gpt-5",
		}
		// Before the operator grants the role, and for everyone else, the
		// admin pages and actions do not exist; no link leads there.
		for _, b := range []*browser{op, mallory} {
			for _, p := range adminPages {
				if code, body := b.get(p); code != http.StatusNotFound || strings.Contains(body, `href="/admin"`) {
					t.Fatalf("non-admin GET %s: %d", p, code)
				}
			}
			for _, p := range posts {
				form := url.Values{"amount": {"100"}, "reason": {"x"}, "input": {"0"}, "status": {"offline"}}
				if code, _, _ := b.post("/keys", p, form); code != http.StatusNotFound {
					t.Fatalf("non-admin POST %s: %d, want 404", p, code)
				}
			}
		}
		if u := e.user("alice"); u.Status != store.UserActive {
			t.Fatal("a non-admin changed alice")
		}
		if code := e.adminPut(t, fmt.Sprintf("/admin/v1/users/%d/role", e.user("operator").ID), `{"role":"root"}`); code != http.StatusBadRequest {
			t.Fatalf("bad role: %d", code)
		}
		if code := e.adminPut(t, fmt.Sprintf("/admin/v1/users/%d/role", e.user("operator").ID), `{"role":"admin"}`); code != http.StatusOK {
			t.Fatalf("grant admin: %d", code)
		}
		for _, p := range adminPages {
			if code, body := op.get(p); code != http.StatusOK || !strings.Contains(body, `href="/admin"`) {
				t.Fatalf("admin GET %s: %d\n%s", p, code, body)
			}
		}
		if _, body := mallory.get("/"); strings.Contains(body, `href="/admin"`) {
			t.Fatal("a non-admin sees the admin link")
		}

		// Suspend: alice's key is refused; reactivate: it works again.
		if code, body, _ := op.post("/admin/users", fmt.Sprintf("/admin/users/%d/suspend", alice.ID), url.Values{}); code != http.StatusSeeOther {
			t.Fatalf("suspend: %d\n%s", code, body)
		}
		if r, out := e.post("/v1/chat/completions", aliceKey, chatHi); r.StatusCode != http.StatusForbidden {
			t.Fatalf("suspended user's call: %d %s, want 403", r.StatusCode, out)
		}
		op.post("/admin/users", fmt.Sprintf("/admin/users/%d/reactivate", alice.ID), url.Values{})
		if r, out := e.post("/v1/chat/completions", aliceKey, chatHi); r.StatusCode != http.StatusOK {
			t.Fatalf("reactivated user's call: %d %s", r.StatusCode, out)
		}

		// Adjust bob's balance by an exact amount, once per form.
		form := url.Values{"amount": {"2.5"}, "reason": {"goodwill credit"}, "ref": {"console-test-ref"}}
		for range 2 {
			if code, body, _ := op.post("/admin/users", fmt.Sprintf("/admin/users/%d/adjust", bob.ID), form); code != http.StatusSeeOther {
				t.Fatalf("adjust: %d\n%s", code, body)
			}
		}
		e.checkLedger("bob", 1_000+2_500_000)
		if code, _, _ := op.post("/admin/users", fmt.Sprintf("/admin/users/%d/adjust", bob.ID),
			url.Values{"amount": {"1"}, "reason": {""}}); code != http.StatusBadRequest {
			t.Fatalf("adjust without a reason: %d", code)
		}
		if _, body := op.get("/admin/users"); !strings.Contains(body, `data-testid="balance-bob">$2.501<`) {
			t.Fatalf("users page does not show bob's new balance:\n%s", body)
		}

		// A new price bills the next call.
		if code, body, _ := op.post("/admin/models", "/admin/models/gpt-5",
			url.Values{"status": {"available"}, "input": {"2"}, "output": {"20"}}); code != http.StatusSeeOther {
			t.Fatalf("edit model: %d\n%s", code, body)
		}
		if code, _, _ := op.post("/admin/models", "/admin/models/gpt-5", url.Values{"input": {"-1"}}); code != http.StatusBadRequest {
			t.Fatalf("negative price: %d", code)
		}
		m, err := e.g.Store.GetModel(ctx, "gpt-5")
		if err != nil {
			t.Fatal(err)
		}
		in, _ := billing.ParseRate("2")
		out, _ := billing.ParseRate("20")
		if m.Price.Input != in || m.Price.Output != out {
			t.Fatalf("price not saved: %+v", m.Price)
		}
		if r, body := e.post("/v1/chat/completions", aliceKey, chatHi); r.StatusCode != http.StatusOK {
			t.Fatalf("call after the price change: %d %s", r.StatusCode, body)
		}
		e.flushLogs()
		logs, err := e.g.Store.RequestLogs(ctx, store.LogFilter{UserID: alice.ID, Limit: 1})
		if err != nil || len(logs) != 1 {
			t.Fatal(err, len(logs))
		}
		if want := m.Price.Cost(logs[0].Usage); logs[0].Cost != want || want == 0 {
			t.Fatalf("call billed %s, want %s at the new price", logs[0].Cost.USD(), want.USD())
		}

		// Channels: keys masked, test, disable and enable.
		_, body := op.get("/admin/channels")
		if strings.Contains(body, "upstream-openai-key") || !strings.Contains(body, keyID("upstream-openai-key")) {
			t.Fatalf("channels page does not mask keys:\n%s", body)
		}
		if code, body, _ := op.post("/admin/channels", fmt.Sprintf("/admin/channels/%d/test", openai.ID), url.Values{}); code != http.StatusOK || !strings.Contains(body, `data-testid="test-results"`) {
			t.Fatalf("channel test: %d\n%s", code, body)
		}
		compat, _ := e.g.Store.GetChannelByName(ctx, "compatible")
		op.post("/admin/channels", fmt.Sprintf("/admin/channels/%d/disable", compat.ID), url.Values{})
		if ch, _ := e.g.Store.GetChannel(ctx, compat.ID); ch.Enabled {
			t.Fatal("channel not disabled")
		}
		op.post("/admin/channels", fmt.Sprintf("/admin/channels/%d/enable", compat.ID), url.Values{})

		// Dashboard (two calls and the refused one) and logs of everyone, with
		// filters.
		if _, body := op.get("/admin"); !strings.Contains(body, "<svg") || !strings.Contains(body, `data-testid="admin-requests">3<`) {
			t.Fatalf("dashboard:\n%s", body)
		}
		_, body = op.get("/admin/logs?user=alice&model=gpt-5&status=200")
		if n := strings.Count(body, "data-request="); n != 2 {
			t.Fatalf("filtered logs: %d rows\n%s", n, body)
		}
		if _, body := op.get("/admin/logs?user=bob"); strings.Contains(body, "data-request=") {
			t.Fatal("user filter shows other users' rows")
		}

		// The audit log lists every action.
		_, body = op.get("/admin/audit")
		for _, a := range []string{"user.role", "user.suspend", "user.reactivate", "user.adjust", "model.edit",
			"channel.test", "channel.disable", "channel.enable"} {
			if !strings.Contains(body, `data-action="`+a+`"`) {
				t.Errorf("audit log lacks %s", a)
			}
		}
		if n := len(regexp.MustCompile(`data-action="user.adjust"`).FindAllString(body, -1)); n != 1 {
			t.Errorf("%d adjustment rows, want 1 (the replay is not an action)", n)
		}
		if !strings.Contains(body, "amount=2.5") {
			t.Errorf("audit row lacks the amount:\n%s", body)
		}
	})
}

func TestConsoleAdminsFromConfig(t *testing.T) {
	e := newEnvConfig(t, "sqlite", mock.Options{}, func(m, dsn string) string {
		return testConfig(m, dsn) + "console: {admins: [alice, nobody]}\n"
	})
	role, err := e.g.Store.UserRole(context.Background(), e.user("alice").ID)
	if err != nil || role != store.RoleAdmin {
		t.Fatalf("alice: %q %v, want admin", role, err)
	}
	if role, _ := e.g.Store.UserRole(context.Background(), e.user("bob").ID); role != store.RoleUser {
		t.Fatalf("bob: %q", role)
	}
}
