// Package gateway assembles a running Tokenhot from a configuration: the
// store, the in-memory catalogue, the relay, the request log writer and the
// admin API, behind one http.Handler. cmd/tokenhot and the end-to-end tests
// both build their server here.
package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenhot/tokenhot/internal/admin"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/console"
	"github.com/tokenhot/tokenhot/internal/ledger"
	"github.com/tokenhot/tokenhot/internal/media"
	"github.com/tokenhot/tokenhot/internal/metrics"
	"github.com/tokenhot/tokenhot/internal/relay"
	"github.com/tokenhot/tokenhot/internal/reqlog"
	"github.com/tokenhot/tokenhot/internal/secret"
	"github.com/tokenhot/tokenhot/internal/store"
	"github.com/tokenhot/tokenhot/internal/task"
)

// Options are the parts of the environment the gateway reads.
type Options struct {
	Getenv func(string) string
	Log    *slog.Logger
	// DataDir holds generated secrets (master key, admin token) when the
	// environment provides none. Default "data".
	DataDir string
	// HTTPClient overrides the upstream client (tests).
	HTTPClient *http.Client
	// LogOptions tune the request log writer (tests flush faster).
	LogOptions reqlog.Options
	// PasswordCost is the console's bcrypt cost (0: the default; tests
	// lower it).
	PasswordCost int
}

// Gateway is a running instance.
type Gateway struct {
	Store   *store.Store
	Catalog *catalog.Catalog
	Logs    *reqlog.Writer
	Handler http.Handler
	// AdminToken is set only when this start generated a new token.
	AdminToken string
	// Metrics are the Prometheus metrics served at /metrics.
	Metrics *metrics.Metrics

	closeLimiter func() error

	ledger   *ledger.Ledger // nil with PostgreSQL
	node     string         // this process's id in change notifications
	relay    *relay.Relay
	log      *slog.Logger
	stop     context.CancelFunc
	sweeper  sync.WaitGroup
	closeOne sync.Once
}

// Open builds a gateway from cfg.
func Open(ctx context.Context, cfg *config.Config, o Options) (*Gateway, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.DataDir == "" {
		o.DataDir = "data"
	}
	box, err := masterBox(cfg, o)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Database, box)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	g := &Gateway{Store: st, log: o.Log, node: newNodeID()}
	if err := g.init(ctx, cfg, o); err != nil {
		st.Close()
		return nil, err
	}
	return g, nil
}

func (g *Gateway) init(ctx context.Context, cfg *config.Config, o Options) error {
	st := g.Store
	if err := Apply(ctx, st, cfg, o.Log); err != nil {
		return fmt.Errorf("applying the config file: %w", err)
	}
	tokenHash, generated, err := adminToken(ctx, st, cfg, o)
	if err != nil {
		return err
	}
	g.AdminToken = generated
	cat, err := catalog.NewWithDefaults(ctx, st, catalog.Defaults{
		Key: cfg.Limits.Key.StoreLimits(), User: cfg.Limits.User.StoreLimits()})
	if err != nil {
		return err
	}
	g.Catalog = cat
	g.Logs = reqlog.New(st, o.Log, o.LogOptions)
	money, err := g.openLedger(ctx, cfg, o)
	if err != nil {
		return err
	}
	if err := g.restoreTaskHolds(ctx); err != nil {
		return err
	}

	var proxies []netip.Prefix
	for _, p := range cfg.TrustedProxies {
		pp, _ := config.ParsePrefix(p) // validated with the config
		proxies = append(proxies, pp)
	}
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Transport: relay.NewTransport(
			cfg.Upstream.ConnectTimeout.Or(10*time.Second), cfg.Upstream.FirstByteTimeout.Or(10*time.Minute))}
	}
	total := cfg.Upstream.TotalTimeout.Or(30 * time.Minute)
	g.Metrics = metrics.New()
	var channelName func(int64) string
	router := newRouter(cfg.Routing, o.Log, g.Metrics, &channelName)
	limiter, closeLimiter, err := newLimiter(cfg.Redis, o.Log, g.Metrics)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	g.closeLimiter = closeLimiter
	rl := relay.New(cat, money, g.Logs, client, o.Log, relay.Options{
		MaxAttempts: cfg.Routing.MaxAttempts, RetryTimeout: time.Duration(cfg.Routing.RetryTimeout),
		Router: router, Limiter: limiter, Metrics: g.Metrics, Tasks: st,
		FirstPoll:    func(now time.Time) time.Time { return now.Add(cfg.Tasks.PollInterval.Or(2 * time.Second)) },
		VideoDir:     cfg.Tasks.KeepDir,
		MaxBodyBytes: cfg.MaxBodyBytes, DefaultMaxOutputTokens: cfg.DefaultMaxOutputTokens,
		TrustedProxies: proxies, IdleTimeout: cfg.Upstream.IdleTimeout.Or(2 * time.Minute), TotalTimeout: total,
		Media: media.New(media.Options{AllowPrivate: cfg.Media.AllowPrivate, MaxBytes: cfg.Media.MaxBytes,
			Timeout: cfg.Media.Timeout.Or(15 * time.Second)}),
	})
	g.relay = rl
	channelName = func(id int64) string {
		if ch := rl.Channel(strconv.FormatInt(id, 10)); ch != nil {
			return ch.Name
		}
		return strconv.FormatInt(id, 10)
	}
	mux := http.NewServeMux()
	rl.Register(mux)
	api := admin.New(st, g, tokenHash, o.Log)
	api.SetUpstreams(rl)
	api.Register(mux)
	mux.Handle("GET /metrics", metricsHandler(g.Metrics, tokenHash))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	// The console takes "/", the least specific pattern, so every API
	// route above wins; unknown API paths still get a JSON error, not a
	// page.
	mux.HandleFunc("/v1/", apiNotFound)
	mux.HandleFunc("/v1beta/", apiNotFound)
	co := console.Options{Store: st, Reloader: g, Upstreams: rl, API: mux, Log: o.Log, Signup: cfg.Console.Signup,
		SiteName: cfg.Console.SiteName, TrustedProxies: proxies, PasswordCost: o.PasswordCost}
	if g.ledger != nil {
		co.Balance = g.ledger.Balance
	}
	con, err := console.New(co)
	if err != nil {
		return err
	}
	con.Register(mux)
	g.Handler = mux

	// Holds whose request cannot still be running (a crash, a lost
	// settlement) are refunded, now and periodically.
	sweepCtx, stop := context.WithCancel(context.Background())
	g.stop = stop
	worker := task.New(st, money, rl, rl.VideoCost, task.Options{Node: g.node,
		Interval: cfg.Tasks.PollInterval.Or(2 * time.Second), Log: o.Log, Keep: rl.KeepVideo})
	g.sweeper.Add(4)
	go func() { defer g.sweeper.Done(); worker.Run(sweepCtx) }()
	if cfg.Tasks.KeepDir != "" {
		g.sweeper.Add(1)
		go g.pruneVideos(sweepCtx, cfg.Tasks.Keep.Or(72*time.Hour))
	}
	go g.sweep(sweepCtx, total+5*time.Minute)
	go g.listen(sweepCtx)
	go g.probeLoop(sweepCtx, time.Duration(cfg.Routing.TestInterval), cfg.Routing.TestModel)
	return nil
}

func (g *Gateway) sweep(ctx context.Context, age time.Duration) {
	defer g.sweeper.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		n, err := g.Store.ReleaseStaleHolds(ctx, time.Now().Add(-age))
		if err != nil && ctx.Err() == nil {
			g.log.Error("releasing stale holds", "err", err)
		} else if n > 0 {
			g.log.Warn("refunded holds of requests that never settled", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// openLedger picks the money path. An embedded SQLite database has exactly
// one owner, this process, so balances are kept in memory and settlements
// journaled (package ledger): reserve and settle cost microseconds. With
// PostgreSQL several gateways may share the accounts, so every reservation
// and settlement is a database transaction.
func (g *Gateway) openLedger(ctx context.Context, cfg *config.Config, o Options) (relay.Ledger, error) {
	if g.Store.Dialect() != store.DialectSQLite {
		return g.Store, nil
	}
	path := strings.TrimPrefix(cfg.Database, "sqlite://")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	lg, err := ledger.Open(ctx, g.Store, path+".journal", o.Log)
	if err != nil {
		return nil, err
	}
	g.ledger = lg
	return lg, nil
}

// Reload makes the request path see the database's current keys, users,
// channels, models, prices and balances. The admin API calls it after every
// change.
//
// Other gateways sharing the database (PostgreSQL) are told to reload too,
// by a notification rather than by polling.
func (g *Gateway) Reload(ctx context.Context) error {
	if err := g.reloadLocal(ctx); err != nil {
		return err
	}
	if err := g.Store.NotifyChange(ctx, g.node); err != nil {
		g.log.Error("telling other gateways to reload", "err", err)
	}
	return nil
}

func (g *Gateway) reloadLocal(ctx context.Context) error {
	// Accounts first: a key the new snapshot admits must already have an
	// account to reserve against.
	if g.ledger != nil {
		if err := g.ledger.Sync(ctx); err != nil {
			return err
		}
	}
	return g.Catalog.Reload(ctx)
}

// listen reloads whenever another gateway on the database changed the
// configuration.
func (g *Gateway) listen(ctx context.Context) {
	defer g.sweeper.Done()
	g.Store.ListenChanges(ctx, g.node, func() {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := g.reloadLocal(rctx); err != nil && ctx.Err() == nil {
			g.log.Error("reloading after another gateway's change", "err", err)
		}
	}, func(err error) {
		g.log.Warn("change notifications interrupted; reconnecting", "err", err)
	})
}

// Flush waits until every request that has arrived is settled and its
// settlement and request log row are in the database.
func (g *Gateway) Flush(ctx context.Context) error {
	if err := g.relay.WaitIdle(ctx); err != nil {
		return err
	}
	if g.ledger != nil {
		if err := g.ledger.Flush(ctx); err != nil {
			return err
		}
	}
	return g.Logs.Flush(ctx)
}

// Close writes every pending settlement and request log row and closes the
// database. Call it after the HTTP server has drained.
func (g *Gateway) Close() error {
	var err error
	g.closeOne.Do(func() {
		if g.stop != nil {
			g.stop()
			g.sweeper.Wait()
		}
		if g.ledger != nil {
			err = g.ledger.Close()
		}
		if g.Logs != nil {
			g.Logs.Close()
		}
		if g.closeLimiter != nil {
			err = errors.Join(err, g.closeLimiter())
		}
		err = errors.Join(err, g.Store.Close())
	})
	return err
}

// masterBox finds the key that seals upstream credentials: the environment,
// the file, or a key generated once into the data directory.
func masterBox(cfg *config.Config, o Options) (*secret.Box, error) {
	key := o.Getenv("TOKENHOT_MASTER_KEY")
	if key == "" {
		key = cfg.MasterKey
	}
	if key == "" {
		path := filepath.Join(o.DataDir, "master.key")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			key = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist):
			key = secret.NewMasterKey()
			if err := writeSecret(path, key); err != nil {
				return nil, fmt.Errorf("saving a new master key: %w", err)
			}
			o.Log.Warn("no TOKENHOT_MASTER_KEY set: generated one; back it up, upstream keys cannot be read without it", "file", path)
		default:
			return nil, err
		}
	}
	return secret.NewBox(key)
}

const adminTokenSetting = "admin_token_sha256"

// adminToken returns the digest the admin API checks. TOKENHOT_ADMIN_TOKEN
// (or admin_token in the file) wins; otherwise the first start generates a
// token, stores its digest, writes the token to data/admin-token (mode 0600)
// and returns it so the operator is told. There is no default password.
func adminToken(ctx context.Context, st *store.Store, cfg *config.Config, o Options) ([32]byte, string, error) {
	if t := o.Getenv("TOKENHOT_ADMIN_TOKEN"); t != "" {
		return sha256.Sum256([]byte(t)), "", nil
	}
	if cfg.AdminToken != "" {
		return sha256.Sum256([]byte(cfg.AdminToken)), "", nil
	}
	var d [32]byte
	stored, err := st.Setting(ctx, adminTokenSetting)
	if err == nil {
		b, derr := decodeHex32(stored)
		if derr == nil {
			return b, "", nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return d, "", err
	}
	tok := admin.NewToken()
	d = sha256.Sum256([]byte(tok))
	if err := st.SetSetting(ctx, adminTokenSetting, fmt.Sprintf("%x", d)); err != nil {
		return d, "", err
	}
	path := filepath.Join(o.DataDir, "admin-token")
	if err := writeSecret(path, tok); err != nil {
		o.Log.Warn("could not save the admin token to a file; it is printed once here", "err", err)
	}
	return d, tok, nil
}

// apiNotFound answers an API path no route serves, in the OpenAI error
// shape every SDK reads.
func apiNotFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	msg := fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": msg, "type": "invalid_request_error", "code": "not_found"}})
	_, _ = w.Write(b)
}

func newNodeID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func decodeHex32(s string) ([32]byte, error) {
	var d [32]byte
	if len(s) != 64 {
		return d, errors.New("bad digest")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return d, err
	}
	copy(d[:], b)
	return d, nil
}

func writeSecret(path, value string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(value+"\n"), 0o600)
}

// restoreTaskHolds takes again, after a restart, the holds of video tasks
// that have not been settled: with SQLite holds live in memory, and a task
// outlives the process that submitted it. (PostgreSQL keeps holds in the
// database.)
func (g *Gateway) restoreTaskHolds(ctx context.Context) error {
	if g.ledger == nil {
		return nil
	}
	tasks, err := g.Store.UnsettledTasks(ctx)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if err := g.ledger.Restore(store.Hold{RequestID: t.ID, UserID: t.UserID, KeyID: t.KeyID, Amount: t.Held}); err != nil {
			return fmt.Errorf("restoring the hold of task %s: %w", t.ID, err)
		}
	}
	return nil
}

// pruneVideos deletes kept videos once they are older than keep.
func (g *Gateway) pruneVideos(ctx context.Context, keep time.Duration) {
	defer g.sweeper.Done()
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n := g.relay.PruneVideos(keep); n > 0 {
			g.log.Info("deleted kept videos past their retention", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
