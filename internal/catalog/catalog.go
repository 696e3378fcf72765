// Package catalog keeps what every request needs to read — keys, account
// status, models, prices and channels — in memory as one immutable snapshot.
// A change made through the admin API reloads the snapshot; requests never
// read these from the database.
package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Source is where snapshots are built from (the store).
type Source interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	ActiveKeys(ctx context.Context) ([]store.Key, error)
	ListChannels(ctx context.Context) ([]store.Channel, error)
	ListModels(ctx context.Context) ([]store.Model, error)
}

// Key is an active key with what is needed to authorize a request with it.
type Key struct {
	store.Key
	UserStatus string
	// KeyRate and UserRate are the rate limits to enforce on this key and
	// on its user (all the user's keys together): each subject's own
	// limits, with every limit left at 0 taken from the Defaults. A limit
	// still 0 is unlimited. The key's own values stay in Limits.Rate.
	KeyRate  store.Limits
	UserRate store.Limits
	models   map[string]bool // nil: every model
	ips      []netip.Prefix  // nil: every address
}

// AllowsModel reports whether the key may call the model.
func (k *Key) AllowsModel(name string) bool { return k.models == nil || k.models[name] }

// AllowsIP reports whether the key may be used from addr.
func (k *Key) AllowsIP(addr netip.Addr) bool {
	if k.ips == nil {
		return true
	}
	addr = addr.Unmap()
	for _, p := range k.ips {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Expired reports whether the key's expiry has passed at now.
func (k *Key) Expired(now time.Time) bool {
	return k.Limits.ExpiresAt != nil && !now.Before(*k.Limits.ExpiresAt)
}

// Model is a catalogue entry with the channels that serve it, best first.
type Model struct {
	store.Model
	Channels []*Channel
}

// Served reports whether the model may be called at all.
func (m *Model) Served() bool { return m.Status != store.ModelOffline }

// Channel is an enabled upstream account.
type Channel struct {
	store.Channel
	// KeyIDs name Keys, index for index, where a key must be told apart
	// without being shown (breakers, logs, metrics, the admin API): "k" and
	// the first 8 hex digits of the key's SHA-256. The same key has the
	// same id in every snapshot and on every node.
	KeyIDs []string
	next   atomic.Uint64 // round-robin position over Keys
}

// KeyID is the display id of an upstream key (see Channel.KeyIDs).
func KeyID(key string) string {
	d := sha256.Sum256([]byte(key))
	return "k" + hex.EncodeToString(d[:4])
}

// UpstreamModel is the name the upstream knows the public model by.
func (c *Channel) UpstreamModel(public string) string {
	if m, ok := c.ModelMap[public]; ok && m != "" {
		return m
	}
	return public
}

// NextKey returns the channel's keys in turn.
func (c *Channel) NextKey() string {
	n := c.next.Add(1) - 1
	return c.Keys[n%uint64(len(c.Keys))]
}

// Snapshot is an immutable view of the catalogue.
type Snapshot struct {
	keys     map[apikey.Digest]*Key
	models   map[string]*Model
	channels map[int64]*Channel // enabled ones with keys
	byOrder  []*Channel         // the same, best first
	// modelsJSON is the pre-encoded OpenAI /v1/models body for keys
	// without a model allow-list.
	modelsJSON []byte
	listed     []*Model
	Version    uint64
	Loaded     time.Time
}

// Key looks up an active key by digest.
func (s *Snapshot) Key(d apikey.Digest) (*Key, bool) {
	k, ok := s.keys[d]
	return k, ok
}

// Model looks up a model by public name.
func (s *Snapshot) Model(name string) (*Model, bool) {
	m, ok := s.models[name]
	return m, ok
}

// Models returns the listed (not offline, served by a channel) models.
func (s *Snapshot) Models() []*Model { return s.listed }

// Channel looks up an enabled channel with keys by id; nil if there is none.
func (s *Snapshot) Channel(id int64) *Channel { return s.channels[id] }

// Channels returns the enabled channels with keys, by priority, then id.
func (s *Snapshot) Channels() []*Channel { return s.byOrder }

// ModelsJSON returns the OpenAI-shaped model list visible to k.
func (s *Snapshot) ModelsJSON(k *Key) []byte {
	if k.models == nil {
		return s.modelsJSON
	}
	var visible []*Model
	for _, m := range s.listed {
		if k.models[m.Name] {
			visible = append(visible, m)
		}
	}
	return encodeModels(visible, s.Loaded)
}

// Catalog holds the current snapshot.
type Catalog struct {
	src  Source
	def  Defaults
	cur  atomic.Pointer[Snapshot]
	mu   sync.Mutex // serialises reloads
	vers uint64
}

// Defaults are the rate limits of keys and users that leave a limit at 0
// (the config file's limits section).
type Defaults struct {
	Key  store.Limits
	User store.Limits
}

// New loads the first snapshot, with no default rate limits.
func New(ctx context.Context, src Source) (*Catalog, error) {
	return NewWithDefaults(ctx, src, Defaults{})
}

// NewWithDefaults loads the first snapshot; every snapshot fills the keys'
// and users' unset limits from def.
func NewWithDefaults(ctx context.Context, src Source, def Defaults) (*Catalog, error) {
	c := &Catalog{src: src, def: def}
	if err := c.Reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Current returns the snapshot to use for one request.
func (c *Catalog) Current() *Snapshot { return c.cur.Load() }

// Reload rebuilds the snapshot from the source and swaps it in. Requests in
// flight keep the snapshot they started with.
func (c *Catalog) Reload(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := build(ctx, c.src, c.def)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	c.vers++
	s.Version = c.vers
	c.cur.Store(s)
	return nil
}

func build(ctx context.Context, src Source, def Defaults) (*Snapshot, error) {
	users, err := src.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := src.ActiveKeys(ctx)
	if err != nil {
		return nil, err
	}
	channels, err := src.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	models, err := src.ListModels(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*store.User, len(users))
	for i := range users {
		byID[users[i].ID] = &users[i]
	}
	s := &Snapshot{
		keys:     make(map[apikey.Digest]*Key, len(keys)),
		models:   make(map[string]*Model, len(models)),
		channels: make(map[int64]*Channel, len(channels)),
		Loaded:   time.Now(),
	}
	for _, k := range keys {
		u, ok := byID[k.UserID]
		if !ok {
			continue // deleted user
		}
		e := &Key{Key: k, UserStatus: u.Status, KeyRate: k.Limits.Rate.Or(def.Key), UserRate: u.Limits.Or(def.User)}
		if len(k.Limits.AllowedModels) > 0 {
			e.models = make(map[string]bool, len(k.Limits.AllowedModels))
			for _, m := range k.Limits.AllowedModels {
				e.models[m] = true
			}
		}
		for _, ip := range k.Limits.AllowedIPs {
			p, err := config.ParsePrefix(ip)
			if err != nil {
				// Fail closed: a key whose allow-list cannot be read
				// must not become usable from everywhere.
				p = netip.Prefix{}
			}
			e.ips = append(e.ips, p)
		}
		s.keys[k.Hash] = e
	}
	for _, m := range models {
		s.models[m.Name] = &Model{Model: m}
	}
	slices.SortFunc(channels, func(a, b store.Channel) int {
		if a.Priority != b.Priority {
			return a.Priority - b.Priority
		}
		return int(a.ID - b.ID)
	})
	for _, ch := range channels {
		if !ch.Enabled || len(ch.Keys) == 0 {
			continue
		}
		e := &Channel{Channel: ch, KeyIDs: make([]string, len(ch.Keys))}
		for i, k := range ch.Keys {
			e.KeyIDs[i] = KeyID(k)
		}
		s.channels[ch.ID] = e
		s.byOrder = append(s.byOrder, e)
		for _, name := range ch.Models {
			if m, ok := s.models[name]; ok {
				m.Channels = append(m.Channels, e)
			}
		}
	}
	for _, m := range models {
		e := s.models[m.Name]
		if e.Served() && len(e.Channels) > 0 {
			s.listed = append(s.listed, e)
		}
	}
	s.modelsJSON = encodeModels(s.listed, s.Loaded)
	return s, nil
}

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Status  string `json:"status"`
}

func encodeModels(ms []*Model, at time.Time) []byte {
	out := struct {
		Object string      `json:"object"`
		Data   []modelJSON `json:"data"`
	}{Object: "list", Data: make([]modelJSON, 0, len(ms))}
	for _, m := range ms {
		created := m.Updated.Unix()
		if m.Updated.IsZero() {
			created = at.Unix()
		}
		out.Data = append(out.Data, modelJSON{ID: m.Name, Object: "model", Created: created, OwnedBy: "tokenhot", Status: m.Status})
	}
	b, _ := json.Marshal(out)
	return b
}
