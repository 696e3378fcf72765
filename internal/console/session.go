package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokenhot/tokenhot/internal/store"
)

const (
	sessionCookie = "th_session"
	// preCookie carries the CSRF token of forms shown before sign-in
	// (log in, sign up): a double-submit token, since there is no session
	// to keep it in yet.
	preCookie = "th_csrf"
)

// session is the signed-in user of a request.
type session struct {
	store.Session
	user store.User
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(token string) string {
	d := sha256.Sum256([]byte(token))
	return hex.EncodeToString(d[:])
}

// session returns the request's live session, or nil without an error
// when there is none. A store failure is returned.
func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	ss, err := c.st.Session(r.Context(), digest(ck.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !c.now().Before(ss.Expires) {
		return nil, nil
	}
	u, err := c.st.GetUser(r.Context(), ss.UserID)
	if err != nil {
		return nil, err
	}
	return &session{Session: ss, user: u}, nil
}

// signedIn wraps a handler that needs a user: without a session it sends
// the browser to the login page, and every POST must carry the session's
// CSRF token.
func (c *Console) signedIn(h func(w http.ResponseWriter, r *http.Request, s *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
			return
		}
		if s == nil {
			if r.Method != http.MethodGet {
				c.fail(w, r, nil, http.StatusForbidden, "err.signed_out")
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && !sameToken(r.PostFormValue("csrf"), s.CSRF) {
			c.fail(w, r, nil, http.StatusForbidden, "err.csrf")
			return
		}
		h(w, r, s)
	}
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// preToken returns the CSRF token for a form shown before sign-in, setting
// its cookie when the browser has none.
func (c *Console) preToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(preCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	tok := newToken()
	http.SetCookie(w, c.cookie(r, preCookie, tok, 0))
	return tok
}

// checkPreToken checks a pre-sign-in form's token against its cookie.
func checkPreToken(r *http.Request) bool {
	ck, err := r.Cookie(preCookie)
	return err == nil && sameToken(r.PostFormValue("csrf"), ck.Value)
}

// cookie builds an HttpOnly, SameSite=Lax cookie; maxAge 0 makes it last
// for the browser session, a negative one deletes it.
func (c *Console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: c.overTLS(r)}
}

// startSession signs the user in with a fresh token, so a token planted
// before sign-in is never promoted.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, userID int64) error {
	tok := newToken()
	now := c.now()
	err := c.st.CreateSession(r.Context(), store.Session{Digest: digest(tok), UserID: userID, CSRF: newToken(),
		Created: now, Expires: now.Add(c.opts.SessionTTL)})
	if err != nil {
		return err
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, tok, int(c.opts.SessionTTL/time.Second)))
	// Sweep expired sessions now and then, without a goroutine of its own.
	if _, err := c.st.DeleteExpiredSessions(r.Context(), now); err != nil {
		c.log.Warn("console: deleting expired sessions", "err", err)
	}
	return nil
}

// peer is the client's address: the connection's, or the first untrusted
// address of X-Forwarded-For (read right to left) behind a trusted proxy.
func (c *Console) peer(r *http.Request) (addr netip.Addr, viaProxy bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr = ap.Addr().Unmap()
	if !c.trusted(addr) {
		return addr, false
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr, true
			}
			if a = a.Unmap(); !c.trusted(a) {
				return a, true
			}
			addr = a
		}
	}
	return addr, true
}

func (c *Console) trusted(a netip.Addr) bool {
	for _, p := range c.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// overTLS reports whether the browser reached us over HTTPS: directly, or
// through a trusted proxy that says so.
func (c *Console) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && c.trusted(ap.Addr().Unmap()) &&
		strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) hashPassword(pw string) ([]byte, error) {
	cost := c.opts.PasswordCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	return bcrypt.GenerateFromPassword([]byte(pw), cost)
}

// throttle counts failed logins per username and address over a rolling
// window. It lives in the process: with several gateway nodes each counts
// its own share, which still bounds guessing to a few tries per window per
// node.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	fails  map[string][]time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, fails: map[string][]time.Time{}}
}

// blocked reports whether key has used up its failures.
func (t *throttle) blocked(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.recentLocked(key, now)) >= t.limit
}

func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 100_000 {
		for k := range t.fails {
			t.recentLocked(k, now)
		}
	}
	t.fails[key] = append(t.recentLocked(key, now), now)
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

// recentLocked drops key's failures older than the window and returns the
// rest.
func (t *throttle) recentLocked(key string, now time.Time) []time.Time {
	f := t.fails[key]
	i := 0
	for i < len(f) && !f[i].After(now.Add(-t.window)) {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(t.fails, key)
		return nil
	}
	t.fails[key] = f
	return f
}
