package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// concurrently runs f(0..n-1) in n goroutines released together, and
// returns their errors by index.
func concurrently(n int, f func(i int) error) []error {
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// The amounts of the concurrency tests: each request reserves 0.01 USD and
// costs 0.007 USD.
const (
	racers     = 250
	holdAmount = billing.Micros(10_000)
	callCost   = billing.Micros(7_000)
)

// TestConcurrentReserve has more requests than the money allows race for
// it. Exactly the affordable number must be admitted, the balance must
// never dip below zero, and each admitted request must settle exactly once
// even when two settlements of it race.
func TestConcurrentReserve(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		for _, tc := range []struct {
			name      string
			balance   billing.Micros
			keyLimit  billing.Micros
			admitted  int
			refusedBy error
		}{
			{name: "balance bound", balance: 1_000_000, admitted: 100, refusedBy: ErrInsufficientFunds},
			{name: "key bound", balance: 100_000_000, keyLimit: 500_000, admitted: 50, refusedBy: ErrKeySpendLimit},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				u := mustUser(t, s, tc.name)
				k := mustKey(t, s, u.ID, "sk-th-"+tc.name, KeyLimits{SpendLimit: tc.keyLimit})
				mustTopUp(t, s, u.ID, tc.balance)
				id := func(i int) string { return fmt.Sprintf("%s-%d", tc.name, i) }

				var (
					mu     sync.Mutex
					afters []billing.Micros
				)
				errs := concurrently(racers, func(i int) error {
					e, err := s.Reserve(ctx, Hold{RequestID: id(i), UserID: u.ID, KeyID: k.ID, Amount: holdAmount})
					if err == nil {
						mu.Lock()
						afters = append(afters, e.BalanceAfter)
						mu.Unlock()
					}
					return err
				})
				var admitted []int
				for i, err := range errs {
					switch {
					case err == nil:
						admitted = append(admitted, i)
					case !errors.Is(err, tc.refusedBy):
						t.Errorf("request %d: %v, want nil or %v", i, err, tc.refusedBy)
					}
				}
				if len(admitted) != tc.admitted {
					t.Fatalf("admitted %d requests, want exactly %d", len(admitted), tc.admitted)
				}
				// Reservations were applied one after another: the balances
				// they left are every step down from the top-up, none below zero.
				var want []billing.Micros
				for n := range tc.admitted {
					want = append(want, tc.balance-billing.Micros(n+1)*holdAmount)
				}
				slices.Sort(want)
				slices.Sort(afters)
				diff(t, want, afters)
				checkBooks(t, s, u.ID, tc.balance-billing.Micros(tc.admitted)*holdAmount)
				checkSpent(t, s, k.ID, billing.Micros(tc.admitted)*holdAmount)

				// Settle each admitted request twice at once: one wins.
				errs = concurrently(2*len(admitted), func(j int) error {
					_, err := s.Settle(ctx, id(admitted[j/2]), callCost, "")
					return err
				})
				for j := 0; j < len(errs); j += 2 {
					a, b := errs[j], errs[j+1]
					if !(a == nil && errors.Is(b, ErrNotFound) || b == nil && errors.Is(a, ErrNotFound)) {
						t.Errorf("request %d settled with %v and %v, want exactly one success", admitted[j/2], a, b)
					}
				}
				final := tc.balance - billing.Micros(tc.admitted)*callCost
				checkBooks(t, s, u.ID, final)
				checkSpent(t, s, k.ID, billing.Micros(tc.admitted)*callCost)
				checkLedger(t, s, u.ID, map[string]int{EntryTopUp: 1, EntryReserve: tc.admitted, EntrySettle: tc.admitted})
			})
		}
	})
}

// TestConcurrentRequests runs whole requests (reserve, then settle or, for
// every fifth, refund) at once on a balance and a key limit that cannot
// cover them all. Which ones get in depends on timing; the books must add
// up regardless.
func TestConcurrentRequests(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const balance, keyLimit = billing.Micros(1_000_000), billing.Micros(600_000)
		u := mustUser(t, s, "alice")
		k := mustKey(t, s, u.ID, "sk-th-alice", KeyLimits{SpendLimit: keyLimit})
		mustTopUp(t, s, u.ID, balance)
		settled := make([]int, racers) // 1: settled, 2: refunded
		errs := concurrently(racers, func(i int) error {
			id := fmt.Sprint("req-", i)
			if _, err := s.Reserve(ctx, Hold{RequestID: id, UserID: u.ID, KeyID: k.ID, Amount: holdAmount}); err != nil {
				return err
			}
			if i%5 == 0 {
				settled[i] = 2
				_, err := s.Refund(ctx, id, "upstream failed")
				return err
			}
			settled[i] = 1
			_, err := s.Settle(ctx, id, callCost, "")
			return err
		})
		var charged, refunded int
		for i, err := range errs {
			switch {
			case err == nil && settled[i] == 1:
				charged++
			case err == nil && settled[i] == 2:
				refunded++
			case settled[i] != 0:
				t.Errorf("request %d failed after its reservation: %v", i, err)
			case !errors.Is(err, ErrInsufficientFunds) && !errors.Is(err, ErrKeySpendLimit):
				t.Errorf("request %d: %v", i, err)
			}
		}
		if charged == 0 || charged+refunded == racers {
			t.Errorf("%d charged, %d refunded of %d: the money should have run short", charged, refunded, racers)
		}
		cost := billing.Micros(charged) * callCost
		if cost > keyLimit || cost > balance {
			t.Errorf("charged %s, over the key limit or the balance", cost)
		}
		checkBooks(t, s, u.ID, balance-cost)
		checkSpent(t, s, k.ID, cost)
		checkLedger(t, s, u.ID, map[string]int{
			EntryTopUp: 1, EntryReserve: charged + refunded, EntrySettle: charged, EntryRefund: refunded,
		})
	})
}

// checkLedger asserts how many entries of each kind a user has, and that
// no entry ever left the balance below zero.
func checkLedger(t *testing.T, s *Store, userID int64, kinds map[string]int) {
	t.Helper()
	entries, err := s.Entries(context.Background(), userID, 0, 1000)
	checkErr(t, err, nil)
	got := map[string]int{}
	for _, e := range entries {
		got[e.Kind]++
		if e.BalanceAfter < 0 {
			t.Errorf("entry %d (%s of %s) left the balance at %s", e.ID, e.Kind, e.Amount, e.BalanceAfter)
		}
	}
	for k, n := range kinds {
		if n == 0 {
			delete(kinds, k)
		}
	}
	diff(t, kinds, got)
	var holds int
	checkErr(t, s.r.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM holds WHERE user_id = $1`, userID).Scan(&holds), nil)
	if holds != 0 {
		t.Errorf("%d holds left", holds)
	}
}

// TestConcurrentCredit replays one top-up from many goroutines at once, as
// a payment webhook retried in a hurry would: it is booked exactly once.
func TestConcurrentCredit(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		entries := make([]Entry, 20)
		applied := make([]bool, len(entries))
		errs := concurrently(len(entries), func(i int) (err error) {
			entries[i], applied[i], err = s.Credit(ctx, u.ID, EntryTopUp, 5_000_000, "stripe-evt-1", "")
			return err
		})
		n := 0
		for i, err := range errs {
			checkErr(t, err, nil)
			if applied[i] {
				n++
			}
			diff(t, entries[0], entries[i])
		}
		if n != 1 {
			t.Errorf("the top-up was applied %d times", n)
		}
		checkBooks(t, s, u.ID, 5_000_000)
	})
}

// TestConcurrentOpen starts several instances on one new database at once,
// as a rolling deployment might: they take turns to migrate.
func TestConcurrentOpen(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn, box := testDSN(t, d), testBox(t)
			stores := make([]*Store, 4)
			errs := concurrently(len(stores), func(i int) (err error) {
				stores[i], err = Open(context.Background(), dsn, box)
				return err
			})
			for i, err := range errs {
				checkErr(t, err, nil)
				stores[i].now = func() time.Time { return t0 }
			}
			u := mustUser(t, stores[0], "alice")
			for _, s := range stores {
				got, err := s.GetUser(context.Background(), u.ID)
				checkErr(t, err, nil)
				diff(t, u, got)
				checkErr(t, s.Close(), nil)
			}
		})
	}
}
