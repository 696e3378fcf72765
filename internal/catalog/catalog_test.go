package catalog

import (
	"context"
	"net/netip"
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
