package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// freshContext opens a tab in a new browser context of the same browser: no
// cookies, so nobody is signed in and the language is the browser's.
func (b *browserTab) freshContext(t *testing.T) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// No timeout on the first call: it creates the tab, and a timeout there
	// would close the tab when it expires.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a fresh browser context: %v", err)
	}
	return &browserTab{ctx: ctx, base: b.base, shots: b.shots}
}

// sub clicks the admin section link to path and waits for that page.
func (b *browserTab) sub(t *testing.T, path string) {
	t.Helper()
	b.do(t, "open "+path+" from the admin menu",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`main nav.subnav a[href=%q]`, path))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main nav.subnav a[href=%q][aria-current="page"]`, path))),
	)
	b.wantLocation(t, path)
}

// submit clicks the button, waits for the page it leads to (which may be at
// the same address) and then for the element then.
func (b *browserTab) submit(t *testing.T, what, button, then string) {
	t.Helper()
	b.do(t, what,
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`),
		chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitNotPresent(chromedp.CSS(`body[data-stale]`)),
		chromedp.WaitVisible(chromedp.CSS(then)),
	)
}

// browserAdmin is the operator's half of the browser scenario: a second
// account is made an admin, signs in in its own browser context, prices a
// model and suspends victim, whose key is then refused.
func browserAdmin(t *testing.T, e *env, b *browserTab, victim, victimKey string) {
	const (
		admin    = "olga"
		password = "operator pass phrase"
		model    = "gpt-5-codex"
	)
	a := b.freshContext(t)
	a.do(t, "open sign up",
		chromedp.Navigate(a.base+"/signup"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signup"] #password2`)),
	)
	a.wantText(t, "main h1", "Create an account") // a fresh context: English again
	a.do(t, "sign up the operator",
		chromedp.SendKeys(chromedp.CSS(`#username`), admin),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.SendKeys(chromedp.CSS(`#password2`), password),
		chromedp.Click(chromedp.CSS(`input[name="terms"]`)),
		chromedp.Click(chromedp.CSS(`input[name="adult"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="balance"]`)),
	)
	if a.present(t, `header nav a[href="/admin"]`) {
		t.Fatal("a new account sees the admin menu")
	}
	if st := e.adminPut(t, fmt.Sprintf("/admin/v1/users/%d/role", e.user(admin).ID), `{"role":"admin"}`); st != http.StatusOK {
		t.Fatalf("PUT role admin: %d", st)
	}
	a.do(t, "reload as an admin",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`header nav a[href="/admin"]`)),
	)
	a.nav(t, "/admin")
	a.wantText(t, "main h1", "Overview")
	a.shot(t, "admin-en")

	// A price for a model.
	a.sub(t, "/admin/models")
	a.wantText(t, "main h1", "Models and prices")
	row := fmt.Sprintf(`main tr[data-model=%q]`, model)
	a.do(t, "fill in the price of "+model,
		chromedp.SetValue(chromedp.CSS(row+` input[name="input"]`), "0.75"),
		chromedp.SetValue(chromedp.CSS(row+` input[name="cached_input"]`), "0.1"),
		chromedp.SetValue(chromedp.CSS(row+` input[name="output"]`), "6.5"),
	)
	a.submit(t, "save the price of "+model, row+` button[type="submit"]`, row)
	a.wantLocation(t, "/admin/models")
	for field, want := range map[string]string{"input": "0.75", "cached_input": "0.1", "output": "6.5"} {
		sel := fmt.Sprintf(`%s input[name=%q]`, row, field)
		if got := browserRun(t, a, "read "+field, chromedp.Value(chromedp.CSS(sel))); got != want {
			t.Fatalf("%s %s price after saving: %q, want %q", model, field, got, want)
		}
	}
	m, err := e.g.Store.GetModel(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Price.Output.USD(); got != "6.5" {
		t.Fatalf("the store has output price $%s for %s, want $6.5", got, model)
	}
	a.shot(t, "admin-models-en")

	// The victim can call the API until suspended.
	if r, out := e.post("/v1/chat/completions", victimKey, chatHi); r.StatusCode != http.StatusOK {
		t.Fatalf("API call before the suspension: %d %s", r.StatusCode, out)
	}
	a.sub(t, "/admin/users")
	a.wantText(t, "main h1", "Users")
	urow := fmt.Sprintf(`main tr[data-user=%q]`, victim)
	a.submit(t, "suspend "+victim, urow+` form[action$="/suspend"] button`, urow+` form[action$="/reactivate"] button`)
	a.wantLocation(t, "/admin/users")
	a.wantText(t, urow+` td:nth-child(4)`, "suspended")
	a.shot(t, "admin-users-en")
	r, out := e.post("/v1/chat/completions", victimKey, chatHi)
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("API call by a suspended user: %d %s, want 403", r.StatusCode, out)
	}

	// Channels: the list, and the add form when the console has one.
	a.sub(t, "/admin/channels")
	a.shot(t, "admin-channels-en")
	if a.present(t, `main a[href="/admin/channels/new"]`) {
		browserAddChannel(t, e, a, admin)
		a.sub(t, "/admin/channels")
	} else {
		t.Log("/admin/channels has no add link; adding a channel in the browser is not tested")
	}

	// The same pages in Chinese.
	a.do(t, "switch to Chinese",
		chromedp.Click(chromedp.CSS(`header nav a[hreflang="zh"]`)),
		chromedp.WaitReady(chromedp.CSS(`html[lang="zh-CN"]`)),
	)
	a.wantLocation(t, "/admin/channels")
	for _, p := range []struct{ path, title, name string }{
		{"/admin/models", "模型与价格", "admin-models-zh"},
		{"/admin/users", "用户", "admin-users-zh"},
	} {
		a.sub(t, p.path)
		a.wantText(t, "main h1", p.title)
		a.shot(t, p.name)
	}
	a.wantText(t, urow+` td:nth-child(4)`, "已停用") // the last page above is /admin/users
	a.nav(t, "/admin")
	a.wantText(t, "main h1", "概览")
	a.shot(t, "admin-zh")
}

// browserAddChannel adds a channel for a new model on the console's channel
// form, prices the model and makes it available, funds the admin's own
// account and calls the model with a key made on the keys page.
func browserAddChannel(t *testing.T, e *env, a *browserTab, admin string) {
	t.Helper()
	const (
		channel = "browser-channel"
		model   = "browser-model"
	)
	up, err := e.g.Store.GetChannelByName(context.Background(), "openai")
	if err != nil {
		t.Fatal(err)
	}
	form := `main form[action="/admin/channels/new"]`
	a.do(t, "open the channel form",
		chromedp.Click(chromedp.CSS(`main a[href="/admin/channels/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(form+` input[name="name"]`)),
	)
	a.wantLocation(t, "/admin/channels/new")
	a.do(t, "fill in the channel form",
		chromedp.SendKeys(chromedp.CSS(form+` input[name="name"]`), channel),
		chromedp.SetValue(chromedp.CSS(form+` select[name="type"]`), "openai"),
		chromedp.SetValue(chromedp.CSS(form+` input[name="base_url"]`), up.BaseURL),
		chromedp.SetValue(chromedp.CSS(form+` textarea[name="keys"]`), "upstream-openai-key"),
		chromedp.SetValue(chromedp.CSS(form+` textarea[name="models"]`), model),
	)
	a.shot(t, "admin-channel-new-en")
	a.submit(t, "save the channel", form+` button[type="submit"]`, `main nav.subnav a[href="/admin/channels"][aria-current="page"]`)
	a.wantLocation(t, "/admin/channels")
	if page := a.text(t, "main table"); !strings.Contains(page, channel) || !strings.Contains(page, model) {
		t.Fatalf("the channel list does not show %s for %s: %q", channel, model, page)
	}

	// The new model starts offline: price it and make it available.
	a.sub(t, "/admin/models")
	row := fmt.Sprintf(`main tr[data-model=%q]`, model)
	a.do(t, "price "+model,
		chromedp.SetValue(chromedp.CSS(row+` select[name="status"]`), "available"),
		chromedp.SetValue(chromedp.CSS(row+` input[name="input"]`), "1"),
		chromedp.SetValue(chromedp.CSS(row+` input[name="output"]`), "2"),
	)
	a.submit(t, "save the price of "+model, row+` button[type="submit"]`, row)
	if got := browserRun(t, a, "read the status", chromedp.Value(chromedp.CSS(row+` select[name="status"]`))); got != "available" {
		t.Fatalf("%s is %q after saving", model, got)
	}

	// The admin funds their own account and makes a key.
	a.sub(t, "/admin/users")
	urow := fmt.Sprintf(`main tr[data-user=%q]`, admin)
	a.do(t, "fill in the adjustment",
		chromedp.SendKeys(chromedp.CSS(urow+` input[name="amount"]`), "2"),
		chromedp.SendKeys(chromedp.CSS(urow+` input[name="reason"]`), "browser test"),
	)
	a.submit(t, "adjust the balance", urow+` form[action$="/adjust"] button[type="submit"]`, urow)
	a.wantText(t, fmt.Sprintf(`[data-testid="balance-%s"]`, admin), "$2")
	a.nav(t, "/keys")
	a.do(t, "create a key",
		chromedp.SendKeys(chromedp.CSS(`form[action="/keys"] #name`), "admin-key"),
		chromedp.Click(chromedp.CSS(`form[action="/keys"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-key"]`)),
	)
	key := browserRun(t, a, "read the new key", chromedp.Value(chromedp.CSS(`[data-testid="new-key"]`)))
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, model)
	if r, out := e.post("/v1/chat/completions", key, body); r.StatusCode != http.StatusOK {
		t.Fatalf("API call to %s on the new channel: %d %s", model, r.StatusCode, out)
	}
	e.flushLogs()
	if l := e.lastLog(admin); l.Model != model || l.Cost <= 0 {
		t.Fatalf("the log has model %q cost %d for the call, want %s at a price", l.Model, l.Cost, model)
	}
	a.nav(t, "/admin")
}
