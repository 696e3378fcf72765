package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/metrics"
	"github.com/tokenhot/tokenhot/internal/ratelimit"
	"github.com/tokenhot/tokenhot/internal/relay"
	"github.com/tokenhot/tokenhot/internal/routing"
)

// newRouter builds the breakers and the router from the config. Every
// breaker transition is logged and shown in the metrics; the channel's name
// is looked up through channelName, which is set once the relay exists.
func newRouter(cfg config.Routing, log *slog.Logger, m *metrics.Metrics, channelName *func(int64) string) *routing.Router {
	b := cfg.Breaker
	health := routing.NewHealth(routing.BreakerOptions{Failures: b.Failures, Window: time.Duration(b.Window),
		Cooldown: time.Duration(b.Cooldown), MaxCooldown: time.Duration(b.MaxCooldown)}, time.Now,
		func(c routing.Change) {
			name := strconv.FormatInt(c.Ref.Channel, 10)
			if *channelName != nil {
				name = (*channelName)(c.Ref.Channel)
			}
			level := slog.LevelWarn
			if c.To == routing.Closed {
				level = slog.LevelInfo
			}
			attrs := []any{"channel", name, "key", c.Ref.Key, "from", c.From.String(), "to", c.To.String(), "reason", c.Reason}
			if !c.Until.IsZero() {
				attrs = append(attrs, "until", c.Until)
			}
			log.Log(context.Background(), level, "channel key state changed", attrs...)
			m.Breaker(name, c.Ref.Key, metrics.BreakerState(c.To))
		})
	return routing.NewRouter(health)
}

// newLimiter counts rate limits in memory, or in Redis (shared by every
// gateway process) when one is configured. While Redis is unreachable each
// process enforces its 1/nodes share of every limit locally, logs the
// outage and shows it in tokenhot_ratelimit_backend_up.
func newLimiter(cfg config.Redis, log *slog.Logger, m *metrics.Metrics) (relay.Limiter, func() error, error) {
	if cfg.URL == "" {
		return ratelimit.NewMemory(time.Now), func() error { return nil }, nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, nil, err
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
	client := redis.NewClient(opt)
	m.RateLimitBackend(true)
	lim := ratelimit.NewFallback(ratelimit.NewRedis(client, ratelimit.RedisOptions{Log: log}), max(cfg.Nodes, 1), log,
		m.RateLimitBackend)
	return lim, client.Close, nil
}

// metricsHandler serves Prometheus metrics to holders of the admin token:
// they name models, channels and revenue.
func metricsHandler(m *metrics.Metrics, token [sha256.Size]byte) http.Handler {
	h := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(d[:], token[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tokenhot-metrics"`)
			http.Error(w, "the admin token is required: Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// probeLoop tests the channel keys that are out of rotation every interval,
// so keys that recovered come back without risking a user's request.
func (g *Gateway) probeLoop(ctx context.Context, every time.Duration, model string) {
	defer g.sweeper.Done()
	if every <= 0 {
		every = 5 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := g.relay.ProbeUnhealthy(ctx, model); n > 0 {
				g.log.Info("tested channel keys out of rotation", "count", n)
			}
		}
	}
}
