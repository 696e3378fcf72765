package store

import (
	"context"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/billing"
)

func TestCredit(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		other := mustUser(t, s, "bob")
		gone := mustUser(t, s, "gone")
		checkErr(t, s.DeleteUser(ctx, gone.ID), nil)
		var firstID int64
		for _, tc := range []struct {
			name    string
			userID  int64
			kind    string
			amount  billing.Micros
			ref     string
			want    Entry // ID and, for generated refs, Ref are filled in
			applied bool
			balance billing.Micros // alice's, afterwards
			err     error
		}{
			{name: "top-up", userID: u.ID, kind: EntryTopUp, amount: 10_000_000, ref: "pay-1",
				want:    Entry{UserID: u.ID, Kind: EntryTopUp, Amount: 10_000_000, BalanceAfter: 10_000_000, Ref: "pay-1"},
				applied: true, balance: 10_000_000},
			{name: "same ref again changes nothing", userID: u.ID, kind: EntryTopUp, amount: 10_000_000, ref: "pay-1",
				want:    Entry{UserID: u.ID, Kind: EntryTopUp, Amount: 10_000_000, BalanceAfter: 10_000_000, Ref: "pay-1", Note: "top-up"},
				balance: 10_000_000},
			{name: "same ref, other amount", userID: u.ID, kind: EntryTopUp, amount: 5, ref: "pay-1", err: ErrConflict, balance: 10_000_000},
			{name: "same ref, other user", userID: other.ID, kind: EntryTopUp, amount: 10_000_000, ref: "pay-1", err: ErrConflict, balance: 10_000_000},
			{name: "same ref, other kind", userID: u.ID, kind: EntryAdjust, amount: -250_000, ref: "pay-1",
				want:    Entry{UserID: u.ID, Kind: EntryAdjust, Amount: -250_000, BalanceAfter: 9_750_000, Ref: "pay-1"},
				applied: true, balance: 9_750_000},
			{name: "adjust below zero", userID: u.ID, kind: EntryAdjust, amount: -20_000_000,
				want:    Entry{UserID: u.ID, Kind: EntryAdjust, Amount: -20_000_000, BalanceAfter: -10_250_000},
				applied: true, balance: -10_250_000},
			{name: "top-up without ref", userID: u.ID, kind: EntryTopUp, amount: 250_000,
				want:    Entry{UserID: u.ID, Kind: EntryTopUp, Amount: 250_000, BalanceAfter: -10_000_000},
				applied: true, balance: -10_000_000},
			{name: "another top-up without ref", userID: u.ID, kind: EntryTopUp, amount: 250_000,
				want:    Entry{UserID: u.ID, Kind: EntryTopUp, Amount: 250_000, BalanceAfter: -9_750_000},
				applied: true, balance: -9_750_000},
			{name: "zero top-up", userID: u.ID, kind: EntryTopUp, amount: 0, err: ErrInvalid, balance: -9_750_000},
			{name: "negative top-up", userID: u.ID, kind: EntryTopUp, amount: -1, err: ErrInvalid, balance: -9_750_000},
			{name: "zero adjust", userID: u.ID, kind: EntryAdjust, amount: 0, err: ErrInvalid, balance: -9_750_000},
			{name: "huge", userID: u.ID, kind: EntryAdjust, amount: maxAmount + 1, err: ErrInvalid, balance: -9_750_000},
			{name: "hold kinds are not credits", userID: u.ID, kind: EntrySettle, amount: 1, err: ErrInvalid, balance: -9_750_000},
			{name: "unknown user", userID: 999, kind: EntryTopUp, amount: 1, err: ErrNotFound, balance: -9_750_000},
			{name: "deleted user", userID: gone.ID, kind: EntryTopUp, amount: 1, err: ErrNotFound, balance: -9_750_000},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, applied, err := s.Credit(ctx, tc.userID, tc.kind, tc.amount, tc.ref, tc.name)
				checkErr(t, err, tc.err)
				checkBooks(t, s, u.ID, tc.balance)
				if err != nil {
					return
				}
				if applied != tc.applied {
					t.Errorf("applied = %v, want %v", applied, tc.applied)
				}
				if tc.ref == "" {
					if !strings.HasPrefix(got.Ref, tc.kind+"-") || len(got.Ref) < 20 {
						t.Errorf("generated ref %q", got.Ref)
					}
					tc.want.Ref = got.Ref
				}
				if firstID == 0 {
					firstID = got.ID
				}
				if tc.want.Note == "" {
					tc.want.Note = tc.name
				}
				tc.want.ID, tc.want.Created = got.ID, t0
				diff(t, tc.want, got)
			})
		}
		// The replayed top-up returned the first entry, not a new one.
		entries, err := s.Entries(ctx, u.ID, 0, 0)
		checkErr(t, err, nil)
		if len(entries) != 5 || entries[len(entries)-1].ID != firstID {
			t.Errorf("ledger has %d entries, oldest %d; want 5, oldest %d", len(entries), entries[len(entries)-1].ID, firstID)
		}
		checkBooks(t, s, other.ID, 0)
	})
}

func TestEntries(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a := mustUser(t, s, "a")
		b := mustUser(t, s, "b")
		var all, ofA []Entry
		for i := range 7 {
			u := a
			if i%3 == 2 {
				u = b
			}
			e, _, err := s.Credit(ctx, u.ID, EntryTopUp, billing.Micros(i+1), "", "")
			checkErr(t, err, nil)
			all = append([]Entry{e}, all...)
			if u.ID == a.ID {
				ofA = append([]Entry{e}, ofA...)
			}
		}
		for _, tc := range []struct {
			name             string
			userID, beforeID int64
			limit            int
			want             []Entry
		}{
			{name: "newest first", userID: a.ID, want: ofA},
			{name: "limit", userID: a.ID, limit: 2, want: ofA[:2]},
			{name: "next page", userID: a.ID, beforeID: ofA[1].ID, limit: 2, want: ofA[2:4]},
			{name: "last page", userID: a.ID, beforeID: ofA[3].ID, limit: 2, want: ofA[4:]},
			{name: "past the end", userID: a.ID, beforeID: ofA[4].ID, want: nil},
			{name: "everyone", want: all},
			{name: "everyone, paged", beforeID: all[2].ID, limit: 3, want: all[3:6]},
			{name: "unknown user", userID: 999, want: nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Entries(ctx, tc.userID, tc.beforeID, tc.limit)
				checkErr(t, err, nil)
				diff(t, tc.want, got)
			})
		}
		sum, err := s.LedgerSum(ctx, b.ID)
		checkErr(t, err, nil)
		diff(t, billing.Micros(3+6), sum)
		sum, err = s.LedgerSum(ctx, 999)
		checkErr(t, err, nil)
		diff(t, billing.Micros(0), sum)
	})
}

func TestLimitRows(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 100}, {-3, 100}, {1, 1}, {1000, 1000}, {1001, 1000}} {
		if got := limitRows(tc.in); got != tc.want {
			t.Errorf("limitRows(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// The database itself refuses to rewrite history, whatever code runs.
func TestLedgerAppendOnly(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		mustTopUp(t, s, u.ID, 100)
		for _, q := range []string{
			`UPDATE ledger SET amount = 1000000`,
			`DELETE FROM ledger`,
		} {
			t.Run(q, func(t *testing.T) {
				_, err := s.w.ExecContext(ctx, q)
				if err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: %v, want an append-only error", q, err)
				}
			})
		}
		checkBooks(t, s, u.ID, 100)
	})
}
