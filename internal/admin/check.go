package admin

import "github.com/tokenhot/tokenhot/internal/store"

// CheckChannel validates a channel as POST and PATCH /admin/v1/channels do,
// so that the web console applies the same rules.
func CheckChannel(c store.Channel) error { return checkChannel(c) }
