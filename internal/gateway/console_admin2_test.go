package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/mock"
)

func TestConsoleAdminCodesSettingsChannels(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvWith(t, backend, mock.Options{})
		ctx := context.Background()
		op, dora := newBrowser(t, e), newBrowser(t, e)
		op.signup("operator", "operator password")
		dora.signup("dora", "correct horse battery")
		openai, err := e.g.Store.GetChannelByName(ctx, "openai")
		if err != nil {
			t.Fatal(err)
		}
		pages := []string{"/admin/codes", "/admin/settings", "/admin/channels/new", fmt.Sprintf("/admin/channels/%d/edit", openai.ID)}
		form := url.Values{"count": {"1"}, "amount": {"5"}, "signup": {"closed"}, "language": {"en"}, "site_name": {"X"},
			"name": {"evil"}, "type": {"openai"}, "base_url": {"http://127.0.0.1:1"}, "keys": {"k"}, "models": {"m"}}
		for _, b := range []*browser{op, dora} {
			for _, p := range pages {
				if code, _ := b.get(p); code != http.StatusNotFound {
					t.Fatalf("non-admin GET %s: %d", p, code)
				}
				if code, _, _ := b.post("/keys", p, form); code != http.StatusNotFound {
					t.Fatalf("non-admin POST %s: %d", p, code)
				}
			}
		}
		if _, err := e.g.Store.GetChannelByName(ctx, "evil"); err == nil {
			t.Fatal("a non-admin added a channel")
		}
		if code := e.adminPut(t, fmt.Sprintf("/admin/v1/users/%d/role", e.user("operator").ID), `{"role":"admin"}`); code != http.StatusOK {
			t.Fatalf("grant admin: %d", code)
		}
		for _, p := range pages {
			if code, body := op.get(p); code != http.StatusOK || !strings.Contains(body, `href="/admin/settings"`) {
				t.Fatalf("admin GET %s: %d\n%s", p, code, body)
			}
		}

		// Codes: a batch is shown once with its CSV; a redemption shows who.
		code, body, _ := op.post("/admin/codes", "/admin/codes", url.Values{"count": {"3"}, "amount": {"5"},
			"expires": {"2099-12-31"}, "batch": {"spring"}})
		codes := regexp.MustCompile(`<li><code>(TH-[^<]+)</code></li>`).FindAllStringSubmatch(body, -1)
		if code != http.StatusOK || len(codes) != 3 || !strings.Contains(body, `href="data:text/csv;base64,`) {
			t.Fatalf("create codes: %d %d\n%s", code, len(codes), body)
		}
		if code, _, _ := op.post("/admin/codes", "/admin/codes", url.Values{"count": {"0"}, "amount": {"5"}}); code != http.StatusBadRequest {
			t.Fatalf("zero codes: %d", code)
		}
		if code, body, _ := dora.post("/topup", "/topup", url.Values{"code": {codes[1][1]}}); code != http.StatusOK {
			t.Fatalf("redeem: %d\n%s", code, body)
		}
		_, body = op.get("/admin/codes")
		if strings.Contains(body, codes[0][1]) || strings.Count(body, "data-code=") != 3 {
			t.Fatalf("codes page shows a plaintext or the wrong rows:\n%s", body)
		}
		row := regexp.MustCompile(`data-code="` + regexp.QuoteMeta(codes[1][1][:7]) + `">(?s:.*?)</tr>`).FindString(body)
		if !strings.Contains(row, "<td>dora</td>") || !strings.Contains(row, "spring") {
			t.Fatalf("codes page does not show who redeemed:\n%s", row)
		}

		// Settings: the site name shows on the login page; closed sign-up refuses.
		if code, body, _ := op.post("/admin/settings", "/admin/settings", url.Values{"signup": {"closed"},
			"site_name": {"Acme Gateway"}, "language": {"zh"}, "terms": {"Be nice."}, "privacy": {""}}); code != http.StatusSeeOther {
			t.Fatalf("save settings: %d\n%s", code, body)
		}
		anon := newBrowser(t, e)
		if _, body := anon.get("/login"); !strings.Contains(body, "Acme Gateway") || !strings.Contains(body, `lang="zh-CN"`) {
			t.Fatalf("login page does not show the settings:\n%s", body)
		}
		if _, body := anon.get("/terms"); !strings.Contains(body, "Be nice.") {
			t.Fatal("terms not replaced")
		}
		code, _, _ = anon.post("/login", "/signup", url.Values{"username": {"eve"}, "password": {"a long password here"},
			"password2": {"a long password here"}, "terms": {"yes"}, "adult": {"yes"}})
		if _, err := e.g.Store.GetUserByName(ctx, "eve"); code == http.StatusSeeOther || err == nil {
			t.Fatalf("closed sign-up accepted eve: %d", code)
		}

		// Channels: add one serving a new model, price it, call it.
		add := url.Values{"name": {"house"}, "type": {"openai"}, "base_url": {openai.BaseURL}, "keys": {"upstream-house-key\n"},
			"models": {"house-model"}, "model_map": {"house-model=gpt-5"}, "priority": {"5"}, "weight": {"1"}}
		if code, body, _ := op.post("/admin/channels/new", "/admin/channels/new", add); code != http.StatusSeeOther {
			t.Fatalf("add channel: %d\n%s", code, body)
		}
		if code, body, _ := op.post("/admin/channels/new", "/admin/channels/new", url.Values{"name": {"bad"}, "type": {"openai"},
			"base_url": {"ftp://x"}, "keys": {"k"}, "models": {"m"}}); code != http.StatusBadRequest || !strings.Contains(body, "base_url") {
			t.Fatalf("invalid channel: %d\n%s", code, body)
		}
		house, err := e.g.Store.GetChannelByName(ctx, "house")
		if err != nil || len(house.Keys) != 1 || house.ModelMap["house-model"] != "gpt-5" {
			t.Fatalf("%v %+v", err, house)
		}
		_, body = op.get(fmt.Sprintf("/admin/channels/%d/edit", house.ID))
		if strings.Contains(body, "upstream-house-key") || !strings.Contains(body, keyID("upstream-house-key")) {
			t.Fatalf("edit page shows the key:\n%s", body)
		}
		if code, body, _ := op.post("/admin/models", "/admin/models/house-model",
			url.Values{"status": {"available"}, "input": {"1"}, "output": {"2"}}); code != http.StatusSeeOther {
			t.Fatalf("price house-model: %d\n%s", code, body)
		}
		op.post("/admin/users", fmt.Sprintf("/admin/users/%d/adjust", e.user("dora").ID),
			url.Values{"amount": {"10"}, "reason": {"test"}})
		key := dora.createKey(url.Values{"name": {"k"}})
		chat := `{"model":"house-model","messages":[{"role":"user","content":"hi"}]}`
		if r, out := e.post("/v1/chat/completions", key, chat); r.StatusCode != http.StatusOK {
			t.Fatalf("call to the new model: %d %s", r.StatusCode, out)
		}
		// Editing with the keys left empty keeps them.
		edit := url.Values{"name": {"house"}, "type": {"openai"}, "base_url": {openai.BaseURL}, "keys": {""},
			"models": {"house-model"}, "model_map": {"house-model=gpt-5"}, "priority": {"7"}, "weight": {"2"}}
		if code, body, _ := op.post("/admin/channels", fmt.Sprintf("/admin/channels/%d/edit", house.ID), edit); code != http.StatusSeeOther {
			t.Fatalf("edit channel: %d\n%s", code, body)
		}
		if ch, _ := e.g.Store.GetChannel(ctx, house.ID); len(ch.Keys) != 1 || ch.Keys[0] != "upstream-house-key" || ch.Priority != 7 {
			t.Fatalf("edit lost the keys or the priority: %d %d", len(ch.Keys), ch.Priority)
		}
		if r, out := e.post("/v1/chat/completions", key, chat); r.StatusCode != http.StatusOK {
			t.Fatalf("call after the edit: %d %s", r.StatusCode, out)
		}

		_, body = op.get("/admin/audit")
		for _, a := range []string{"codes.create", "setting.set", "channel.create", "channel.update"} {
			if !strings.Contains(body, `data-action="`+a+`"`) {
				t.Errorf("audit log lacks %s", a)
			}
		}
	})
}
