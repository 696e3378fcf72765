package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/relay"
	"github.com/tokenhot/tokenhot/internal/routing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Upstreams tests channel keys and reports their breakers (relay.Relay),
// as the admin API's Upstreams.
type Upstreams interface {
	Channel(ref string) *catalog.Channel
	TestChannel(ctx context.Context, ch *catalog.Channel, model string) []relay.KeyTest
	Health() *routing.Health
}

// adminRoutes adds the operator's pages under /admin. Each checks the role
// on the server: to anyone else they do not exist (404).
func (c *Console) adminRoutes() {
	m := c.mux
	m.HandleFunc("GET /admin", c.admin(c.adminDashboard))
	m.HandleFunc("GET /admin/users", c.admin(c.adminUsers))
	m.HandleFunc("POST /admin/users/{id}/adjust", c.admin(c.adminAdjust))
	m.HandleFunc("POST /admin/users/{id}/{action}", c.admin(c.adminUserAction))
	m.HandleFunc("GET /admin/channels", c.admin(c.adminChannels))
	m.HandleFunc("POST /admin/channels/{id}/{action}", c.admin(c.adminChannelAction))
	m.HandleFunc("GET /admin/models", c.admin(c.adminModels))
	m.HandleFunc("POST /admin/models/{name}", c.admin(c.adminModelEdit))
	m.HandleFunc("GET /admin/logs", c.admin(c.adminLogs))
	m.HandleFunc("GET /admin/audit", c.admin(c.adminAudit))
	m.HandleFunc("GET /admin/codes", c.admin(c.adminCodes))
	m.HandleFunc("POST /admin/codes", c.admin(c.adminCreateCodes))
	m.HandleFunc("GET /admin/settings", c.admin(c.adminSettings))
	m.HandleFunc("POST /admin/settings", c.admin(c.adminSaveSettings))
	m.HandleFunc("GET /admin/channels/new", c.admin(c.adminChannelNew))
	m.HandleFunc("POST /admin/channels/new", c.admin(c.adminChannelSave))
	m.HandleFunc("GET /admin/channels/{id}/edit", c.admin(c.adminChannelEditPage))
	m.HandleFunc("POST /admin/channels/{id}/edit", c.admin(c.adminChannelSave))
}

// isAdmin reports whether the session's user has the admin role.
func (c *Console) isAdmin(r *http.Request, s *session) bool {
	if s == nil {
		return false
	}
	role, err := c.st.UserRole(r.Context(), s.UserID)
	if err != nil {
		c.log.Error("console: reading a role", "user", s.UserID, "err", err)
		return false
	}
	return role == store.RoleAdmin
}

// admin wraps an admin page: signed in (with CSRF on POST) and the admin
// role, else not found. The role check comes before the CSRF check, so a
// non-admin learns nothing either way.
func (c *Console) admin(h func(w http.ResponseWriter, r *http.Request, s *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
			return
		}
		if !c.isAdmin(r, s) {
			c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
			return
		}
		c.signedIn(h)(w, r)
	}
}

// audit records an admin action; a failure is logged, the action is done.
func (c *Console) audit(r *http.Request, s *session, action, target, detail string) {
	err := c.st.AddAudit(context.WithoutCancel(r.Context()), store.AuditEntry{ActorUserID: s.UserID,
		Action: action, Target: target, Detail: detail})
	if err != nil {
		c.log.Error("console: writing the audit log", "action", action, "err", err)
	}
	c.log.Info("console admin: "+action, "actor", s.UserID, "target", target, "detail", detail)
}

// bar is one day of a chart: its height in percent of the largest.
type bar struct {
	store.DayStats
	X                      int
	ReqH, TokH, RevH, ErrH float64
	ErrorRate              float64 // percent
	Date                   string
}

// chart is one inline SVG bar chart: bar heights are percent of the
// largest bar, drawn in a 100-unit-high box.
type chart struct {
	Title string // message id
	Bars  []chartBar
}

type chartBar struct {
	X     int
	Y, H  float64
	Label string
}

// adminLink is one entry of the admin pages' own navigation.
type adminLink struct{ Href, Title string }

var adminLinks = []adminLink{{"/admin", "admin.title"}, {"/admin/users", "admin.users.title"},
	{"/admin/channels", "admin.channels.title"}, {"/admin/models", "admin.models.title"},
	{"/admin/codes", "admin.codes.title"}, {"/admin/logs", "admin.logs.title"},
	{"/admin/audit", "admin.audit.title"}, {"/admin/settings", "admin.settings.title"}}

// AdminLinks is the admin pages' navigation.
func (v *view) AdminLinks() []adminLink { return adminLinks }

type adminDashData struct {
	Charts             []chart
	Days               []bar
	Models, Users      []store.TopStats
	Names              map[int64]string
	Requests, Tokens   int64
	Revenue            billing.Micros
	ErrorRate, Latency float64
}

const dashDays = 14

func (c *Console) adminDashboard(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	today := c.now().UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(dashDays - 1))
	stats, err := c.st.DailyStats(ctx, since)
	var models, users []store.TopStats
	if err == nil {
		models, err = c.st.TopModels(ctx, since, 10)
	}
	if err == nil {
		users, err = c.st.TopUsers(ctx, since, 10)
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	byDay := map[time.Time]store.DayStats{}
	d := adminDashData{Models: models, Users: users, Names: map[int64]string{}}
	var maxReq, maxTok int64
	var maxRev billing.Micros
	var latSum float64
	for _, st := range stats {
		byDay[st.Day] = st
		maxReq, maxTok, maxRev = max(maxReq, st.Requests), max(maxTok, st.Tokens), max(maxRev, st.Revenue)
	}
	var errs int64
	for i := range dashDays {
		day := since.AddDate(0, 0, i)
		st := byDay[day]
		st.Day = day
		b := bar{DayStats: st, X: i * 20, Date: day.Format("01-02")}
		if maxReq > 0 {
			b.ReqH = 100 * float64(st.Requests) / float64(maxReq)
		}
		if maxTok > 0 {
			b.TokH = 100 * float64(st.Tokens) / float64(maxTok)
		}
		if maxRev > 0 {
			b.RevH = 100 * float64(st.Revenue) / float64(maxRev)
		}
		if st.Requests > 0 {
			b.ErrorRate = 100 * float64(st.Errors) / float64(st.Requests)
			b.ErrH = b.ErrorRate
		}
		d.Days = append(d.Days, b)
		d.Requests += st.Requests
		d.Tokens += st.Tokens
		d.Revenue += st.Revenue
		errs += st.Errors
		latSum += st.LatencyMS * float64(st.Requests)
	}
	for _, k := range []string{"admin.requests", "admin.tokens", "admin.revenue", "admin.error_rate"} {
		ch := chart{Title: k}
		for _, b := range d.Days {
			h, label := b.ReqH, fmt.Sprintf("%s: %d", b.Date, b.Requests)
			switch k {
			case "admin.tokens":
				h, label = b.TokH, fmt.Sprintf("%s: %d", b.Date, b.Tokens)
			case "admin.revenue":
				h, label = b.RevH, fmt.Sprintf("%s: $%s", b.Date, b.Revenue.USD())
			case "admin.error_rate":
				h, label = b.ErrH, fmt.Sprintf("%s: %.1f%%", b.Date, b.ErrorRate)
			}
			ch.Bars = append(ch.Bars, chartBar{X: b.X + 2, Y: 100 - h, H: h, Label: label})
		}
		d.Charts = append(d.Charts, ch)
	}
	if d.Requests > 0 {
		d.ErrorRate = 100 * float64(errs) / float64(d.Requests)
		d.Latency = latSum / float64(d.Requests)
	}
	for _, u := range users {
		if usr, err := c.st.GetUser(ctx, u.UserID); err == nil {
			d.Names[u.UserID] = usr.Name
		}
	}
	v := c.newView(r, s, "admin.title")
	v.Data = d
	c.render(w, http.StatusOK, "admin", v)
}

type adminUser struct {
	store.User
	Role    string
	Balance billing.Micros // live
}

type adminUsersData struct {
	Users []adminUser
	Ref   string // idempotency key of the adjustment forms
}

func (c *Console) adminUsers(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderUsers(w, r, s, http.StatusOK, "", "")
}

func (c *Console) renderUsers(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg, notice string) {
	users, err := c.st.ListUsers(r.Context())
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	d := adminUsersData{Ref: "console-" + newToken()[:24]}
	for _, u := range users {
		role, err := c.st.UserRole(r.Context(), u.ID)
		if err != nil {
			c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
			return
		}
		d.Users = append(d.Users, adminUser{User: u, Role: role, Balance: c.balance(u)})
	}
	v := c.newView(r, s, "admin.users.title")
	if errMsg != "" {
		v.Error = v.T(errMsg)
	}
	v.Notice = notice
	v.Data = d
	c.render(w, status, "admin_users", v)
}

func pathInt(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// adminAdjust corrects a balance through the store's idempotent credit
// path (kind adjust, the form's one-time ref), as the admin API does, then
// reloads so the in-memory ledger sees it.
func (c *Console) adminAdjust(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathInt(r, "id")
	if !ok {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	amount, err := billing.ParseUSD(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("amount")), "$"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	ref := strings.TrimSpace(r.PostFormValue("ref"))
	switch {
	case err != nil || amount == 0:
		c.renderUsers(w, r, s, http.StatusBadRequest, "admin.err.amount", "")
		return
	case reason == "" || len(reason) > 200 || strings.ContainsFunc(reason, isControl):
		c.renderUsers(w, r, s, http.StatusBadRequest, "admin.err.reason", "")
		return
	case len(ref) > 200:
		ref = ""
	}
	e, applied, err := c.st.Credit(r.Context(), id, store.EntryAdjust, amount, ref, reason)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalid):
		c.renderUsers(w, r, s, http.StatusBadRequest, "admin.err.amount", "")
		return
	case err != nil:
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	if applied {
		c.audit(r, s, "user.adjust", fmt.Sprintf("user %d", id),
			fmt.Sprintf("amount=%s reason=%q entry=%d", amount.USD(), reason, e.ID))
		if err := c.reload(r, "balance adjusted", "user", id); err != nil {
			c.renderUsers(w, r, s, http.StatusInternalServerError, "err.reload", "")
			return
		}
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

func (c *Console) adminUserAction(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathInt(r, "id")
	if !ok {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	var err error
	action := r.PathValue("action")
	switch action {
	case "suspend":
		err = c.st.SetUserStatus(r.Context(), id, store.UserSuspended)
	case "reactivate":
		err = c.st.SetUserStatus(r.Context(), id, store.UserActive)
	case "delete":
		if id == s.UserID {
			c.renderUsers(w, r, s, http.StatusBadRequest, "admin.err.self", "")
			return
		}
		err = c.st.DeleteUser(r.Context(), id)
	case "admin", "user":
		if id == s.UserID {
			c.renderUsers(w, r, s, http.StatusBadRequest, "admin.err.self", "")
			return
		}
		err = c.st.SetUserRole(r.Context(), id, action)
	default:
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	c.audit(r, s, "user."+action, fmt.Sprintf("user %d", id), "")
	if err := c.reload(r, "user "+action, "user", id); err != nil {
		c.renderUsers(w, r, s, http.StatusInternalServerError, "err.reload", "")
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

type adminChannel struct {
	store.Channel
	KeyIDs []string // display ids, never the secrets
	Health []routing.KeyHealth
	Tests  []relay.KeyTest
}

func (c *Console) adminChannels(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderChannels(w, r, s, 0, nil)
}

func (c *Console) renderChannels(w http.ResponseWriter, r *http.Request, s *session, tested int64, tests []relay.KeyTest) {
	chans, err := c.st.ListChannels(r.Context())
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	var out []adminChannel
	for _, ch := range chans {
		a := adminChannel{Channel: ch}
		a.Keys = nil
		for _, k := range ch.Keys {
			a.KeyIDs = append(a.KeyIDs, catalog.KeyID(k))
		}
		if c.opts.Upstreams != nil {
			if live := c.opts.Upstreams.Channel(strconv.FormatInt(ch.ID, 10)); live != nil {
				a.Health = c.opts.Upstreams.Health().Channel(live.ID, live.KeyIDs)
			}
		}
		if ch.ID == tested {
			a.Tests = tests
		}
		out = append(out, a)
	}
	v := c.newView(r, s, "admin.channels.title")
	v.Data = out
	c.render(w, http.StatusOK, "admin_channels", v)
}

func (c *Console) adminChannelAction(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathInt(r, "id")
	if !ok {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	ch, err := c.st.GetChannel(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	target := fmt.Sprintf("channel %d (%s)", id, ch.Name)
	switch action := r.PathValue("action"); action {
	case "enable", "disable":
		if err := c.st.SetChannelEnabled(r.Context(), id, action == "enable"); err != nil {
			c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
			return
		}
		c.audit(r, s, "channel."+action, target, "")
		if err := c.reload(r, "channel "+action, "channel", id); err != nil {
			c.fail(w, r, nil, http.StatusInternalServerError, "err.reload")
			return
		}
		http.Redirect(w, r, "/admin/channels", http.StatusSeeOther)
	case "test":
		var live *catalog.Channel
		if c.opts.Upstreams != nil {
			live = c.opts.Upstreams.Channel(strconv.FormatInt(id, 10))
		}
		if live == nil {
			c.fail(w, r, nil, http.StatusNotFound, "admin.err.channel_off")
			return
		}
		res := c.opts.Upstreams.TestChannel(r.Context(), live, strings.TrimSpace(r.PostFormValue("model")))
		okN := 0
		for _, t := range res {
			if t.OK {
				okN++
			}
		}
		c.audit(r, s, "channel.test", target, fmt.Sprintf("%d/%d keys ok", okN, len(res)))
		c.renderChannels(w, r, s, id, res)
	default:
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
	}
}

var modelStatuses = []string{store.ModelAvailable, store.ModelExperimental, store.ModelDeprecated, store.ModelOffline}

type adminModelsData struct {
	Models   []store.Model
	Statuses []string
}

func (c *Console) adminModels(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderModels(w, r, s, http.StatusOK, "")
}

func (c *Console) renderModels(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string) {
	models, err := c.st.ListModels(r.Context())
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	v := c.newView(r, s, "admin.models.title")
	if errMsg != "" {
		v.Error = v.T(errMsg)
	}
	v.Data = adminModelsData{Models: models, Statuses: modelStatuses}
	c.render(w, status, "admin_models", v)
}

// adminModelEdit sets a model's status and its token prices (USD per 1M
// tokens); the other prices and limits are kept.
func (c *Console) adminModelEdit(w http.ResponseWriter, r *http.Request, s *session) {
	m, err := c.st.GetModel(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	old := m
	if st := r.PostFormValue("status"); st != "" {
		ok := false
		for _, x := range modelStatuses {
			ok = ok || x == st
		}
		if !ok {
			c.renderModels(w, r, s, http.StatusBadRequest, "admin.err.status")
			return
		}
		m.Status = st
	}
	for _, f := range []struct {
		name string
		rate *billing.Rate
	}{{"input", &m.Price.Input}, {"output", &m.Price.Output}, {"cached_input", &m.Price.CachedInput}} {
		v := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue(f.name)), "$")
		if v == "" {
			continue
		}
		rate, err := billing.ParseRate(v)
		if err != nil || rate < 0 {
			c.renderModels(w, r, s, http.StatusBadRequest, "admin.err.price")
			return
		}
		*f.rate = rate
	}
	if err := m.Price.Validate(); err != nil {
		c.renderModels(w, r, s, http.StatusBadRequest, "admin.err.price")
		return
	}
	if _, err := c.st.UpsertModel(r.Context(), m); err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	c.audit(r, s, "model.edit", "model "+m.Name, fmt.Sprintf("status %s→%s input $%s→$%s output $%s→$%s cached $%s→$%s /1M",
		old.Status, m.Status, old.Price.Input.USD(), m.Price.Input.USD(), old.Price.Output.USD(), m.Price.Output.USD(),
		old.Price.CachedInput.USD(), m.Price.CachedInput.USD()))
	if err := c.reload(r, "model edited", "model", m.Name); err != nil {
		c.renderModels(w, r, s, http.StatusInternalServerError, "err.reload")
		return
	}
	http.Redirect(w, r, "/admin/models", http.StatusSeeOther)
}

type adminLogsData struct {
	Rows                []store.RequestLog
	Names               map[int64]string
	User, Model, Status string
	Older               int64
}

func (c *Console) adminLogs(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := adminLogsData{User: strings.TrimSpace(q.Get("user")), Model: strings.TrimSpace(q.Get("model")),
		Status: strings.TrimSpace(q.Get("status")), Names: map[int64]string{}}
	f := store.LogFilter{Model: d.Model, BeforeID: before(r), Limit: pageSize}
	v := c.newView(r, s, "admin.logs.title")
	if d.User != "" {
		u, err := c.st.GetUserByName(r.Context(), d.User)
		if id, perr := strconv.ParseInt(d.User, 10, 64); err != nil && perr == nil {
			u, err = c.st.GetUser(r.Context(), id)
		}
		if err != nil {
			v.Error = v.T("admin.err.no_user")
			v.Data = d
			c.render(w, http.StatusOK, "admin_logs", v)
			return
		}
		f.UserID = u.ID
	}
	if d.Status != "" {
		n, err := strconv.Atoi(d.Status)
		if err != nil || n < 100 || n > 599 {
			v.Error = v.T("admin.err.status")
			v.Data = d
			c.render(w, http.StatusBadRequest, "admin_logs", v)
			return
		}
		f.Status = n
	}
	rows, err := c.st.RequestLogs(r.Context(), f)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	d.Rows = rows
	for _, l := range rows {
		if _, ok := d.Names[l.UserID]; !ok {
			if u, err := c.st.GetUser(r.Context(), l.UserID); err == nil {
				d.Names[l.UserID] = u.Name
			} else {
				d.Names[l.UserID] = strconv.FormatInt(l.UserID, 10)
			}
		}
	}
	if len(rows) == pageSize {
		d.Older = rows[len(rows)-1].ID
	}
	v.Data = d
	c.render(w, http.StatusOK, "admin_logs", v)
}

type adminAuditData struct {
	Entries []store.AuditEntry
	Names   map[int64]string
	Older   int64
}

func (c *Console) adminAudit(w http.ResponseWriter, r *http.Request, s *session) {
	entries, err := c.st.ListAudit(r.Context(), before(r), pageSize)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	d := adminAuditData{Entries: entries, Names: map[int64]string{}}
	for _, e := range entries {
		if _, ok := d.Names[e.ActorUserID]; !ok && e.ActorUserID != 0 {
			if u, err := c.st.GetUser(r.Context(), e.ActorUserID); err == nil {
				d.Names[e.ActorUserID] = u.Name
			}
		}
	}
	if len(entries) == pageSize {
		d.Older = entries[len(entries)-1].ID
	}
	v := c.newView(r, s, "admin.audit.title")
	v.Data = d
	c.render(w, http.StatusOK, "admin_audit", v)
}
