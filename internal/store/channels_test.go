package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tokenhot/tokenhot/internal/secret"
)

func sampleChannel(name string) Channel {
	return Channel{
		Name:     name,
		Type:     "openai",
		BaseURL:  "https://api.example.com/v1",
		Keys:     []string{"sk-upstream-" + name + "-1", "sk-upstream-" + name + "-2"},
		Models:   []string{"gpt-4o", "gpt-4o-mini"},
		ModelMap: map[string]string{"gpt-4o": "gpt-4o-2024-08-06"},
		Priority: 10,
		Weight:   3,
		Enabled:  true,
		Limits:   Limits{RPM: 500, TPM: 3_000_000_000, Concurrent: 20},
	}
}

func TestCreateChannel(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.CreateChannel(ctx, sampleChannel("taken")); err != nil {
			t.Fatal(err)
		}
		bare := Channel{Name: "bare", Type: "ollama", Keys: []string{}, Models: []string{}, ModelMap: map[string]string{}}
		for _, tc := range []struct {
			name string
			in   Channel
			want Channel
			err  error
		}{
			{name: "full", in: sampleChannel("main"), want: sampleChannel("main")},
			{name: "empty collections read back as nil", in: bare, want: Channel{Name: "bare", Type: "ollama"}},
			{name: "duplicate name", in: sampleChannel("taken"), err: ErrConflict},
			{name: "no name", in: sampleChannel(" "), err: ErrInvalid},
			{name: "no type", in: Channel{Name: "x"}, err: ErrInvalid},
			{name: "negative weight", in: Channel{Name: "x", Type: "openai", Weight: -1}, err: ErrInvalid},
			{name: "negative rpm", in: Channel{Name: "x", Type: "openai", Limits: Limits{RPM: -1}}, err: ErrInvalid},
			{name: "negative tpm", in: Channel{Name: "x", Type: "openai", Limits: Limits{TPM: -1}}, err: ErrInvalid},
			{name: "negative concurrent", in: Channel{Name: "x", Type: "openai", Limits: Limits{Concurrent: -1}}, err: ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.CreateChannel(ctx, tc.in)
				checkErr(t, err, tc.err)
				if err != nil {
					return
				}
				tc.want.ID, tc.want.Updated = got.ID, t0
				diff(t, tc.want, got)
				stored, err := s.GetChannel(ctx, got.ID)
				checkErr(t, err, nil)
				diff(t, tc.want, stored)
				byName, err := s.GetChannelByName(ctx, tc.in.Name)
				checkErr(t, err, nil)
				diff(t, tc.want, byName)
			})
		}
	})
}

func TestChannelChanges(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, err := s.CreateChannel(ctx, sampleChannel("a"))
		checkErr(t, err, nil)
		b, err := s.CreateChannel(ctx, sampleChannel("b"))
		checkErr(t, err, nil)

		// Upsert by name: overwrite every field of the existing channel,
		// the limits included.
		over := Channel{ID: 999, Name: "a", Type: "anthropic", BaseURL: "https://x", Keys: []string{"new"}, Weight: 1,
			Limits: Limits{Concurrent: 1}}
		got, err := s.UpsertChannel(ctx, over)
		checkErr(t, err, nil)
		a = Channel{ID: a.ID, Name: "a", Type: "anthropic", BaseURL: "https://x", Keys: []string{"new"}, Weight: 1,
			Limits: Limits{Concurrent: 1}, Updated: t0}
		diff(t, a, got)
		// Upsert a new name: create.
		c, err := s.UpsertChannel(ctx, sampleChannel("c"))
		checkErr(t, err, nil)
		if c.ID == a.ID || c.ID == b.ID || c.ID == 0 {
			t.Fatalf("upserted channel got id %d", c.ID)
		}
		_, err = s.UpsertChannel(ctx, Channel{Name: "c"})
		checkErr(t, err, ErrInvalid)

		b.Name, b.Keys, b.Enabled, b.Limits = "b2", nil, false, Limits{RPM: 7}
		checkErr(t, s.UpdateChannel(ctx, b), nil)
		checkErr(t, s.UpdateChannel(ctx, Channel{ID: b.ID, Name: "b3", Type: "openai", Limits: Limits{TPM: -1}}), ErrInvalid)
		checkErr(t, s.UpdateChannel(ctx, Channel{ID: b.ID, Name: "a", Type: "openai"}), ErrConflict)
		checkErr(t, s.UpdateChannel(ctx, Channel{ID: 999, Name: "z", Type: "openai"}), ErrNotFound)
		checkErr(t, s.UpdateChannel(ctx, Channel{ID: b.ID, Type: "openai"}), ErrInvalid)

		checkErr(t, s.SetChannelEnabled(ctx, b.ID, true), nil)
		b.Enabled = true
		checkErr(t, s.SetChannelEnabled(ctx, 999, true), ErrNotFound)

		list, err := s.ListChannels(ctx)
		checkErr(t, err, nil)
		diff(t, []Channel{a, b, c}, list)

		checkErr(t, s.DeleteChannel(ctx, a.ID), nil)
		checkErr(t, s.DeleteChannel(ctx, a.ID), ErrNotFound)
		_, err = s.GetChannel(ctx, a.ID)
		checkErr(t, err, ErrNotFound)
		_, err = s.GetChannelByName(ctx, "a")
		checkErr(t, err, ErrNotFound)
		list, err = s.ListChannels(ctx)
		checkErr(t, err, nil)
		diff(t, []Channel{b, c}, list)
	})
}

func TestChannelKeysSealed(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c, err := s.CreateChannel(ctx, sampleChannel("secret"))
		checkErr(t, err, nil)
		var raw string
		err = s.r.QueryRowContext(ctx, `SELECT keys_sealed FROM channels WHERE id = $1`, c.ID).Scan(&raw)
		checkErr(t, err, nil)
		for _, k := range c.Keys {
			if strings.Contains(raw, k) {
				t.Errorf("raw column %q holds the key %q in plaintext", raw, k)
			}
		}
		if !strings.HasPrefix(raw, "v1:") {
			t.Errorf("raw column %q is not a sealed value", raw)
		}

		// Another master key cannot read the channel.
		other := &Store{dialect: s.dialect, pg: s.pg, w: s.w, r: s.r, box: testBox(t), now: s.now}
		_, err = other.GetChannel(ctx, c.ID)
		if !errors.Is(err, secret.ErrOpen) {
			t.Errorf("reading with another master key: %v, want %v", err, secret.ErrOpen)
		}
	})
}
