package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/mock"
)

// adminCodes creates redemption codes through the admin API.
func (e *env) adminCodes(t *testing.T, body string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/v1/codes", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-secret-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct{ Codes []string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &out) != nil {
		t.Fatalf("POST /admin/v1/codes: %d %s", resp.StatusCode, b)
	}
	return out.Codes
}

const helloChat = `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`

func TestConsoleTopUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvWith(t, backend, mock.Options{})
		b := newBrowser(t, e)
		b.signup("dora", "correct horse battery")
		key := b.createKey(url.Values{"name": {"k"}})
		if r, out := e.post("/v1/chat/completions", key, helloChat); r.StatusCode == http.StatusOK {
			t.Fatalf("API call without money: %d %s", r.StatusCode, out)
		}
		codes := e.adminCodes(t, `{"count":2,"amount":"5","batch":"welcome"}`)

		code, body, _ := b.post("/topup", "/topup", url.Values{"code": {strings.ToLower(codes[0])}})
		if code != http.StatusOK || !strings.Contains(body, `data-testid="balance">$5<`) || !strings.Contains(body, `role="status"`) {
			t.Fatalf("redeem: %d\n%s", code, body)
		}
		// The request path sees the new balance at once.
		if r, out := e.post("/v1/chat/completions", key, helloChat); r.StatusCode != http.StatusOK {
			t.Fatalf("API call after the top-up: %d %s", r.StatusCode, out)
		}
		// A second redemption, by anyone, is refused and credits nothing.
		if code, body, _ := b.post("/topup", "/topup", url.Values{"code": {codes[0]}}); code != http.StatusConflict ||
			!strings.Contains(body, "already been redeemed") {
			t.Fatalf("second redemption: %d\n%s", code, body)
		}
		other := newBrowser(t, e)
		other.lang = "zh-CN"
		other.signup("eve", "another long password")
		if code, body, _ := other.post("/topup", "/topup", url.Values{"code": {codes[0]}}); code != http.StatusConflict ||
			!strings.Contains(body, "该兑换码已被使用") {
			t.Fatalf("redemption by another user: %d\n%s", code, body)
		}
		if code, body, _ := b.post("/topup", "/topup", url.Values{"code": {"TH-0000-0000-0000-0000"}}); code != http.StatusBadRequest ||
			!strings.Contains(body, "not valid") {
			t.Fatalf("unknown code: %d\n%s", code, body)
		}
		past := time.Now().Add(-time.Hour)
		expired, err := e.g.Store.CreateCodes(context.Background(), "old", 1, billing.MicrosPerUSD, &past)
		if err != nil {
			t.Fatal(err)
		}
		if code, body, _ := b.post("/topup", "/topup", url.Values{"code": {expired[0]}}); code != http.StatusBadRequest ||
			!strings.Contains(body, "expired") {
			t.Fatalf("expired code: %d\n%s", code, body)
		}
		// Without the form token nothing happens.
		if code, _, _ := b.do(http.MethodPost, "/topup", url.Values{"code": {codes[1]}}); code != http.StatusForbidden {
			t.Fatalf("redeem without CSRF: %d, want 403", code)
		}
		e.flushLogs()
		u := e.user("dora")
		sum, err := e.g.Store.LedgerSum(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sum != u.Balance || sum >= 5*billing.MicrosPerUSD || sum <= 4*billing.MicrosPerUSD {
			t.Fatalf("balance %s, ledger sum %s: want one $5 credit less one call", u.Balance, sum)
		}
		if _, body := b.get("/ledger"); !strings.Contains(body, "code TH-") {
			t.Fatalf("ledger does not show the code's credit:\n%s", body)
		}
	})
}

func TestConsoleUsage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvWith(t, backend, mock.Options{})
		b := newBrowser(t, e)
		b.signup("fay", "correct horse battery")
		if code, body := b.get("/usage"); code != http.StatusOK || !strings.Contains(body, "No requests in this period") ||
			!strings.Contains(body, `<svg id="chart-day-spend" role="img"`) {
			t.Fatalf("empty usage page: %d\n%s", code, body)
		}
		codes := e.adminCodes(t, `{"count":1,"amount":"5"}`)
		b.post("/topup", "/topup", url.Values{"code": {codes[0]}})
		key := b.createKey(url.Values{"name": {"k"}})
		for range 3 {
			if r, out := e.post("/v1/chat/completions", key, helloChat); r.StatusCode != http.StatusOK {
				t.Fatalf("API call: %d %s", r.StatusCode, out)
			}
		}
		e.flushLogs()
		code, body := b.get("/usage")
		if code != http.StatusOK {
			t.Fatalf("usage page: %d\n%s", code, body)
		}
		today := time.Now().UTC().Format("2006-01-02")
		for _, want := range []string{
			`data-testid="usage-requests">3<`,
			`<svg id="chart-model-requests" role="img" aria-labelledby="chart-model-requests-title chart-model-requests-desc"`,
			`<title id="chart-day-requests-title">Requests per day</title>`,
			"<title>" + today + ": 3</title>",    // today's bar in the per-day chart
			"<title>gpt-5: 3</title>",            // the model's bar
			`<th scope="row">` + today + `</th>`, // the table fallback
			"the highest is gpt-5 with 3",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("usage page lacks %q", want)
			}
		}
		if t.Failed() {
			t.Fatalf("usage page:\n%s", body)
		}
		b.lang = "zh-CN"
		if _, body := b.get("/usage"); !strings.Contains(body, "每日请求数") {
			t.Fatalf("Chinese usage page:\n%s", body)
		}
	})
}

func TestConsoleModelExamples(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{})
	b := newBrowser(t, e)
	code, body := b.get("/models")
	if code != http.StatusOK {
		t.Fatalf("models page: %d\n%s", code, body)
	}
	for _, want := range []string{
		`<details class="card" id="examples-gpt-5">`,
		"curl " + e.srv.URL + "/v1/chat/completions",
		`OpenAI(base_url=&#34;` + e.srv.URL + `/v1&#34;`,           // Python OpenAI SDK
		`new OpenAI({ baseURL: &#34;` + e.srv.URL + `/v1&#34;`,     // Node OpenAI SDK
		`anthropic.Anthropic(base_url=&#34;` + e.srv.URL + `&#34;`, // Anthropic SDK
		`types.HttpOptions(base_url=&#34;` + e.srv.URL + `&#34;`,   // Gemini SDK
		`&#34;model&#34;:&#34;gpt-5&#34;`,                          // the model in the curl body
		`data-testid="base-url">` + e.srv.URL + `/v1</code>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("models page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("models page:\n%s", body)
	}
	// The base URL is the one the browser used.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/models", nil)
	req.Host = "api.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(out), "curl http://api.example.com/v1/chat/completions") {
		t.Fatalf("models page reached as api.example.com:\n%s", out)
	}
}

func TestConsoleDeleteAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvWith(t, backend, mock.Options{})
		b, elsewhere := newBrowser(t, e), newBrowser(t, e)
		b.signup("gus", "correct horse battery")
		codes := e.adminCodes(t, `{"count":1,"amount":"5"}`)
		b.post("/topup", "/topup", url.Values{"code": {codes[0]}})
		key := b.createKey(url.Values{"name": {"k"}})
		if r, out := e.post("/v1/chat/completions", key, helloChat); r.StatusCode != http.StatusOK {
			t.Fatalf("API call: %d %s", r.StatusCode, out)
		}
		if code, _, h := elsewhere.post("/login", "/login", url.Values{"username": {"gus"}, "password": {"correct horse battery"}}); code != http.StatusSeeOther || h.Get("Location") != "/" {
			t.Fatalf("second login: %d", code)
		}

		// The username must be typed exactly.
		if code, body, _ := b.post("/account/delete", "/account/delete", url.Values{"username": {"gu"}}); code != http.StatusBadRequest ||
			!strings.Contains(body, "does not match") {
			t.Fatalf("delete with the wrong name: %d\n%s", code, body)
		}
		if r, _ := e.post("/v1/chat/completions", key, helloChat); r.StatusCode != http.StatusOK {
			t.Fatalf("key after a refused deletion: %d", r.StatusCode)
		}
		// Without the form token nothing happens.
		if code, _, _ := b.do(http.MethodPost, "/account/delete", url.Values{"username": {"gus"}}); code != http.StatusForbidden {
			t.Fatalf("delete without CSRF: %d, want 403", code)
		}
		code, _, h := b.post("/account/delete", "/account/delete", url.Values{"username": {"gus"}})
		if code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("delete: %d %s", code, h.Get("Location"))
		}
		if r, out := e.post("/v1/chat/completions", key, helloChat); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("key of a deleted account: %d %s, want 401", r.StatusCode, out)
		}
		for _, br := range []*browser{b, elsewhere} {
			if code, _, h := br.do(http.MethodGet, "/keys", nil); code != http.StatusSeeOther || h.Get("Location") != "/login" {
				t.Fatalf("a session survived the deletion: GET /keys %d", code)
			}
		}
		code, body, _ := b.post("/login", "/login", url.Values{"username": {"gus"}, "password": {"correct horse battery"}})
		if code != http.StatusUnauthorized {
			t.Fatalf("login of a deleted account: %d\n%s", code, body)
		}
		// The name is free again.
		newBrowser(t, e).signup("gus", "a brand new password")
	})
}
