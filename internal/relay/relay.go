// Package relay is the request pipeline of the OpenAI-compatible surface:
// authenticate → authorize → route → reserve → call upstream → stream →
// meter → settle → log. Settlement runs in a defer, so it also runs when the
// client goes away.
package relay

import (
	"context"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/metrics"
	"github.com/tokenhot/tokenhot/internal/routing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Ledger reserves and settles money for requests (the store).
type Ledger interface {
	Reserve(ctx context.Context, h store.Hold) (store.Entry, error)
	Settle(ctx context.Context, requestID string, cost billing.Micros, note string) (store.Entry, error)
	Refund(ctx context.Context, requestID, note string) (store.Entry, error)
}

// LogSink receives one metadata row per request (reqlog.Writer).
type LogSink interface {
	Add(store.RequestLog)
}

// Options tune the relay; zero values take defaults.
type Options struct {
	MaxBodyBytes           int64
	DefaultMaxOutputTokens int64
	TrustedProxies         []netip.Prefix
	// IdleTimeout is the longest gap allowed between two stream events
	// from the upstream before the stream is treated as broken.
	IdleTimeout time.Duration
	// TotalTimeout bounds a whole upstream call.
	TotalTimeout time.Duration
	// MaxAttempts bounds the upstream attempts of one request (failover),
	// RetryTimeout the time after which no new attempt starts.
	MaxAttempts  int
	RetryTimeout time.Duration
	// Router chooses channel keys and keeps their breakers; nil builds one
	// with default breaker settings.
	Router *routing.Router
	// Media inlines remote images for upstreams that take only inline data
	// (Gemini); nil leaves them as URLs, which such upstreams refuse.
	Media Inliner
	// Limiter, if set, applies the rate limits of keys, users, models and
	// channels.
	Limiter Limiter
	// Tasks, if set, keeps video tasks; FirstPoll says when a new one is
	// first polled (task.Worker.FirstPoll).
	Tasks     Tasks
	FirstPoll func(time.Time) time.Time
	// VideoDir, if set, is where finished videos are kept so that they
	// stay retrievable after the upstream's link expires.
	VideoDir string
	// Metrics, if set, is told about every attempt and request.
	Metrics Metrics
	Now     func() time.Time
}

// Metrics receives the relay's measurements (metrics.Metrics).
type Metrics interface {
	Observe(metrics.Request)
	Inflight(delta int)
	Attempt(channel, outcome string)
	RateLimited(scopeKind, kind string)
}

// Inliner replaces remote media in a request with its data (media.Fetcher).
type Inliner interface {
	Inline(ctx context.Context, r *llm.Request) error
}

// Relay serves the OpenAI-compatible API.
type Relay struct {
	cat     *catalog.Catalog
	ledger  Ledger
	logs    LogSink
	client  *http.Client
	log     *slog.Logger
	opts    Options
	media   Inliner
	router  *routing.Router
	metrics Metrics
	limiter Limiter
	tasks   Tasks

	mu       sync.Mutex
	inflight int        // requests between arrival and settlement
	idle     *sync.Cond // signalled when inflight drops to zero
}

// enter and leave count a request in flight.
func (rl *Relay) enter() {
	rl.mu.Lock()
	rl.inflight++
	rl.mu.Unlock()
	if rl.metrics != nil {
		rl.metrics.Inflight(1)
	}
}

func (rl *Relay) leave() {
	if rl.metrics != nil {
		rl.metrics.Inflight(-1)
	}
	rl.mu.Lock()
	rl.inflight--
	if rl.inflight == 0 {
		rl.idle.Broadcast()
	}
	rl.mu.Unlock()
}

// WaitIdle waits until no request is in flight: every request that has
// arrived is answered, settled and logged.
func (rl *Relay) WaitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		rl.mu.Lock()
		rl.idle.Broadcast()
		rl.mu.Unlock()
	})
	defer stop()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for rl.inflight > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		rl.idle.Wait()
	}
	return nil
}

// New builds a Relay. client should have a transport tuned for many
// concurrent upstream connections (see NewTransport).
func New(cat *catalog.Catalog, ledger Ledger, logs LogSink, client *http.Client, log *slog.Logger, o Options) *Relay {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.DefaultMaxOutputTokens <= 0 {
		o.DefaultMaxOutputTokens = 4096
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.TotalTimeout <= 0 {
		o.TotalTimeout = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RetryTimeout <= 0 {
		o.RetryTimeout = 30 * time.Second
	}
	if o.Router == nil {
		o.Router = routing.NewRouter(routing.NewHealth(routing.BreakerOptions{}, o.Now, nil))
	}
	rl := &Relay{cat: cat, ledger: ledger, logs: logs, client: client, log: log, opts: o, media: o.Media, router: o.Router, metrics: o.Metrics,
		limiter: o.Limiter, tasks: o.Tasks}
	rl.idle = sync.NewCond(&rl.mu)
	return rl
}

// NewTransport returns an HTTP transport for upstream calls: many idle
// connections per host (one-api's default of 2 churned TLS connections under
// load), no transparent decompression (bytes pass through as they come), and
// the connect and first-byte timeouts.
func NewTransport(connect, firstByte time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: firstByte,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		// Request bodies are written once and stream reads go through the
		// relay's own line buffer (larger reads bypass this one), so small
		// per-connection buffers cost nothing in speed and save memory on
		// thousands of open streams.
		WriteBufferSize: 1 << 10,
		ReadBufferSize:  1 << 10,
	}
}

// newRequestID returns an id such as "req_0193a4…": 48 bits of Unix
// milliseconds then 80 random bits. Ids made later sort later, so the
// ledger's index on them grows at its right edge instead of at random
// places.
func newRequestID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (8 * (5 - i)))
	}
	r1, r2 := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[6+i] = byte(r1 >> (8 * i))
	}
	b[14], b[15] = byte(r2), byte(r2>>8)
	return "req_" + hex.EncodeToString(b[:])
}

// bearer extracts the key from "Authorization: Bearer <key>".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate finds the key's entry and checks everything that does not
// depend on the body: existence, expiry, account status and client IP.
func (rl *Relay) authenticate(raw string, snap *catalog.Snapshot, ip netip.Addr) (*catalog.Key, *llm.Error) {
	if raw == "" {
		return nil, llm.Errorf(llm.KindAuth, "missing_api_key",
			"you didn't provide an API key; send it as 'Authorization: Bearer <key>' (or the header your SDK uses: x-api-key, x-goog-api-key)")
	}
	k, ok := snap.Key(apikey.Hash(raw))
	if !ok {
		return nil, llm.Errorf(llm.KindAuth, "invalid_api_key", "incorrect API key provided: %s", apikey.Display(raw))
	}
	if k.Expired(rl.opts.Now()) {
		return nil, llm.Errorf(llm.KindAuth, "expired_api_key", "the API key %s has expired", k.Prefix)
	}
	if k.UserStatus != store.UserActive {
		return nil, llm.Errorf(llm.KindForbidden, "account_suspended", "the account is suspended")
	}
	if !k.AllowsIP(ip) {
		return nil, llm.Errorf(llm.KindForbidden, "ip_not_allowed", "the API key may not be used from %s", ip)
	}
	return k, nil
}

// clientIP is the peer address, or the first untrusted address of
// X-Forwarded-For (read right to left) when the peer is a trusted proxy.
func (rl *Relay) clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if len(rl.opts.TrustedProxies) == 0 || !trusted(rl.opts.TrustedProxies, addr) {
		return addr
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr
			}
			a = a.Unmap()
			if !trusted(rl.opts.TrustedProxies, a) {
				return a
			}
			addr = a
		}
	}
	return addr
}

func trusted(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// attempt records one upstream attempt's outcome ("ok", "failover",
// "error").
func (rl *Relay) attempt(x *exchange, outcome string) {
	if rl.metrics != nil {
		rl.metrics.Attempt(x.channel.Name, outcome)
	}
}

// rateLimited counts a refusal by a rate limit.
func (rl *Relay) rateLimited(scopeKind, kind string) {
	if rl.metrics != nil {
		rl.metrics.RateLimited(scopeKind, kind)
	}
}

// firstPoll is when a new task is first polled.
func (rl *Relay) firstPoll(now time.Time) time.Time {
	if rl.opts.FirstPoll != nil {
		return rl.opts.FirstPoll(now)
	}
	return now.Add(2 * time.Second)
}
