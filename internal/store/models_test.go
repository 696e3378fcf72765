package store

import (
	"context"
	"testing"

	"github.com/tokenhot/tokenhot/internal/billing"
)

func TestModels(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		price := billing.Price{Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000,
			CacheWrite: 3_000_000, Reasoning: 12_000_000, PerRequest: 100}
		for _, tc := range []struct {
			name string
			in   Model
			want Model
			err  error
		}{
			{name: "create", in: Model{Name: "gpt-4o", Status: ModelAvailable, Price: price, MaxOutputTokens: 16384,
				Limits: Limits{RPM: 1000, TPM: 4_000_000_000, Concurrent: 50}},
				want: Model{Name: "gpt-4o", Status: ModelAvailable, Price: price, MaxOutputTokens: 16384,
					Limits: Limits{RPM: 1000, TPM: 4_000_000_000, Concurrent: 50}, Updated: t0}},
			{name: "overwrite clears the limits", in: Model{Name: "gpt-4o", Status: ModelDeprecated, Price: billing.Price{Input: 1}},
				want: Model{Name: "gpt-4o", Status: ModelDeprecated, Price: billing.Price{Input: 1}, Updated: t0}},
			{name: "free", in: Model{Name: "free", Status: ModelExperimental},
				want: Model{Name: "free", Status: ModelExperimental, Updated: t0}},
			{name: "offline", in: Model{Name: "old", Status: ModelOffline},
				want: Model{Name: "old", Status: ModelOffline, Updated: t0}},
			{name: "no status", in: Model{Name: "x"}, err: ErrInvalid},
			{name: "unknown status", in: Model{Name: "x", Status: "beta"}, err: ErrInvalid},
			{name: "no name", in: Model{Name: " ", Status: ModelAvailable}, err: ErrInvalid},
			{name: "negative price", in: Model{Name: "x", Status: ModelAvailable, Price: billing.Price{Output: -1}}, err: ErrInvalid},
			{name: "negative fee", in: Model{Name: "x", Status: ModelAvailable, Price: billing.Price{PerRequest: -1}}, err: ErrInvalid},
			{name: "negative max tokens", in: Model{Name: "x", Status: ModelAvailable, MaxOutputTokens: -1}, err: ErrInvalid},
			{name: "negative rpm", in: Model{Name: "x", Status: ModelAvailable, Limits: Limits{RPM: -1}}, err: ErrInvalid},
			{name: "negative tpm", in: Model{Name: "x", Status: ModelAvailable, Limits: Limits{TPM: -1}}, err: ErrInvalid},
			{name: "negative concurrent", in: Model{Name: "x", Status: ModelAvailable, Limits: Limits{Concurrent: -1}}, err: ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.UpsertModel(ctx, tc.in)
				checkErr(t, err, tc.err)
				if err != nil {
					_, err := s.GetModel(ctx, "x")
					checkErr(t, err, ErrNotFound)
					return
				}
				diff(t, tc.want, got)
				stored, err := s.GetModel(ctx, tc.in.Name)
				checkErr(t, err, nil)
				diff(t, tc.want, stored)
			})
		}
		list, err := s.ListModels(ctx)
		checkErr(t, err, nil)
		diff(t, []string{"free", "gpt-4o", "old"}, names(list))

		checkErr(t, s.DeleteModel(ctx, "old"), nil)
		checkErr(t, s.DeleteModel(ctx, "old"), ErrNotFound)
		_, err = s.GetModel(ctx, "old")
		checkErr(t, err, ErrNotFound)
		list, err = s.ListModels(ctx)
		checkErr(t, err, nil)
		diff(t, []string{"free", "gpt-4o"}, names(list))
	})
}

func names(ms []Model) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}
