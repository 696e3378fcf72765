//go:build unix

package ledger

import (
	"fmt"
	"os"
	"syscall"
)

// lockOwner takes an exclusive lock that lives as long as the process holds
// the file: a second gateway on the same SQLite database would keep its own
// balances in memory and could overdraw, so it is refused at start.
func lockOwner(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger: another Tokenhot process owns this database (%s): %w", path, err)
	}
	return f, nil
}
