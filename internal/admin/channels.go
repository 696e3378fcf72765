package admin

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/store"
)

func (a *API) routeChannels() {
	a.handle("GET /admin/v1/channels", a.listChannels)
	a.handle("POST /admin/v1/channels", a.createChannel)
	a.handle("GET /admin/v1/channels/{id}", a.getChannel)
	a.handle("PATCH /admin/v1/channels/{id}", a.patchChannel)
	a.handle("POST /admin/v1/channels/{id}/enable", a.enableChannel(true))
	a.handle("POST /admin/v1/channels/{id}/disable", a.enableChannel(false))
	a.handle("DELETE /admin/v1/channels/{id}", a.deleteChannel)
}

// Channel is an upstream channel as the API shows it: its keys only
// counted and masked.
type Channel struct {
	ID       int64             `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	BaseURL  string            `json:"base_url"`
	Keys     MaskedKeys        `json:"keys"`
	Models   []string          `json:"models"`
	ModelMap map[string]string `json:"model_map,omitempty"`
	Priority int               `json:"priority"`
	Weight   int               `json:"weight"`
	Enabled  bool              `json:"enabled"`
	// Limits cap what is sent to this upstream account, whoever asks.
	Limits  RateLimits `json:"limits"`
	Updated time.Time  `json:"updated_at"`
}

// MaskedKeys stands for a channel's upstream keys.
type MaskedKeys struct {
	Count  int      `json:"count"`
	Masked []string `json:"masked"`
	// IDs name the keys, in the same order, as breakers and logs do: "k"
	// and the first 8 hex digits of the key's SHA-256.
	IDs []string `json:"ids"`
}

func viewChannel(c store.Channel) Channel {
	v := Channel{ID: c.ID, Name: c.Name, Type: c.Type, BaseURL: c.BaseURL, Models: c.Models,
		ModelMap: c.ModelMap, Priority: c.Priority, Weight: c.Weight, Enabled: c.Enabled,
		Limits: viewRate(c.Limits), Updated: c.Updated,
		Keys: MaskedKeys{Count: len(c.Keys), Masked: make([]string, 0, len(c.Keys)), IDs: make([]string, 0, len(c.Keys))}}
	if v.Models == nil {
		v.Models = []string{}
	}
	for _, k := range c.Keys {
		v.Keys.Masked = append(v.Keys.Masked, maskKey(k))
		v.Keys.IDs = append(v.Keys.IDs, catalog.KeyID(k))
	}
	return v
}

// maskKey shows enough of an upstream key to tell keys apart, e.g.
// "sk-…ab12", and less of short keys, which have less to spare.
func maskKey(k string) string {
	switch {
	case len(k) >= 24:
		return k[:3] + "…" + k[len(k)-4:]
	case len(k) >= 12:
		return "…" + k[len(k)-4:]
	}
	return "****"
}

// ChannelRequest is the body of POST (create) and PATCH (change the fields
// present). An absent or null field is left as it is; "keys", "models" and
// "model_map", when present, replace the old value; in "limits", only the
// limits present change (0 removes one).
type ChannelRequest struct {
	Name     *string           `json:"name,omitempty"`
	Type     *string           `json:"type,omitempty"`
	BaseURL  *string           `json:"base_url,omitempty"`
	Keys     []string          `json:"keys,omitzero"`
	Models   []string          `json:"models,omitzero"`
	ModelMap map[string]string `json:"model_map,omitzero"` // {} clears it
	Priority *int              `json:"priority,omitempty"`
	Weight   *int              `json:"weight,omitempty"`  // default 1
	Enabled  *bool             `json:"enabled,omitempty"` // default true
	Limits   *RateLimits       `json:"limits,omitempty"`
}

func (b *ChannelRequest) apply(c *store.Channel) {
	if b.Name != nil {
		c.Name = strings.TrimSpace(*b.Name)
	}
	if b.Type != nil {
		c.Type = *b.Type
	}
	if b.BaseURL != nil {
		c.BaseURL = strings.TrimRight(strings.TrimSpace(*b.BaseURL), "/")
	}
	if b.Keys != nil {
		c.Keys = make([]string, len(b.Keys))
		for i, k := range b.Keys {
			c.Keys[i] = strings.TrimSpace(k)
		}
	}
	if b.Models != nil {
		c.Models = make([]string, len(b.Models))
		for i, m := range b.Models {
			c.Models[i] = strings.TrimSpace(m)
		}
	}
	if b.ModelMap != nil {
		c.ModelMap = b.ModelMap
	}
	if b.Priority != nil {
		c.Priority = *b.Priority
	}
	if b.Weight != nil {
		c.Weight = *b.Weight
	}
	if b.Enabled != nil {
		c.Enabled = *b.Enabled
	}
	if b.Limits != nil {
		c.Limits = b.Limits.merge(c.Limits)
	}
}

// checkChannel reports every problem of a channel at once.
func checkChannel(c store.Channel) error {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if err := checkName("name", c.Name, 100); err != nil {
		add("%v", err)
	}
	if !slices.Contains(config.ChannelTypes, c.Type) {
		add("type must be one of %s", strings.Join(config.ChannelTypes, ", "))
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("base_url must be an http:// or https:// URL")
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		add("base_url cannot carry a query, a fragment or credentials")
	}
	if len(c.Keys) == 0 {
		add("keys must hold at least one upstream key")
	}
	for i, k := range c.Keys {
		if k == "" || strings.ContainsAny(k, " \t\r\n") {
			add("keys[%d] is empty or contains whitespace", i)
		}
	}
	if len(c.Models) == 0 {
		add("models must name at least one model")
	}
	for i, m := range c.Models {
		if m == "" {
			add("models[%d] is empty", i)
		} else if slices.Index(c.Models, m) < i {
			add("models[%d] %q is listed twice", i, m)
		}
	}
	for _, public := range slices.Sorted(maps.Keys(c.ModelMap)) {
		if !slices.Contains(c.Models, public) {
			add("model_map key %q is not one of models", public)
		}
		if strings.TrimSpace(c.ModelMap[public]) == "" {
			add("model_map[%q] is empty", public)
		}
	}
	if c.Weight < 0 {
		add("weight cannot be negative")
	}
	if err := checkRate("limits", c.Limits); err != nil {
		add("%v", err)
	}
	if len(bad) > 0 {
		return invalid("%s", strings.Join(bad, "; "))
	}
	return nil
}

func (a *API) listChannels(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	chs, err := a.st.ListChannels(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(chs, viewChannel))
	return nil
}

func (a *API) createChannel(w http.ResponseWriter, r *http.Request) error {
	var body ChannelRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	c := store.Channel{Weight: 1, Enabled: true}
	body.apply(&c)
	if err := checkChannel(c); err != nil {
		return err
	}
	created, err := a.st.CreateChannel(r.Context(), c)
	if errors.Is(err, store.ErrConflict) {
		return conflict("a channel named %q already exists", c.Name)
	}
	if err != nil {
		return err
	}
	if err := a.changed(r, "channel created", "channel", created.ID, "name", created.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewChannel(created))
	return nil
}

// channel loads the channel named by the {id} wildcard.
func (a *API) channel(r *http.Request) (store.Channel, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Channel{}, err
	}
	c, err := a.st.GetChannel(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return c, notFound("channel %d not found", id)
	}
	return c, err
}

func (a *API) getChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := a.channel(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewChannel(c))
	return nil
}

func (a *API) patchChannel(w http.ResponseWriter, r *http.Request) error {
	if _, err := pathID(r); err != nil {
		return err
	}
	var body ChannelRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	c, err := a.channel(r)
	if err != nil {
		return err
	}
	body.apply(&c)
	if err := checkChannel(c); err != nil {
		return err
	}
	err = a.st.UpdateChannel(r.Context(), c)
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflict("a channel named %q already exists", c.Name)
	case errors.Is(err, store.ErrNotFound):
		return notFound("channel %d not found", c.ID)
	case err != nil:
		return err
	}
	if err := a.changed(r, "channel updated", "channel", c.ID, "name", c.Name); err != nil {
		return err
	}
	return a.getChannel(w, r)
}

func (a *API) enableChannel(on bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := a.st.SetChannelEnabled(r.Context(), id, on); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound("channel %d not found", id)
			}
			return err
		}
		if err := a.changed(r, "channel enabled set", "channel", id, "enabled", on); err != nil {
			return err
		}
		return a.getChannel(w, r)
	}
}

func (a *API) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.st.DeleteChannel(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("channel %d not found", id)
		}
		return err
	}
	if err := a.changed(r, "channel deleted", "channel", id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
