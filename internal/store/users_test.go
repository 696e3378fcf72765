package store

import (
	"context"
	"testing"

	"github.com/tokenhot/tokenhot/internal/apikey"
)

func TestCreateUser(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustUser(t, s, "taken")
		for _, tc := range []struct {
			name, input string
			want        User
			err         error
		}{
			{name: "ok", input: "alice", want: User{Name: "alice", Status: UserActive, CreatedAt: t0}},
			{name: "trimmed", input: "  bob ", want: User{Name: "bob", Status: UserActive, CreatedAt: t0}},
			{name: "empty", input: "", err: ErrInvalid},
			{name: "whitespace", input: " \t\n", err: ErrInvalid},
			{name: "reserved prefix", input: "deleted-7", err: ErrInvalid},
			{name: "taken", input: "taken", err: ErrConflict},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.CreateUser(ctx, tc.input)
				checkErr(t, err, tc.err)
				if err != nil {
					return
				}
				if got.ID == 0 {
					t.Fatal("no id assigned")
				}
				tc.want.ID = got.ID
				diff(t, tc.want, got)
				stored, err := s.GetUser(ctx, got.ID)
				checkErr(t, err, nil)
				diff(t, got, stored)
				byName, err := s.GetUserByName(ctx, tc.input)
				checkErr(t, err, nil)
				diff(t, got, byName)
			})
		}
	})
}

func TestGetUserNotFound(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, err := s.GetUser(ctx, 42)
		checkErr(t, err, ErrNotFound)
		_, err = s.GetUserByName(ctx, "nobody")
		checkErr(t, err, ErrNotFound)
	})
}

func TestUserSettings(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		gone := mustUser(t, s, "gone")
		checkErr(t, s.DeleteUser(ctx, gone.ID), nil)
		for _, tc := range []struct {
			name string
			run  func() error
			err  error
			want User // after the call
		}{
			{name: "suspend", run: func() error { return s.SetUserStatus(ctx, u.ID, UserSuspended) },
				want: User{Status: UserSuspended}},
			{name: "reactivate", run: func() error { return s.SetUserStatus(ctx, u.ID, UserActive) },
				want: User{Status: UserActive}},
			{name: "status deleted is not settable", run: func() error { return s.SetUserStatus(ctx, u.ID, UserDeleted) },
				err: ErrInvalid, want: User{Status: UserActive}},
			{name: "unknown status", run: func() error { return s.SetUserStatus(ctx, u.ID, "frozen") },
				err: ErrInvalid, want: User{Status: UserActive}},
			{name: "status of unknown user", run: func() error { return s.SetUserStatus(ctx, 999, UserActive) },
				err: ErrNotFound, want: User{Status: UserActive}},
			{name: "status of deleted user", run: func() error { return s.SetUserStatus(ctx, gone.ID, UserActive) },
				err: ErrNotFound, want: User{Status: UserActive}},
			{name: "credit limit", run: func() error { return s.SetCreditLimit(ctx, u.ID, 5_000_000) },
				want: User{Status: UserActive, CreditLimit: 5_000_000}},
			{name: "negative credit limit", run: func() error { return s.SetCreditLimit(ctx, u.ID, -1) },
				err: ErrInvalid, want: User{Status: UserActive, CreditLimit: 5_000_000}},
			{name: "credit limit of unknown user", run: func() error { return s.SetCreditLimit(ctx, 999, 1) },
				err: ErrNotFound, want: User{Status: UserActive, CreditLimit: 5_000_000}},
			{name: "credit limit of deleted user", run: func() error { return s.SetCreditLimit(ctx, gone.ID, 1) },
				err: ErrNotFound, want: User{Status: UserActive, CreditLimit: 5_000_000}},
			{name: "credit limit back to zero", run: func() error { return s.SetCreditLimit(ctx, u.ID, 0) },
				want: User{Status: UserActive}},
			{name: "rate limits", run: func() error { return s.SetUserLimits(ctx, u.ID, Limits{RPM: 600, TPM: 5_000_000_000, Concurrent: 8}) },
				want: User{Status: UserActive, Limits: Limits{RPM: 600, TPM: 5_000_000_000, Concurrent: 8}}},
			{name: "rate limits are replaced", run: func() error { return s.SetUserLimits(ctx, u.ID, Limits{Concurrent: 2}) },
				want: User{Status: UserActive, Limits: Limits{Concurrent: 2}}},
			{name: "negative rate limit", run: func() error { return s.SetUserLimits(ctx, u.ID, Limits{RPM: 5, TPM: -1}) },
				err: ErrInvalid, want: User{Status: UserActive, Limits: Limits{Concurrent: 2}}},
			{name: "rate limits of unknown user", run: func() error { return s.SetUserLimits(ctx, 999, Limits{RPM: 1}) },
				err: ErrNotFound, want: User{Status: UserActive, Limits: Limits{Concurrent: 2}}},
			{name: "rate limits of deleted user", run: func() error { return s.SetUserLimits(ctx, gone.ID, Limits{RPM: 1}) },
				err: ErrNotFound, want: User{Status: UserActive, Limits: Limits{Concurrent: 2}}},
			{name: "rate limits cleared", run: func() error { return s.SetUserLimits(ctx, u.ID, Limits{}) },
				want: User{Status: UserActive}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkErr(t, tc.run(), tc.err)
				got, err := s.GetUser(ctx, u.ID)
				checkErr(t, err, nil)
				tc.want.ID, tc.want.Name, tc.want.CreatedAt = u.ID, u.Name, u.CreatedAt
				diff(t, tc.want, got)
			})
		}
	})
}

func TestListUsers(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		got, err := s.ListUsers(ctx)
		checkErr(t, err, nil)
		diff(t, []User(nil), got)
		a := mustUser(t, s, "a")
		b := mustUser(t, s, "b")
		c := mustUser(t, s, "c")
		checkErr(t, s.SetUserStatus(ctx, c.ID, UserSuspended), nil)
		c.Status = UserSuspended
		checkErr(t, s.DeleteUser(ctx, b.ID), nil)
		got, err = s.ListUsers(ctx)
		checkErr(t, err, nil)
		diff(t, []User{a, c}, got)
	})
}

func TestDeleteUser(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		k1 := mustKey(t, s, u.ID, "sk-th-one", KeyLimits{})
		k2 := mustKey(t, s, u.ID, "sk-th-two", KeyLimits{})
		checkErr(t, s.RevokeKey(ctx, k2.ID), nil)
		other := mustUser(t, s, "bob")
		ko := mustKey(t, s, other.ID, "sk-th-bob", KeyLimits{})
		mustTopUp(t, s, u.ID, 3_000_000)
		// A request in flight when the user is deleted still settles.
		_, err := s.Reserve(ctx, Hold{RequestID: "r1", UserID: u.ID, KeyID: k1.ID, Amount: 1_000_000})
		checkErr(t, err, nil)

		checkErr(t, s.DeleteUser(ctx, u.ID), nil)

		got, err := s.GetUser(ctx, u.ID)
		checkErr(t, err, nil)
		diff(t, User{ID: u.ID, Name: "deleted-" + itoa(u.ID), Status: UserDeleted, Balance: 2_000_000, CreatedAt: t0}, got)
		for _, id := range []int64{k1.ID, k2.ID} {
			k, err := s.GetKey(ctx, id)
			checkErr(t, err, nil)
			if k.Status != KeyRevoked {
				t.Errorf("key %d status %q, want revoked", id, k.Status)
			}
		}
		active, err := s.ActiveKeys(ctx)
		checkErr(t, err, nil)
		diff(t, []Key{ko}, active)

		_, err = s.Settle(ctx, "r1", 400_000, "")
		checkErr(t, err, nil)
		checkBooks(t, s, u.ID, 2_600_000)
		entries, err := s.Entries(ctx, u.ID, 0, 0)
		checkErr(t, err, nil)
		if len(entries) != 3 {
			t.Errorf("%d ledger entries kept, want 3", len(entries))
		}

		// The name is free again; the deleted user cannot be touched.
		again := mustUser(t, s, "alice")
		if again.ID == u.ID {
			t.Error("new user reused the deleted user's id")
		}
		checkErr(t, s.DeleteUser(ctx, u.ID), ErrNotFound)
		checkErr(t, s.DeleteUser(ctx, 999), ErrNotFound)
		_, err = s.Reserve(ctx, Hold{RequestID: "r2", UserID: u.ID, Amount: 1})
		checkErr(t, err, ErrUserInactive)
		_, _, err = s.Credit(ctx, u.ID, EntryTopUp, 1, "", "")
		checkErr(t, err, ErrNotFound)
		_, err = s.CreateKey(ctx, u.ID, "k", apikey.Hash("sk-th-three"), "sk-th-thr", KeyLimits{})
		checkErr(t, err, ErrNotFound)
	})
}
