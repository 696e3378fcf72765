package task

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// fakeStore keeps tasks in memory with the store's lease rules.
type fakeStore struct {
	mu    sync.Mutex
	tasks map[string]store.Task
}

func (s *fakeStore) ClaimTasks(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Task
	for id, t := range s.tasks {
		if t.Settled || t.NextPollAt.After(now) || t.LeaseUntil != nil && !t.LeaseUntil.Before(now) || len(out) == limit {
			continue
		}
		until := now.Add(lease)
		t.LeaseOwner, t.LeaseUntil = owner, &until
		s.tasks[id] = t
		out = append(out, t)
	}
	return out, nil
}

func (s *fakeStore) UpdateTask(_ context.Context, t store.Task, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tasks[t.ID].LeaseOwner != owner {
		return store.ErrConflict
	}
	t.LeaseOwner, t.LeaseUntil, t.Settled = "", nil, s.tasks[t.ID].Settled
	s.tasks[t.ID] = t
	return nil
}

func (s *fakeStore) MarkTaskSettled(_ context.Context, id string, cost billing.Micros) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[id]
	if t.Settled {
		return false, nil
	}
	t.Settled, t.Cost = true, cost
	s.tasks[id] = t
	return true, nil
}

// fakeLedger settles each hold at most once, like the real ledgers.
type fakeLedger struct {
	mu       sync.Mutex
	holds    map[string]bool
	charged  map[string]billing.Micros
	refunded map[string]bool
	fail     bool
}

func (l *fakeLedger) take(id string) error {
	if l.fail {
		return errors.New("database down")
	}
	if !l.holds[id] {
		return store.ErrNotFound
	}
	delete(l.holds, id)
	return nil
}

func (l *fakeLedger) Settle(_ context.Context, id string, cost billing.Micros, _ string) (store.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.take(id); err != nil {
		return store.Entry{}, err
	}
	l.charged[id] += cost
	return store.Entry{}, nil
}

func (l *fakeLedger) Refund(_ context.Context, id, _ string) (store.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.take(id); err != nil {
		return store.Entry{}, err
	}
	l.refunded[id] = true
	return store.Entry{}, nil
}

// scripted answers each poll with the next state of its task.
type scripted struct {
	mu     sync.Mutex
	states map[string][]State
	polls  map[string]int
}

func (s *scripted) Poll(_ context.Context, t store.Task) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls[t.ID]++
	seq := s.states[t.UpstreamID]
	if len(seq) == 0 {
		return State{}, errors.New("connection refused")
	}
	st := seq[0]
	if len(seq) > 1 {
		s.states[t.UpstreamID] = seq[1:]
	}
	return st, nil
}

type rig struct {
	st    *fakeStore
	money *fakeLedger
	up    *scripted
	now   time.Time
}

func newRig(tasks ...store.Task) *rig {
	r := &rig{st: &fakeStore{tasks: map[string]store.Task{}},
		money: &fakeLedger{holds: map[string]bool{}, charged: map[string]billing.Micros{}, refunded: map[string]bool{}},
		up:    &scripted{states: map[string][]State{}, polls: map[string]int{}},
		now:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, t := range tasks {
		t.CreatedAt, t.NextPollAt = r.now, r.now
		r.st.tasks[t.ID] = t
		r.money.holds[t.ID] = true
	}
	return r
}

func (r *rig) worker(node string) *Worker {
	return New(r.st, r.money, r.up, func(t store.Task) billing.Micros { return billing.Micros(t.Seconds * 100_000) },
		Options{Node: node, Interval: time.Second, MaxDelay: 8 * time.Second, Expire: time.Hour, Now: func() time.Time { return r.now },
			Log: slog.New(slog.DiscardHandler)})
}

func TestTaskCompletesAndIsChargedOnce(t *testing.T) {
	r := newRig(store.Task{ID: "video_1", UpstreamID: "up1", Status: store.TaskQueued, Seconds: 8})
	r.up.states["up1"] = []State{{Status: store.TaskInProgress, Progress: 50}, {Status: store.TaskCompleted, Seconds: 8, ResultURL: "https://x/v.mp4"}}
	w := r.worker("a")
	if n, _ := w.Step(context.Background()); n != 1 || r.st.tasks["video_1"].Status != store.TaskInProgress {
		t.Fatalf("after the first poll: %+v", r.st.tasks["video_1"])
	}
	if n, _ := w.Step(context.Background()); n != 0 {
		t.Fatal("polled again before its next poll time")
	}
	r.now = r.now.Add(time.Second)
	w.Step(context.Background())
	got := r.st.tasks["video_1"]
	if got.Status != store.TaskCompleted || !got.Settled || got.Cost != 800_000 || r.money.charged["video_1"] != 800_000 ||
		got.Progress != 100 || got.CompletedAt == nil || got.ResultURL == "" {
		t.Fatalf("%+v charged %v", got, r.money.charged)
	}
	r.now = r.now.Add(time.Hour)
	if n, _ := w.Step(context.Background()); n != 0 {
		t.Fatal("a settled task was claimed")
	}
}

func TestFailedAndExpiredTasksAreRefunded(t *testing.T) {
	r := newRig(store.Task{ID: "video_f", UpstreamID: "upf", Status: store.TaskQueued},
		store.Task{ID: "video_x", UpstreamID: "gone", Status: store.TaskQueued})
	r.up.states["upf"] = []State{{Status: store.TaskFailed, ErrorCode: "moderation_blocked"}}
	w := r.worker("a")
	w.Step(context.Background())
	if !r.money.refunded["video_f"] || !r.st.tasks["video_f"].Settled || r.st.tasks["video_f"].Cost != 0 {
		t.Fatalf("failed task: %+v", r.st.tasks["video_f"])
	}
	// The other one's upstream does not answer: retried with backoff, then
	// failed as expired and refunded.
	for r.now.Before(time.Date(2026, 1, 1, 1, 0, 10, 0, time.UTC)) {
		r.now = r.now.Add(time.Second)
		w.Step(context.Background())
	}
	got := r.st.tasks["video_x"]
	if got.Status != store.TaskFailed || got.ErrorCode != "expired" || !r.money.refunded["video_x"] || !got.Settled {
		t.Fatalf("expired task: %+v", got)
	}
	if polls := r.up.polls["video_x"]; polls > 3600/8+10 {
		t.Fatalf("no backoff: %d polls in an hour", polls)
	}
}

func TestSettlementSurvivesACrashBetweenItsSteps(t *testing.T) {
	r := newRig(store.Task{ID: "video_c", UpstreamID: "upc", Status: store.TaskQueued, Seconds: 4})
	r.up.states["upc"] = []State{{Status: store.TaskCompleted, Seconds: 4}}
	r.money.fail = true // the ledger is down when the task finishes
	w := r.worker("a")
	w.Step(context.Background())
	if got := r.st.tasks["video_c"]; got.Status != store.TaskCompleted || got.Settled {
		t.Fatalf("%+v", got)
	}
	r.money.fail = false
	r.now = r.now.Add(time.Minute)
	w.Step(context.Background()) // claimed again: settled without another poll
	if got := r.st.tasks["video_c"]; !got.Settled || r.money.charged["video_c"] != 400_000 || r.up.polls["video_c"] != 1 {
		t.Fatalf("%+v charged %v polls %d", got, r.money.charged, r.up.polls["video_c"])
	}
	// A node that settled the hold but died before marking the task: the
	// next one finds no hold and only marks it.
	r2 := newRig(store.Task{ID: "video_d", UpstreamID: "upd", Status: store.TaskCompleted, Seconds: 4})
	delete(r2.money.holds, "video_d")
	r2.worker("b").Step(context.Background())
	if !r2.st.tasks["video_d"].Settled || r2.money.charged["video_d"] != 0 {
		t.Fatalf("%+v", r2.st.tasks["video_d"])
	}
}

func TestTwoWorkersNeverChargeTwice(t *testing.T) {
	var tasks []store.Task
	for i := range 20 {
		id := string(rune('a'+i)) + "-task"
		tasks = append(tasks, store.Task{ID: id, UpstreamID: id, Status: store.TaskQueued, Seconds: 1})
	}
	r := newRig(tasks...)
	for _, tk := range tasks {
		r.up.states[tk.ID] = []State{{Status: store.TaskInProgress}, {Status: store.TaskCompleted, Seconds: 1}}
	}
	a, b := r.worker("a"), r.worker("b")
	for range 5 {
		var wg sync.WaitGroup
		wg.Go(func() { a.Step(context.Background()) })
		wg.Go(func() { b.Step(context.Background()) })
		wg.Wait()
		r.now = r.now.Add(2 * time.Second)
	}
	for _, tk := range tasks {
		if got := r.st.tasks[tk.ID]; !got.Settled || r.money.charged[tk.ID] != 100_000 {
			t.Fatalf("%s: %+v charged %v", tk.ID, got, r.money.charged[tk.ID])
		}
	}
}
