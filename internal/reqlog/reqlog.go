// Package reqlog writes request log rows in batches, off the request path.
// A request appends its row to an in-memory queue and moves on; one
// goroutine commits rows in batches. A crash loses at most the rows not yet
// committed; ledger entries are written elsewhere.
package reqlog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tokenhot/tokenhot/internal/store"
)

// Sink stores a batch of rows (the store).
type Sink interface {
	InsertRequestLogs(ctx context.Context, rows []store.RequestLog) error
}

// Writer batches rows into a Sink.
type Writer struct {
	sink     Sink
	log      *slog.Logger
	interval time.Duration
	batch    int
	max      int

	mu      sync.Mutex
	queue   []store.RequestLog // grows only while rows wait
	dropped int64
	written int64

	kick    chan struct{}
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Options tunes a Writer; zero values take the defaults.
type Options struct {
	Queue    int           // rows held before new ones are dropped (default 65536)
	Batch    int           // rows per transaction at most (default 512)
	Interval time.Duration // longest a row waits before it is written (default 200ms)
}

// New starts a Writer. Close it to flush.
func New(sink Sink, log *slog.Logger, o Options) *Writer {
	if o.Queue <= 0 {
		o.Queue = 65536
	}
	if o.Batch <= 0 {
		o.Batch = 512
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	w := &Writer{sink: sink, log: log, interval: o.Interval, batch: o.Batch, max: o.Queue,
		kick: make(chan struct{}, 1), flushes: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Add queues a row without blocking. When the queue is full (the database
// cannot keep up) the row is dropped and counted rather than slowing every
// request down.
func (w *Writer) Add(row store.RequestLog) {
	w.mu.Lock()
	if len(w.queue) >= w.max {
		w.dropped++
		n := w.dropped
		w.mu.Unlock()
		if n%1000 == 1 {
			w.log.Warn("request log queue full; dropping rows", "dropped_total", n)
		}
		return
	}
	w.queue = append(w.queue, row)
	full := len(w.queue) >= w.batch
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Dropped is how many rows were dropped because the queue was full.
func (w *Writer) Dropped() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

// Written is how many rows were committed.
func (w *Writer) Written() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written
}

// Flush writes every row queued before the call, then returns.
func (w *Writer) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.flushes <- ack:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes every queued row and stops the writer.
func (w *Writer) Close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	var spare []store.RequestLog
	for {
		select {
		case <-tick.C:
		case <-w.kick:
		case ack := <-w.flushes:
			spare = w.writeQueued(spare)
			close(ack)
			continue
		case <-w.stop:
			w.writeQueued(spare)
			return
		}
		spare = w.writeQueued(spare)
	}
}

// writeQueued takes the whole queue (leaving spare, emptied, in its place)
// and writes it in batches. It returns the taken slice for reuse.
func (w *Writer) writeQueued(spare []store.RequestLog) []store.RequestLog {
	w.mu.Lock()
	taken := w.queue
	w.queue = spare[:0]
	w.mu.Unlock()
	for rows := taken; len(rows) > 0; {
		n := min(len(rows), w.batch)
		w.write(rows[:n])
		rows = rows[n:]
	}
	taken = taken[:0]
	if cap(taken) > 4*w.batch {
		taken = nil // a backlog's large array is not kept for ever
	}
	clear(taken[:cap(taken)])
	return taken
}

func (w *Writer) write(rows []store.RequestLog) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.sink.InsertRequestLogs(ctx, rows); err != nil {
		w.log.Error("writing request logs", "rows", len(rows), "err", err)
		return
	}
	w.mu.Lock()
	w.written += int64(len(rows))
	w.mu.Unlock()
}
