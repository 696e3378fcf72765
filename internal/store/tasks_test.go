package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

func tptr(t time.Time) *time.Time { return &t }

// newTask is a queued task of user, due at next.
func newTask(id string, user int64, next time.Time) Task {
	return Task{ID: id, UserID: user, KeyID: 7, Model: "sora-2", ChannelID: 3, Kind: "sora",
		Status: TaskQueued, Held: 400_000, Seconds: 4, Size: "1280x720", NextPollAt: next,
		CreatedAt: t0, UpdatedAt: t0}
}

func mustTask(t testing.TB, s *Store, task Task) {
	t.Helper()
	if err := s.CreateTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
}

func taskIDs(ts []Task) []string {
	ids := []string{}
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func TestCreateGetTask(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		full := Task{ID: "video_full", UserID: u.ID, KeyID: 9, Model: "seedance-1", ChannelID: 4, Kind: "seedance",
			UpstreamID: "cgt-1", Status: TaskCompleted, Progress: 100, Held: 500_000, Cost: 480_000, Seconds: 5,
			Resolution: "720p", Size: "1280x720", ErrorCode: "", ErrorMessage: "", ResultURL: "https://cdn/x.mp4",
			UsageTokens: 108_900, LeaseOwner: "node-a", LeaseUntil: tptr(t0.Add(time.Minute)),
			NextPollAt: t0.Add(time.Second), Polls: 3, CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0,
			CompletedAt: tptr(t0), ExpiresAt: tptr(t0.Add(24 * time.Hour))}
		for _, tc := range []struct {
			name string
			task Task
			err  error
			want Task // read back, when err is nil
		}{
			{name: "every field", task: full, want: full},
			{name: "defaults", task: Task{ID: "video_min", UserID: u.ID, Model: "sora-2", Kind: "sora", Held: 1},
				want: Task{ID: "video_min", UserID: u.ID, Model: "sora-2", Kind: "sora", Status: TaskQueued, Held: 1,
					NextPollAt: t0, CreatedAt: t0, UpdatedAt: t0}},
			{name: "settled is ignored", task: Task{ID: "video_s", UserID: u.ID, Held: 1, Settled: true},
				want: Task{ID: "video_s", UserID: u.ID, Status: TaskQueued, Held: 1, NextPollAt: t0, CreatedAt: t0, UpdatedAt: t0}},
			{name: "progress clamped", task: Task{ID: "video_p", UserID: u.ID, Status: TaskInProgress, Progress: 140},
				want: Task{ID: "video_p", UserID: u.ID, Status: TaskInProgress, Progress: 100, NextPollAt: t0, CreatedAt: t0, UpdatedAt: t0}},
			{name: "duplicate id", task: newTask("video_full", u.ID, t0), err: ErrConflict},
			{name: "unknown user", task: newTask("video_nouser", 999, t0), err: ErrNotFound},
			{name: "empty id", task: newTask("", u.ID, t0), err: ErrInvalid},
			{name: "unknown status", task: Task{ID: "video_x", UserID: u.ID, Status: "cancelled"}, err: ErrInvalid},
			{name: "negative hold", task: Task{ID: "video_x", UserID: u.ID, Held: -1}, err: ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateTask(ctx, tc.task)
				checkErr(t, err, tc.err)
				if err != nil {
					if tc.task.ID != "video_full" {
						_, err := s.GetTask(ctx, tc.task.ID)
						checkErr(t, err, ErrNotFound)
					}
					return
				}
				got, err := s.GetTask(ctx, tc.task.ID)
				checkErr(t, err, nil)
				diff(t, tc.want, got)
			})
		}
		_, err := s.GetTask(ctx, "video_missing")
		checkErr(t, err, ErrNotFound)
		got, err := s.GetTask(ctx, "video_full")
		checkErr(t, err, nil)
		diff(t, full, got)
	})
}

func TestUserTasks(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mustUser(t, s, "alice")
		bob := mustUser(t, s, "bob")
		for i, id := range []string{"video_a1", "video_a2", "video_a3"} {
			task := newTask(id, alice.ID, t0)
			task.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
			mustTask(t, s, task)
		}
		mustTask(t, s, newTask("video_b1", bob.ID, t0))

		for _, tc := range []struct {
			name string
			user int64
			id   string
			err  error
		}{
			{name: "own task", user: alice.ID, id: "video_a2"},
			{name: "another user's task", user: bob.ID, id: "video_a2", err: ErrNotFound},
			{name: "the other way", user: alice.ID, id: "video_b1", err: ErrNotFound},
			{name: "missing", user: alice.ID, id: "video_zz", err: ErrNotFound},
			{name: "unknown user", user: 999, id: "video_a1", err: ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.GetUserTask(ctx, tc.user, tc.id)
				checkErr(t, err, tc.err)
				if err == nil {
					diff(t, tc.id, got.ID)
					diff(t, tc.user, got.UserID)
				}
			})
		}

		for _, tc := range []struct {
			name  string
			user  int64
			limit int
			want  []string
		}{
			{name: "newest first", user: alice.ID, want: []string{"video_a3", "video_a2", "video_a1"}},
			{name: "limited", user: alice.ID, limit: 2, want: []string{"video_a3", "video_a2"}},
			{name: "other user", user: bob.ID, want: []string{"video_b1"}},
			{name: "none", user: 999, want: []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListUserTasks(ctx, tc.user, tc.limit)
				checkErr(t, err, nil)
				diff(t, tc.want, taskIDs(got))
			})
		}
	})
}

// TestClaimTasks walks the claim rules: due, lease free (none, or run out
// strictly before now), not settled, limit, order, terminal but unsettled.
func TestClaimTasks(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		leased := func(id string, next, until time.Time) Task {
			task := newTask(id, u.ID, next)
			task.LeaseOwner, task.LeaseUntil = "x", &until
			return task
		}
		done := newTask("done-unsettled", u.ID, t0.Add(-4*time.Minute))
		done.Status, done.CompletedAt = TaskCompleted, tptr(t0.Add(-4*time.Minute))
		settled := newTask("settled", u.ID, t0.Add(-5*time.Minute))
		settled.Status = TaskFailed
		for _, task := range []Task{
			settled,
			done,
			leased("expired", t0.Add(-3*time.Minute), t0.Add(-time.Second)),
			leased("leased", t0.Add(-2*time.Minute), t0.Add(time.Minute)),
			leased("lease-ends-now", t0.Add(-90*time.Second), t0),
			newTask("due", u.ID, t0.Add(-time.Minute)),
			newTask("due-now", u.ID, t0),
			newTask("later", u.ID, t0.Add(time.Minute)),
			newTask("much-later", u.ID, t0.Add(time.Hour)),
		} {
			mustTask(t, s, task)
		}
		ok, err := s.MarkTaskSettled(ctx, "settled", 0)
		checkErr(t, err, nil)
		diff(t, true, ok)

		const lease = 10 * time.Minute
		for _, tc := range []struct {
			name  string
			owner string
			now   time.Time
			limit int
			want  []string
			err   error
		}{
			{name: "limit, soonest due first", owner: "a", now: t0, limit: 2, want: []string{"done-unsettled", "expired"}},
			{name: "the rest that is due", owner: "b", now: t0, limit: 10, want: []string{"due", "due-now"}},
			{name: "nothing left now; a lease ending now still holds", owner: "c", now: t0, limit: 10, want: []string{}},
			{name: "leases run out, later tasks due", owner: "c", now: t0.Add(90 * time.Second), limit: 10,
				want: []string{"leased", "lease-ends-now", "later"}},
			{name: "a's and b's leases run out", owner: "d", now: t0.Add(lease + time.Second), limit: 10,
				want: []string{"done-unsettled", "expired", "due", "due-now"}},
			{name: "zero limit", owner: "e", now: t0.Add(2 * time.Hour), limit: 0, want: []string{}},
			{name: "empty owner", owner: "", now: t0, limit: 1, err: ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ClaimTasks(ctx, tc.owner, tc.now, lease, tc.limit)
				checkErr(t, err, tc.err)
				if err != nil {
					return
				}
				diff(t, tc.want, taskIDs(got))
				until := tc.now.Add(lease)
				for _, task := range got {
					diff(t, tc.owner, task.LeaseOwner)
					diff(t, &until, task.LeaseUntil)
					stored, err := s.GetTask(ctx, task.ID)
					checkErr(t, err, nil)
					diff(t, task, stored)
				}
			})
		}
		_, err = s.ClaimTasks(ctx, "f", t0, 0, 1)
		checkErr(t, err, ErrInvalid)

		unsettled, err := s.UnsettledTasks(ctx)
		checkErr(t, err, nil)
		want := []string{"done-unsettled", "due", "due-now", "expired", "later", "lease-ends-now", "leased", "much-later"}
		got := taskIDs(unsettled)
		slices.Sort(got)
		diff(t, want, got)
	})
}

// TestClaimTasksConcurrent has two owners claim ten tasks from twenty
// goroutines at once: while the leases hold, no task is handed out twice,
// and between them they take every task.
func TestClaimTasksConcurrent(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		const tasks, claimers = 10, 20
		for i := range tasks {
			mustTask(t, s, newTask(fmt.Sprintf("video_%02d", i), u.ID, t0.Add(-time.Duration(i)*time.Second)))
		}
		for round := range 3 {
			now := t0.Add(time.Duration(round) * time.Hour) // each round, the last round's leases have run out
			var (
				mu  sync.Mutex
				got = map[string][]string{} // task id: owners that claimed it
			)
			owner := func(i int) string { return fmt.Sprintf("node-%d/round-%d", i%2, round) }
			errs := concurrently(claimers, func(i int) error {
				ts, err := s.ClaimTasks(ctx, owner(i), now, 30*time.Minute, 3)
				mu.Lock()
				defer mu.Unlock()
				for _, task := range ts {
					got[task.ID] = append(got[task.ID], owner(i))
				}
				return err
			})
			for _, err := range errs {
				checkErr(t, err, nil)
			}
			rest, err := s.ClaimTasks(ctx, "late", now, 30*time.Minute, tasks)
			checkErr(t, err, nil)
			if len(rest) != 0 && !s.pg {
				t.Errorf("round %d: %d tasks left unclaimed by 20 claimers of 3", round, len(rest))
			}
			for _, task := range rest {
				got[task.ID] = append(got[task.ID], "late")
			}
			if len(got) != tasks {
				t.Errorf("round %d: %d tasks claimed, want %d", round, len(got), tasks)
			}
			for id, owners := range got {
				if len(owners) != 1 {
					t.Errorf("round %d: task %s claimed by %v", round, id, owners)
					continue
				}
				stored, err := s.GetTask(ctx, id)
				checkErr(t, err, nil)
				diff(t, owners[0], stored.LeaseOwner)
			}
		}
	})
}

// TestUpdateTask: only the holder of the lease writes, and writing releases
// the lease.
func TestUpdateTask(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		mustTask(t, s, newTask("video_1", u.ID, t0))
		claim := func(owner string, now time.Time) {
			t.Helper()
			ts, err := s.ClaimTasks(ctx, owner, now, time.Minute, 1)
			checkErr(t, err, nil)
			diff(t, []string{"video_1"}, taskIDs(ts))
		}
		claim("a", t0)
		claim("b", t0.Add(2*time.Minute)) // a's lease ran out; b takes the task over
		before, err := s.GetTask(ctx, "video_1")
		checkErr(t, err, nil)

		progress := before
		progress.Status, progress.Progress, progress.UpstreamID, progress.Polls = TaskInProgress, 40, "up-1", 1
		progress.NextPollAt = t0.Add(3 * time.Minute)
		finished := progress
		finished.Status, finished.Progress, finished.Cost, finished.Resolution = TaskCompleted, 100, 390_000, "720p"
		finished.ResultURL, finished.UsageTokens, finished.Polls = "https://cdn/v.mp4", 1234, 2
		finished.CompletedAt, finished.ExpiresAt = tptr(t0.Add(4*time.Minute)), tptr(t0.Add(28*time.Hour))
		failed := finished
		failed.Status, failed.ErrorCode, failed.ErrorMessage = TaskFailed, "content_policy", "refused"
		missing := progress
		missing.ID = "video_missing"
		bad := progress
		bad.Status = "weird"

		released := func(task Task) Task {
			task.LeaseOwner, task.LeaseUntil, task.UpdatedAt = "", nil, t0
			return task
		}
		for _, tc := range []struct {
			name   string
			before func()
			task   Task
			owner  string
			err    error
			want   Task // stored afterwards
		}{
			{name: "lost lease", task: progress, owner: "a", err: ErrConflict, want: before},
			{name: "empty owner", task: progress, owner: "", err: ErrInvalid, want: before},
			{name: "unknown status", task: bad, owner: "b", err: ErrInvalid, want: before},
			{name: "holder writes and releases", task: progress, owner: "b", want: released(progress)},
			{name: "released lease", task: finished, owner: "b", err: ErrConflict, want: released(progress)},
			{name: "claimed again", before: func() { claim("c", t0.Add(3*time.Minute)) },
				task: finished, owner: "c", want: released(finished)},
			{name: "error fields", before: func() { claim("d", t0.Add(5*time.Minute)) },
				task: failed, owner: "d", want: released(failed)},
			{name: "missing task", task: missing, owner: "b", err: ErrNotFound, want: released(failed)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.before != nil {
					tc.before()
				}
				checkErr(t, s.UpdateTask(ctx, tc.task, tc.owner), tc.err)
				got, err := s.GetTask(ctx, "video_1")
				checkErr(t, err, nil)
				diff(t, tc.want, got)
			})
		}
	})
}

// TestMarkTaskSettled races settlements of one task: exactly one wins, and
// a settled task is never claimed again.
func TestMarkTaskSettled(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		task := newTask("video_1", u.ID, t0)
		task.Status = TaskCompleted
		mustTask(t, s, task)
		mustTask(t, s, newTask("video_2", u.ID, t0))

		const racers = 20
		won := make([]bool, racers)
		errs := concurrently(racers, func(i int) (err error) {
			won[i], err = s.MarkTaskSettled(ctx, "video_1", billing.Micros(1000+i))
			return err
		})
		winners := 0
		var cost billing.Micros
		for i, err := range errs {
			checkErr(t, err, nil)
			if won[i] {
				winners++
				cost = billing.Micros(1000 + i)
			}
		}
		diff(t, 1, winners)
		got, err := s.GetTask(ctx, "video_1")
		checkErr(t, err, nil)
		diff(t, true, got.Settled)
		diff(t, cost, got.Cost)

		for _, tc := range []struct {
			name string
			id   string
			cost billing.Micros
			ok   bool
			err  error
		}{
			{name: "again", id: "video_1", cost: 5},
			{name: "missing", id: "video_zz", err: ErrNotFound},
			{name: "negative cost", id: "video_2", cost: -1, err: ErrInvalid},
			{name: "refund", id: "video_2", cost: 0, ok: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ok, err := s.MarkTaskSettled(ctx, tc.id, tc.cost)
				checkErr(t, err, tc.err)
				diff(t, tc.ok, ok)
			})
		}
		got, err = s.GetTask(ctx, "video_1")
		checkErr(t, err, nil)
		diff(t, cost, got.Cost)

		claimed, err := s.ClaimTasks(ctx, "a", t0.Add(time.Hour), time.Minute, 10)
		checkErr(t, err, nil)
		diff(t, []string{}, taskIDs(claimed))
		unsettled, err := s.UnsettledTasks(ctx)
		checkErr(t, err, nil)
		diff(t, []string{}, taskIDs(unsettled))
	})
}

// TestReleaseStaleHoldsSkipsTasks: the sweeper refunds old holds, except
// those of tasks not yet settled.
func TestReleaseStaleHoldsSkipsTasks(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		k := mustKey(t, s, u.ID, "sk-th-a", KeyLimits{})
		mustTopUp(t, s, u.ID, 10_000)
		for _, id := range []string{"chat_1", "video_open", "video_done", "video_failed"} {
			_, err := s.Reserve(ctx, Hold{RequestID: id, UserID: u.ID, KeyID: k.ID, Amount: 1_000})
			checkErr(t, err, nil)
		}
		mustTask(t, s, newTask("video_open", u.ID, t0))
		failed := newTask("video_failed", u.ID, t0)
		failed.Status = TaskFailed // final, but its settlement has not run yet
		mustTask(t, s, failed)
		mustTask(t, s, newTask("video_done", u.ID, t0))
		ok, err := s.MarkTaskSettled(ctx, "video_done", 0) // settled, yet a crash left its hold
		checkErr(t, err, nil)
		diff(t, true, ok)
		checkBooks(t, s, u.ID, 6_000)

		n, err := s.ReleaseStaleHolds(ctx, t0.Add(time.Hour))
		checkErr(t, err, nil)
		diff(t, 2, n)
		checkBooks(t, s, u.ID, 8_000)
		var left []string
		for _, h := range readBooks(t, s).Holds {
			left = append(left, h.RequestID)
		}
		diff(t, []string{"video_failed", "video_open"}, left)

		// Settled, the task's hold may be swept like any other.
		ok, err = s.MarkTaskSettled(ctx, "video_failed", 0)
		checkErr(t, err, nil)
		diff(t, true, ok)
		n, err = s.ReleaseStaleHolds(ctx, t0.Add(time.Hour))
		checkErr(t, err, nil)
		diff(t, 1, n)
		_, err = s.Settle(ctx, "video_open", 700, "")
		checkErr(t, err, nil)
		checkBooks(t, s, u.ID, 9_300)
		checkSpent(t, s, k.ID, 700)
	})
}
