package console

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tokenhot/tokenhot/internal/admin"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/store"
)

// channelForm is the add/edit form: keys are never shown back, only their
// display ids.
type channelForm struct {
	ID                                    int64 // 0: a new channel
	Name, Type, BaseURL, Models, ModelMap string
	Priority, Weight                      string
	KeyIDs                                []string
	Types                                 []string
	Problem                               string // the validation's own words
}

func formOf(ch store.Channel) channelForm {
	f := channelForm{ID: ch.ID, Name: ch.Name, Type: ch.Type, BaseURL: ch.BaseURL, Models: strings.Join(ch.Models, "\n"),
		Priority: strconv.Itoa(ch.Priority), Weight: strconv.Itoa(ch.Weight)}
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(ch.ModelMap)) {
		lines = append(lines, k+"="+ch.ModelMap[k])
	}
	f.ModelMap = strings.Join(lines, "\n")
	for _, k := range ch.Keys {
		f.KeyIDs = append(f.KeyIDs, catalog.KeyID(k))
	}
	return f
}

func (c *Console) renderChannelForm(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string, f channelForm) {
	f.Types = config.ChannelTypes
	title := "admin.channel.add"
	if f.ID != 0 {
		title = "admin.channel.edit"
	}
	v := c.newView(r, s, title)
	if errMsg != "" {
		v.Error = v.T(errMsg)
	}
	v.Data = f
	c.render(w, status, "admin_channel_edit", v)
}

func (c *Console) adminChannelNew(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderChannelForm(w, r, s, http.StatusOK, "", channelForm{Type: "openai", Priority: "0", Weight: "1"})
}

// formChannel loads the {id} channel for editing.
func (c *Console) formChannel(w http.ResponseWriter, r *http.Request) (store.Channel, bool) {
	id, ok := pathInt(r, "id")
	if !ok {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return store.Channel{}, false
	}
	ch, err := c.st.GetChannel(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return ch, false
	}
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return ch, false
	}
	return ch, true
}

func (c *Console) adminChannelEditPage(w http.ResponseWriter, r *http.Request, s *session) {
	if ch, ok := c.formChannel(w, r); ok {
		c.renderChannelForm(w, r, s, http.StatusOK, "", formOf(ch))
	}
}

// applyForm sets the posted fields on ch; keys left empty keep ch's keys.
func applyForm(r *http.Request, ch *store.Channel, f *channelForm) string {
	f.Name, f.Type = strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("type"))
	f.BaseURL = strings.TrimSpace(r.PostFormValue("base_url"))
	f.Models, f.ModelMap = r.PostFormValue("models"), r.PostFormValue("model_map")
	f.Priority, f.Weight = strings.TrimSpace(r.PostFormValue("priority")), strings.TrimSpace(r.PostFormValue("weight"))
	ch.Name, ch.Type, ch.BaseURL = f.Name, f.Type, strings.TrimRight(f.BaseURL, "/")
	if keys := fields(r.PostFormValue("keys")); len(keys) > 0 {
		ch.Keys = keys
	}
	ch.Models = fields(f.Models)
	ch.ModelMap = nil
	for _, line := range strings.Split(f.ModelMap, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		public, upstream, ok := strings.Cut(line, "=")
		if !ok {
			return "admin.err.model_map"
		}
		if ch.ModelMap == nil {
			ch.ModelMap = map[string]string{}
		}
		ch.ModelMap[strings.TrimSpace(public)] = strings.TrimSpace(upstream)
	}
	var err error
	if ch.Priority, err = strconv.Atoi(f.Priority); err != nil && f.Priority != "" {
		return "admin.err.number"
	}
	if f.Weight == "" {
		ch.Weight = 1
	} else if ch.Weight, err = strconv.Atoi(f.Weight); err != nil {
		return "admin.err.number"
	}
	return ""
}

// adminChannelSave adds (no {id}) or edits a channel through the admin
// API's validation and store methods, then reloads the catalogue.
func (c *Console) adminChannelSave(w http.ResponseWriter, r *http.Request, s *session) {
	ch := store.Channel{Weight: 1, Enabled: true}
	if r.PathValue("id") != "" {
		var ok bool
		if ch, ok = c.formChannel(w, r); !ok {
			return
		}
	}
	f := channelForm{ID: ch.ID}
	for _, k := range ch.Keys {
		f.KeyIDs = append(f.KeyIDs, catalog.KeyID(k))
	}
	if msg := applyForm(r, &ch, &f); msg != "" {
		c.renderChannelForm(w, r, s, http.StatusBadRequest, msg, f)
		return
	}
	if err := admin.CheckChannel(ch); err != nil {
		f.Problem = err.Error()
		c.renderChannelForm(w, r, s, http.StatusBadRequest, "admin.err.channel", f)
		return
	}
	var err error
	action := "channel.update"
	if ch.ID == 0 {
		action = "channel.create"
		ch, err = c.st.CreateChannel(r.Context(), ch)
	} else {
		err = c.st.UpdateChannel(r.Context(), ch)
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		c.renderChannelForm(w, r, s, http.StatusConflict, "admin.err.channel_name", f)
		return
	case errors.Is(err, store.ErrNotFound):
		c.fail(w, r, nil, http.StatusNotFound, "err.not_found")
		return
	case err != nil:
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	// A model new to the gateway gets a row, offline, so that the models
	// page can price it and make it available.
	for _, m := range ch.Models {
		if _, err := c.st.GetModel(r.Context(), m); errors.Is(err, store.ErrNotFound) {
			if _, err := c.st.UpsertModel(r.Context(), store.Model{Name: m, Status: store.ModelOffline}); err != nil {
				c.log.Error("console: adding a model", "model", m, "err", err)
			}
		}
	}
	c.audit(r, s, action, fmt.Sprintf("channel %d (%s)", ch.ID, ch.Name),
		fmt.Sprintf("type=%s base_url=%s models=%s keys=%d priority=%d weight=%d", ch.Type, ch.BaseURL,
			strings.Join(ch.Models, ","), len(ch.Keys), ch.Priority, ch.Weight))
	if err := c.reload(r, strings.ReplaceAll(action, ".", " "), "channel", ch.ID); err != nil {
		c.fail(w, r, nil, http.StatusInternalServerError, "err.reload")
		return
	}
	http.Redirect(w, r, "/admin/channels", http.StatusSeeOther)
}
