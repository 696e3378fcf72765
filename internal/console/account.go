package console

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokenhot/tokenhot/internal/store"
)

const (
	minPassword = 10 // characters
	maxPassword = 72 // bytes: bcrypt reads no further
)

// authForm is what the log-in and sign-up pages show again after an error.
type authForm struct {
	Name   string
	Signup string // the sign-up mode
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if s, _ := c.session(r); s != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := c.newView(r, nil, "login.title")
	v.CSRF = c.preToken(w, r)
	v.Data = authForm{Signup: c.signupMode(r.Context())}
	c.render(w, http.StatusOK, "login", v)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !checkPreToken(r) {
		c.fail(w, r, nil, http.StatusForbidden, "err.csrf")
		return
	}
	name := strings.TrimSpace(r.PostFormValue("username"))
	ip, _ := c.peer(r)
	key := strings.ToLower(name) + "|" + ip.String()
	v := c.newView(r, nil, "login.title")
	v.CSRF = c.preToken(w, r)
	v.Data = authForm{Name: name, Signup: c.signupMode(r.Context())}
	now := c.now()
	if c.throttle.blocked(key, now) {
		c.log.Warn("console: login throttled", "user", name, "ip", ip)
		v.Error = v.T("err.throttled")
		c.render(w, http.StatusTooManyRequests, "login", v)
		return
	}
	u, hash, err := c.st.Credentials(r.Context(), name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	if hash == "" {
		// Compare anyway, so an unknown name takes as long as a wrong
		// password.
		_ = bcrypt.CompareHashAndPassword(c.dummy, []byte(r.PostFormValue("password")))
	}
	if hash == "" || bcrypt.CompareHashAndPassword([]byte(hash), []byte(r.PostFormValue("password"))) != nil {
		c.throttle.fail(key, now)
		v.Error = v.T("err.bad_login")
		c.render(w, http.StatusUnauthorized, "login", v)
		return
	}
	c.throttle.reset(key)
	if err := c.startSession(w, r, u.ID); err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	c.log.Info("console: login", "user", u.ID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.st.DeleteSession(r.Context(), s.Digest); err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) signupPage(w http.ResponseWriter, r *http.Request) {
	v := c.newView(r, nil, "signup.title")
	v.CSRF = c.preToken(w, r)
	mode := c.signupMode(r.Context())
	v.Data = authForm{Signup: mode}
	status := http.StatusOK
	if mode == SignupClosed {
		status = http.StatusForbidden
	}
	c.render(w, status, "signup", v)
}

func (c *Console) signup(w http.ResponseWriter, r *http.Request) {
	if !checkPreToken(r) {
		c.fail(w, r, nil, http.StatusForbidden, "err.csrf")
		return
	}
	mode := c.signupMode(r.Context())
	name := strings.TrimSpace(r.PostFormValue("username"))
	v := c.newView(r, nil, "signup.title")
	v.CSRF = c.preToken(w, r)
	v.Data = authForm{Name: name, Signup: mode}
	refuse := func(status int, msg string) {
		v.Error = v.T(msg)
		c.render(w, status, "signup", v)
	}
	if mode == SignupClosed {
		refuse(http.StatusForbidden, "signup.closed")
		return
	}
	pw := r.PostFormValue("password")
	if msg := checkUserName(name); msg != "" {
		refuse(http.StatusBadRequest, msg)
		return
	}
	if msg := checkPassword(pw); msg != "" {
		refuse(http.StatusBadRequest, msg)
		return
	}
	if pw != r.PostFormValue("password2") {
		refuse(http.StatusBadRequest, "err.password_mismatch")
		return
	}
	if r.PostFormValue("terms") != "yes" {
		refuse(http.StatusBadRequest, "err.terms")
		return
	}
	if r.PostFormValue("adult") != "yes" {
		refuse(http.StatusBadRequest, "err.adult")
		return
	}
	reg := store.Registration{Name: name, TermsAccepted: c.now()}
	if mode == SignupInvite {
		code := strings.TrimSpace(r.PostFormValue("invite"))
		if code == "" {
			refuse(http.StatusBadRequest, "err.invite")
			return
		}
		reg.InviteDigest = digest(code)
	}
	hash, err := c.hashPassword(pw)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	reg.PasswordHash = string(hash)
	u, err := c.st.Register(r.Context(), reg)
	switch {
	case errors.Is(err, store.ErrConflict):
		refuse(http.StatusConflict, "err.name_taken")
		return
	case errors.Is(err, store.ErrNotFound):
		refuse(http.StatusBadRequest, "err.invite")
		return
	case err != nil:
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	// The account must exist on the request path before its first key.
	_ = c.reload(r, "user signed up", "user", u.ID)
	if err := c.startSession(w, r, u.ID); err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// checkUserName returns the message id of what is wrong with name, or "".
func checkUserName(name string) string {
	n := utf8.RuneCountInString(name)
	if n < 3 || n > 32 {
		return "err.name_length"
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.') {
			return "err.name_chars"
		}
	}
	// All digits would read as a user id in the CLI; deleted-… is reserved.
	if strings.Trim(name, "0123456789") == "" || strings.HasPrefix(name, "deleted-") {
		return "err.name_chars"
	}
	return ""
}

// checkPassword returns the message id of what is wrong with pw, or "".
func checkPassword(pw string) string {
	if utf8.RuneCountInString(pw) < minPassword {
		return "err.password_short"
	}
	if len(pw) > maxPassword {
		return "err.password_long"
	}
	return ""
}

func (c *Console) passwordPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, http.StatusOK, "password", c.newView(r, s, "password.title"))
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	v := c.newView(r, s, "password.title")
	hash, err := c.st.PasswordHash(r.Context(), s.UserID)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(r.PostFormValue("current"))) != nil {
		v.Error = v.T("err.bad_password")
		c.render(w, http.StatusBadRequest, "password", v)
		return
	}
	pw := r.PostFormValue("password")
	msg := checkPassword(pw)
	if msg == "" && pw != r.PostFormValue("password2") {
		msg = "err.password_mismatch"
	}
	if msg != "" {
		v.Error = v.T(msg)
		c.render(w, http.StatusBadRequest, "password", v)
		return
	}
	newHash, err := c.hashPassword(pw)
	if err == nil {
		err = c.st.SetPasswordHash(r.Context(), s.UserID, string(newHash))
	}
	if err == nil {
		// Whoever else knew the old password is signed out.
		err = c.st.DeleteUserSessions(r.Context(), s.UserID, s.Digest)
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	c.log.Info("console: password changed", "user", s.UserID)
	v.Notice = v.T("password.changed")
	c.render(w, http.StatusOK, "password", v)
}

// setLanguage remembers the chosen language in a cookie and goes back to
// the page the switch was on.
func (c *Console) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if !supported(lang) {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	ck := c.cookie(r, "lang", lang, 365*24*3600)
	http.SetCookie(w, ck)
	next := r.URL.Query().Get("next")
	// Only a path on this site: "//host" and "/\host" would leave it.
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// legal serves the Terms of Service or the Privacy Policy: the operator's
// text from the settings when there is one, else the default.
func (c *Console) legal(which string) http.HandlerFunc {
	setting := map[string]string{"terms": SettingTerms, "privacy": SettingPrivacy}[which]
	return func(w http.ResponseWriter, r *http.Request) {
		s, _ := c.session(r)
		v := c.newView(r, s, which+".title")
		body := v.T(which + ".body")
		for _, key := range []string{setting + "." + v.Lang, setting} {
			text, err := c.st.Setting(r.Context(), key)
			if err == nil && strings.TrimSpace(text) != "" {
				body = text
				break
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
				return
			}
		}
		v.Data = body
		c.render(w, http.StatusOK, "legal", v)
	}
}
