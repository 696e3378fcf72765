package reqlog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/store"
)

type sink struct {
	mu      sync.Mutex
	batches [][]store.RequestLog
}

func (s *sink) InsertRequestLogs(_ context.Context, rows []store.RequestLog) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, append([]store.RequestLog(nil), rows...))
	return nil
}

func (s *sink) rows() (n int, batches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		n += len(b)
	}
	return n, len(s.batches)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBatchesAndFlush(t *testing.T) {
	s := &sink{}
	w := New(s, quiet, Options{Batch: 10, Interval: time.Hour})
	for i := range 25 {
		w.Add(store.RequestLog{RequestID: string(rune('a' + i))})
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, batches := s.rows()
	if n != 25 || batches != 3 {
		t.Fatalf("%d rows in %d batches, want 25 in 3 (10+10+5)", n, batches)
	}
	w.Add(store.RequestLog{RequestID: "last"})
	w.Close()
	if n, _ := s.rows(); n != 26 || w.Written() != 26 {
		t.Fatalf("Close did not flush: %d rows, written %d", n, w.Written())
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal("Flush after Close should be a no-op, got", err)
	}
}

// blockingSink holds every insert until released, to fill the queue.
type blockingSink struct{ release chan struct{} }

func (b *blockingSink) InsertRequestLogs(context.Context, []store.RequestLog) error {
	<-b.release
	return nil
}

func TestFullQueueDropsInsteadOfBlocking(t *testing.T) {
	b := &blockingSink{release: make(chan struct{})}
	w := New(b, quiet, Options{Queue: 4, Batch: 1, Interval: time.Hour})
	for range 100 {
		w.Add(store.RequestLog{}) // must never block
	}
	if w.Dropped() < 90 {
		t.Fatalf("dropped %d, want most of 100 with a queue of 4", w.Dropped())
	}
	close(b.release)
	w.Close()
}
