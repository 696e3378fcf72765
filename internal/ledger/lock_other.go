//go:build !unix

package ledger

import "os"

// lockOwner only creates the file where advisory locks are not available.
func lockOwner(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}
