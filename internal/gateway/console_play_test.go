package gateway_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/mock"
)

var playCSRF = regexp.MustCompile(`data-csrf="([^"]+)"`)

// play posts JSON to a playground endpoint with the page's CSRF token
// (none when csrf is false).
func (b *browser) play(path, body string, csrf bool) (int, string, http.Header) {
	b.t.Helper()
	code, page := b.get("/playground")
	m := playCSRF.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("GET /playground: %d\n%s", code, page)
	}
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if csrf {
		req.Header.Set("X-CSRF-Token", m[1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String(), resp.Header
}

func TestConsolePlaygroundChat(t *testing.T) {
	e := newEnvWith(t, "sqlite", mock.Options{})
	b := newBrowser(t, e)
	if code, _ := b.get("/playground"); code != http.StatusSeeOther {
		t.Fatalf("signed out: %d, want a redirect", code)
	}
	b.signup("pia", "correct horse battery")
	codes := e.adminCodes(t, `{"count":1,"amount":"5"}`)
	b.post("/topup", "/topup", url.Values{"code": {codes[0]}})
	code, page := b.get("/playground")
	if code != http.StatusOK || !strings.Contains(page, `<option value="gpt-5">`) || strings.Contains(page, "offline-model") ||
		!strings.Contains(page, `href="/playground" aria-current="page"`) {
		t.Fatalf("playground page: %d\n%s", code, page)
	}
	if code, _, _ := b.play("/playground/chat", `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`, false); code != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", code)
	}
	code, body, h := b.play("/playground/chat", `{"model":"gpt-5","messages":[{"role":"user","content":"say something"}]}`, true)
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("chat: %d %s\n%s", code, h.Get("Content-Type"), body)
	}
	var text strings.Builder
	deltas := 0
	for _, l := range strings.Split(body, "\n") {
		data, ok := strings.CutPrefix(l, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		if d := gjson.Get(data, "choices.0.delta.content").Str; d != "" {
			text.WriteString(d)
			deltas++
		}
	}
	if deltas < 2 || strings.TrimSpace(text.String()) == "" {
		t.Fatalf("streamed %d deltas %q:\n%s", deltas, text.String(), body)
	}
	row := e.lastLog("pia")
	if row.Status != 200 || row.Cost <= 0 || row.Model != "gpt-5" || !row.Stream {
		t.Fatalf("log row %+v", row)
	}
	if u := e.user("pia"); u.Balance != 5*billing.MicrosPerUSD-row.Cost {
		t.Fatalf("balance %s, want $5 - %s", u.Balance, row.Cost)
	}
	// A second call reuses the playground key.
	if code, body, _ := b.play("/playground/chat", `{"model":"gpt-5","messages":[{"role":"user","content":"again"}]}`, true); code != http.StatusOK {
		t.Fatalf("second chat: %d\n%s", code, body)
	}
	if _, logs := b.get("/logs"); !strings.Contains(logs, "gpt-5") {
		t.Fatalf("request log page:\n%s", logs)
	}

	other := newBrowser(t, e)
	if code, _, _ := other.do(http.MethodPost, "/playground/chat", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("signed-out POST: %d", code)
	}
}

func TestConsolePlaygroundImage(t *testing.T) {
	e := newEnvConfig(t, "sqlite", mock.Options{}, imagesConfig)
	b := newBrowser(t, e)
	b.signup("ivy", "correct horse battery")
	codes := e.adminCodes(t, `{"count":1,"amount":"5"}`)
	b.post("/topup", "/topup", url.Values{"code": {codes[0]}})
	code, body, _ := b.play("/playground/image", `{"model":"gpt-image-1","prompt":"a sea otter","n":1,"response_format":"b64_json"}`, true)
	if code != http.StatusOK || gjson.Get(body, "data.0.b64_json").Str == "" {
		t.Fatalf("image: %d\n%.500s", code, body)
	}
	row := e.lastLog("ivy")
	if row.Status != 200 || row.Cost <= 0 || row.Model != "gpt-image-1" {
		t.Fatalf("log row %+v", row)
	}
}
