// Package console is the web console served at /: server-rendered pages
// (html/template, embedded with their CSS) where people sign up, log in,
// manage their API keys and read their balance, ledger, request log and the
// price list, in English or Chinese.
//
// Security rules every handler follows: a page shows and changes only the
// signed-in user's own data (each store call is scoped by the session's
// user id, and a key of someone else reads as not found); every POST
// carries the session's CSRF token (or, before sign-in, the token of the
// pre-session cookie); session cookies are HttpOnly and SameSite=Lax, and
// Secure when the request came over TLS.
package console

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

//go:embed templates static messages
var files embed.FS

// Sign-up modes.
const (
	SignupOpen   = "open"
	SignupInvite = "invite"
	SignupClosed = "closed"
)

// Settings the operator may store to override the defaults.
const (
	// SettingSignup overrides Options.Signup when it holds a valid mode.
	SettingSignup = "console.signup"
	// SettingTerms and SettingPrivacy replace the default Terms of Service
	// and Privacy Policy; a ".zh" or ".en" suffix gives one language its
	// own text. Paragraphs are separated by blank lines.
	SettingTerms   = "console.terms"
	SettingPrivacy = "console.privacy"
)

// Reloader makes the request path see a change (a new key, a revoked key, a
// new account).
type Reloader interface {
	Reload(ctx context.Context) error
}

// Options configure a Console.
type Options struct {
	Store    *store.Store
	Reloader Reloader
	// Upstreams tests channels and shows their breakers on the admin
	// pages (nil: not shown).
	Upstreams Upstreams
	// API is the gateway's API handler, which the playground calls
	// in-process (nil: no playground calls).
	API http.Handler
	Log *slog.Logger
	// Signup is the sign-up mode (default open).
	Signup   string
	SiteName string // default "Tokenhot"
	// Balance returns a user's live spendable balance when the request
	// path keeps it in memory (SQLite); nil or false: the stored balance.
	Balance func(userID int64) (billing.Micros, bool)
	// TrustedProxies are believed for X-Forwarded-For and
	// X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
	// PasswordCost is the bcrypt cost (default bcrypt.DefaultCost; tests
	// lower it).
	PasswordCost int
	// SessionTTL is how long a session lasts (default 7 days).
	SessionTTL time.Duration
	Now        func() time.Time
}

// Console serves the web console.
type Console struct {
	opts     Options
	st       *store.Store
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*pageTemplate
	msgs     catalogue
	throttle *throttle
	mux      *http.ServeMux
	dummy    []byte // a bcrypt hash compared against when the user is unknown
	play     playKeys
}

// New builds the console; it fails only if its embedded files are broken.
func New(o Options) (*Console, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Signup == "" {
		o.Signup = SignupOpen
	}
	if o.SiteName == "" {
		o.SiteName = "Tokenhot"
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 7 * 24 * time.Hour
	}
	msgs, err := loadCatalogue()
	if err != nil {
		return nil, err
	}
	pages, err := loadPages()
	if err != nil {
		return nil, err
	}
	c := &Console{opts: o, st: o.Store, log: o.Log, now: o.Now, pages: pages, msgs: msgs,
		throttle: newThrottle(5, 15*time.Minute), mux: http.NewServeMux()}
	if c.dummy, err = c.hashPassword("not a real password, only for timing"); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Register mounts the console at / on mux. More specific patterns (the
// APIs) keep priority.
func (c *Console) Register(mux *http.ServeMux) { mux.Handle("/", c) }

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /static/", http.FileServerFS(files))
	m.HandleFunc("GET /lang/{lang}", c.setLanguage)
	m.HandleFunc("GET /terms", c.legal("terms"))
	m.HandleFunc("GET /privacy", c.legal("privacy"))
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.login)
	m.HandleFunc("GET /signup", c.signupPage)
	m.HandleFunc("POST /signup", c.signup)
	m.HandleFunc("POST /logout", c.signedIn(c.logout))
	m.HandleFunc("GET /password", c.signedIn(c.passwordPage))
	m.HandleFunc("POST /password", c.signedIn(c.changePassword))
	m.HandleFunc("GET /{$}", c.signedIn(c.dashboard))
	m.HandleFunc("GET /keys", c.signedIn(c.keysPage))
	m.HandleFunc("POST /keys", c.signedIn(c.createKey))
	m.HandleFunc("POST /keys/{id}/revoke", c.signedIn(c.revokeKey))
	m.HandleFunc("GET /ledger", c.signedIn(c.ledgerPage))
	m.HandleFunc("GET /logs", c.signedIn(c.logsPage))
	m.HandleFunc("GET /models", c.modelsPage)
	c.userRoutes()
	c.adminRoutes()
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
	})
}

// ServeHTTP serves a console page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; "+
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c.mux.ServeHTTP(w, r)
}

// signupMode is the operator's setting, else the configured mode.
func (c *Console) signupMode(ctx context.Context) string {
	v, err := c.st.Setting(ctx, SettingSignup)
	switch {
	case err == nil && (v == SignupOpen || v == SignupInvite || v == SignupClosed):
		return v
	case err != nil && !errors.Is(err, store.ErrNotFound):
		c.log.Error("console: reading the sign-up setting", "err", err)
	}
	return c.opts.Signup
}

// reload makes the request path see a change; a failure is logged and
// reported, the change itself is saved.
func (c *Console) reload(r *http.Request, what string, attrs ...any) error {
	c.log.Info("console: "+what, attrs...)
	if c.opts.Reloader == nil {
		return nil
	}
	err := c.opts.Reloader.Reload(context.WithoutCancel(r.Context()))
	if err != nil {
		c.log.Error("console: reload after "+what, "err", err)
	}
	return err
}
