package store

import (
	"context"
	"testing"
	"time"
)

func TestRegisterAndCredentials(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, err := s.Register(ctx, Registration{Name: " carol ", PasswordHash: "h1", TermsAccepted: t0})
		checkErr(t, err, nil)
		diff(t, "carol", u.Name)
		got, hash, err := s.Credentials(ctx, "carol")
		checkErr(t, err, nil)
		diff(t, u.ID, got.ID)
		diff(t, "h1", hash)

		_, err = s.Register(ctx, Registration{Name: "carol", PasswordHash: "h2", TermsAccepted: t0})
		checkErr(t, err, ErrConflict)
		_, err = s.Register(ctx, Registration{Name: "dave", TermsAccepted: t0})
		checkErr(t, err, ErrInvalid)

		// A user made by the operator has no password.
		op := mustUser(t, s, "operator-made")
		_, hash, err = s.Credentials(ctx, "operator-made")
		checkErr(t, err, nil)
		diff(t, "", hash)
		checkErr(t, s.SetPasswordHash(ctx, op.ID, "h3"), nil)
		hash, err = s.PasswordHash(ctx, op.ID)
		checkErr(t, err, nil)
		diff(t, "h3", hash)
		checkErr(t, s.SetPasswordHash(ctx, op.ID, ""), ErrInvalid)

		// Deleted users have no credentials.
		checkErr(t, s.DeleteUser(ctx, op.ID), nil)
		_, _, err = s.Credentials(ctx, "operator-made")
		checkErr(t, err, ErrNotFound)
		checkErr(t, s.SetPasswordHash(ctx, op.ID, "h4"), ErrNotFound)
	})
}

func TestRegisterWithInvite(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		past := t0.Add(-time.Hour)
		checkErr(t, s.CreateInvite(ctx, "good", nil), nil)
		checkErr(t, s.CreateInvite(ctx, "old", &past), nil)
		checkErr(t, s.CreateInvite(ctx, "good", nil), ErrConflict)

		for _, tc := range []struct {
			name, user, invite string
			err                error
		}{
			{name: "unknown invite", user: "u1", invite: "nope", err: ErrNotFound},
			{name: "expired invite", user: "u2", invite: "old", err: ErrNotFound},
			{name: "good invite", user: "u3", invite: "good"},
			{name: "used invite", user: "u4", invite: "good", err: ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Register(ctx, Registration{Name: tc.user, PasswordHash: "h", TermsAccepted: t0, InviteDigest: tc.invite})
				checkErr(t, err, tc.err)
				_, err = s.GetUserByName(ctx, tc.user)
				if tc.err != nil {
					checkErr(t, err, ErrNotFound) // the failed sign-up created nothing
				} else {
					checkErr(t, err, nil)
				}
			})
		}
	})
}

func TestSessions(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "erin")
		other := mustUser(t, s, "frank")
		want := Session{Digest: "d1", UserID: u.ID, CSRF: "c1", Created: t0, Expires: t0.Add(time.Hour)}
		checkErr(t, s.CreateSession(ctx, want), nil)
		checkErr(t, s.CreateSession(ctx, Session{Digest: "d2", UserID: u.ID, CSRF: "c2", Created: t0, Expires: t0}), nil)
		checkErr(t, s.CreateSession(ctx, Session{Digest: "d3", UserID: other.ID, CSRF: "c3", Created: t0, Expires: t0}), nil)
		checkErr(t, s.CreateSession(ctx, Session{Digest: "d4", UserID: 999999, CSRF: "c", Created: t0, Expires: t0}), ErrNotFound)
		checkErr(t, s.CreateSession(ctx, Session{Digest: "", UserID: u.ID, CSRF: "c"}), ErrInvalid)

		got, err := s.Session(ctx, "d1")
		checkErr(t, err, nil)
		diff(t, want, got)
		_, err = s.Session(ctx, "missing")
		checkErr(t, err, ErrNotFound)

		// Expired sessions are swept; live ones stay.
		n, err := s.DeleteExpiredSessions(ctx, t0.Add(time.Minute))
		checkErr(t, err, nil)
		diff(t, int64(2), n)
		_, err = s.Session(ctx, "d1")
		checkErr(t, err, nil)

		// A password change ends every other session of the user only.
		checkErr(t, s.CreateSession(ctx, Session{Digest: "d5", UserID: u.ID, CSRF: "c5", Created: t0, Expires: t0.Add(time.Hour)}), nil)
		checkErr(t, s.CreateSession(ctx, Session{Digest: "d6", UserID: other.ID, CSRF: "c6", Created: t0, Expires: t0.Add(time.Hour)}), nil)
		checkErr(t, s.DeleteUserSessions(ctx, u.ID, "d5"), nil)
		_, err = s.Session(ctx, "d1")
		checkErr(t, err, ErrNotFound)
		_, err = s.Session(ctx, "d5")
		checkErr(t, err, nil)
		_, err = s.Session(ctx, "d6")
		checkErr(t, err, nil)

		checkErr(t, s.DeleteSession(ctx, "d5"), nil)
		checkErr(t, s.DeleteSession(ctx, "d5"), nil)
		_, err = s.Session(ctx, "d5")
		checkErr(t, err, ErrNotFound)

		// Deleting a user ends their sessions.
		checkErr(t, s.DeleteUser(ctx, other.ID), nil)
		_, err = s.Session(ctx, "d6")
		checkErr(t, err, ErrNotFound)
	})
}
