// Package task runs asynchronous generation tasks (video): it polls each
// unfinished task's upstream with backoff, one node at a time under a lease
// kept in the database, and settles each task's money exactly once — the
// actual cost when it completes, a full refund when it fails or expires —
// whatever crashes, restarts and concurrent pollers do.
//
// Exactly once rests on two facts: the ledger settles a hold at most once
// (a second settle or refund of the same id finds no hold), and a task is
// marked settled only after its hold is. A node that dies between the two
// leaves a finished, unsettled task, which the next claim completes.
package task

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Store is where tasks live (store.Store).
type Store interface {
	ClaimTasks(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Task, error)
	UpdateTask(ctx context.Context, t store.Task, owner string) error
	MarkTaskSettled(ctx context.Context, id string, cost billing.Micros) (bool, error)
}

// Ledger settles the hold taken when a task was submitted.
type Ledger interface {
	Settle(ctx context.Context, requestID string, cost billing.Micros, note string) (store.Entry, error)
	Refund(ctx context.Context, requestID, note string) (store.Entry, error)
}

// State is what an upstream says of a task.
type State struct {
	Status       string // store.TaskQueued … store.TaskFailed
	Progress     int
	ResultURL    string
	Seconds      int64
	UsageTokens  int64
	ErrorCode    string
	ErrorMessage string
	ExpiresAt    *time.Time
}

// Upstream asks the task's upstream for its state (the relay, which knows
// the channels).
type Upstream interface {
	Poll(ctx context.Context, t store.Task) (State, error)
}

// Pricer is a finished task's actual cost.
type Pricer func(t store.Task) billing.Micros

// Options tune a Worker; zero values take defaults.
type Options struct {
	Node     string        // this process's lease owner id
	Interval time.Duration // first poll delay and claim period (default 2s)
	MaxDelay time.Duration // longest backoff between polls (default 30s)
	Lease    time.Duration // how long a claim is held (default 60s)
	Expire   time.Duration // a task unfinished after this fails as expired and is refunded (default 24h)
	Batch    int           // tasks claimed per round (default 16)
	Now      func() time.Time
	Log      *slog.Logger
	// Keep, if set, is called once a task has completed, to copy its
	// result before the upstream's link expires; a failure is logged and
	// the result stays available from the upstream.
	Keep func(ctx context.Context, t store.Task) error
}

// Worker polls and settles tasks.
type Worker struct {
	st    Store
	money Ledger
	up    Upstream
	price Pricer
	o     Options
}

// New returns a worker.
func New(st Store, money Ledger, up Upstream, price Pricer, o Options) *Worker {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Expire <= 0 {
		o.Expire = 24 * time.Hour
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Worker{st: st, money: money, up: up, price: price, o: o}
}

// FirstPoll is when a newly submitted task is first polled.
func (w *Worker) FirstPoll(now time.Time) time.Time { return now.Add(w.o.Interval) }

// Run polls until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		if _, err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.o.Log.Error("polling tasks", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step claims the tasks that are due and handles each once. It returns how
// many it handled.
func (w *Worker) Step(ctx context.Context) (int, error) {
	tasks, err := w.st.ClaimTasks(ctx, w.o.Node, w.o.Now(), w.o.Lease, w.o.Batch)
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		w.handle(ctx, t)
	}
	return len(tasks), nil
}

func terminal(status string) bool { return status == store.TaskCompleted || status == store.TaskFailed }

func (w *Worker) handle(ctx context.Context, t store.Task) {
	now := w.o.Now()
	if !terminal(t.Status) {
		st, err := w.up.Poll(ctx, t)
		t.Polls++
		switch {
		case err != nil && now.Sub(t.CreatedAt) < w.o.Expire:
			w.o.Log.Warn("polling a task failed; will retry", "task", t.ID, "err", err)
		case err != nil:
			st = State{Status: store.TaskFailed, ErrorCode: "expired", ErrorMessage: "the task did not finish in time"}
			fallthrough
		default:
			if err == nil && !terminal(st.Status) && now.Sub(t.CreatedAt) >= w.o.Expire {
				st = State{Status: store.TaskFailed, ErrorCode: "expired", ErrorMessage: "the task did not finish in time"}
			}
			apply(&t, st, now)
		}
		t.NextPollAt = now.Add(w.delay(t.Polls))
		t.UpdatedAt = now
		if terminal(t.Status) {
			t.Cost = w.price(t)
		}
		if err := w.st.UpdateTask(ctx, t, w.o.Node); err != nil {
			if !errors.Is(err, store.ErrConflict) {
				w.o.Log.Error("saving a task", "task", t.ID, "err", err)
			}
			return // the lease was lost: another node has it
		}
		if t.Status == store.TaskCompleted && w.o.Keep != nil {
			if err := w.o.Keep(ctx, t); err != nil {
				w.o.Log.Warn("keeping a finished video failed; it stays available from the upstream", "task", t.ID, "err", err)
			}
		}
	}
	if terminal(t.Status) && !t.Settled {
		w.settle(ctx, t)
	}
}

// apply records an upstream state on a task.
func apply(t *store.Task, st State, now time.Time) {
	t.Status, t.Progress = st.Status, st.Progress
	if st.ResultURL != "" {
		t.ResultURL = st.ResultURL
	}
	if st.Seconds > 0 {
		t.Seconds = st.Seconds
	}
	if st.UsageTokens > 0 {
		t.UsageTokens = st.UsageTokens
	}
	t.ErrorCode, t.ErrorMessage = st.ErrorCode, st.ErrorMessage
	if st.ExpiresAt != nil {
		t.ExpiresAt = st.ExpiresAt
	}
	if terminal(st.Status) {
		t.Progress = 100
		done := now
		t.CompletedAt = &done
	}
}

// delay is the backoff before the next poll: the interval, doubling every
// three polls, up to MaxDelay.
func (w *Worker) delay(polls int) time.Duration {
	d := w.o.Interval
	for i := 3; i <= polls && d < w.o.MaxDelay; i += 3 {
		d *= 2
	}
	return min(d, w.o.MaxDelay)
}

// settle charges a completed task's cost or refunds a failed one, then
// marks it settled. Both steps are idempotent, so a retry after a crash
// between them cannot charge twice.
func (w *Worker) settle(ctx context.Context, t store.Task) {
	var err error
	if t.Status == store.TaskCompleted {
		_, err = w.money.Settle(ctx, t.ID, t.Cost, "video task "+t.ID+" model="+t.Model)
	} else {
		t.Cost = 0
		_, err = w.money.Refund(ctx, t.ID, "video task "+t.ID+" failed: "+t.ErrorCode)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) { // not found: settled before a crash
		w.o.Log.Error("settling a task; will retry", "task", t.ID, "err", err)
		return
	}
	if _, err := w.st.MarkTaskSettled(ctx, t.ID, t.Cost); err != nil {
		w.o.Log.Error("marking a task settled; will retry", "task", t.ID, "err", err)
		return
	}
	w.o.Log.Info("task settled", "task", t.ID, "status", t.Status, "cost_usd", t.Cost.USD())
}
