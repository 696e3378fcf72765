//go:build !linux

package loadtest

import (
	"errors"
	"os/exec"
)

func setParentDeathSignal(*exec.Cmd) {}

// RaiseFileLimit is not implemented off Linux; the bench then relies on the
// limit it was given.
func RaiseFileLimit(uint64) (uint64, error) {
	return 0, errors.New("raising the open file limit is implemented on Linux only")
}
