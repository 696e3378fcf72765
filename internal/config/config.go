// Package config reads the operator's YAML file: where to listen, which
// database, the upstream channels, the model catalogue with prices, and
// bootstrap users. ${VAR} references in any value are expanded from the
// environment so secrets stay out of the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Config is the whole file.
type Config struct {
	Listen   string `yaml:"listen"`
	Database string `yaml:"database"`
	// MasterKey seals upstream keys at rest. Prefer TOKENHOT_MASTER_KEY.
	MasterKey string `yaml:"master_key"`
	// AdminToken authenticates the admin API and CLI. Prefer
	// TOKENHOT_ADMIN_TOKEN; when neither is set one is generated at first start.
	AdminToken string `yaml:"admin_token"`
	// MaxBodyBytes bounds a client request body (default 32 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DefaultMaxOutputTokens bounds the reservation of a request that sets no
	// max_tokens, for models that set no max_output_tokens (default 4096).
	DefaultMaxOutputTokens int64 `yaml:"default_max_output_tokens"`
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// finding the client IP (for IP allow-lists and logs).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Timeouts for upstream calls.
	Upstream Upstream `yaml:"upstream"`
	// Media governs fetching images that clients send by URL, for
	// upstreams that take only inline data.
	Media Media `yaml:"media"`
	// Limits are the rate limits of keys and users that set none of their
	// own.
	Limits LimitDefaults `yaml:"limits"`
	// Routing tunes failover, the channel key breakers and channel tests.
	Routing Routing `yaml:"routing"`
	// Redis shares rate limits between gateway processes.
	Redis Redis `yaml:"redis"`
	// Tasks tunes asynchronous video tasks.
	Tasks Tasks `yaml:"tasks"`
	// Console tunes the web console served at /.
	Console Console `yaml:"console"`

	Channels []Channel `yaml:"channels"`
	Models   []Model   `yaml:"models"`
	Users    []User    `yaml:"users"`
}

// Upstream tunes the calls to providers.
type Upstream struct {
	ConnectTimeout   Duration `yaml:"connect_timeout"`    // default 10s
	FirstByteTimeout Duration `yaml:"first_byte_timeout"` // default 10m: a non-streamed answer sends its headers only when complete
	IdleTimeout      Duration `yaml:"idle_timeout"`       // longest gap between stream events, default 120s
	TotalTimeout     Duration `yaml:"total_timeout"`      // default 30m
}

// Media tunes the fetching of remote images. Private, loopback and
// link-local addresses are refused unless AllowPrivate is set, so a client
// cannot make the gateway reach into the operator's network.
type Media struct {
	AllowPrivate bool     `yaml:"allow_private"`
	MaxBytes     int64    `yaml:"max_bytes"` // default 20 MiB
	Timeout      Duration `yaml:"timeout"`   // default 15s
}

// Limits are rate limits: requests per minute, tokens per minute and
// requests in flight at once; 0 is unlimited.
type Limits struct {
	RPM        Count `yaml:"rpm"`
	TPM        Count `yaml:"tpm"`
	Concurrent Count `yaml:"concurrent"`
}

// Count is a whole number, such as a limit. YAML would let 1.5 through as 1.
type Count int64

// UnmarshalYAML reads a whole number written as such: "100000" or
// "100_000", not "1.5" or "1e5".
func (n *Count) UnmarshalYAML(node *yaml.Node) error {
	v, err := strconv.ParseInt(node.Value, 0, 64)
	if node.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("line %d: %q is not a whole number", node.Line, node.Value)
	}
	*n = Count(v)
	return nil
}

// LimitDefaults apply to each key and user limit left at 0: a subject's own
// non-zero limit wins over the default.
type LimitDefaults struct {
	Key  Limits `yaml:"key"`
	User Limits `yaml:"user"` // shared by all of a user's keys
}

// Routing tunes how a request moves between channel keys. Zero values take
// the defaults, which fill sets, so readers use the fields as they are.
type Routing struct {
	// MaxAttempts bounds the upstream attempts of one request, the first
	// included (default 3).
	MaxAttempts int `yaml:"max_attempts"`
	// RetryTimeout is the time after the request arrived past which no new
	// attempt starts (default 30s).
	RetryTimeout Duration `yaml:"retry_timeout"`
	Breaker      Breaker  `yaml:"breaker"`
	// TestInterval is how often keys taken out of rotation are tested
	// (default 5m).
	TestInterval Duration `yaml:"test_interval"`
	// TestModel is the model channel tests ask for ("": each channel's
	// first model).
	TestModel string `yaml:"test_model"`
}

// Breaker tunes the circuit breaker of each channel key.
type Breaker struct {
	Failures    int      `yaml:"failures"`     // transient failures within Window that take a key out (default 5)
	Window      Duration `yaml:"window"`       // default 60s
	Cooldown    Duration `yaml:"cooldown"`     // first time out (default 30s); doubles at each new opening
	MaxCooldown Duration `yaml:"max_cooldown"` // default 10m
}

// Redis is where rate limit counters are shared. Without a URL each
// gateway process counts alone.
type Redis struct {
	URL string `yaml:"url"` // redis://, rediss:// or unix://
	// Nodes is how many gateway processes share the limits; while Redis is
	// unreachable each process enforces its 1/Nodes share locally
	// (default 1).
	Nodes int `yaml:"nodes"`
}

// Tasks tunes the polling of asynchronous tasks (video).
type Tasks struct {
	// PollInterval is the first delay before a new task is polled and the
	// period of the poller (default 2s); later polls back off to 30s.
	PollInterval Duration `yaml:"poll_interval"`
	// KeepDir, if set, is where finished videos are copied so that they
	// stay retrievable after the upstream's link expires (Ark's last a
	// day); they are deleted after Keep (default 72h). Unset, videos are
	// streamed from the upstream and the gateway keeps no output.
	KeepDir string   `yaml:"keep_dir"`
	Keep    Duration `yaml:"keep"`
}

// Console tunes the web console.
type Console struct {
	// Signup is who may create an account: "open" (anyone, the default),
	// "invite" (with an invite code) or "closed" (nobody; the operator
	// creates users).
	Signup string `yaml:"signup"`
	// SiteName is shown in every page's title and header (default
	// "Tokenhot").
	SiteName string `yaml:"site_name"`
	// Admins are user names given the console's admin role at every
	// start (tokenhot user role NAME admin does it at run time).
	Admins []string `yaml:"admins"`
}

// Sign-up modes of the console.
var SignupModes = []string{"open", "invite", "closed"}

// Channel declares an upstream account.
type Channel struct {
	Name     string            `yaml:"name"`
	Type     string            `yaml:"type"`
	BaseURL  string            `yaml:"base_url"`
	Keys     []string          `yaml:"keys"`
	Models   []string          `yaml:"models"`
	ModelMap map[string]string `yaml:"model_map"`
	Priority int               `yaml:"priority"`
	Weight   *int              `yaml:"weight"`
	Disabled bool              `yaml:"disabled"`
	// Limits cap what is sent to this upstream account, whoever asks.
	Limits Limits `yaml:"limits"`
}

// Model declares a catalogue entry.
type Model struct {
	Name            string `yaml:"name"`
	Status          string `yaml:"status"`
	Price           Price  `yaml:"price"`
	MaxOutputTokens int64  `yaml:"max_output_tokens"`
	// Limits cap all requests for the model together.
	Limits Limits `yaml:"limits"`
}

// Price is USD per 1M tokens, read as exact decimals, and USD per request,
// per image and per second of video.
type Price struct {
	Input       USD `yaml:"input"`
	Output      USD `yaml:"output"`
	CachedInput USD `yaml:"cached_input"`
	CacheWrite  USD `yaml:"cache_write"`
	Reasoning   USD `yaml:"reasoning"`
	PerRequest  USD `yaml:"per_request"` // USD per request
	// PerImage is USD per generated image; Images, keyed by "<size>" or
	// "<size>/<quality>", override it (billing.Price.ImageCost).
	PerImage USD            `yaml:"per_image"`
	Images   map[string]USD `yaml:"images"`
	// PerSecond is USD per second of generated video; Seconds, keyed by
	// resolution ("720p"), override it (billing.Price.VideoCost).
	PerSecond USD            `yaml:"per_second"`
	Seconds   map[string]USD `yaml:"seconds"`
}

// User declares a bootstrap account.
type User struct {
	Name        string   `yaml:"name"`
	Balance     USD      `yaml:"balance"`
	CreditLimit USD      `yaml:"credit_limit"`
	Keys        []string `yaml:"keys"`
}

// USD is a decimal dollar amount kept exactly as written in the file.
type USD struct {
	Micros billing.Micros
	Set    bool
}

// UnmarshalYAML reads the scalar's text, never a float.
func (u *USD) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a number", n.Line)
	}
	v, err := billing.ParseUSD(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*u = USD{Micros: v, Set: true}
	return nil
}

// Duration is a Go duration string such as "30s".
type Duration time.Duration

// UnmarshalYAML parses "1m30s"-style durations.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// Or returns d, or def when d is unset.
func (d Duration) Or(def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

// Defaults.
const (
	DefaultListen       = ":3000"
	DefaultDatabase     = "sqlite://data/tokenhot.db"
	DefaultMaxBodyBytes = 32 << 20
	DefaultMaxOutput    = 4096

	DefaultMaxAttempts        = 3
	DefaultRetryTimeout       = 30 * time.Second
	DefaultBreakerFailures    = 5
	DefaultBreakerWindow      = time.Minute
	DefaultBreakerCooldown    = 30 * time.Second
	DefaultBreakerMaxCooldown = 10 * time.Minute
	DefaultTestInterval       = 5 * time.Minute
	DefaultRedisNodes         = 1
)

// ChannelTypes are the upstream protocols a channel may speak.
var ChannelTypes = []string{"openai", "openai-responses", "anthropic", "gemini", "ark", "openai-compatible"}

// Load reads and validates a file, expanding ${VAR} with getenv.
func Load(path string, getenv func(string) string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(raw, getenv)
}

// Parse decodes and validates a file's contents.
func Parse(raw []byte, getenv func(string) string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := expand(&root, getenv); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	if len(root.Content) > 0 {
		if err := decodeStrict(&root, &c); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	c.fill()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// decodeStrict decodes a node, refusing unknown fields so a typo in the
// file is an error rather than a silently ignored setting.
func decodeStrict(root *yaml.Node, c *Config) error {
	out, err := yaml.Marshal(root)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	return dec.Decode(c)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} in every scalar value. A
// reference to an unset variable without a default is an error: an empty
// upstream key or admin token is never what the operator meant.
func expand(n *yaml.Node, getenv func(string) string) error {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := getenv(m[1]); v != "" {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			missing = append(missing, m[1])
			return ""
		})
		if len(missing) > 0 {
			return fmt.Errorf("line %d: environment variable %s is not set", n.Line, strings.Join(missing, ", "))
		}
		// Let the value be re-resolved: "${PRIORITY}" may stand for a number.
		n.Tag, n.Style = "", 0
		if !isNumberish(n) {
			n.Tag = "!!str"
		}
	}
	for _, c := range n.Content {
		if err := expand(c, getenv); err != nil {
			return err
		}
	}
	return nil
}

// isNumberish keeps expanded amounts like "${BALANCE}" usable as numbers.
func isNumberish(n *yaml.Node) bool {
	_, err := billing.ParseUSD(n.Value)
	return err == nil
}

func (c *Config) fill() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.DefaultMaxOutputTokens <= 0 {
		c.DefaultMaxOutputTokens = DefaultMaxOutput
	}
	for i := range c.Models {
		if c.Models[i].Status == "" {
			c.Models[i].Status = store.ModelAvailable
		}
	}
	r := &c.Routing
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	fillDuration(&r.RetryTimeout, DefaultRetryTimeout)
	fillDuration(&r.TestInterval, DefaultTestInterval)
	b := &r.Breaker
	if b.Failures == 0 {
		b.Failures = DefaultBreakerFailures
	}
	fillDuration(&b.Window, DefaultBreakerWindow)
	fillDuration(&b.Cooldown, DefaultBreakerCooldown)
	if b.MaxCooldown == 0 {
		// Never below an explicit cooldown, which a lone default could be.
		b.MaxCooldown = max(Duration(DefaultBreakerMaxCooldown), b.Cooldown)
	}
	if c.Redis.Nodes == 0 {
		c.Redis.Nodes = DefaultRedisNodes
	}
	if c.Console.Signup == "" {
		c.Console.Signup = "open"
	}
	if strings.TrimSpace(c.Console.SiteName) == "" {
		c.Console.SiteName = "Tokenhot"
	}
}

// fillDuration sets an unset (zero) duration; a negative one is left for
// Validate to report.
func fillDuration(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

// Validate reports every problem it finds, not only the first.
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		where := fmt.Sprintf("channels[%d] %q", i, ch.Name)
		if ch.Name == "" {
			errs = append(errs, fmt.Errorf("channels[%d]: name is required", i))
		} else if seen["c:"+ch.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate name", where))
		}
		seen["c:"+ch.Name] = true
		if !slices.Contains(ChannelTypes, ch.Type) {
			errs = append(errs, fmt.Errorf("%s: type must be one of %s", where, strings.Join(ChannelTypes, ", ")))
		}
		if ch.BaseURL == "" {
			errs = append(errs, fmt.Errorf("%s: base_url is required", where))
		} else if !strings.HasPrefix(ch.BaseURL, "http://") && !strings.HasPrefix(ch.BaseURL, "https://") {
			errs = append(errs, fmt.Errorf("%s: base_url must start with http:// or https://", where))
		}
		if len(ch.Keys) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one key is required", where))
		}
		if len(ch.Models) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one model is required", where))
		}
		if ch.Weight != nil && *ch.Weight < 0 {
			errs = append(errs, fmt.Errorf("%s: weight cannot be negative", where))
		}
		errs = append(errs, ch.Limits.check(where+": limits")...)
	}
	for i, m := range c.Models {
		where := fmt.Sprintf("models[%d] %q", i, m.Name)
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("models[%d]: name is required", i))
		} else if seen["m:"+m.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate name", where))
		}
		seen["m:"+m.Name] = true
		switch m.Status {
		case store.ModelAvailable, store.ModelExperimental, store.ModelDeprecated, store.ModelOffline:
		default:
			errs = append(errs, fmt.Errorf("%s: status must be available, experimental, deprecated or offline", where))
		}
		if err := m.Price.StorePrice().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		errs = append(errs, m.Limits.check(where+": limits")...)
	}
	for i, u := range c.Users {
		where := fmt.Sprintf("users[%d] %q", i, u.Name)
		if strings.TrimSpace(u.Name) == "" {
			errs = append(errs, fmt.Errorf("users[%d]: name is required", i))
		} else if seen["u:"+u.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate name", where))
		}
		seen["u:"+u.Name] = true
		if u.Balance.Micros < 0 {
			errs = append(errs, fmt.Errorf("%s: balance cannot be negative", where))
		}
		for j, k := range u.Keys {
			if len(k) < 20 {
				errs = append(errs, fmt.Errorf("%s: keys[%d] is too short (at least 20 characters)", where, j))
			}
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("trusted_proxies: %w", err))
		}
	}
	errs = append(errs, c.Limits.Key.check("limits.key")...)
	errs = append(errs, c.Limits.User.check("limits.user")...)
	errs = append(errs, c.Routing.check()...)
	errs = append(errs, c.Redis.check()...)
	if !slices.Contains(SignupModes, c.Console.Signup) {
		errs = append(errs, fmt.Errorf("console.signup must be one of %s", strings.Join(SignupModes, ", ")))
	}
	if n := len([]rune(c.Console.SiteName)); n > 100 || strings.ContainsFunc(c.Console.SiteName, unicode.IsControl) {
		errs = append(errs, errors.New("console.site_name must be at most 100 characters, without control characters"))
	}
	return errors.Join(errs...)
}

func (l Limits) check(where string) []error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{{"rpm", int64(l.RPM)}, {"tpm", int64(l.TPM)}, {"concurrent", int64(l.Concurrent)}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s.%s cannot be negative (0 is unlimited)", where, f.name))
		}
	}
	return errs
}

func (r Routing) check() []error {
	var errs []error
	if r.MaxAttempts < 1 {
		errs = append(errs, errors.New("routing.max_attempts must be at least 1"))
	}
	if r.Breaker.Failures < 1 {
		errs = append(errs, errors.New("routing.breaker.failures must be at least 1"))
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{
		{"retry_timeout", r.RetryTimeout}, {"test_interval", r.TestInterval}, {"breaker.window", r.Breaker.Window},
		{"breaker.cooldown", r.Breaker.Cooldown}, {"breaker.max_cooldown", r.Breaker.MaxCooldown},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("routing.%s cannot be negative", d.name))
		}
	}
	if r.Breaker.MaxCooldown < r.Breaker.Cooldown {
		errs = append(errs, errors.New("routing.breaker.max_cooldown cannot be shorter than routing.breaker.cooldown"))
	}
	if strings.ContainsFunc(r.TestModel, unicode.IsSpace) {
		errs = append(errs, errors.New("routing.test_model cannot contain whitespace"))
	}
	return errs
}

func (r Redis) check() []error {
	var errs []error
	if r.URL != "" {
		// The URL may hold a password: never echo it.
		u, err := url.Parse(r.URL)
		switch {
		case err != nil:
			errs = append(errs, errors.New("redis.url is not a valid URL"))
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
			errs = append(errs, errors.New("redis.url must start with redis://, rediss:// or unix://"))
		case u.Scheme != "unix" && u.Host == "":
			errs = append(errs, errors.New("redis.url has no host"))
		case u.Scheme == "unix" && u.Path == "":
			errs = append(errs, errors.New("redis.url has no socket path"))
		}
	}
	if r.Nodes < 1 {
		errs = append(errs, errors.New("redis.nodes must be at least 1"))
	}
	return errs
}

// ParsePrefix accepts a CIDR or a single address.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// StorePrice converts a file price to the billing form.
func (p Price) StorePrice() billing.Price {
	return billing.Price{
		Input:        billing.Rate(p.Input.Micros),
		Output:       billing.Rate(p.Output.Micros),
		CachedInput:  billing.Rate(p.CachedInput.Micros),
		CacheWrite:   billing.Rate(p.CacheWrite.Micros),
		Reasoning:    billing.Rate(p.Reasoning.Micros),
		PerRequest:   p.PerRequest.Micros,
		PerImage:     p.PerImage.Micros,
		ImagePrices:  microsMap(p.Images),
		PerSecond:    p.PerSecond.Micros,
		SecondPrices: microsMap(p.Seconds),
	}
}

func microsMap(m map[string]USD) map[string]billing.Micros {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]billing.Micros, len(m))
	for k, v := range m {
		out[k] = v.Micros
	}
	return out
}

// StoreLimits converts file limits to the store form.
func (l Limits) StoreLimits() store.Limits {
	return store.Limits{RPM: int64(l.RPM), TPM: int64(l.TPM), Concurrent: int64(l.Concurrent)}
}

// StoreChannel converts a file channel to the store form.
func (ch Channel) StoreChannel() store.Channel {
	w := 1
	if ch.Weight != nil {
		w = *ch.Weight
	}
	return store.Channel{
		Name: ch.Name, Type: ch.Type, BaseURL: strings.TrimRight(ch.BaseURL, "/"),
		Keys: ch.Keys, Models: ch.Models, ModelMap: ch.ModelMap,
		Priority: ch.Priority, Weight: w, Enabled: !ch.Disabled, Limits: ch.Limits.StoreLimits(),
	}
}
