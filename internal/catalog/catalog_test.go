package catalog

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/store"
)

type fakeSource struct {
	users    []store.User
	keys     []store.Key
	channels []store.Channel
	models   []store.Model
}

func (f *fakeSource) ListUsers(context.Context) ([]store.User, error)       { return f.users, nil }
func (f *fakeSource) ActiveKeys(context.Context) ([]store.Key, error)       { return f.keys, nil }
func (f *fakeSource) ListChannels(context.Context) ([]store.Channel, error) { return f.channels, nil }
func (f *fakeSource) ListModels(context.Context) ([]store.Model, error)     { return f.models, nil }

func source() *fakeSource {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	return &fakeSource{
		users: []store.User{{ID: 1, Status: store.UserActive}, {ID: 2, Status: store.UserSuspended}},
		keys: []store.Key{
			{ID: 1, UserID: 1, Hash: apikey.Hash("open")},
			{ID: 2, UserID: 1, Hash: apikey.Hash("limited"), Limits: store.KeyLimits{ExpiresAt: &exp,
				AllowedModels: []string{"b"}, AllowedIPs: []string{"10.0.0.0/8", "192.0.2.7"}}},
			{ID: 3, UserID: 2, Hash: apikey.Hash("suspended")},
			{ID: 4, UserID: 99, Hash: apikey.Hash("orphan")},
			{ID: 5, UserID: 1, Hash: apikey.Hash("badips"), Limits: store.KeyLimits{AllowedIPs: []string{"not-an-ip"}}},
		},
		channels: []store.Channel{
			{ID: 1, Name: "slow", Priority: 1, Weight: 1, Enabled: true, Keys: []string{"k1"}, Models: []string{"a", "b"}},
			{ID: 2, Name: "fast", Priority: 0, Weight: 1, Enabled: true, Keys: []string{"k2", "k3"}, Models: []string{"a"}, ModelMap: map[string]string{"a": "a-2025"}},
			{ID: 3, Name: "off", Priority: 0, Weight: 1, Enabled: false, Keys: []string{"k4"}, Models: []string{"c"}},
		},
		models: []store.Model{{Name: "a", Status: store.ModelAvailable}, {Name: "b", Status: store.ModelDeprecated},
			{Name: "c", Status: store.ModelAvailable}, {Name: "d", Status: store.ModelOffline}},
	}
}

func TestSnapshot(t *testing.T) {
	src := source()
	c, err := New(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Current()
	open, ok := s.Key(apikey.Hash("open"))
	if !ok || !open.AllowsModel("anything") || !open.AllowsIP(netip.MustParseAddr("203.0.113.1")) || open.UserStatus != store.UserActive {
		t.Fatalf("open key %+v", open)
	}
	lim, _ := s.Key(apikey.Hash("limited"))
	if lim.AllowsModel("a") || !lim.AllowsModel("b") {
		t.Fatal("model allow-list not applied")
	}
	for ip, want := range map[string]bool{"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "::ffff:10.0.0.1": true} {
		if got := lim.AllowsIP(netip.MustParseAddr(ip)); got != want {
			t.Errorf("AllowsIP(%s) = %v", ip, got)
		}
	}
	if lim.Expired(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)) || !lim.Expired(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("expiry")
	}
	if sus, _ := s.Key(apikey.Hash("suspended")); sus.UserStatus != store.UserSuspended {
		t.Fatal("suspension not visible")
	}
	if _, ok := s.Key(apikey.Hash("orphan")); ok {
		t.Fatal("a key of a deleted user is usable")
	}
	if bad, _ := s.Key(apikey.Hash("badips")); bad.AllowsIP(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("an unreadable IP allow-list must fail closed")
	}

	a, _ := s.Model("a")
	var names []string
	for _, ch := range a.Channels {
		names = append(names, ch.Name)
	}
	if diff := cmp.Diff([]string{"fast", "slow"}, names); diff != "" {
		t.Fatalf("channels of a by priority (-want +got):\n%s", diff)
	}
	if a.Channels[0].UpstreamModel("a") != "a-2025" || a.Channels[1].UpstreamModel("a") != "a" {
		t.Fatal("model map")
	}
	if k1, k2, k3 := a.Channels[0].NextKey(), a.Channels[0].NextKey(), a.Channels[0].NextKey(); k1 != "k2" || k2 != "k3" || k3 != "k2" {
		t.Fatalf("round robin %s %s %s", k1, k2, k3)
	}
	// c has only a disabled channel, d is offline: neither is listed.
	var listed []string
	for _, r := range gjson.GetBytes(s.ModelsJSON(open), "data.#.id").Array() {
		listed = append(listed, r.Str)
	}
	if diff := cmp.Diff([]string{"a", "b"}, listed); diff != "" {
		t.Fatalf("listed (-want +got):\n%s", diff)
	}
	if got := gjson.GetBytes(s.ModelsJSON(lim), "data.#.id").String(); got != `["b"]` {
		t.Fatalf("a key sees only its models, got %s", got)
	}

	// Reload swaps in a new snapshot; the old one is untouched.
	src.users[1].Status = store.UserActive
	if err := c.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sus, _ := c.Current().Key(apikey.Hash("suspended")); sus.UserStatus != store.UserActive {
		t.Fatal("reload did not apply")
	}
	if sus, _ := s.Key(apikey.Hash("suspended")); sus.UserStatus != store.UserSuspended {
		t.Fatal("an old snapshot changed")
	}
	if c.Current().Version != s.Version+1 {
		t.Fatal("version")
	}
}

func TestRateLimits(t *testing.T) {
	src := &fakeSource{
		users: []store.User{
			{ID: 1, Status: store.UserActive},
			{ID: 2, Status: store.UserActive, Limits: store.Limits{RPM: 1000, Concurrent: 2}},
		},
		keys: []store.Key{
			{ID: 1, UserID: 1, Hash: apikey.Hash("plain")},
			{ID: 2, UserID: 2, Hash: apikey.Hash("own"), Limits: store.KeyLimits{Rate: store.Limits{TPM: 5, Concurrent: 1}}},
		},
		channels: []store.Channel{{ID: 1, Enabled: true, Keys: []string{"k"}, Models: []string{"a"},
			Limits: store.Limits{RPM: 3000, TPM: 1_000_000, Concurrent: 50}}},
		models: []store.Model{{Name: "a", Status: store.ModelAvailable, Limits: store.Limits{RPM: 600}}},
	}
	def := Defaults{Key: store.Limits{RPM: 60, TPM: 100_000}, User: store.Limits{TPM: 1_000_000, Concurrent: 8}}
	for _, tc := range []struct {
		name           string
		def            Defaults
		key            string
		keyRate, uRate store.Limits
	}{
		{name: "no defaults, no limits", key: "plain"},
		{name: "no defaults, own limits", key: "own",
			keyRate: store.Limits{TPM: 5, Concurrent: 1}, uRate: store.Limits{RPM: 1000, Concurrent: 2}},
		{name: "defaults fill what is unset", def: def, key: "plain",
			keyRate: def.Key, uRate: def.User},
		{name: "own limits win over defaults", def: def, key: "own",
			keyRate: store.Limits{RPM: 60, TPM: 5, Concurrent: 1}, uRate: store.Limits{RPM: 1000, TPM: 1_000_000, Concurrent: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewWithDefaults(context.Background(), src, tc.def)
			if err != nil {
				t.Fatal(err)
			}
			k, ok := c.Current().Key(apikey.Hash(tc.key))
			if !ok {
				t.Fatalf("key %q not found", tc.key)
			}
			if d := cmp.Diff(tc.keyRate, k.KeyRate); d != "" {
				t.Errorf("key rate (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.uRate, k.UserRate); d != "" {
				t.Errorf("user rate (-want +got):\n%s", d)
			}
			// The key's own values are kept apart from the effective ones.
			if d := cmp.Diff(src.keys[k.ID-1].Limits.Rate, k.Limits.Rate); d != "" {
				t.Errorf("own key limits (-want +got):\n%s", d)
			}
			// Defaults are for keys and users only.
			m, _ := c.Current().Model("a")
			if d := cmp.Diff(store.Limits{RPM: 600}, m.Limits); d != "" {
				t.Errorf("model limits (-want +got):\n%s", d)
			}
			if d := cmp.Diff(store.Limits{RPM: 3000, TPM: 1_000_000, Concurrent: 50}, m.Channels[0].Limits); d != "" {
				t.Errorf("channel limits (-want +got):\n%s", d)
			}
		})
	}
	// Reloads keep the defaults.
	c, err := NewWithDefaults(context.Background(), src, def)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if k, _ := c.Current().Key(apikey.Hash("plain")); k.KeyRate != def.Key || k.UserRate != def.User {
		t.Errorf("after reload: key rate %+v, user rate %+v", k.KeyRate, k.UserRate)
	}
}

func TestChannelKeyIDs(t *testing.T) {
	const secret = "sk-upstream-very-secret-0001"
	src := source()
	src.channels[1].Keys = []string{secret, "k3"}
	c, err := New(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Current()
	fast := s.Channel(2)
	if fast == nil {
		t.Fatal("channel 2 not found")
	}
	// "k" and the first 8 hex digits of SHA-256, as computed elsewhere.
	want := []string{"k" + fmt.Sprintf("%x", sha256.Sum256([]byte(secret)))[:8], "k" + fmt.Sprintf("%x", sha256.Sum256([]byte("k3")))[:8]}
	if d := cmp.Diff(want, fast.KeyIDs); d != "" {
		t.Fatalf("key ids (-want +got):\n%s", d)
	}
	for _, id := range fast.KeyIDs {
		if len(id) != 9 || strings.Contains(secret, id[1:]) {
			t.Errorf("key id %q", id)
		}
	}
	if KeyID(secret) != want[0] {
		t.Errorf("KeyID(%q) = %q, want %q", secret, KeyID(secret), want[0])
	}
	// Stable across snapshots; one id per key, index for index.
	if err := c.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fast.KeyIDs, c.Current().Channel(2).KeyIDs); d != "" {
		t.Errorf("key ids changed on reload (-old +new):\n%s", d)
	}
	if slow := s.Channel(1); len(slow.KeyIDs) != len(slow.Keys) {
		t.Errorf("channel 1: %d ids for %d keys", len(slow.KeyIDs), len(slow.Keys))
	}
	// Disabled channels are not in the snapshot.
	if s.Channel(3) != nil || s.Channel(99) != nil {
		t.Error("a disabled or unknown channel was found")
	}
	var order []int64
	for _, ch := range s.Channels() {
		order = append(order, ch.ID)
	}
	if d := cmp.Diff([]int64{2, 1}, order); d != "" {
		t.Errorf("channels by priority (-want +got):\n%s", d)
	}
}
