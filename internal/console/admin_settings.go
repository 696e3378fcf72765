package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/tokenhot/tokenhot/internal/store"
)

// More settings the operator may store from the settings page.
const (
	// SettingSiteName overrides Options.SiteName when not empty.
	SettingSiteName = "console.site_name"
	// SettingLanguage is the language of a visitor whose browser asks for
	// none the console speaks.
	SettingLanguage = "console.language"
)

const maxLegalText = 32 << 10

// setting reads one setting; a missing one is "".
func (c *Console) setting(ctx context.Context, key string) string {
	v, err := c.st.Setting(ctx, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Error("console: reading a setting", "key", key, "err", err)
	}
	return v
}

// siteName is the operator's setting, else the configured name.
func (c *Console) siteName(ctx context.Context) string {
	if v := strings.TrimSpace(c.setting(ctx, SettingSiteName)); v != "" {
		return v
	}
	return c.opts.SiteName
}

// pageLanguage is language(r) when the visitor chose or asked for a
// language the console speaks, else the operator's default language.
func (c *Console) pageLanguage(r *http.Request) string {
	if ck, err := r.Cookie("lang"); err == nil && supported(ck.Value) {
		return ck.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if f, err := strconv.ParseFloat(q, 64); supported(base) && (!ok || (err == nil && f > 0)) {
			return language(r)
		}
	}
	if v := c.setting(r.Context(), SettingLanguage); supported(v) {
		return v
	}
	return languages[0]
}

type adminSettingsData struct {
	Signup, Site, Language, Terms, Privacy string
	Modes, Languages                       []string
}

func (c *Console) adminSettings(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	d := adminSettingsData{Signup: c.signupMode(ctx), Site: c.siteName(ctx), Language: c.setting(ctx, SettingLanguage),
		Terms: c.setting(ctx, SettingTerms), Privacy: c.setting(ctx, SettingPrivacy)}
	if !supported(d.Language) {
		d.Language = languages[0]
	}
	c.renderSettings(w, r, s, http.StatusOK, "", "", d)
}

func (c *Console) renderSettings(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg, notice string, d adminSettingsData) {
	d.Modes, d.Languages = []string{SignupOpen, SignupInvite, SignupClosed}, languages
	v := c.newView(r, s, "admin.settings.title")
	if errMsg != "" {
		v.Error = v.T(errMsg)
	}
	if notice != "" {
		v.Notice = v.T(notice)
	}
	v.Data = d
	c.render(w, status, "admin_settings", v)
}

func (c *Console) adminSaveSettings(w http.ResponseWriter, r *http.Request, s *session) {
	d := adminSettingsData{Signup: r.PostFormValue("signup"), Site: strings.TrimSpace(r.PostFormValue("site_name")),
		Language: r.PostFormValue("language"), Terms: strings.TrimSpace(r.PostFormValue("terms")),
		Privacy: strings.TrimSpace(r.PostFormValue("privacy"))}
	switch {
	case d.Signup != SignupOpen && d.Signup != SignupInvite && d.Signup != SignupClosed:
		c.renderSettings(w, r, s, http.StatusBadRequest, "admin.err.signup", "", d)
		return
	case len(d.Site) > 100 || strings.ContainsFunc(d.Site, func(r rune) bool { return !unicode.IsPrint(r) }):
		c.renderSettings(w, r, s, http.StatusBadRequest, "admin.err.site", "", d)
		return
	case !supported(d.Language):
		c.renderSettings(w, r, s, http.StatusBadRequest, "admin.err.language", "", d)
		return
	case len(d.Terms) > maxLegalText || len(d.Privacy) > maxLegalText:
		c.renderSettings(w, r, s, http.StatusBadRequest, "admin.err.legal", "", d)
		return
	}
	ctx := r.Context()
	for _, kv := range []struct{ key, value string }{{SettingSignup, d.Signup}, {SettingSiteName, d.Site},
		{SettingLanguage, d.Language}, {SettingTerms, d.Terms}, {SettingPrivacy, d.Privacy}} {
		old := c.setting(ctx, kv.key)
		if old == kv.value {
			continue
		}
		if err := c.st.SetSetting(ctx, kv.key, kv.value); err != nil {
			c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
			return
		}
		detail := strconv.Quote(old) + " → " + strconv.Quote(kv.value)
		if kv.key == SettingTerms || kv.key == SettingPrivacy {
			detail = strconv.Itoa(len(old)) + " → " + strconv.Itoa(len(kv.value)) + " bytes"
		}
		c.audit(r, s, "setting.set", kv.key, detail)
	}
	http.Redirect(w, r, "/admin/settings", http.StatusSeeOther)
}
