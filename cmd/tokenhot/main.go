// Command tokenhot is the Tokenhot gateway: one API key and one endpoint for
// every major model. See the README for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "tokenhot:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `Tokenhot — one API key and one endpoint for every major model.

Usage:
  tokenhot demo  [--listen :3000]                 start with SQLite and built-in mock upstreams
  tokenhot serve [--config tokenhot.yaml]         start the gateway
  tokenhot mock  [--listen 127.0.0.1:9000]        run the mock upstreams alone
  tokenhot bench [flags]                          measure added latency and throughput

Administration of a running server (see docs/ADMIN.md):
  tokenhot user|key|channel|model|topup|adjust|ledger|logs ...
`

// run is the whole program, with its environment passed in so tests can
// drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], getenv, stdout, stderr)
	case "mock":
		return runMock(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], getenv, stdout, stderr)
	case "user", "key", "channel", "model", "topup", "adjust", "ledger", "logs":
		return runAdmin(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}
