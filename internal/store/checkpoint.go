package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite in WAL mode appends every commit to the write-ahead log and, by
// default, has the committing connection copy the log back into the
// database file (a checkpoint) every 1000 pages. A checkpoint fsyncs both
// files, which takes milliseconds to tens of milliseconds, and with a single
// writer connection every request waits behind it. So the store checkpoints
// from a connection of its own, off the write path: PASSIVE checkpoints
// never block the writer, and the writer itself never fsyncs
// (synchronous=NORMAL). The writer keeps a far higher automatic threshold
// only as a safety net should the checkpointer fall behind.

const (
	// checkpointEvery is how many money operations trigger a checkpoint:
	// about the default 1000 pages at the seven or so a Reserve writes when
	// committed alone (fewer when group-committed).
	checkpointEvery = 128
	// checkpointIdle catches the writes of a quiet period.
	checkpointIdle = 2 * time.Second
	// writerAutoCheckpoint is the writer's own threshold in pages (~40 MB).
	writerAutoCheckpoint = 10000
)

type checkpointer struct {
	db      *sql.DB
	commits atomic.Int64
	kick    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  sync.Once
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Go(c.run)
	return c
}

func (c *checkpointer) run() {
	idle := time.NewTicker(checkpointIdle)
	defer idle.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-idle.C:
		}
		// A failed checkpoint (the file busy with a backup, say) loses
		// nothing: the frames stay in the log for the next one.
		_, _ = c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
	}
}

// committed counts n operations just committed and wakes the checkpointer
// each time the count passes a multiple of checkpointEvery. It never
// blocks.
func (c *checkpointer) committed(n int) {
	after := c.commits.Add(int64(n))
	if after/checkpointEvery == (after-int64(n))/checkpointEvery {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default: // a checkpoint is already due
	}
}

func (c *checkpointer) close() error {
	c.closed.Do(func() { close(c.stop) })
	c.wg.Wait()
	return c.db.Close()
}
