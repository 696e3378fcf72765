package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// changeChannel is the PostgreSQL notification channel on which gateways
// sharing a database tell each other that configuration changed.
const changeChannel = "tokenhot_config"

// NotifyChange tells every other gateway on this database that keys, users,
// channels, models or prices changed. The payload names the sender so it
// can ignore its own notice. On SQLite, which has one gateway, it does
// nothing.
func (s *Store) NotifyChange(ctx context.Context, sender string) error {
	if !s.pg {
		return nil
	}
	_, err := s.w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, changeChannel, sender)
	return err
}

// ListenChanges calls changed whenever another gateway on this database
// notifies a change, until ctx ends. It keeps one connection of its own;
// each time it starts listening (at first, and after reconnecting when that
// connection is lost) it calls changed once, since notices sent before were
// missed. Notices whose payload is self are
// ignored. On SQLite it returns at once.
func (s *Store) ListenChanges(ctx context.Context, self string, changed func(), onError func(error)) {
	if !s.pg {
		return
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, s.pgConfig.Copy())
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+changeChannel)
		}
		if err == nil {
			// Whatever was said before we listened — while we were away,
			// or between the caller's first load and this LISTEN — is
			// caught up with once.
			changed()
			backoff = 100 * time.Millisecond
			for err == nil {
				var n *pgconn.Notification
				n, err = conn.WaitForNotification(ctx)
				if err == nil && n.Payload != self {
					changed()
				}
			}
		}
		if conn != nil {
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
		}
		if ctx.Err() != nil {
			return
		}
		onError(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
