// Package admin is the operator's REST API under /admin/v1/: users, keys,
// money, channels, models and request logs. It is JSON in and out, money is
// exact decimal USD strings, and every bad input is refused before anything
// changes. Each successful write reloads the in-memory catalogue, so the
// change applies to the next request without a restart.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Reloader rebuilds the snapshot the request path reads (the catalogue).
type Reloader interface {
	Reload(ctx context.Context) error
}

// maxBody bounds a request body; the largest legitimate one is a channel
// with a few hundred keys.
const maxBody = 1 << 20

// API serves /admin/v1/.
type API struct {
	st    *store.Store
	cat   Reloader
	token [sha256.Size]byte
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
}

// New returns the admin API. tokenDigest is the SHA-256 of the admin token;
// requests must present the token itself as a bearer token.
func New(st *store.Store, cat Reloader, tokenDigest [32]byte, log *slog.Logger) *API {
	if log == nil {
		log = slog.Default()
	}
	a := &API{st: st, cat: cat, token: tokenDigest, log: log, now: time.Now, mux: http.NewServeMux()}
	a.routeUsers()
	a.routeMoney()
	a.routeKeys()
	a.routeChannels()
	a.routeModels()
	a.routeLogs()
	a.routeCodes()
	a.routeRoles()
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, &apiError{status: http.StatusNotFound, code: "not_found",
			msg: fmt.Sprintf("no admin route %s %s (see docs/ADMIN.md)", r.Method, r.URL.Path)})
	})
	return a
}

// Register mounts the API on mux under /admin/v1/.
func (a *API) Register(mux *http.ServeMux) { mux.Handle("/admin/v1/", a) }

// ServeHTTP authenticates the request and dispatches it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !a.authorized(r) {
		a.log.Warn("admin: unauthorized request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokenhot-admin"`)
		writeError(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized",
			msg: "a valid admin token is required: Authorization: Bearer <token>"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	a.mux.ServeHTTP(w, r)
}

// NewToken returns a fresh random admin token: "th-admin-" and 40 base62
// characters.
func NewToken() string {
	return "th-admin-" + strings.TrimPrefix(apikey.New(), apikey.Prefix)
}

func (a *API) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || a.token == [sha256.Size]byte{} {
		return false
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(d[:], a.token[:]) == 1
}

// handle registers a handler that reports failure by returning an error.
func (a *API) handle(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// changed records a committed write in the log and reloads the catalogue so
// that the write applies to the next request. The reload outlives the
// client: the write is done whether or not anyone waits for the answer.
func (a *API) changed(r *http.Request, action string, attrs ...any) error {
	a.log.Info("admin: "+action, attrs...)
	if err := a.cat.Reload(context.WithoutCancel(r.Context())); err != nil {
		return &apiError{status: http.StatusInternalServerError, code: "reload_failed", cause: err,
			msg: "the change was saved, but the running gateway could not reload it; " +
				"it applies at the next successful reload (any later admin write, or a restart)"}
	}
	return nil
}

// apiError is a failure with what the client is told kept apart from the
// cause, which only the log sees.
type apiError struct {
	status int
	code   string
	msg    string
	cause  error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.cause }

func invalid(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "invalid_request", msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &apiError{status: http.StatusConflict, code: "conflict", msg: fmt.Sprintf(format, args...)}
}

// fail writes err as the client should see it. Store sentinels map to
// their status; anything else is a 500 whose cause goes only to the log.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		msg := strings.TrimPrefix(err.Error(), "store: ")
		switch {
		case errors.Is(err, store.ErrNotFound):
			e = &apiError{status: http.StatusNotFound, code: "not_found", msg: msg}
		case errors.Is(err, store.ErrConflict):
			e = &apiError{status: http.StatusConflict, code: "conflict", msg: msg}
		case errors.Is(err, store.ErrInvalid):
			e = &apiError{status: http.StatusBadRequest, code: "invalid_request", msg: msg}
		case errors.Is(err, store.ErrInsufficientFunds):
			e = &apiError{status: http.StatusConflict, code: "insufficient_balance", msg: msg}
		case errors.Is(err, store.ErrUserInactive):
			e = &apiError{status: http.StatusConflict, code: "user_inactive", msg: msg}
		default:
			e = &apiError{status: http.StatusInternalServerError, code: "internal_error",
				msg: "internal error; the server log has the cause", cause: err}
		}
	}
	if e.status >= 500 {
		a.log.Error("admin: request failed", "method", r.Method, "path", r.URL.Path, "err", e.cause)
	}
	writeError(w, e)
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	var b ErrorBody
	b.Error.Message, b.Error.Code = e.msg, e.code
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// List is the shape of every list answer.
type List[T any] struct {
	Data []T `json:"data"`
	// NextBefore, when set, is the "before" value that fetches the next
	// (older) page.
	NextBefore int64 `json:"next_before,omitempty"`
}

func listOf[T, V any](items []T, view func(T) V) List[V] {
	out := List[V]{Data: make([]V, 0, len(items))}
	for _, it := range items {
		out.Data = append(out.Data, view(it))
	}
	return out
}

// decode reads exactly one JSON object into v, refusing unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("%s", describeJSON(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("the body must be a single JSON object")
	}
	return nil
}

func describeJSON(err error) string {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		size *http.MaxBytesError
	)
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty; a JSON object is required"
	case errors.As(err, &size):
		return fmt.Sprintf("the body is larger than %d bytes", size.Limit)
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "the body must be a JSON object"
		}
		if typ.Type.Kind() == reflect.String {
			return fmt.Sprintf("%s must be a string (money and prices are decimal strings such as \"20.5\")", typ.Field)
		}
		return fmt.Sprintf("%s must be of type %s, not %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the body ends too early"
	}
	return "malformed JSON: " + err.Error()
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	}
	return t.Kind().String()
}

// pathID reads the {id} wildcard.
func pathID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("id %q in the path is not a positive integer", s)
	}
	return id, nil
}

// query returns the URL query after checking that it names only allowed
// parameters, so that a misspelt filter is an error and not a silently
// unfiltered answer.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q := r.URL.Query()
	for name := range q {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return nil, invalid("unknown query parameter %q: this route takes none", name)
			}
			return nil, invalid("unknown query parameter %q (allowed: %s)", name, strings.Join(allowed, ", "))
		}
	}
	return q, nil
}

// queryInt reads an optional integer parameter in [lo, hi]; def when absent.
func queryInt(q url.Values, name string, lo, hi, def int64) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, invalid("%s must be an integer from %d to %d", name, lo, hi)
	}
	return v, nil
}

// Paging of the ledger and the request logs.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// nextBefore is the cursor of the page after a full one.
func nextBefore(n, limit int, lastID int64) int64 {
	if n < limit {
		return 0
	}
	return lastID
}

// maxUSD bounds every amount, as the store does: one billion dollars.
const maxUSD = 1_000_000_000 * billing.MicrosPerUSD

// usd parses a required decimal USD string.
func usd(field, s string) (billing.Micros, error) {
	if strings.TrimSpace(s) == "" {
		return 0, invalid("%s is required: a decimal USD string such as \"20.5\"", field)
	}
	v, err := billing.ParseUSD(s)
	if err != nil {
		return 0, invalid("%s: %q is not a decimal USD amount with at most 6 decimal places", field, s)
	}
	if v > maxUSD || v < -maxUSD {
		return 0, invalid("%s: %s is beyond the limit of 1000000000 USD", field, s)
	}
	return v, nil
}

// optUSD parses an optional non-negative USD string; absent is zero.
func optUSD(field string, s *string) (billing.Micros, error) {
	if s == nil {
		return 0, nil
	}
	v, err := usd(field, *s)
	if err == nil && v < 0 {
		err = invalid("%s cannot be negative", field)
	}
	return v, err
}

// checkName validates a name of something: required, at most max bytes,
// printable.
func checkName(field, s string, max int) error {
	switch {
	case s == "":
		return invalid("%s is required", field)
	case len(s) > max:
		return invalid("%s is longer than %d bytes", field, max)
	case strings.IndexFunc(s, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
		return invalid("%s contains a control or non-printable character", field)
	}
	return nil
}
