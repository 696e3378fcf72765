package store

import (
	"context"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// books is everything money touches, to show that a refused operation
// changed nothing.
type books struct {
	Users   []User
	Keys    []Key
	Entries []Entry
	Holds   []Hold
}

func readBooks(t *testing.T, s *Store) books {
	t.Helper()
	ctx := context.Background()
	var b books
	var err error
	if b.Users, err = s.ListUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Keys, err = s.ListKeys(ctx, 0, ""); err != nil {
		t.Fatal(err)
	}
	if b.Entries, err = s.Entries(ctx, 0, 0, 1000); err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT request_id, user_id, COALESCE(key_id, 0), amount FROM holds ORDER BY request_id`)
	if err != nil {
		t.Fatal(err)
	}
	b.Holds, err = collect(rows, func(r rowScanner) (h Hold, err error) {
		return h, r.Scan(&h.RequestID, &h.UserID, &h.KeyID, &h.Amount)
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReserveSettle walks one user through reservations and settlements,
// checking every amount exactly, and that each refused call changed nothing.
func TestReserveSettle(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mustUser(t, s, "alice")
		bob := mustUser(t, s, "bob")
		sus := mustUser(t, s, "suspended")
		mustTopUp(t, s, alice.ID, 1_000_000)
		mustTopUp(t, s, bob.ID, 50_000)
		mustTopUp(t, s, sus.ID, 1_000_000)
		checkErr(t, s.SetUserStatus(ctx, sus.ID, UserSuspended), nil)
		ka := mustKey(t, s, alice.ID, "sk-th-limited", KeyLimits{SpendLimit: 500_000})
		kn := mustKey(t, s, alice.ID, "sk-th-unlimited", KeyLimits{})
		kb := mustKey(t, s, bob.ID, "sk-th-bob", KeyLimits{})
		ks := mustKey(t, s, sus.ID, "sk-th-sus", KeyLimits{})

		reserve := func(id string, user, key int64, amount billing.Micros) func() (Entry, error) {
			return func() (Entry, error) {
				return s.Reserve(ctx, Hold{RequestID: id, UserID: user, KeyID: key, Amount: amount})
			}
		}
		settle := func(id string, cost billing.Micros) func() (Entry, error) {
			return func() (Entry, error) { return s.Settle(ctx, id, cost, "settled "+id) }
		}
		refund := func(id string) func() (Entry, error) {
			return func() (Entry, error) { return s.Refund(ctx, id, "refunded "+id) }
		}
		entry := func(user int64, kind string, amount, after billing.Micros, ref, note string) *Entry {
			return &Entry{UserID: user, Kind: kind, Amount: amount, BalanceAfter: after, Ref: ref, Note: note, Created: t0}
		}
		for _, tc := range []struct {
			name   string
			setup  func()
			op     func() (Entry, error)
			want   *Entry // nil when err is set
			err    error
			alice  billing.Micros // alice's balance afterwards
			ka, kn billing.Micros // spent afterwards
		}{
			{name: "reserve", op: reserve("r1", alice.ID, ka.ID, 300_000),
				want: entry(alice.ID, EntryReserve, -300_000, 700_000, "r1", ""), alice: 700_000, ka: 300_000},
			{name: "same request id", op: reserve("r1", alice.ID, ka.ID, 1), err: ErrConflict, alice: 700_000, ka: 300_000},
			{name: "same request id beyond the balance", op: reserve("r1", alice.ID, ka.ID, 10_000_000),
				err: ErrConflict, alice: 700_000, ka: 300_000},
			{name: "over the key's spend limit", op: reserve("r2", alice.ID, ka.ID, 200_001),
				err: ErrKeySpendLimit, alice: 700_000, ka: 300_000},
			{name: "up to the key's spend limit", op: reserve("r2", alice.ID, ka.ID, 200_000),
				want: entry(alice.ID, EntryReserve, -200_000, 500_000, "r2", ""), alice: 500_000, ka: 500_000},
			{name: "over the balance", op: reserve("r3", alice.ID, kn.ID, 500_001),
				err: ErrInsufficientFunds, alice: 500_000, ka: 500_000},
			{name: "the whole balance", op: reserve("r3", alice.ID, kn.ID, 500_000),
				want: entry(alice.ID, EntryReserve, -500_000, 0, "r3", ""), alice: 0, ka: 500_000, kn: 500_000},
			{name: "free model at zero balance", op: reserve("r4", alice.ID, kn.ID, 0),
				want: entry(alice.ID, EntryReserve, 0, 0, "r4", ""), alice: 0, ka: 500_000, kn: 500_000},
			{name: "key of another user", op: reserve("r6", alice.ID, kb.ID, 0),
				err: ErrNotFound, ka: 500_000, kn: 500_000},
			{name: "unknown key", op: reserve("r6", alice.ID, 999, 0), err: ErrNotFound, ka: 500_000, kn: 500_000},
			{name: "unknown user", op: reserve("r6", 999, 0, 0), err: ErrNotFound, ka: 500_000, kn: 500_000},
			{name: "suspended user", op: reserve("r6", sus.ID, ks.ID, 1), err: ErrUserInactive, ka: 500_000, kn: 500_000},
			{name: "empty request id", op: reserve("", alice.ID, kn.ID, 0), err: ErrInvalid, ka: 500_000, kn: 500_000},
			{name: "negative amount", op: reserve("r6", alice.ID, kn.ID, -1), err: ErrInvalid, ka: 500_000, kn: 500_000},
			{name: "no money, no credit", op: reserve("r5", alice.ID, kn.ID, 1), err: ErrInsufficientFunds, ka: 500_000, kn: 500_000},
			{name: "into the credit limit", setup: func() { checkErr(t, s.SetCreditLimit(ctx, alice.ID, 100_000), nil) },
				op:   reserve("r5", alice.ID, kn.ID, 100_000),
				want: entry(alice.ID, EntryReserve, -100_000, -100_000, "r5", ""), alice: -100_000, ka: 500_000, kn: 600_000},
			{name: "beyond the credit limit", op: reserve("r6", alice.ID, kn.ID, 1),
				err: ErrInsufficientFunds, alice: -100_000, ka: 500_000, kn: 600_000},
			{name: "without a key", op: reserve("r7", bob.ID, 0, 20_000),
				want: entry(bob.ID, EntryReserve, -20_000, 30_000, "r7", ""), alice: -100_000, ka: 500_000, kn: 600_000},

			// spent += cost - hold; balance += hold - cost.
			{name: "settle below the hold", op: settle("r1", 250_000),
				want: entry(alice.ID, EntrySettle, 50_000, -50_000, "r1", "settled r1"), alice: -50_000, ka: 450_000, kn: 600_000},
			{name: "settle twice", op: settle("r1", 1), err: ErrNotFound, alice: -50_000, ka: 450_000, kn: 600_000},
			{name: "refund after settle", op: refund("r1"), err: ErrNotFound, alice: -50_000, ka: 450_000, kn: 600_000},
			{name: "settle above the hold, past the credit limit", op: settle("r2", 260_000),
				want: entry(alice.ID, EntrySettle, -60_000, -110_000, "r2", "settled r2"), alice: -110_000, ka: 510_000, kn: 600_000},
			{name: "refund", op: refund("r3"),
				want: entry(alice.ID, EntryRefund, 500_000, 390_000, "r3", "refunded r3"), alice: 390_000, ka: 510_000, kn: 100_000},
			{name: "settle after refund", op: settle("r3", 0), err: ErrNotFound, alice: 390_000, ka: 510_000, kn: 100_000},
			{name: "refund twice", op: refund("r3"), err: ErrNotFound, alice: 390_000, ka: 510_000, kn: 100_000},
			{name: "settle a free request", op: settle("r4", 0),
				want: entry(alice.ID, EntrySettle, 0, 390_000, "r4", "settled r4"), alice: 390_000, ka: 510_000, kn: 100_000},
			{name: "negative cost", op: settle("r5", -1), err: ErrInvalid, alice: 390_000, ka: 510_000, kn: 100_000},
			{name: "settle into the credit", op: settle("r5", 7),
				want: entry(alice.ID, EntrySettle, 99_993, 489_993, "r5", "settled r5"), alice: 489_993, ka: 510_000, kn: 7},
			{name: "settle without a key", op: settle("r7", 5_000),
				want: entry(bob.ID, EntrySettle, 15_000, 45_000, "r7", "settled r7"), alice: 489_993, ka: 510_000, kn: 7},
			{name: "settle unknown", op: settle("nope", 1), err: ErrNotFound, alice: 489_993, ka: 510_000, kn: 7},
			{name: "refund unknown", op: refund("nope"), err: ErrNotFound, alice: 489_993, ka: 510_000, kn: 7},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.setup != nil {
					tc.setup()
				}
				before := readBooks(t, s)
				got, err := tc.op()
				checkErr(t, err, tc.err)
				if err != nil {
					diff(t, before, readBooks(t, s))
				} else {
					tc.want.ID = got.ID
					diff(t, *tc.want, got)
				}
				checkBooks(t, s, alice.ID, tc.alice)
				checkSpent(t, s, ka.ID, tc.ka)
				checkSpent(t, s, kn.ID, tc.kn)
			})
		}
		checkBooks(t, s, bob.ID, 45_000)
		checkSpent(t, s, kb.ID, 0)
		checkBooks(t, s, sus.ID, 1_000_000)
		if h := readBooks(t, s).Holds; len(h) != 0 {
			t.Errorf("holds left: %v", h)
		}
	})
}

func TestReleaseStaleHolds(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		k := mustKey(t, s, u.ID, "sk-th-a", KeyLimits{})
		mustTopUp(t, s, u.ID, 1_000)
		for i, id := range []string{"old1", "old2", "new"} {
			at := t0.Add(time.Duration(i) * time.Minute)
			s.now = func() time.Time { return at }
			_, err := s.Reserve(ctx, Hold{RequestID: id, UserID: u.ID, KeyID: k.ID, Amount: 100})
			checkErr(t, err, nil)
		}
		s.now = func() time.Time { return t0 }
		checkBooks(t, s, u.ID, 700)

		n, err := s.ReleaseStaleHolds(ctx, t0.Add(90*time.Second))
		checkErr(t, err, nil)
		diff(t, 2, n)
		checkBooks(t, s, u.ID, 900)
		checkSpent(t, s, k.ID, 100)
		entries, err := s.Entries(ctx, u.ID, 0, 2)
		checkErr(t, err, nil)
		diff(t, []Entry{
			{ID: entries[0].ID, UserID: u.ID, Kind: EntryRefund, Amount: 100, BalanceAfter: 900, Ref: "old2", Note: "stale hold released", Created: t0},
			{ID: entries[1].ID, UserID: u.ID, Kind: EntryRefund, Amount: 100, BalanceAfter: 800, Ref: "old1", Note: "stale hold released", Created: t0},
		}, entries)

		n, err = s.ReleaseStaleHolds(ctx, t0.Add(90*time.Second))
		checkErr(t, err, nil)
		diff(t, 0, n)
		_, err = s.Settle(ctx, "new", 40, "")
		checkErr(t, err, nil)
		checkBooks(t, s, u.ID, 960)
		checkSpent(t, s, k.ID, 40)
	})
}
