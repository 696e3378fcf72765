package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/store"
)

const pageSize = 50

// balance is the user's spendable balance as the request path sees it.
func (c *Console) balance(u store.User) billing.Micros {
	if c.opts.Balance != nil {
		if b, ok := c.opts.Balance(u.ID); ok {
			return b
		}
	}
	return u.Balance
}

// baseURL is this server's address as the browser reached it, for the
// examples.
func (c *Console) baseURL(r *http.Request) string {
	scheme := "http"
	if c.overTLS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type dashboardData struct {
	Balance    billing.Micros
	ActiveKeys int
	BaseURL    string
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	keys, err := c.st.ListKeys(r.Context(), s.UserID, "")
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	d := dashboardData{Balance: c.balance(s.user), BaseURL: c.baseURL(r)}
	for _, k := range keys {
		if k.Status == store.KeyActive {
			d.ActiveKeys++
		}
	}
	v := c.newView(r, s, "dashboard.title")
	v.Data = d
	c.render(w, http.StatusOK, "dashboard", v)
}

type keysData struct {
	Keys    []store.Key
	Created string // the new key, shown once
	Form    keyForm
	Now     time.Time
}

type keyForm struct{ Name, Expires, SpendLimit, Models, IPs string }

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderKeys(w, r, s, http.StatusOK, keysData{}, "")
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, s *session, status int, d keysData, errMsg string) {
	keys, err := c.st.ListKeys(r.Context(), s.UserID, "")
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	slices.Reverse(keys) // newest first
	// The playground's own key is the console's, not the user's to manage.
	keys = slices.DeleteFunc(keys, func(k store.Key) bool { return k.Name == playKeyName })
	d.Keys, d.Now = keys, c.now()
	v := c.newView(r, s, "keys.title")
	if errMsg != "" {
		v.Error = v.T(errMsg)
	}
	v.Data = d
	c.render(w, status, "keys", v)
}

func (c *Console) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	f := keyForm{Name: strings.TrimSpace(r.PostFormValue("name")), Expires: strings.TrimSpace(r.PostFormValue("expires")),
		SpendLimit: strings.TrimSpace(r.PostFormValue("spend_limit")), Models: r.PostFormValue("models"),
		IPs: r.PostFormValue("ips")}
	limits, msg, err := c.keyLimits(r, f)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	if f.Name == "" {
		f.Name = "default"
	}
	if msg == "" && (len([]rune(f.Name)) > 100 || strings.ContainsFunc(f.Name, isControl)) {
		msg = "err.key_name"
	}
	if msg != "" {
		c.renderKeys(w, r, s, http.StatusBadRequest, keysData{Form: f}, msg)
		return
	}
	plain := apikey.New()
	k, err := c.st.CreateKey(r.Context(), s.UserID, f.Name, apikey.Hash(plain), apikey.Display(plain), limits)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	if err := c.reload(r, "key created", "user", s.UserID, "key", k.ID, "prefix", k.Prefix); err != nil {
		c.renderKeys(w, r, s, http.StatusInternalServerError, keysData{Created: plain}, "err.reload")
		return
	}
	c.renderKeys(w, r, s, http.StatusCreated, keysData{Created: plain}, "")
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// keyLimits reads the key form; msg is the message id of a bad field.
func (c *Console) keyLimits(r *http.Request, f keyForm) (l store.KeyLimits, msg string, err error) {
	if f.Expires != "" {
		t, perr := time.Parse("2006-01-02", f.Expires)
		if perr != nil {
			return l, "err.key_expires", nil
		}
		t = t.Add(24*time.Hour - time.Second) // the end of that day, UTC
		if !t.After(c.now()) {
			return l, "err.key_expires", nil
		}
		l.ExpiresAt = &t
	}
	if f.SpendLimit != "" {
		m, perr := billing.ParseUSD(strings.TrimPrefix(f.SpendLimit, "$"))
		if perr != nil || m < 0 {
			return l, "err.key_spend", nil
		}
		l.SpendLimit = m
	}
	if names := fields(f.Models); len(names) > 0 {
		models, err := c.st.ListModels(r.Context())
		if err != nil {
			return l, "", err
		}
		for _, n := range names {
			if !slices.ContainsFunc(models, func(m store.Model) bool { return m.Name == n }) {
				return l, "err.key_model", nil
			}
			if !slices.Contains(l.AllowedModels, n) {
				l.AllowedModels = append(l.AllowedModels, n)
			}
		}
	}
	for _, s := range fields(f.IPs) {
		p, perr := config.ParsePrefix(s)
		if perr != nil {
			return l, "err.key_ips", nil
		}
		canon := p.String()
		if p.IsSingleIP() {
			canon = p.Addr().String()
		}
		if !slices.Contains(l.AllowedIPs, canon) {
			l.AllowedIPs = append(l.AllowedIPs, canon)
		}
	}
	return l, "", nil
}

// fields splits a list typed by hand: commas, spaces or new lines.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	k, err := c.st.GetKey(r.Context(), id)
	// Someone else's key reads exactly like one that does not exist.
	if errors.Is(err, store.ErrNotFound) || err == nil && k.UserID != s.UserID {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	if err == nil {
		err = c.st.RevokeKey(r.Context(), k.ID)
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	if err := c.reload(r, "key revoked", "user", s.UserID, "key", k.ID); err != nil {
		c.fail(w, r, nil, http.StatusInternalServerError, "err.reload")
		return
	}
	http.Redirect(w, r, "/keys", http.StatusSeeOther)
}

// before reads the paging parameter: rows with an id below it.
func before(r *http.Request) int64 {
	n, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

type ledgerData struct {
	Balance billing.Micros
	Entries []store.Entry
	Older   int64 // the before= of the next page; 0: none
}

func (c *Console) ledgerPage(w http.ResponseWriter, r *http.Request, s *session) {
	entries, err := c.st.Entries(r.Context(), s.UserID, before(r), pageSize)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	d := ledgerData{Balance: c.balance(s.user), Entries: entries}
	if len(entries) == pageSize {
		d.Older = entries[len(entries)-1].ID
	}
	v := c.newView(r, s, "ledger.title")
	v.Data = d
	c.render(w, http.StatusOK, "ledger", v)
}

// logRow is a request log row with its charge explained.
type logRow struct {
	store.RequestLog
	// Charge is "tokens × price" per kind of token at the model's current
	// price; Repriced is set when that no longer gives the recorded cost
	// (the price changed since, or a flat fee applied).
	Charge   []string
	Repriced bool
}

type logsData struct {
	Rows  []logRow
	Model string
	Older int64
}

func (c *Console) logsPage(w http.ResponseWriter, r *http.Request, s *session) {
	model := strings.TrimSpace(r.URL.Query().Get("model"))
	rows, err := c.st.RequestLogs(r.Context(), store.LogFilter{UserID: s.UserID, Model: model,
		BeforeID: before(r), Limit: pageSize})
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	models, err := c.st.ListModels(r.Context())
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	prices := map[string]billing.Price{}
	for _, m := range models {
		prices[m.Name] = m.Price
	}
	d := logsData{Model: model}
	for _, l := range rows {
		row := logRow{RequestLog: l}
		if p, ok := prices[l.Model]; ok && l.Cost > 0 {
			row.Charge = explain(p, l.Usage)
			row.Repriced = p.Cost(l.Usage) != l.Cost
		}
		d.Rows = append(d.Rows, row)
	}
	if len(rows) == pageSize {
		d.Older = rows[len(rows)-1].ID
	}
	v := c.newView(r, s, "logs.title")
	v.Data = d
	c.render(w, http.StatusOK, "logs", v)
}

// explain lists each kind of token used times its price per 1M tokens.
func explain(p billing.Price, u llm.Usage) []string {
	var out []string
	add := func(kind string, n int64, rate, fallback billing.Rate) {
		if rate == 0 {
			rate = fallback
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s %d × $%s/1M", kind, n, rate.USD()))
		}
	}
	add("in", u.Input, p.Input, 0)
	add("cached", u.CachedInput, p.CachedInput, p.Input)
	add("cache-write", u.CacheWrite, p.CacheWrite, p.Input)
	add("out", u.Output, p.Output, 0)
	add("reasoning", u.Reasoning, p.Reasoning, p.Output)
	if p.PerRequest > 0 {
		out = append(out, "+ $"+p.PerRequest.USD())
	}
	return out
}

func (c *Console) modelsPage(w http.ResponseWriter, r *http.Request) {
	s, err := c.session(r)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	models, err := c.st.ListModels(r.Context())
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	v := c.newView(r, s, "models.title")
	v.Data = withExamples(c.baseURL(r), models)
	c.render(w, http.StatusOK, "models", v)
}
