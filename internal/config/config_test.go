package config

import (
	"strings"
	"testing"

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
models:
  - name: gpt-5
    status: available
    price: {input: 1.25, output: 10.00, cached_input: 0.125}
  - name: gpt-5.2
    price: {input: "1.75", output: 14}
users:
  - name: alice
    balance: 20.00
    keys: ["${ALICE_KEY}"]
`

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseSample(t *testing.T) {
	c, err := Parse([]byte(sample), env(map[string]string{"OPENAI_KEY": "sk-upstream", "ALICE_KEY": "sk-th-alice-0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Channels[0].StoreChannel()
	want := store.Channel{Name: "openai-main", Type: "openai", BaseURL: "https://api.openai.com", Keys: []string{"sk-upstream"},
		Models: []string{"gpt-5", "gpt-5.2"}, ModelMap: map[string]string{"gpt-5.2": "gpt-5.2-2025-12-11"}, Weight: 3, Enabled: true}
	if diff := cmp.Diff(want, ch); diff != "" {
		t.Fatalf("channel (-want +got):\n%s", diff)
	}
	if got := c.Models[0].Price.StorePrice(); got != (billing.Price{Input: 1_250_000, Output: 10_000_000, CachedInput: 125_000}) {
		t.Fatalf("price %+v", got)
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
		{"bad status", "models:\n  - name: m\n    status: gone\n", nil, "status must be"},
		{"bad channel type", "channels:\n  - {name: c, type: foo, base_url: 'http://x', keys: [k], models: [m]}\n", nil, "type must be one of"},
		{"channel without keys and models", "channels:\n  - {name: c, type: openai, base_url: 'http://x'}\n", nil, "at least one key"},
		{"bad url", "channels:\n  - {name: c, type: openai, base_url: 'ftp://x', keys: [k], models: [m]}\n", nil, "http:// or https://"},
		{"duplicate model", "models:\n  - name: m\n  - name: m\n", nil, "duplicate name"},
		{"short user key", "users:\n  - name: bob\n    keys: [short]\n", nil, "too short"},
		{"negative balance", "users:\n  - name: bob\n    balance: -1\n", nil, "cannot be negative"},
		{"bad proxy", "trusted_proxies: [nonsense]\n", nil, "trusted_proxies"},
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
