package main

import (
	"context"
	"errors"
	"io"

	"github.com/tokenhot/tokenhot/internal/admin/adminctl"
)

// runAdmin runs "tokenhot user|key|channel|model|topup|adjust|ledger|logs
// ...": args start at the resource word. The commands talk to a running
// server's admin API; see docs/ADMIN.md.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := adminctl.Run(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, adminctl.ErrUsage) {
		return errUsage // the usage is printed
	}
	return err
}
