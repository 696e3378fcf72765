package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/gateway"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "tokenhot.yaml", "configuration file")
	listen := fs.String("listen", "", "address to listen on (overrides the file)")
	dataDir := fs.String("data", "data", "directory for generated secrets")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := loadConfig(*path, getenv)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log := newLogger(stderr, getenv)
	return serve(ctx, cfg, gateway.Options{Getenv: getenv, Log: log, DataDir: *dataDir}, stdout, nil)
}

// loadConfig reads the file; a missing default file means an empty
// configuration (everything is then managed through the admin API).
func loadConfig(path string, getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Load(path, getenv)
	if errors.Is(err, os.ErrNotExist) && path == "tokenhot.yaml" {
		return config.Parse(nil, getenv)
	}
	return cfg, err
}

func newLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	level := slog.LevelInfo
	if getenv("TOKENHOT_LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	if getenv("TOKENHOT_LOG_FORMAT") == "text" {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// serve runs the gateway until ctx ends, then drains: it stops accepting,
// lets in-flight requests (streams included) finish up to the shutdown
// deadline, settles their bills, flushes the request logs, and exits.
// ready, when set, is called with the bound address once listening.
func serve(ctx context.Context, cfg *config.Config, o gateway.Options, stdout io.Writer, ready func(addr string, g *gateway.Gateway)) error {
	g, err := gateway.Open(ctx, cfg, o)
	if err != nil {
		return err
	}
	defer g.Close()
	if g.AdminToken != "" {
		fmt.Fprintf(stdout, "Generated an admin token (saved to %s/admin-token, shown only now):\n  %s\n", o.DataDir, g.AdminToken)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// inflight lets the drain wait for every handler, so each request's
	// settlement finishes before the database is closed.
	var inflight sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inflight.Add(1)
			defer inflight.Done()
			g.Handler.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	if addr := o.Getenv("TOKENHOT_PPROF_ADDR"); addr != "" {
		stopProfiler := startProfiler(addr, o.Log)
		defer stopProfiler()
	}
	o.Log.Info("tokenhot listening", "addr", ln.Addr().String(), "database", redactDSN(cfg.Database))
	if ready != nil {
		ready(ln.Addr().String(), g)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	o.Log.Info("shutting down: draining in-flight requests", "deadline", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		o.Log.Warn("drain deadline passed; closing remaining connections", "err", err)
		_ = srv.Close() // cancels the remaining requests; their handlers settle
	}
	inflight.Wait()
	return nil
}

const shutdownTimeout = 60 * time.Second

// redactDSN hides a password in a database URL for the log.
func redactDSN(dsn string) string {
	for i := 0; i < len(dsn); i++ {
		if dsn[i] == '@' {
			for j := i; j >= 0; j-- {
				if dsn[j] == ':' && j > 0 && dsn[j-1] != '/' && j+1 < len(dsn) && dsn[j+1] != '/' {
					return dsn[:j+1] + "***" + dsn[i:]
				}
			}
			break
		}
	}
	return dsn
}

// startProfiler serves the Go profiler (net/http/pprof) on its own address,
// never on the public one, for operators who need to see where time goes.
// Bind it to loopback: it has no authentication.
func startProfiler(addr string, log *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("profiler", "err", err)
		}
	}()
	log.Warn("the Go profiler is served without authentication", "addr", addr)
	return func() { _ = srv.Close() }
}
