package store

import (
	"context"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/apikey"
)

func TestCreateKey(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		gone := mustUser(t, s, "gone")
		checkErr(t, s.DeleteUser(ctx, gone.ID), nil)
		mustKey(t, s, u.ID, "sk-th-taken", KeyLimits{})
		// Not on a microsecond: the store keeps microseconds, in UTC.
		exp := time.Date(2027, 6, 1, 12, 0, 0, 999, time.FixedZone("X", 3600))
		expStored := time.Date(2027, 6, 1, 11, 0, 0, 0, time.UTC)
		for _, tc := range []struct {
			name   string
			userID int64
			secret string
			limits KeyLimits
			want   KeyLimits
			err    error
		}{
			{name: "no limits", userID: u.ID, secret: "sk-th-plain"},
			{name: "all limits", userID: u.ID, secret: "sk-th-limited",
				limits: KeyLimits{ExpiresAt: &exp, SpendLimit: 5_000_000, AllowedModels: []string{"gpt-4o", "claude"}, AllowedIPs: []string{"10.0.0.0/8"},
					Rate: Limits{RPM: 60, TPM: 3_000_000_000, Concurrent: 4}},
				want: KeyLimits{ExpiresAt: &expStored, SpendLimit: 5_000_000, AllowedModels: []string{"gpt-4o", "claude"}, AllowedIPs: []string{"10.0.0.0/8"},
					Rate: Limits{RPM: 60, TPM: 3_000_000_000, Concurrent: 4}}},
			{name: "rate limits only", userID: u.ID, secret: "sk-th-rate",
				limits: KeyLimits{Rate: Limits{TPM: 1000}}, want: KeyLimits{Rate: Limits{TPM: 1000}}},
			{name: "empty lists read back as nil", userID: u.ID, secret: "sk-th-empty",
				limits: KeyLimits{AllowedModels: []string{}, AllowedIPs: []string{}}},
			{name: "duplicate hash", userID: u.ID, secret: "sk-th-taken", err: ErrConflict},
			{name: "unknown user", userID: 999, secret: "sk-th-nobody", err: ErrNotFound},
			{name: "deleted user", userID: gone.ID, secret: "sk-th-gone", err: ErrNotFound},
			{name: "negative spend limit", userID: u.ID, secret: "sk-th-neg", limits: KeyLimits{SpendLimit: -1}, err: ErrInvalid},
			{name: "negative rpm", userID: u.ID, secret: "sk-th-neg", limits: KeyLimits{Rate: Limits{RPM: -1}}, err: ErrInvalid},
			{name: "negative tpm", userID: u.ID, secret: "sk-th-neg", limits: KeyLimits{Rate: Limits{TPM: -1}}, err: ErrInvalid},
			{name: "negative concurrent", userID: u.ID, secret: "sk-th-neg", limits: KeyLimits{Rate: Limits{Concurrent: -1}}, err: ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				hash := apikey.Hash(tc.secret)
				got, err := s.CreateKey(ctx, tc.userID, tc.name, hash, apikey.Display(tc.secret), tc.limits)
				checkErr(t, err, tc.err)
				if err != nil {
					return
				}
				want := Key{ID: got.ID, UserID: tc.userID, Name: tc.name, Prefix: apikey.Display(tc.secret),
					Hash: hash, Status: KeyActive, Limits: tc.want, Created: t0}
				diff(t, want, got)
				stored, err := s.GetKey(ctx, got.ID)
				checkErr(t, err, nil)
				diff(t, want, stored)
				byHash, err := s.KeyByHash(ctx, hash)
				checkErr(t, err, nil)
				diff(t, want, byHash)
			})
		}
		_, err := s.GetKey(ctx, 999)
		checkErr(t, err, ErrNotFound)
		_, err = s.KeyByHash(ctx, apikey.Hash("sk-th-unknown"))
		checkErr(t, err, ErrNotFound)
	})
}

func TestListKeys(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a := mustUser(t, s, "a")
		b := mustUser(t, s, "b")
		create := func(userID int64, prefix string) Key {
			t.Helper()
			k, err := s.CreateKey(ctx, userID, "", apikey.Hash(prefix), prefix, KeyLimits{})
			checkErr(t, err, nil)
			return k
		}
		k1 := create(a.ID, "sk-th-Abc")
		k2 := create(a.ID, "sk-th-abd")
		k3 := create(b.ID, "sk-th-Abz")
		k4 := create(b.ID, "sk_th_x%y")
		checkErr(t, s.RevokeKey(ctx, k2.ID), nil)
		k2.Status = KeyRevoked
		for _, tc := range []struct {
			name   string
			userID int64
			prefix string
			want   []Key
		}{
			{name: "all", want: []Key{k1, k2, k3, k4}},
			{name: "one user, revoked included", userID: a.ID, want: []Key{k1, k2}},
			{name: "prefix is case-sensitive", prefix: "sk-th-A", want: []Key{k1, k3}},
			{name: "prefix and user", userID: b.ID, prefix: "sk-th-A", want: []Key{k3}},
			{name: "underscore is not a wildcard", prefix: "sk_", want: []Key{k4}},
			{name: "percent is not a wildcard", prefix: "sk_th_x%", want: []Key{k4}},
			{name: "whole prefix", prefix: "sk-th-abd", want: []Key{k2}},
			{name: "longer than any prefix", prefix: "sk-th-abdX", want: nil},
			{name: "unknown user", userID: 999, want: nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListKeys(ctx, tc.userID, tc.prefix)
				checkErr(t, err, nil)
				diff(t, tc.want, got)
			})
		}
	})
}

func TestKeyChanges(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		k := mustKey(t, s, u.ID, "sk-th-key", KeyLimits{SpendLimit: 100})
		exp := t0.Add(time.Hour)
		for _, tc := range []struct {
			name string
			run  func() error
			err  error
			want func(*Key)
		}{
			{name: "set limits", run: func() error {
				return s.SetKeyLimits(ctx, k.ID, KeyLimits{ExpiresAt: &exp, SpendLimit: 7, AllowedModels: []string{"m"}})
			}, want: func(k *Key) { k.Limits = KeyLimits{ExpiresAt: &exp, SpendLimit: 7, AllowedModels: []string{"m"}} }},
			{name: "set rate limits", run: func() error {
				return s.SetKeyLimits(ctx, k.ID, KeyLimits{SpendLimit: 7, Rate: Limits{RPM: 10, TPM: 20, Concurrent: 3}})
			}, want: func(k *Key) { k.Limits = KeyLimits{SpendLimit: 7, Rate: Limits{RPM: 10, TPM: 20, Concurrent: 3}} }},
			{name: "negative rate limit", run: func() error {
				return s.SetKeyLimits(ctx, k.ID, KeyLimits{Rate: Limits{Concurrent: -2}})
			}, err: ErrInvalid, want: func(k *Key) {}},
			{name: "clear limits", run: func() error { return s.SetKeyLimits(ctx, k.ID, KeyLimits{}) },
				want: func(k *Key) { k.Limits = KeyLimits{} }},
			{name: "negative spend limit", run: func() error { return s.SetKeyLimits(ctx, k.ID, KeyLimits{SpendLimit: -5}) },
				err: ErrInvalid, want: func(k *Key) {}},
			{name: "limits of unknown key", run: func() error { return s.SetKeyLimits(ctx, 999, KeyLimits{}) },
				err: ErrNotFound, want: func(k *Key) {}},
			{name: "revoke", run: func() error { return s.RevokeKey(ctx, k.ID) },
				want: func(k *Key) { k.Status = KeyRevoked }},
			{name: "revoke twice", run: func() error { return s.RevokeKey(ctx, k.ID) }, want: func(k *Key) {}},
			{name: "revoke unknown key", run: func() error { return s.RevokeKey(ctx, 999) },
				err: ErrNotFound, want: func(k *Key) {}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkErr(t, tc.run(), tc.err)
				tc.want(&k)
				got, err := s.GetKey(ctx, k.ID)
				checkErr(t, err, nil)
				diff(t, k, got)
			})
		}
	})
}

func TestActiveKeys(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		got, err := s.ActiveKeys(ctx)
		checkErr(t, err, nil)
		diff(t, []Key(nil), got)

		a := mustUser(t, s, "active")
		sus := mustUser(t, s, "suspended")
		del := mustUser(t, s, "deleted")
		ka := mustKey(t, s, a.ID, "sk-th-a", KeyLimits{AllowedIPs: []string{"127.0.0.1"}})
		kr := mustKey(t, s, a.ID, "sk-th-revoked", KeyLimits{})
		ks := mustKey(t, s, sus.ID, "sk-th-s", KeyLimits{})
		mustKey(t, s, del.ID, "sk-th-d", KeyLimits{})
		checkErr(t, s.RevokeKey(ctx, kr.ID), nil)
		checkErr(t, s.SetUserStatus(ctx, sus.ID, UserSuspended), nil)
		checkErr(t, s.DeleteUser(ctx, del.ID), nil)

		got, err = s.ActiveKeys(ctx)
		checkErr(t, err, nil)
		diff(t, []Key{ka, ks}, got)
	})
}
