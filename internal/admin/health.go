package admin

import (
	"context"
	"net/http"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/relay"
	"github.com/tokenhot/tokenhot/internal/routing"
)

// Upstreams tests channel keys and reports their breakers (relay.Relay).
type Upstreams interface {
	Channel(ref string) *catalog.Channel
	TestChannel(ctx context.Context, ch *catalog.Channel, model string) []relay.KeyTest
	Health() *routing.Health
}

// ChannelHealth is the answer of GET /admin/v1/channels/{id}/health.
type ChannelHealth struct {
	Channel string              `json:"channel"`
	ID      int64               `json:"id"`
	Keys    []routing.KeyHealth `json:"keys"`
}

// ChannelTest is the answer of POST /admin/v1/channels/{id}/test.
type ChannelTest struct {
	Channel string          `json:"channel"`
	ID      int64           `json:"id"`
	Keys    []relay.KeyTest `json:"keys"`
}

// SetUpstreams adds the routes that show and change the health of channel
// keys: each channel key's breaker state, an on-demand test of every key,
// and putting a key back into rotation. {id} is a channel's id or name.
func (a *API) SetUpstreams(u Upstreams) {
	find := func(r *http.Request) (*catalog.Channel, error) {
		ref := r.PathValue("id")
		if ch := u.Channel(ref); ch != nil {
			return ch, nil
		}
		return nil, notFound("no enabled channel %q", ref)
	}
	a.handle("GET /admin/v1/channels/{id}/health", func(w http.ResponseWriter, r *http.Request) error {
		ch, err := find(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ChannelHealth{Channel: ch.Name, ID: ch.ID, Keys: u.Health().Channel(ch.ID, ch.KeyIDs)})
		return nil
	})
	a.handle("POST /admin/v1/channels/{id}/test", func(w http.ResponseWriter, r *http.Request) error {
		ch, err := find(r)
		if err != nil {
			return err
		}
		res := u.TestChannel(r.Context(), ch, r.URL.Query().Get("model"))
		a.log.Info("admin: channel tested", "channel", ch.Name)
		writeJSON(w, http.StatusOK, ChannelTest{Channel: ch.Name, ID: ch.ID, Keys: res})
		return nil
	})
	a.handle("POST /admin/v1/channels/{id}/keys/{key}/enable", func(w http.ResponseWriter, r *http.Request) error {
		ch, err := find(r)
		if err != nil {
			return err
		}
		key := r.PathValue("key")
		for _, id := range ch.KeyIDs {
			if id == key {
				ref := routing.KeyRef{Channel: ch.ID, Key: key}
				u.Health().Enable(ref)
				a.log.Info("admin: channel key enabled", "channel", ch.Name, "key", key)
				writeJSON(w, http.StatusOK, map[string]string{"channel": ch.Name, "key": key, "state": u.Health().State(ref).String()})
				return nil
			}
		}
		return notFound("channel %s has no key %s", ch.Name, key)
	})
}
