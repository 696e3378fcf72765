package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhot/tokenhot/internal/mock"
)

// The browser tests drive the console in a real headless Chromium, the one
// TOKENHOT_TEST_CHROMIUM names (.ci/run sets it to Debian's /usr/bin/chromium).
// They assert on what the page shows, and leave full-page screenshots of the
// main pages in both languages for a reviewer: in TOKENHOT_SCREENSHOTS_DIR when
// it is set, otherwise in a temporary folder that the test removes.

// browserActionTimeout bounds every single chromedp call.
const browserActionTimeout = 10 * time.Second

// browserTab is one tab of the shared headless browser, pointed at a gateway.
type browserTab struct {
	ctx   context.Context // chromedp context that has run once
	base  string          // the gateway's URL
	shots string          // where screenshots go
}

// newBrowserTab starts one headless Chromium for the whole test (one
// allocator, one tab) and returns its tab. The browser stops before the
// gateway does.
func newBrowserTab(t *testing.T, e *env) *browserTab {
	t.Helper()
	exe := os.Getenv("TOKENHOT_TEST_CHROMIUM")
	if exe == "" {
		t.Skip("TOKENHOT_TEST_CHROMIUM is not set (.ci/run sets it to /usr/bin/chromium)")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	// The browser lives at most this long, whatever happens to the test.
	life, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); stop() })
	// The first call starts the browser; it has no timeout of its own
	// because a timeout there would stop the browser when it expires.
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	t.Logf("started %s in %v", exe, time.Since(start).Round(time.Millisecond))

	shots := os.Getenv("TOKENHOT_SCREENSHOTS_DIR")
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshots in %s", shots)
	} else {
		shots = t.TempDir()
		t.Logf("screenshots in %s (removed after the test; set TOKENHOT_SCREENSHOTS_DIR to keep them)", shots)
	}
	return &browserTab{ctx: ctx, base: e.srv.URL, shots: shots}
}

// do runs the steps with a timeout and fails the test on an error.
func (b *browserTab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// browserRun runs one action with a timeout and returns its value.
func browserRun[T any](t *testing.T, b *browserTab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// text is the visible text of the first element that matches the CSS selector.
func (b *browserTab) text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(browserRun(t, b, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// wantText fails unless the element's visible text is want.
func (b *browserTab) wantText(t *testing.T, sel, want string) {
	t.Helper()
	if got := b.text(t, sel); got != want {
		t.Fatalf("%s shows %q, want %q", sel, got, want)
	}
}

// wantLocation fails unless the tab is at path.
func (b *browserTab) wantLocation(t *testing.T, path string) {
	t.Helper()
	if got := browserRun(t, b, "location", chromedp.Location()); got != b.base+path {
		t.Fatalf("at %s, want %s%s", got, b.base, path)
	}
}

// present reports whether an element matches the CSS selector now, without
// waiting for one to appear.
func (b *browserTab) present(t *testing.T, sel string) bool {
	t.Helper()
	return browserRun(t, b, "look for "+sel,
		chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
}

// nav clicks the header link to path and waits for that page.
func (b *browserTab) nav(t *testing.T, path string) {
	t.Helper()
	b.do(t, "open "+path+" from the menu",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`header nav a[href=%q]`, path))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`header nav a[href=%q][aria-current="page"]`, path))),
	)
	b.wantLocation(t, path)
}

// shot saves a full-page PNG of the current page as name.png.
func (b *browserTab) shot(t *testing.T, name string) {
	t.Helper()
	png := browserRun(t, b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserConsole(t *testing.T) {
	began := time.Now()
	e := newEnvWith(t, "sqlite", mock.Options{})
	b := newBrowserTab(t, e)
	const (
		user     = "dora"
		password = "correct horse battery"
		keyName  = "browser-key"
	)
	var key string

	if !t.Run("sign up", func(t *testing.T) {
		b.do(t, "open /",
			chromedp.Navigate(b.base+"/"),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] #password`)),
		)
		b.wantLocation(t, "/login") // signed out: the console sends us to log in
		b.wantText(t, "main h1", "Log in")
		b.shot(t, "login-en")

		b.do(t, "go to sign up",
			chromedp.Click(chromedp.CSS(`main a[href="/signup"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/signup"] #password2`)),
		)
		b.wantLocation(t, "/signup")
		b.wantText(t, "main h1", "Create an account")
		b.shot(t, "signup-en")

		b.do(t, "fill in the sign-up form",
			chromedp.SendKeys(chromedp.CSS(`#username`), user),
			chromedp.SendKeys(chromedp.CSS(`#password`), password),
			chromedp.SendKeys(chromedp.CSS(`#password2`), password),
			chromedp.Click(chromedp.CSS(`input[name="terms"]`)),
			chromedp.Click(chromedp.CSS(`input[name="adult"]`)),
		)
		for _, box := range []string{"terms", "adult"} {
			sel := fmt.Sprintf(`input[name=%q]`, box)
			if !browserRun(t, b, "read "+box, chromedp.JavascriptAttribute[bool](chromedp.CSS(sel), "checked")) {
				t.Fatalf("the %s box is not ticked after a click", box)
			}
		}
		b.do(t, "submit the sign-up form",
			chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="balance"]`)),
		)
		b.wantLocation(t, "/")
		b.wantText(t, "main h1", "Dashboard")
		b.wantText(t, `[data-testid="balance"]`, "$0")
		b.wantText(t, `header nav a[href="/password"]`, user)
		b.shot(t, "dashboard-en")
	}) {
		return
	}

	if !t.Run("create a key", func(t *testing.T) {
		b.nav(t, "/keys")
		b.wantText(t, "main h1", "API keys")
		b.do(t, "create a key",
			chromedp.SendKeys(chromedp.CSS(`form[action="/keys"] #name`), keyName),
			chromedp.Click(chromedp.CSS(`form[action="/keys"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-key"]`)),
		)
		b.wantText(t, "#created-h", "Your new key")
		key = browserRun(t, b, "read the new key", chromedp.Value(chromedp.CSS(`[data-testid="new-key"]`)))
		if !strings.HasPrefix(key, "sk-") || len(key) < 20 {
			t.Fatalf("the page shows %q as the new key", key)
		}
		b.wantText(t, "main table tbody tr td:first-child", keyName)
		if code := b.text(t, "main table tbody tr td:nth-child(2) code"); !strings.HasPrefix(key, strings.TrimSuffix(code, "…")) {
			t.Fatalf("the key list shows prefix %q for key %q", code, key)
		}
		b.shot(t, "keys-en")

		// Shown once: back on the page, only the prefix is left.
		b.nav(t, "/keys")
		if b.present(t, `[data-testid="new-key"]`) {
			t.Fatal("the keys page shows the new key a second time")
		}
		if page := browserRun(t, b, "read the page", chromedp.Evaluate[string]("document.documentElement.outerHTML")); strings.Contains(page, key) {
			t.Fatal("the keys page still holds the whole key")
		}
	}) {
		return
	}

	if !t.Run("redeem a code", func(t *testing.T) {
		// A new account has no money; the operator issues a code.
		codes := e.adminCodes(t, `{"count":1,"amount":"5","batch":"browser"}`)
		if len(codes) != 1 {
			t.Fatalf("the admin API made %d codes", len(codes))
		}
		b.nav(t, "/topup")
		b.wantText(t, "main h1", "Top up")
		b.wantText(t, `main [data-testid="balance"]`, "$0")
		b.do(t, "redeem the code",
			chromedp.SendKeys(chromedp.CSS(`form[action="/topup"] #code`), codes[0]),
			chromedp.Click(chromedp.CSS(`form[action="/topup"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`main .msg.notice`)),
		)
		if msg := b.text(t, `main .msg.notice`); !strings.Contains(msg, "$5") {
			t.Fatalf("after redeeming, the page says %q", msg)
		}
		b.wantText(t, `main [data-testid="balance"]`, "$5")
		b.shot(t, "topup-en")

		// A code works once.
		b.do(t, "redeem the code again",
			chromedp.SendKeys(chromedp.CSS(`form[action="/topup"] #code`), codes[0]),
			chromedp.Click(chromedp.CSS(`form[action="/topup"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`main .msg.error`)),
		)
		b.wantText(t, `main [data-testid="balance"]`, "$5")

		b.nav(t, "/")
		b.wantText(t, `[data-testid="balance"]`, "$5")
	}) {
		return
	}

	if !t.Run("API call shows in the request log", func(t *testing.T) {
		r, out := e.post("/v1/chat/completions", key, `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("API call with the key from the page: %d %s", r.StatusCode, out)
		}
		e.flushLogs()

		b.nav(t, "/logs")
		b.wantText(t, "main h1", "Request log")
		b.do(t, "wait for the log row", chromedp.WaitVisible(chromedp.CSS(`main tbody tr[data-request]`)))
		b.wantText(t, `main tbody tr[data-request] td:nth-child(2)`, "gpt-5")
		if code := b.text(t, `main tbody tr[data-request] td:nth-child(3) code`); !strings.HasPrefix(key, strings.TrimSuffix(code, "…")) {
			t.Fatalf("the log row shows key prefix %q for key %q", code, key)
		}
		if charge := b.text(t, `main tbody tr[data-request] td:nth-child(7) strong`); !strings.HasPrefix(charge, "$") {
			t.Fatalf("the log row shows charge %q", charge)
		}
		b.shot(t, "logs-en")

		b.nav(t, "/models")
		b.wantText(t, "main h1", "Models and prices")
		b.do(t, "find gpt-5 in the price list", chromedp.WaitVisible(chromedp.JSPath(
			`[...document.querySelectorAll("main code")].filter(c => c.textContent === "gpt-5")`)))
		b.shot(t, "models-en")
		b.nav(t, "/")
		if got := b.text(t, `[data-testid="balance"]`); got == "$5" || !strings.HasPrefix(got, "$") {
			t.Fatalf("balance after a $5 code and a call: %q", got)
		}

		// The usage page charts the call: a bar for the model and one for today.
		b.nav(t, "/usage")
		b.wantText(t, "main h1", "Usage")
		b.wantText(t, `[data-testid="usage-requests"]`, "1")
		b.do(t, "wait for the charts", chromedp.WaitVisible(chromedp.CSS(`main figure.chart svg rect`)))
		// Days are UTC; the call was made a moment ago, perhaps just before midnight.
		now := time.Now().UTC()
		today, before := now.Format("2006-01-02"), now.Add(-time.Minute).Format("2006-01-02")
		bars := browserRun(t, b, "read the chart bars", chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("main figure.chart svg g > title")].map(t => t.textContent)`))
		var model, day bool
		for _, bar := range bars {
			model = model || strings.HasPrefix(bar, "gpt-5:")
			day = day || strings.HasPrefix(bar, today+":") || strings.HasPrefix(bar, before+":")
		}
		if !model || !day {
			t.Fatalf("the charts have no bar for gpt-5 or for %s among %q", today, bars)
		}
		b.shot(t, "usage-en")
	}) {
		return
	}

	if !t.Run("switch to Chinese", func(t *testing.T) {
		b.nav(t, "/models")
		b.do(t, "click the language switch",
			chromedp.Click(chromedp.CSS(`header nav a[hreflang="zh"]`)),
			chromedp.WaitReady(chromedp.CSS(`html[lang="zh-CN"]`)),
		)
		b.wantLocation(t, "/models") // the switch comes back to the same page
		b.wantText(t, "main h1", "模型与价格")
		b.wantText(t, `header nav a[hreflang="en"]`, "English")
		b.shot(t, "models-zh")

		for _, p := range []struct{ path, title, name string }{
			{"/", "概览", "dashboard-zh"},
			{"/keys", "API 密钥", "keys-zh"},
			{"/topup", "充值", "topup-zh"},
			{"/usage", "用量", "usage-zh"},
			{"/logs", "请求日志", "logs-zh"},
		} {
			b.nav(t, p.path)
			b.wantText(t, "main h1", p.title)
			b.shot(t, p.name)
		}
		// The log still shows the call, under Chinese headings.
		b.wantText(t, `main tbody tr[data-request] td:nth-child(2)`, "gpt-5")
		b.wantText(t, `main thead th:nth-child(2)`, "模型")
	}) {
		return
	}

	if !t.Run("log out", func(t *testing.T) {
		b.do(t, "click log out",
			chromedp.Click(chromedp.CSS(`header form[action="/logout"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] #password`)),
		)
		b.wantLocation(t, "/login")
		b.wantText(t, "main h1", "登录") // the language choice outlives the session
		if b.present(t, `header form[action="/logout"]`) {
			t.Fatal("the login page still offers to log out")
		}
		b.shot(t, "login-zh")

		b.do(t, "open /keys signed out",
			chromedp.Navigate(b.base+"/keys"),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] #password`)),
		)
		b.wantLocation(t, "/login")

		b.do(t, "go to sign up",
			chromedp.Click(chromedp.CSS(`main a[href="/signup"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/signup"] #password2`)),
		)
		b.wantText(t, "main h1", "创建账户")
		b.shot(t, "signup-zh")
	}) {
		return
	}

	if !t.Run("log in again", func(t *testing.T) {
		b.do(t, "log in",
			chromedp.Navigate(b.base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] #password`)),
			chromedp.SendKeys(chromedp.CSS(`form[action="/login"] #username`), user),
			chromedp.SendKeys(chromedp.CSS(`form[action="/login"] #password`), password),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`header form[action="/logout"]`)),
		)
		b.wantLocation(t, "/")
		if !b.present(t, `header form[action="/logout"]`) {
			t.Fatal("not signed in after logging in")
		}
	}) {
		return
	}

	t.Run("admin prices a model and suspends the user", func(t *testing.T) {
		browserAdmin(t, e, b, user, key)
	})
	t.Logf("browser scenario took %v", time.Since(began).Round(time.Millisecond))
}
