package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/mock"
)

// browser is a cookie-keeping client of the console that does not follow
// redirects, so tests see each answer.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	lang string
}

func newBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, e: e, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	code, body, _ := b.do(http.MethodGet, path, nil)
	return code, body
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token from the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	code, body := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no csrf token:\n%s", path, code, body)
	}
	return m[1]
}

// post submits a form from the page at from, with its CSRF token.
func (b *browser) post(from, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	form.Set("csrf", b.csrf(from))
	return b.do(http.MethodPost, path, form)
}

func (b *browser) signup(name, password string) {
	b.t.Helper()
	code, body, h := b.post("/signup", "/signup", url.Values{"username": {name}, "password": {password},
		"password2": {password}, "terms": {"yes"}, "adult": {"yes"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		b.t.Fatalf("sign-up: %d %s\n%s", code, h.Get("Location"), body)
	}
}

func (b *browser) createKey(form url.Values) string {
	b.t.Helper()
	code, body, _ := b.post("/keys", "/keys", form)
	m := regexp.MustCompile(`id="new-key" readonly value="([^"]+)"`).FindStringSubmatch(body)
	if code != http.StatusCreated || m == nil {
		b.t.Fatalf("create key: %d\n%s", code, body)
	}
	return m[1]
}

func TestConsoleKeyLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvWith(t, backend, mock.Options{})
		b := newBrowser(t, e)
		if code, _, h := b.do(http.MethodGet, "/", nil); code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("signed out GET /: %d %s, want a redirect to /login", code, h.Get("Location"))
		}
		b.signup("carol", "correct horse battery")
		code, body := b.get("/")
		if code != http.StatusOK || !strings.Contains(body, `data-testid="balance">$0<`) {
			t.Fatalf("dashboard: %d\n%s", code, body)
		}

		// A new account has no money; the operator tops it up.
		carol := e.user("carol")
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/admin/v1/users/%d/topups", e.srv.URL, carol.ID),
			strings.NewReader(`{"amount":"5","idempotency_key":"t1"}`))
		req.Header.Set("Authorization", "Bearer admin-secret-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("top-up: %v %v", err, resp.Status)
		}
		resp.Body.Close()

		key := b.createKey(url.Values{"name": {"laptop"}, "spend_limit": {"1.50"}, "models": {"gpt-5, cheap"}})
		// Shown once: the list shows only the prefix.
		if _, body := b.get("/keys"); strings.Contains(body, key) || !strings.Contains(body, key[:12]) {
			t.Fatalf("keys page after creation shows the key or not its prefix:\n%s", body)
		}
		r, out := e.post("/v1/chat/completions", key, `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("API call with the console's key: %d %s", r.StatusCode, out)
		}
		// The allow-list the form set is enforced.
		if r, out := e.post("/v1/chat/completions", key, `{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}`); r.StatusCode != http.StatusForbidden {
			t.Fatalf("model outside the allow-list: %d %s", r.StatusCode, out)
		}
		e.flushLogs()
		_, body = b.get("/logs")
		if !strings.Contains(body, "<td>gpt-5</td>") || !strings.Contains(body, "/1M") || !strings.Contains(body, "<strong>$") {
			t.Fatalf("request log does not show the call and its charge:\n%s", body)
		}
		if _, body = b.get("/ledger"); !strings.Contains(body, "$5") {
			t.Fatalf("ledger does not show the top-up:\n%s", body)
		}

		// Revoke, and the key stops working.
		id := regexp.MustCompile(`action="/keys/(\d+)/revoke"`).FindStringSubmatch(body2(b, "/keys"))
		if id == nil {
			t.Fatal("no revoke button")
		}
		code, _, h := b.post("/keys", "/keys/"+id[1]+"/revoke", url.Values{})
		if code != http.StatusSeeOther || h.Get("Location") != "/keys" {
			t.Fatalf("revoke: %d", code)
		}
		if r, _ := e.post("/v1/chat/completions", key, `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("revoked key: %d, want 401", r.StatusCode)
		}

		// Log out ends the session.
		b.post("/", "/logout", url.Values{})
		if code, _, h := b.do(http.MethodGet, "/keys", nil); code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("after logout GET /keys: %d", code)
		}
		// And log in again works.
		code, _, h = b.post("/login", "/login", url.Values{"username": {"carol"}, "password": {"correct horse battery"}})
		if code != http.StatusSeeOther || h.Get("Location") != "/" {
			t.Fatalf("login: %d", code)
		}
	})
}

func body2(b *browser, path string) string {
	b.t.Helper()
	_, body := b.get(path)
	return body
}

func TestConsoleAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		carol, mallory := newBrowser(t, e), newBrowser(t, e)
		carol.signup("carol", "correct horse battery")
		mallory.signup("mallory", "another long password")
		key := carol.createKey(url.Values{"name": {"secret-project"}})
		id := regexp.MustCompile(`action="/keys/(\d+)/revoke"`).FindStringSubmatch(body2(carol, "/keys"))[1]

		if body := body2(mallory, "/keys"); strings.Contains(body, "secret-project") || strings.Contains(body, key[:12]) {
			t.Fatalf("another user's keys page shows carol's key:\n%s", body)
		}
		if code, _, _ := mallory.post("/keys", "/keys/"+id+"/revoke", url.Values{}); code != http.StatusNotFound {
			t.Fatalf("revoking someone else's key: %d, want 404", code)
		}
		if r, _ := e.post("/v1/chat/completions", key, `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`); r.StatusCode == http.StatusUnauthorized {
			t.Fatal("carol's key was revoked by mallory")
		}

		// CSRF: a POST without the token, or with another session's, is refused.
		if code, _, _ := carol.do(http.MethodPost, "/keys", url.Values{"name": {"x"}}); code != http.StatusForbidden {
			t.Fatalf("POST /keys without csrf: %d, want 403", code)
		}
		if code, _, _ := carol.do(http.MethodPost, "/keys", url.Values{"name": {"x"}, "csrf": {mallory.csrf("/keys")}}); code != http.StatusForbidden {
			t.Fatalf("POST /keys with another session's csrf: %d, want 403", code)
		}
		anon := newBrowser(t, e)
		if code, _, _ := anon.do(http.MethodPost, "/login", url.Values{"username": {"carol"}, "password": {"correct horse battery"}}); code != http.StatusForbidden {
			t.Fatalf("POST /login without csrf: %d, want 403", code)
		}
		if code, _, _ := anon.do(http.MethodPost, "/keys/"+id+"/revoke", url.Values{}); code != http.StatusForbidden {
			t.Fatalf("signed-out revoke: %d, want 403", code)
		}
	})
}

func TestConsoleLanguagesAndRoutes(t *testing.T) {
	e := newEnv(t, "sqlite")
	b := newBrowser(t, e)
	b.lang = "zh-CN,zh;q=0.9,en;q=0.8"
	if _, body := b.get("/login"); !strings.Contains(body, `lang="zh-CN"`) || !strings.Contains(body, "用户名") {
		t.Fatalf("Accept-Language zh-CN did not give a Chinese page:\n%s", body)
	}
	// The switch remembers English over the browser's preference.
	if code, _, h := b.do(http.MethodGet, "/lang/en?next=/models", nil); code != http.StatusSeeOther || h.Get("Location") != "/models" {
		t.Fatalf("language switch: %d %s", code, h.Get("Location"))
	}
	if _, body := b.get("/models"); !strings.Contains(body, "Models and prices") || !strings.Contains(body, "<code>gpt-5</code>") {
		t.Fatalf("English models page:\n%s", body)
	}
	if _, _, h := b.do(http.MethodGet, "/lang/zh?next=//evil.example", nil); h.Get("Location") != "/" {
		t.Fatalf("open redirect: %s", h.Get("Location"))
	}
	for _, p := range []string{"/terms", "/privacy"} {
		if code, _ := b.get(p); code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	// The API keeps its routes and its JSON errors.
	for _, tc := range []struct{ method, path string }{{"GET", "/v1/nope"}, {"POST", "/v1/nope"}, {"GET", "/v1beta/nope"}} {
		code, body, h := b.do(tc.method, tc.path, nil)
		if code != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, `"error"`) {
			t.Errorf("%s %s: %d %s %s", tc.method, tc.path, code, h.Get("Content-Type"), body)
		}
	}
	if code, body := b.get("/healthz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, _ := b.get("/no-such-page"); code != http.StatusNotFound {
		t.Errorf("unknown console page: %d", code)
	}
}

func TestConsoleSignupRulesAndThrottle(t *testing.T) {
	e := newEnv(t, "sqlite")
	b := newBrowser(t, e)
	base := url.Values{"username": {"dave"}, "password": {"long enough pw"}, "password2": {"long enough pw"},
		"terms": {"yes"}, "adult": {"yes"}}
	for _, tc := range []struct {
		name  string
		field string
		value string
		want  int
	}{
		{"short password", "password", "short", http.StatusBadRequest},
		{"no terms", "terms", "", http.StatusBadRequest},
		{"not adult", "adult", "", http.StatusBadRequest},
		{"bad name", "username", "a b", http.StatusBadRequest},
		{"taken name", "username", "alice", http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range base {
				f[k] = v
			}
			f.Set(tc.field, tc.value)
			if tc.field == "password" {
				f.Set("password2", tc.value)
			}
			if code, body, _ := b.post("/signup", "/signup", f); code != tc.want {
				t.Fatalf("%d, want %d\n%s", code, tc.want, body)
			}
		})
	}
	b.signup("dave", "long enough pw")
	b.post("/", "/logout", url.Values{})
	for i := range 5 {
		if code, _, _ := b.post("/login", "/login", url.Values{"username": {"dave"}, "password": {"wrong password"}}); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	// Even the right password is refused while throttled.
	if code, _, _ := b.post("/login", "/login", url.Values{"username": {"dave"}, "password": {"long enough pw"}}); code != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt: %d, want 429", code)
	}
	// Users the operator created have no password and cannot log in.
	if code, _, _ := b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {""}}); code != http.StatusUnauthorized {
		t.Fatalf("password-less operator user: %d, want 401", code)
	}
}

func TestConsoleSignupClosed(t *testing.T) {
	e := newEnvConfig(t, "sqlite", mock.Options{}, func(m, dsn string) string {
		return testConfig(m, dsn) + "console: {signup: closed, site_name: Acme AI}\n"
	})
	b := newBrowser(t, e)
	code, body := b.get("/signup")
	if code != http.StatusForbidden || !strings.Contains(body, "Acme AI") {
		t.Fatalf("closed sign-up page: %d\n%s", code, body)
	}
}
