package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/config"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Apply makes the database match what the file declares. It runs at every
// start. For channels and models the file wins: each declared one is
// created or overwritten, so an admin edit to a declared object lasts until
// the next start; objects created through the admin API and absent from the
// file are left alone. Users are created if missing; a user's balance is an
// initial credit recorded once as a top-up (idempotency key
// "bootstrap:<name>"), so restarts never credit it again; declared keys are
// added if missing and never removed.
func Apply(ctx context.Context, st *store.Store, cfg *config.Config, log *slog.Logger) error {
	for _, c := range cfg.Channels {
		if _, err := st.UpsertChannel(ctx, c.StoreChannel()); err != nil {
			return fmt.Errorf("channel %q: %w", c.Name, err)
		}
	}
	for _, m := range cfg.Models {
		_, err := st.UpsertModel(ctx, store.Model{Name: m.Name, Status: m.Status,
			Price: m.Price.StorePrice(), MaxOutputTokens: m.MaxOutputTokens, Limits: m.Limits.StoreLimits()})
		if err != nil {
			return fmt.Errorf("model %q: %w", m.Name, err)
		}
	}
	for _, u := range cfg.Users {
		user, err := st.GetUserByName(ctx, u.Name)
		if errors.Is(err, store.ErrNotFound) {
			user, err = st.CreateUser(ctx, u.Name)
			switch {
			case err == nil:
				log.Info("created user from config", "user", u.Name)
			case errors.Is(err, store.ErrConflict):
				// Another node starting on the same database created it
				// in between: use theirs.
				user, err = st.GetUserByName(ctx, u.Name)
			}
		}
		if err != nil {
			return fmt.Errorf("user %q: %w", u.Name, err)
		}
		if u.Balance.Micros > 0 {
			_, applied, err := st.Credit(ctx, user.ID, store.EntryTopUp, u.Balance.Micros,
				"bootstrap:"+u.Name, "initial balance from the config file")
			if err != nil {
				return fmt.Errorf("user %q balance: %w", u.Name, err)
			}
			if applied {
				log.Info("credited initial balance", "user", u.Name, "usd", u.Balance.Micros.USD())
			}
		}
		if u.CreditLimit.Set && u.CreditLimit.Micros != user.CreditLimit {
			if err := st.SetCreditLimit(ctx, user.ID, u.CreditLimit.Micros); err != nil {
				return fmt.Errorf("user %q credit limit: %w", u.Name, err)
			}
		}
		for i, k := range u.Keys {
			_, err := st.CreateKey(ctx, user.ID, fmt.Sprintf("config-%d", i+1), apikey.Hash(k), apikey.Display(k), store.KeyLimits{})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("user %q key %d: %w", u.Name, i+1, err)
			}
		}
	}
	for _, name := range cfg.Console.Admins {
		u, err := st.GetUserByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			log.Warn("console.admins names no user (yet); sign up, then restart", "user", name)
			continue
		}
		if err == nil {
			var role string
			if role, err = st.UserRole(ctx, u.ID); err == nil && role != store.RoleAdmin {
				if err = st.SetUserRole(ctx, u.ID, store.RoleAdmin); err == nil {
					err = st.AddAudit(ctx, store.AuditEntry{Action: "user.role", Target: fmt.Sprintf("user %d", u.ID),
						Detail: "role=admin (config console.admins)"})
					log.Info("made console admin from config", "user", name)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("console admin %q: %w", name, err)
		}
	}
	return nil
}
