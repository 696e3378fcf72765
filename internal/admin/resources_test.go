package admin

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestKeys(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var u User
		e.call("POST", "/admin/v1/users", `{"name":"alice"}`, 201, &u)
		uid := itoa(u.ID)

		var k CreatedKey
		status, body := e.raw("POST", "/admin/v1/users/"+uid+"/keys", `{"name":"ci","expires_at":"2030-02-01T00:00:00+01:00",
			"spend_limit":"5.5","allowed_models":["gpt-4o"," gpt-4o","o3"],"allowed_ips":["10.1.2.3/8","192.0.2.7","::ffff:192.0.2.8"],
			"rpm":60,"tpm":100000,"concurrent":0}`)
		if status != 201 {
			t.Fatalf("create key: %d %s", status, body)
		}
		mustUnmarshal(t, body, &k)
		if !strings.HasPrefix(k.Secret, apikey.Prefix) || k.Prefix != apikey.Display(k.Secret) {
			t.Fatalf("key %q prefix %q", k.Secret, k.Prefix)
		}
		want := Key{ID: k.ID, UserID: u.ID, Name: "ci", Prefix: k.Prefix, Status: "active", Spent: "0",
			Limits: Limits{ExpiresAt: ptr("2030-01-31T23:00:00Z"), SpendLimit: ptr("5.5"),
				AllowedModels: []string{"gpt-4o", "o3"}, AllowedIPs: []string{"10.0.0.0/8", "192.0.2.7", "192.0.2.8"},
				RateLimits: RateLimits{RPM: ptr[int64](60), TPM: ptr[int64](100_000)}}}
		got := k.Key
		got.CreatedAt = time.Time{}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("created key (-want +got):\n%s", d)
		}
		// Only the digest is stored, and the catalogue already knows the key.
		stored, err := e.st.KeyByHash(context.Background(), apikey.Hash(k.Secret))
		if err != nil || stored.ID != k.ID {
			t.Errorf("key by hash: %+v, %v", stored, err)
		}
		if ck, ok := e.rel.cat.Current().Key(apikey.Hash(k.Secret)); !ok {
			t.Error("the catalogue does not know the new key")
		} else if ck.KeyRate != (store.Limits{RPM: 60, TPM: 100_000}) {
			t.Errorf("the catalogue's key limits: %+v", ck.KeyRate)
		}
		if _, b := e.raw("GET", "/admin/v1/keys/"+itoa(k.ID), ""); !bytes.Contains(b, []byte(`"192.0.2.8"],"rpm":60,"tpm":100000},`)) {
			t.Errorf("rate limits are not among the key's limits: %s", b)
		}

		var plain CreatedKey
		e.call("POST", "/admin/v1/users/"+uid+"/keys", `{}`, 201, &plain)
		if plain.Name != "default" || plain.Limits.ExpiresAt != nil || plain.Limits.SpendLimit != nil {
			t.Errorf("key without limits: %+v", plain.Key)
		}

		// Neither plaintext nor hash ever appears again.
		hash := apikey.Hash(k.Secret)
		for _, path := range []string{"/admin/v1/keys", "/admin/v1/keys?user=" + uid, "/admin/v1/keys/" + itoa(k.ID),
			"/admin/v1/keys?prefix=" + k.Prefix} {
			_, b := e.raw("GET", path, "")
			if strings.Contains(string(b), k.Secret) || strings.Contains(string(b), hex.EncodeToString(hash[:])) ||
				strings.Contains(string(b), `"hash"`) || strings.Contains(string(b), `"key"`) {
				t.Errorf("GET %s shows the key or its hash: %s", path, b)
			}
		}
		var keys List[Key]
		e.call("GET", "/admin/v1/keys?prefix="+k.Prefix, "", 200, &keys)
		if len(keys.Data) != 1 || keys.Data[0].ID != k.ID {
			t.Errorf("keys by prefix: %+v", keys.Data)
		}
		e.call("GET", "/admin/v1/keys?user="+uid, "", 200, &keys)
		if len(keys.Data) != 2 {
			t.Errorf("keys of alice: %+v", keys.Data)
		}

		// Limits are replaced as a whole.
		var after Key
		e.call("PUT", "/admin/v1/keys/"+itoa(k.ID)+"/limits", `{"spend_limit":"0.25","concurrent":2}`, 200, &after)
		if d := cmp.Diff(Limits{SpendLimit: ptr("0.25"), RateLimits: RateLimits{Concurrent: ptr[int64](2)}}, after.Limits); d != "" {
			t.Errorf("replaced limits (-want +got):\n%s", d)
		}
		if ck, _ := e.rel.cat.Current().Key(apikey.Hash(k.Secret)); ck == nil || ck.KeyRate != (store.Limits{Concurrent: 2}) {
			t.Errorf("the catalogue's key limits after PUT: %+v", ck)
		}
		e.call("PUT", "/admin/v1/keys/"+itoa(k.ID)+"/limits", `{}`, 200, &after)
		if d := cmp.Diff(Limits{}, after.Limits); d != "" {
			t.Errorf("cleared limits (-want +got):\n%s", d)
		}
		e.call("POST", "/admin/v1/keys/"+itoa(k.ID)+"/revoke", "", 200, &after)
		if after.Status != "revoked" {
			t.Errorf("status after revoke %q", after.Status)
		}
		if _, ok := e.rel.cat.Current().Key(apikey.Hash(k.Secret)); ok {
			t.Error("the catalogue still accepts the revoked key")
		}

		kid := itoa(plain.ID)
		e.fails(t, []failCase{
			{"missing user", "POST", "/admin/v1/users/999/keys", `{}`, 404, "user 999 not found"},
			{"past expiry", "POST", "/admin/v1/users/" + uid + "/keys", `{"expires_at":"2029-01-01T00:00:00Z"}`, 400, "not in the future"},
			{"bad expiry", "POST", "/admin/v1/users/" + uid + "/keys", `{"expires_at":"tomorrow"}`, 400, "expires_at must be an RFC 3339 time"},
			{"negative spend", "POST", "/admin/v1/users/" + uid + "/keys", `{"spend_limit":"-1"}`, 400, "spend_limit cannot be negative"},
			{"float spend", "POST", "/admin/v1/users/" + uid + "/keys", `{"spend_limit":1}`, 400, "spend_limit must be a string"},
			{"bad ip", "POST", "/admin/v1/users/" + uid + "/keys", `{"allowed_ips":["10.0.0.0/33"]}`, 400, "allowed_ips[0]"},
			{"host name", "POST", "/admin/v1/users/" + uid + "/keys", `{"allowed_ips":["1.2.3.4","example.com"]}`, 400, "allowed_ips[1]"},
			{"empty model", "POST", "/admin/v1/users/" + uid + "/keys", `{"allowed_models":[""]}`, 400, "allowed_models[0] is empty"},
			{"models not a list", "POST", "/admin/v1/users/" + uid + "/keys", `{"allowed_models":"gpt-4o"}`, 400, "allowed_models must be of type array"},
			{"the key itself", "POST", "/admin/v1/users/" + uid + "/keys", `{"key":"sk-mine"}`, 400, `unknown field "key"`},
			{"get missing", "GET", "/admin/v1/keys/999", "", 404, "key 999 not found"},
			{"limits missing", "PUT", "/admin/v1/keys/999/limits", `{}`, 404, "key 999 not found"},
			{"limits bad ip", "PUT", "/admin/v1/keys/" + kid + "/limits", `{"allowed_ips":["nope"]}`, 400, "allowed_ips[0]"},
			{"limits unknown", "PUT", "/admin/v1/keys/" + kid + "/limits", `{"rps":10}`, 400, `unknown field "rps"`},
			{"limits negative rpm", "PUT", "/admin/v1/keys/" + kid + "/limits", `{"rpm":-1}`, 400, "rpm cannot be negative"},
			{"limits nested rate", "PUT", "/admin/v1/keys/" + kid + "/limits", `{"rate":{"rpm":1}}`, 400, `unknown field "rate"`},
			{"negative tpm", "POST", "/admin/v1/users/" + uid + "/keys", `{"tpm":-5}`, 400, "tpm cannot be negative"},
			{"string concurrent", "POST", "/admin/v1/users/" + uid + "/keys", `{"concurrent":"2"}`, 400, "concurrent must be of type integer"},
			{"revoke missing", "POST", "/admin/v1/keys/999/revoke", "", 404, "key 999 not found"},
			{"list bad user", "GET", "/admin/v1/keys?user=alice", "", 400, "user must be an integer"},
		})
		e.call("GET", "/admin/v1/keys?user="+uid, "", 200, &keys)
		if len(keys.Data) != 2 || keys.Data[1].Limits.AllowedIPs != nil || keys.Data[1].Limits.RateLimits != (RateLimits{}) ||
			keys.Data[1].Status != "active" {
			t.Errorf("failed requests changed keys: %+v", keys.Data)
		}
	})
}

func TestChannels(t *testing.T) {
	const secret1, secret2, secret3 = "sk-upstream-secret-0001-ab12", "sk-upstream-secret-0002-cd34", "short-key-99"
	eachDB(t, func(t *testing.T, e *env) {
		var c Channel
		e.call("POST", "/admin/v1/channels", `{"name":"openai-main","type":"openai","base_url":"https://api.openai.com/v1/",
			"keys":["`+secret1+`","`+secret2+`"],"models":["gpt-4o","gpt-4o-mini"],"model_map":{"gpt-4o":"gpt-4o-2024-11-20"},
			"limits":{"rpm":3000,"concurrent":50}}`, 201, &c)
		want := Channel{ID: c.ID, Name: "openai-main", Type: "openai", BaseURL: "https://api.openai.com/v1",
			Keys: MaskedKeys{Count: 2, Masked: []string{"sk-…ab12", "sk-…cd34"},
				IDs: []string{catalog.KeyID(secret1), catalog.KeyID(secret2)}},
			Models: []string{"gpt-4o", "gpt-4o-mini"}, ModelMap: map[string]string{"gpt-4o": "gpt-4o-2024-11-20"},
			Weight: 1, Enabled: true, Limits: RateLimits{RPM: ptr[int64](3000), Concurrent: ptr[int64](50)}}
		c.Updated = time.Time{}
		if d := cmp.Diff(want, c); d != "" {
			t.Errorf("created channel (-want +got):\n%s", d)
		}
		stored, err := e.st.GetChannel(context.Background(), c.ID)
		if err != nil || !cmp.Equal(stored.Keys, []string{secret1, secret2}) || stored.Limits != (store.Limits{RPM: 3000, Concurrent: 50}) {
			t.Errorf("stored keys %v, limits %+v, %v", stored.Keys, stored.Limits, err)
		}
		if m := e.rel.cat.Current().Channel(c.ID); m == nil || !cmp.Equal(m.KeyIDs, want.Keys.IDs) {
			t.Errorf("the catalogue's channel %+v, want key ids %v", m, want.Keys.IDs)
		}

		// A partial update changes only what it names; keys only when given.
		var p Channel
		e.call("PATCH", "/admin/v1/channels/"+itoa(c.ID), `{"priority":2,"weight":5}`, 200, &p)
		want.Priority, want.Weight = 2, 5
		p.Updated = time.Time{}
		if d := cmp.Diff(want, p); d != "" {
			t.Errorf("patched channel (-want +got):\n%s", d)
		}
		// In limits, only the limits present change; 0 removes one.
		e.call("PATCH", "/admin/v1/channels/"+itoa(c.ID), `{"limits":{"tpm":2000000,"concurrent":0}}`, 200, &p)
		if d := cmp.Diff(RateLimits{RPM: ptr[int64](3000), TPM: ptr[int64](2_000_000)}, p.Limits); d != "" {
			t.Errorf("patched limits (-want +got):\n%s", d)
		}
		want.Limits = p.Limits
		e.call("PATCH", "/admin/v1/channels/"+itoa(c.ID), `{"keys":["`+secret3+`"],"model_map":{}}`, 200, &p)
		if d := cmp.Diff(MaskedKeys{Count: 1, Masked: []string{"…y-99"}, IDs: []string{catalog.KeyID(secret3)}}, p.Keys); d != "" ||
			p.ModelMap != nil || !cmp.Equal(want.Limits, p.Limits) {
			t.Errorf("after replacing keys and the map: %+v", p)
		}
		e.call("POST", "/admin/v1/channels/"+itoa(c.ID)+"/disable", "", 200, &p)
		if p.Enabled {
			t.Error("still enabled after disable")
		}
		e.call("POST", "/admin/v1/channels/"+itoa(c.ID)+"/enable", "", 200, &p)
		if !p.Enabled {
			t.Error("disabled after enable")
		}

		var other Channel
		e.call("POST", "/admin/v1/channels", `{"name":"claude","type":"anthropic","base_url":"http://127.0.0.1:9000",
			"keys":["`+secret2+`"],"models":["claude-sonnet-4"],"enabled":false,"weight":0,"priority":-1}`, 201, &other)
		if other.Enabled || other.Weight != 0 || other.Priority != -1 || other.Limits != (RateLimits{}) {
			t.Errorf("explicit enabled/weight/priority ignored: %+v", other)
		}
		if _, b := e.raw("GET", "/admin/v1/channels/"+itoa(other.ID), ""); !bytes.Contains(b, []byte(`"limits":{}`)) {
			t.Errorf("a channel without limits shows %s", b)
		}
		for _, path := range []string{"/admin/v1/channels", "/admin/v1/channels/" + itoa(c.ID), "/admin/v1/channels/" + itoa(other.ID)} {
			_, b := e.raw("GET", path, "")
			for _, s := range []string{secret1, secret2, secret3} {
				if strings.Contains(string(b), s) {
					t.Errorf("GET %s shows an upstream key: %s", path, b)
				}
			}
		}

		id := itoa(c.ID)
		valid := `"name":"x","type":"openai","base_url":"https://x.example","keys":["k"],"models":["m"]`
		e.fails(t, []failCase{
			{"empty", "POST", "/admin/v1/channels", `{}`, 400, "name is required; type must be one of openai, openai-responses, anthropic"},
			{"bad type", "POST", "/admin/v1/channels", `{` + valid + `,"type":"azure"}`, 400, "type must be one of"},
			{"ftp url", "POST", "/admin/v1/channels", `{` + valid + `,"base_url":"ftp://x.example"}`, 400, "base_url must be an http"},
			{"no host", "POST", "/admin/v1/channels", `{` + valid + `,"base_url":"https://"}`, 400, "base_url must be an http"},
			{"url with query", "POST", "/admin/v1/channels", `{` + valid + `,"base_url":"https://x.example/?k=1"}`, 400, "cannot carry a query"},
			{"no keys", "POST", "/admin/v1/channels", `{` + valid + `,"keys":[]}`, 400, "at least one upstream key"},
			{"blank key", "POST", "/admin/v1/channels", `{` + valid + `,"keys":["k"," "]}`, 400, "keys[1] is empty"},
			{"no models", "POST", "/admin/v1/channels", `{` + valid + `,"models":[]}`, 400, "at least one model"},
			{"twice", "POST", "/admin/v1/channels", `{` + valid + `,"models":["m","m"]}`, 400, `models[1] "m" is listed twice`},
			{"map outside", "POST", "/admin/v1/channels", `{` + valid + `,"model_map":{"z":"y"}}`, 400, `model_map key "z" is not one of models`},
			{"map empty", "POST", "/admin/v1/channels", `{` + valid + `,"model_map":{"m":""}}`, 400, `model_map["m"] is empty`},
			{"negative weight", "POST", "/admin/v1/channels", `{` + valid + `,"weight":-1}`, 400, "weight cannot be negative"},
			{"negative limit", "POST", "/admin/v1/channels", `{` + valid + `,"weight":-1,"limits":{"rpm":-1}}`, 400,
				"weight cannot be negative; limits.rpm cannot be negative"},
			{"unknown limit", "POST", "/admin/v1/channels", `{` + valid + `,"limits":{"rph":1}}`, 400, `unknown field "rph"`},
			{"patch negative limit", "PATCH", "/admin/v1/channels/" + id, `{"limits":{"concurrent":-3}}`, 400, "limits.concurrent cannot be negative"},
			{"string weight", "POST", "/admin/v1/channels", `{` + valid + `,"weight":"2"}`, 400, "weight must be of type integer"},
			{"unknown", "POST", "/admin/v1/channels", `{` + valid + `,"group":"vip"}`, 400, `unknown field "group"`},
			{"duplicate", "POST", "/admin/v1/channels", `{` + valid + `,"name":"claude"}`, 409, `"claude" already exists`},
			{"rename onto", "PATCH", "/admin/v1/channels/" + id, `{"name":"claude"}`, 409, `"claude" already exists`},
			{"patch no keys", "PATCH", "/admin/v1/channels/" + id, `{"keys":[]}`, 400, "at least one upstream key"},
			{"patch bad type", "PATCH", "/admin/v1/channels/" + id, `{"type":"x","priority":9}`, 400, "type must be one of"},
			{"patch missing", "PATCH", "/admin/v1/channels/999", `{"priority":1}`, 404, "channel 999 not found"},
			{"get missing", "GET", "/admin/v1/channels/999", "", 404, "channel 999 not found"},
			{"enable missing", "POST", "/admin/v1/channels/999/enable", "", 404, "channel 999 not found"},
			{"delete missing", "DELETE", "/admin/v1/channels/999", "", 404, "channel 999 not found"},
		})
		var now Channel
		e.call("GET", "/admin/v1/channels/"+id, "", 200, &now)
		if now.Priority != 2 || now.Type != "openai" || now.Keys.Count != 1 || now.Name != "openai-main" || !cmp.Equal(want.Limits, now.Limits) {
			t.Errorf("failed requests changed the channel: %+v", now)
		}
		e.call("DELETE", "/admin/v1/channels/"+id, "", 204, nil)
		var chans List[Channel]
		e.call("GET", "/admin/v1/channels", "", 200, &chans)
		if len(chans.Data) != 1 || chans.Data[0].ID != other.ID {
			t.Errorf("channels after delete: %+v", chans.Data)
		}
	})
}

func TestModels(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var m Model
		e.call("PUT", "/admin/v1/models/gpt-4o", `{"price":{"input":"2.5","output":"10","cached_input":"1.25","per_request":"0.000001"},
			"max_output_tokens":16384,"limits":{"rpm":600,"tpm":0,"concurrent":20}}`, 201, &m)
		want := Model{Name: "gpt-4o", Status: "available", MaxOutputTokens: 16384,
			Price:  Price{Input: "2.5", Output: "10", CachedInput: "1.25", PerRequest: "0.000001"},
			Limits: RateLimits{RPM: ptr[int64](600), Concurrent: ptr[int64](20)}}
		m.Updated = time.Time{}
		if d := cmp.Diff(want, m); d != "" {
			t.Errorf("created model (-want +got):\n%s", d)
		}
		stored, err := e.st.GetModel(context.Background(), "gpt-4o")
		wantPrice := billing.Price{Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000, PerRequest: 1}
		if err != nil || !cmp.Equal(stored.Price, wantPrice) || stored.Limits != (store.Limits{RPM: 600, Concurrent: 20}) {
			t.Errorf("stored price %+v, limits %+v, %v; want %+v", stored.Price, stored.Limits, err, wantPrice)
		}
		if cm, ok := e.rel.cat.Current().Model("gpt-4o"); !ok || cm.Limits != stored.Limits {
			t.Errorf("the catalogue's model %+v", cm)
		}
		// PUT replaces: what is left out takes its default.
		e.call("PUT", "/admin/v1/models/gpt-4o", `{"status":"deprecated","price":{"input":"0","output":"0.000125"}}`, 200, &m)
		want = Model{Name: "gpt-4o", Status: "deprecated", Price: Price{Input: "0", Output: "0.000125"}}
		m.Updated = time.Time{}
		if d := cmp.Diff(want, m); d != "" {
			t.Errorf("replaced model (-want +got):\n%s", d)
		}
		e.call("PUT", "/admin/v1/models/meta-llama/Llama-3.3-70B", `{"status":"experimental","price":{"input":"0.1","output":"0.2",
			"cache_write":"0.3","reasoning":"0.4"}}`, 201, nil)
		e.call("GET", "/admin/v1/models/meta-llama%2FLlama-3.3-70B", "", 200, &m)
		if m.Name != "meta-llama/Llama-3.3-70B" || m.Price.CacheWrite != "0.3" || m.Price.Reasoning != "0.4" {
			t.Errorf("model with a slash: %+v", m)
		}
		var models List[Model]
		e.call("GET", "/admin/v1/models", "", 200, &models)
		if len(models.Data) != 2 {
			t.Errorf("models %+v", models.Data)
		}

		e.fails(t, []failCase{
			{"no price", "PUT", "/admin/v1/models/x", `{}`, 400, "price is required"},
			{"no output", "PUT", "/admin/v1/models/x", `{"price":{"input":"1"}}`, 400, "price.input and price.output are required"},
			{"negative", "PUT", "/admin/v1/models/x", `{"price":{"input":"1","output":"-1"}}`, 400, "price.output cannot be negative"},
			{"float", "PUT", "/admin/v1/models/x", `{"price":{"input":1,"output":"1"}}`, 400, "price.input must be a string"},
			{"seven decimals", "PUT", "/admin/v1/models/x", `{"price":{"input":"1","output":"1","reasoning":"0.0000001"}}`, 400, "price.reasoning"},
			{"bad status", "PUT", "/admin/v1/models/x", `{"status":"beta","price":{"input":"1","output":"1"}}`, 400, "status must be available"},
			{"negative max", "PUT", "/admin/v1/models/x", `{"max_output_tokens":-1,"price":{"input":"1","output":"1"}}`, 400, "max_output_tokens cannot be negative"},
			{"negative limit", "PUT", "/admin/v1/models/x", `{"limits":{"tpm":-1},"price":{"input":"1","output":"1"}}`, 400, "limits.tpm cannot be negative"},
			{"limit as string", "PUT", "/admin/v1/models/x", `{"limits":{"rpm":"1"},"price":{"input":"1","output":"1"}}`, 400, "limits.rpm must be of type integer"},
			{"unknown price field", "PUT", "/admin/v1/models/x", `{"price":{"input":"1","output":"1","image":"1"}}`, 400, `unknown field "image"`},
			{"space in name", "PUT", "/admin/v1/models/a%20b", `{"price":{"input":"1","output":"1"}}`, 400, "contains whitespace"},
			{"empty name", "PUT", "/admin/v1/models/", `{"price":{"input":"1","output":"1"}}`, 400, "model name is required"},
			{"get missing", "GET", "/admin/v1/models/nope", "", 404, `model "nope" not found`},
			{"delete missing", "DELETE", "/admin/v1/models/nope", "", 404, `model "nope" not found`},
		})
		e.call("DELETE", "/admin/v1/models/gpt-4o", "", 204, nil)
		e.call("GET", "/admin/v1/models", "", 200, &models)
		if len(models.Data) != 1 || models.Data[0].Name != "meta-llama/Llama-3.3-70B" {
			t.Errorf("models after delete %+v", models.Data)
		}
	})
}

// Image and video prices: sent and shown as USD strings, stored as Micros,
// carried into the catalogue.
func TestModelMediaPrices(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var m Model
		e.call("PUT", "/admin/v1/models/gpt-image-1", `{"price":{"input":"5","output":"40","per_image":"0.04",
			"images":{"1024x1024/high":"0.167","2K":"0.030","4K":"0"},"per_second":"0.1","seconds":{"720p":"0.10","1080p":"0.25"}}}`, 201, &m)
		want := Model{Name: "gpt-image-1", Status: "available", Price: Price{Input: "5", Output: "40",
			PerImage: "0.04", Images: map[string]string{"1024x1024/high": "0.167", "2K": "0.03", "4K": "0"},
			PerSecond: "0.1", Seconds: map[string]string{"720p": "0.1", "1080p": "0.25"}}}
		m.Updated = time.Time{}
		if d := cmp.Diff(want, m); d != "" {
			t.Errorf("created model (-want +got):\n%s", d)
		}
		wantPrice := billing.Price{Input: 5_000_000, Output: 40_000_000, PerImage: 40_000, PerSecond: 100_000,
			ImagePrices:  map[string]billing.Micros{"1024x1024/high": 167_000, "2K": 30_000, "4K": 0},
			SecondPrices: map[string]billing.Micros{"720p": 100_000, "1080p": 250_000}}
		stored, err := e.st.GetModel(context.Background(), "gpt-image-1")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(wantPrice, stored.Price); d != "" {
			t.Errorf("stored price (-want +got):\n%s", d)
		}
		cm, ok := e.rel.cat.Current().Model("gpt-image-1")
		if !ok {
			t.Fatal("the catalogue has no gpt-image-1")
		}
		if d := cmp.Diff(wantPrice, cm.Price); d != "" {
			t.Errorf("catalogue price (-want +got):\n%s", d)
		}
		if cost, ok := cm.Price.ImageCost("1024x1024", "high", 2); cost != 334_000 || !ok {
			t.Errorf("ImageCost from the catalogue = %d, %v; want 334000, true", cost, ok)
		}

		// PUT replaces: the media prices left out are gone.
		e.call("PUT", "/admin/v1/models/gpt-image-1", `{"price":{"input":"5","output":"40"}}`, 200, &m)
		if m.Price.PerImage != "" || m.Price.Images != nil || m.Price.PerSecond != "" || m.Price.Seconds != nil {
			t.Errorf("replaced price %+v", m.Price)
		}

		p := func(extra string) string { return `{"price":{"input":"1","output":"1",` + extra + `}}` }
		e.fails(t, []failCase{
			{"negative per image", "PUT", "/admin/v1/models/x", p(`"per_image":"-0.04"`), 400, "price.per_image cannot be negative"},
			{"negative per second", "PUT", "/admin/v1/models/x", p(`"per_second":"-1"`), 400, "price.per_second cannot be negative"},
			{"per image as number", "PUT", "/admin/v1/models/x", p(`"per_image":0.04`), 400, "price.per_image must be a string"},
			{"negative image price", "PUT", "/admin/v1/models/x", p(`"images":{"2K":"-1"}`), 400, `price.images["2K"] cannot be negative`},
			{"image price as number", "PUT", "/admin/v1/models/x", p(`"images":{"2K":0.03}`), 400, "price.images"},
			{"empty image price", "PUT", "/admin/v1/models/x", p(`"images":{"2K":""}`), 400, `price.images["2K"] is required`},
			{"bad image amount", "PUT", "/admin/v1/models/x", p(`"images":{"2K":"0.0000001"}`), 400, `price.images["2K"]`},
			{"bad image key", "PUT", "/admin/v1/models/x", p(`"images":{"1024x1024/high/x":"1"}`), 400, `price.images key "1024x1024/high/x" must be`},
			{"negative second price", "PUT", "/admin/v1/models/x", p(`"seconds":{"720p":"-1"}`), 400, `price.seconds["720p"] cannot be negative`},
			{"bad resolution key", "PUT", "/admin/v1/models/x", p(`"seconds":{"720p/hd":"1"}`), 400, `price.seconds key "720p/hd" must be a resolution`},
		})
	})
}

func TestLogs(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var rows []store.RequestLog
		for i := range 5 {
			rows = append(rows, store.RequestLog{Time: t0.Add(time.Duration(i) * time.Hour), RequestID: "req-" + itoa(int64(i)),
				UserID: int64(1 + i%2), KeyID: 1, KeyPrefix: "sk-th-abcdef", Model: []string{"gpt-4o", "o3"}[i%2],
				ChannelID: 1, ClientIP: "192.0.2.1", Usage: llm.Usage{Input: 100, Output: int64(i)},
				Source: llm.SourceUpstream, Cost: billing.Micros(1_250_001 * i), LatencyMS: 12.5, Status: 200})
		}
		if err := e.st.InsertRequestLogs(context.Background(), rows); err != nil {
			t.Fatal(err)
		}
		var got List[RequestLog]
		e.call("GET", "/admin/v1/logs", "", 200, &got)
		if len(got.Data) != 5 || got.Data[0].RequestID != "req-4" || got.Data[0].Cost != "5.000004" ||
			got.Data[0].Usage.Output != 4 || got.Data[0].Source != llm.SourceUpstream || got.NextBefore != 0 {
			t.Errorf("all logs: %+v", got)
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"?user=1", []string{"req-4", "req-2", "req-0"}},
			{"?model=o3", []string{"req-3", "req-1"}},
			{"?user=2&model=o3", []string{"req-3", "req-1"}},
			{"?since=2030-01-01T02:00:00Z", []string{"req-4", "req-3", "req-2"}},
			{"?limit=2", []string{"req-4", "req-3"}},
		} {
			e.call("GET", "/admin/v1/logs"+tc.query, "", 200, &got)
			var ids []string
			for _, r := range got.Data {
				ids = append(ids, r.RequestID)
			}
			if d := cmp.Diff(tc.want, ids); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.query, d)
			}
			if tc.query == "?limit=2" {
				var page List[RequestLog]
				e.call("GET", "/admin/v1/logs?limit=2&before="+itoa(got.NextBefore), "", 200, &page)
				if len(page.Data) != 2 || page.Data[0].RequestID != "req-2" {
					t.Errorf("second page %+v", page.Data)
				}
			}
		}
		e.fails(t, []failCase{
			{"bad since", "GET", "/admin/v1/logs?since=yesterday", "", 400, "since must be an RFC 3339 time"},
			{"bad user", "GET", "/admin/v1/logs?user=-1", "", 400, "user must be an integer"},
			{"bad limit", "GET", "/admin/v1/logs?limit=5000", "", 400, "limit must be an integer from 1 to 1000"},
			{"unknown", "GET", "/admin/v1/logs?key=1", "", 400, `unknown query parameter "key"`},
		})
	})
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}
