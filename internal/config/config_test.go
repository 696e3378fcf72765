package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

const sample = `
listen: ":3000"
database: "sqlite://data/tokenhot.db"
channels:
  - name: openai-main
    type: openai
    base_url: https://api.openai.com/
    keys: ["${OPENAI_KEY}"]
    models: [gpt-5, gpt-5.2]
    model_map: {gpt-5.2: gpt-5.2-2025-12-11}
    priority: ${PRIO:-0}
    weight: 3
    limits: {rpm: 3000, tpm: "${OPENAI_TPM:-4000000000}", concurrent: 100}
models:
  - name: gpt-5
    status: available
    price: {input: 1.25, output: 10.00, cached_input: 0.125}
    limits: {rpm: 600}
  - name: gpt-5.2
    price: {input: "1.75", output: 14}
  - name: gpt-image-1
    price:
      input: 5
      output: 40
      per_image: 0.04
      images: {"1024x1024/high": 0.167, "2K": "0.03", 4K: 0}
      per_second: 0.10
      seconds: {720p: 0.10, 1080p: 0.25}
users:
  - name: alice
    balance: 20.00
    keys: ["${ALICE_KEY}"]
limits:
  key: {rpm: 60, tpm: 100_000}
  user: {concurrent: 8}
routing:
  max_attempts: 2
  retry_timeout: 45s
  breaker: {failures: 3, cooldown: 1m}
  test_model: gpt-5
redis:
  url: "${REDIS_URL:-redis://:pw@127.0.0.1:6379/0}"
  nodes: 3
`

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseSample(t *testing.T) {
	c, err := Parse([]byte(sample), env(map[string]string{"OPENAI_KEY": "sk-upstream", "ALICE_KEY": "sk-th-alice-0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Channels[0].StoreChannel()
	want := store.Channel{Name: "openai-main", Type: "openai", BaseURL: "https://api.openai.com", Keys: []string{"sk-upstream"},
		Models: []string{"gpt-5", "gpt-5.2"}, ModelMap: map[string]string{"gpt-5.2": "gpt-5.2-2025-12-11"}, Weight: 3, Enabled: true,
		Limits: store.Limits{RPM: 3000, TPM: 4_000_000_000, Concurrent: 100}}
	if diff := cmp.Diff(want, ch); diff != "" {
		t.Fatalf("channel (-want +got):\n%s", diff)
	}
	if d := cmp.Diff(billing.Price{Input: 1_250_000, Output: 10_000_000, CachedInput: 125_000}, c.Models[0].Price.StorePrice()); d != "" {
		t.Fatalf("price (-want +got):\n%s", d)
	}
	wantMedia := billing.Price{Input: 5_000_000, Output: 40_000_000, PerImage: 40_000, PerSecond: 100_000,
		ImagePrices:  map[string]billing.Micros{"1024x1024/high": 167_000, "2K": 30_000, "4K": 0},
		SecondPrices: map[string]billing.Micros{"720p": 100_000, "1080p": 250_000}}
	if d := cmp.Diff(wantMedia, c.Models[2].Price.StorePrice()); d != "" {
		t.Fatalf("media price (-want +got):\n%s", d)
	}
	if got := c.Models[1]; got.Status != store.ModelAvailable || got.Price.Input.Micros != 1_750_000 || got.Price.Output.Micros != 14_000_000 {
		t.Fatalf("model defaults %+v", got)
	}
	if c.Users[0].Balance.Micros != 20_000_000 || c.Users[0].Keys[0] != "sk-th-alice-0123456789abcdef" {
		t.Fatalf("user %+v", c.Users[0])
	}
	if c.MaxBodyBytes != DefaultMaxBodyBytes || c.DefaultMaxOutputTokens != DefaultMaxOutput {
		t.Fatalf("defaults not filled: %+v", c)
	}
	if d := cmp.Diff([]Limits{{RPM: 600}, {}}, []Limits{c.Models[0].Limits, c.Models[1].Limits}); d != "" {
		t.Errorf("model limits (-want +got):\n%s", d)
	}
	if d := cmp.Diff(LimitDefaults{Key: Limits{RPM: 60, TPM: 100_000}, User: Limits{Concurrent: 8}}, c.Limits); d != "" {
		t.Errorf("limit defaults (-want +got):\n%s", d)
	}
	// Given values are kept, the others filled; max_cooldown stays the default.
	wantRouting := Routing{MaxAttempts: 2, RetryTimeout: Duration(45 * time.Second), TestInterval: Duration(DefaultTestInterval),
		TestModel: "gpt-5", Breaker: Breaker{Failures: 3, Window: Duration(DefaultBreakerWindow),
			Cooldown: Duration(time.Minute), MaxCooldown: Duration(DefaultBreakerMaxCooldown)}}
	if d := cmp.Diff(wantRouting, c.Routing); d != "" {
		t.Errorf("routing (-want +got):\n%s", d)
	}
	if d := cmp.Diff(Redis{URL: "redis://:pw@127.0.0.1:6379/0", Nodes: 3}, c.Redis); d != "" {
		t.Errorf("redis (-want +got):\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	full := map[string]string{"OPENAI_KEY": "k", "ALICE_KEY": "sk-th-alice-0123456789abcdef"}
	tests := []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"missing env var", sample, map[string]string{"ALICE_KEY": "sk-th-alice-0123456789abcdef"}, "OPENAI_KEY is not set"},
		{"unknown field", "listen: x\nlisten_port: 3\n", nil, "listen_port"},
		{"float price with too many decimals", "models:\n  - name: m\n    price: {input: 0.0000001}\n", nil, "decimal places"},
		{"negative token price", "models:\n  - name: m\n    price: {input: -1}\n", nil, `models[0] "m": price.input cannot be negative`},
		{"negative per image", "models:\n  - name: m\n    price: {per_image: -0.04}\n", nil, `models[0] "m": price.per_image cannot be negative`},
		{"negative per second", "models:\n  - name: m\n    price: {per_second: -1}\n", nil, `models[0] "m": price.per_second cannot be negative`},
		{"negative image price", "models:\n  - name: m\n    price: {images: {2K: -0.03}}\n", nil, `models[0] "m": price.images["2K"] cannot be negative`},
		{"negative second price", "models:\n  - name: m\n    price: {seconds: {720p: -0.1}}\n", nil, `models[0] "m": price.seconds["720p"] cannot be negative`},
		{"bad image key", "models:\n  - name: m\n    price: {images: {\"1024x1024/\": 0.1}}\n", nil, `price.images key "1024x1024/" must be`},
		{"bad resolution key", "models:\n  - name: m\n    price: {seconds: {\"720p/hd\": 0.1}}\n", nil, `price.seconds key "720p/hd" must be a resolution`},
		{"image price with too many decimals", "models:\n  - name: m\n    price: {images: {2K: 0.0000001}}\n", nil, "decimal places"},
		{"image prices not a map", "models:\n  - name: m\n    price: {images: 0.1}\n", nil, "config"},
		{"bad status", "models:\n  - name: m\n    status: gone\n", nil, "status must be"},
		{"bad channel type", "channels:\n  - {name: c, type: foo, base_url: 'http://x', keys: [k], models: [m]}\n", nil, "type must be one of"},
		{"channel without keys and models", "channels:\n  - {name: c, type: openai, base_url: 'http://x'}\n", nil, "at least one key"},
		{"bad url", "channels:\n  - {name: c, type: openai, base_url: 'ftp://x', keys: [k], models: [m]}\n", nil, "http:// or https://"},
		{"duplicate model", "models:\n  - name: m\n  - name: m\n", nil, "duplicate name"},
		{"short user key", "users:\n  - name: bob\n    keys: [short]\n", nil, "too short"},
		{"negative balance", "users:\n  - name: bob\n    balance: -1\n", nil, "cannot be negative"},
		{"bad proxy", "trusted_proxies: [nonsense]\n", nil, "trusted_proxies"},
		{"negative model rpm", "models:\n  - name: m\n    limits: {rpm: -1}\n", nil, `models[0] "m": limits.rpm cannot be negative`},
		{"negative channel tpm", "channels:\n  - {name: c, type: openai, base_url: 'http://x', keys: [k], models: [m], limits: {tpm: -5}}\n", nil,
			`channels[0] "c": limits.tpm cannot be negative`},
		{"negative key default", "limits:\n  key: {concurrent: -1}\n", nil, "limits.key.concurrent cannot be negative"},
		{"negative user default", "limits:\n  user: {rpm: -1}\n", nil, "limits.user.rpm cannot be negative"},
		{"fractional limit", "limits:\n  key: {rpm: 1.5}\n", nil, `"1.5" is not a whole number`},
		{"exponent limit", "models:\n  - name: m\n    limits: {tpm: 1e6}\n", nil, `"1e6" is not a whole number`},
		{"list as limit", "limits:\n  key: {rpm: [1]}\n", nil, "not a whole number"},
		{"unknown limit", "limits:\n  key: {rps: 1}\n", nil, "rps"},
		{"limits of a subject that has none", "limits:\n  model: {rpm: 1}\n", nil, "model"},
		{"negative attempts", "routing: {max_attempts: -1}\n", nil, "routing.max_attempts must be at least 1"},
		{"negative failures", "routing:\n  breaker: {failures: -2}\n", nil, "routing.breaker.failures must be at least 1"},
		{"negative retry timeout", "routing: {retry_timeout: -1s}\n", nil, "routing.retry_timeout cannot be negative"},
		{"negative window", "routing:\n  breaker: {window: -1s}\n", nil, "routing.breaker.window cannot be negative"},
		{"bad duration", "routing: {test_interval: 5 minutes}\n", nil, `unknown unit " minutes"`},
		{"max cooldown below cooldown", "routing:\n  breaker: {cooldown: 5m, max_cooldown: 1m}\n", nil,
			"max_cooldown cannot be shorter than routing.breaker.cooldown"},
		{"test model with space", "routing: {test_model: 'a b'}\n", nil, "routing.test_model cannot contain whitespace"},
		{"redis scheme", "redis: {url: 'http://u:hunter2@x:6379'}\n", nil, "redis.url must start with redis://"},
		{"redis without host", "redis: {url: 'redis://'}\n", nil, "redis.url has no host"},
		{"negative nodes", "redis: {nodes: -1}\n", nil, "redis.nodes must be at least 1"},
		{"unknown routing field", "routing: {attempts: 2}\n", nil, "attempts"},
		{"signup mode", "console: {signup: maybe}\n", nil, "console.signup must be one of open, invite, closed"},
		{"site name too long", "console: {site_name: '" + strings.Repeat("x", 101) + "'}\n", nil, "console.site_name"},
		{"unknown console field", "console: {sign_up: open}\n", nil, "sign_up"},
		{"not yaml", "listen: [", nil, "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.env
			if e == nil {
				e = full
			}
			_, err := Parse([]byte(tt.yaml), env(e))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestEmptyConfigGetsDefaults(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.Database != DefaultDatabase {
		t.Fatalf("%+v", c)
	}
	want := Routing{MaxAttempts: 3, RetryTimeout: Duration(30 * time.Second), TestInterval: Duration(5 * time.Minute),
		Breaker: Breaker{Failures: 5, Window: Duration(time.Minute), Cooldown: Duration(30 * time.Second),
			MaxCooldown: Duration(10 * time.Minute)}}
	if d := cmp.Diff(want, c.Routing); d != "" {
		t.Errorf("routing (-want +got):\n%s", d)
	}
	if d := cmp.Diff(Redis{Nodes: 1}, c.Redis); d != "" {
		t.Errorf("redis (-want +got):\n%s", d)
	}
	if c.Limits != (LimitDefaults{}) {
		t.Errorf("limit defaults %+v, want none", c.Limits)
	}
	if d := cmp.Diff(Console{Signup: "open", SiteName: "Tokenhot"}, c.Console); d != "" {
		t.Errorf("console (-want +got):\n%s", d)
	}
}

func TestRoutingDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Breaker
	}{
		// An explicit cooldown longer than the default ceiling raises it.
		{name: "long cooldown", yaml: "routing:\n  breaker: {cooldown: 20m}\n",
			want: Breaker{Failures: 5, Window: Duration(time.Minute), Cooldown: Duration(20 * time.Minute), MaxCooldown: Duration(20 * time.Minute)}},
		{name: "all set", yaml: "routing:\n  breaker: {failures: 1, window: 1s, cooldown: 2s, max_cooldown: 3s}\n",
			want: Breaker{Failures: 1, Window: Duration(time.Second), Cooldown: Duration(2 * time.Second), MaxCooldown: Duration(3 * time.Second)}},
		{name: "zero is the default", yaml: "routing:\n  breaker: {failures: 0, window: 0s}\n",
			want: Breaker{Failures: 5, Window: Duration(time.Minute), Cooldown: Duration(30 * time.Second), MaxCooldown: Duration(10 * time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, c.Routing.Breaker); d != "" {
				t.Errorf("breaker (-want +got):\n%s", d)
			}
		})
	}
}

func TestRedisURLs(t *testing.T) {
	for _, u := range []string{"redis://127.0.0.1:6379", "rediss://user:pw@cache.example:6380/2", "unix:///run/redis.sock"} {
		if _, err := Parse([]byte("redis: {url: '"+u+"'}\n"), env(nil)); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	// A refused URL's password never reaches the error.
	_, err := Parse([]byte("redis: {url: 'http://u:hunter2@x:6379'}\n"), env(nil))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v: want one, without the password", err)
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1/32", "10.1.2.3/8": "10.0.0.0/8", "::1": "::1/128", "::ffff:1.2.3.4": "1.2.3.4/32"} {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	if _, err := ParsePrefix("10.0.0.0/99"); err == nil {
		t.Error("bad prefix accepted")
	}
}
