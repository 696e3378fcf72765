// Package reqlog writes request log rows in batches, off the request path.
// A request hands its row to a buffered queue and moves on; one goroutine
// commits rows in batches. A crash loses at most the rows not yet committed;
// ledger entries are written elsewhere, synchronously.
package reqlog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
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
	queue    chan store.RequestLog
	interval time.Duration
	batch    int
	dropped  atomic.Int64
	written  atomic.Int64
	flushes  chan chan struct{}
	done     chan struct{}
	once     sync.Once
}

// Options tunes a Writer; zero values take the defaults.
type Options struct {
	Queue    int           // rows buffered before new ones are dropped (default 65536)
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
	w := &Writer{sink: sink, log: log, queue: make(chan store.RequestLog, o.Queue),
		interval: o.Interval, batch: o.Batch, done: make(chan struct{}), flushes: make(chan chan struct{})}
	go w.run()
	return w
}

// Add queues a row without blocking. When the queue is full (the database
// cannot keep up) the row is dropped and counted rather than slowing every
// request down.
func (w *Writer) Add(row store.RequestLog) {
	select {
	case w.queue <- row:
	default:
		if w.dropped.Add(1)%1000 == 1 {
			w.log.Warn("request log queue full; dropping rows", "dropped_total", w.dropped.Load())
		}
	}
}

// Dropped is how many rows were dropped because the queue was full.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Written is how many rows were committed.
func (w *Writer) Written() int64 { return w.written.Load() }

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
	w.once.Do(func() { close(w.queue) })
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	buf := make([]store.RequestLog, 0, w.batch)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		select {
		case row, ok := <-w.queue:
			if !ok {
				w.flush(buf)
				return
			}
			buf = append(buf, row)
			if len(buf) >= w.batch {
				buf = w.flush(buf)
			}
		case <-tick.C:
			buf = w.flush(buf)
		case ack := <-w.flushes:
			buf = w.drain(buf)
			buf = w.flush(buf)
			close(ack)
		}
	}
}

// drain moves every row already queued into buf, flushing full batches.
func (w *Writer) drain(buf []store.RequestLog) []store.RequestLog {
	for {
		select {
		case row, ok := <-w.queue:
			if !ok {
				return buf
			}
			buf = append(buf, row)
			if len(buf) >= w.batch {
				buf = w.flush(buf)
			}
		default:
			return buf
		}
	}
}

func (w *Writer) flush(buf []store.RequestLog) []store.RequestLog {
	if len(buf) == 0 {
		return buf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.sink.InsertRequestLogs(ctx, buf); err != nil {
		w.log.Error("writing request logs", "rows", len(buf), "err", err)
	} else {
		w.written.Add(int64(len(buf)))
	}
	clear(buf)
	return buf[:0]
}
