package admin

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/store"
)

func (a *API) routeKeys() {
	a.handle("POST /admin/v1/users/{id}/keys", a.createKey)
	a.handle("GET /admin/v1/keys", a.listKeys)
	a.handle("GET /admin/v1/keys/{id}", a.getKey)
	a.handle("PUT /admin/v1/keys/{id}/limits", a.setKeyLimits)
	a.handle("POST /admin/v1/keys/{id}/revoke", a.revokeKey)
}

// Key is an API key as the API shows it: never the key itself nor its hash.
type Key struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Status    string    `json:"status"`
	Limits    Limits    `json:"limits"`
	Spent     string    `json:"spent"`
	CreatedAt time.Time `json:"created_at"`
}

// Limits is both what a key shows and what PUT .../limits takes, so that a
// key's limits can be read, edited and written back. Absent means no limit
// (for the rate limits: the config file's default for keys, if any).
type Limits struct {
	ExpiresAt     *string  `json:"expires_at,omitempty"`  // RFC 3339
	SpendLimit    *string  `json:"spend_limit,omitempty"` // USD
	AllowedModels []string `json:"allowed_models,omitempty"`
	AllowedIPs    []string `json:"allowed_ips,omitempty"` // IPs or CIDRs
	RateLimits
}

func viewKey(k store.Key) Key {
	v := Key{ID: k.ID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix, Status: k.Status,
		Spent: k.Spent.USD(), CreatedAt: k.Created,
		Limits: Limits{AllowedModels: k.Limits.AllowedModels, AllowedIPs: k.Limits.AllowedIPs,
			RateLimits: viewRate(k.Limits.Rate)}}
	if t := k.Limits.ExpiresAt; t != nil {
		s := t.UTC().Format(time.RFC3339)
		v.Limits.ExpiresAt = &s
	}
	if k.Limits.SpendLimit != 0 {
		s := k.Limits.SpendLimit.USD()
		v.Limits.SpendLimit = &s
	}
	return v
}

// limits validates a limits body. An expiry must lie in the future: to stop
// a key now, revoke it.
func (a *API) limits(v Limits) (store.KeyLimits, error) {
	var l store.KeyLimits
	if v.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *v.ExpiresAt)
		if err != nil {
			return l, invalid("expires_at must be an RFC 3339 time such as \"2030-01-02T15:04:05Z\"")
		}
		if !t.After(a.now()) {
			return l, invalid("expires_at %s is not in the future (to stop a key now, revoke it)", *v.ExpiresAt)
		}
		t = t.UTC()
		l.ExpiresAt = &t
	}
	var err error
	if l.SpendLimit, err = optUSD("spend_limit", v.SpendLimit); err != nil {
		return l, err
	}
	if l.Rate, err = rate("", v.RateLimits); err != nil {
		return l, err
	}
	for i, m := range v.AllowedModels {
		m = strings.TrimSpace(m)
		if m == "" {
			return l, invalid("allowed_models[%d] is empty", i)
		}
		if !slices.Contains(l.AllowedModels, m) {
			l.AllowedModels = append(l.AllowedModels, m)
		}
	}
	for i, s := range v.AllowedIPs {
		p, err := config.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return l, invalid("allowed_ips[%d]: %q is not an IP address or CIDR prefix", i, s)
		}
		// Keep the canonical form, so that "10.1.2.3/8" reads back as the
		// network it allows.
		c := p.String()
		if p.IsSingleIP() {
			c = p.Addr().String()
		}
		if !slices.Contains(l.AllowedIPs, c) {
			l.AllowedIPs = append(l.AllowedIPs, c)
		}
	}
	return l, nil
}

// CreateKeyRequest is the body of POST /admin/v1/users/{id}/keys.
type CreateKeyRequest struct {
	Name string `json:"name,omitempty"` // default "default"
	Limits
}

// CreatedKey answers a key's creation: the only time the key is shown.
type CreatedKey struct {
	Secret string `json:"key"`
	Key
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) error {
	var body CreateKeyRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	body.Name = strings.TrimSpace(body.Name)
	if body.Name == "" {
		body.Name = "default"
	}
	if err := checkName("name", body.Name, 100); err != nil {
		return err
	}
	l, err := a.limits(body.Limits)
	if err != nil {
		return err
	}
	u, err := a.user(r)
	if err != nil {
		return err
	}
	if u.Status == store.UserDeleted {
		return conflict("user %d is deleted", u.ID)
	}
	plain := apikey.New()
	k, err := a.st.CreateKey(r.Context(), u.ID, body.Name, apikey.Hash(plain), apikey.Display(plain), l)
	if err != nil {
		return err
	}
	if err := a.changed(r, "key created", "user", u.ID, "key", k.ID, "prefix", k.Prefix); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, CreatedKey{Secret: plain, Key: viewKey(k)})
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "user", "prefix")
	if err != nil {
		return err
	}
	user, err := queryInt(q, "user", 1, 1<<62, 0)
	if err != nil {
		return err
	}
	keys, err := a.st.ListKeys(r.Context(), user, q.Get("prefix"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(keys, viewKey))
	return nil
}

// key loads the key named by the {id} wildcard.
func (a *API) key(r *http.Request) (store.Key, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Key{}, err
	}
	k, err := a.st.GetKey(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return k, notFound("key %d not found", id)
	}
	return k, err
}

func (a *API) getKey(w http.ResponseWriter, r *http.Request) error {
	k, err := a.key(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewKey(k))
	return nil
}

func (a *API) setKeyLimits(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body Limits
	if err := decode(r, &body); err != nil {
		return err
	}
	l, err := a.limits(body)
	if err != nil {
		return err
	}
	if err := a.st.SetKeyLimits(r.Context(), id, l); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("key %d not found", id)
		}
		return err
	}
	if err := a.changed(r, "key limits set", "key", id); err != nil {
		return err
	}
	return a.getKey(w, r)
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.st.RevokeKey(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("key %d not found", id)
		}
		return err
	}
	if err := a.changed(r, "key revoked", "key", id); err != nil {
		return err
	}
	return a.getKey(w, r)
}
