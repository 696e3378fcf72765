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
		media := billing.Price{Input: 5_000_000, Output: 40_000_000, PerImage: 40_000, PerSecond: 100_000,
			ImagePrices:  map[string]billing.Micros{"1024x1024/high": 167_000, "2K": 30_000, "4K": 0},
			SecondPrices: map[string]billing.Micros{"720p": 100_000, "1080p": 250_000}}
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
			{name: "media prices", in: Model{Name: "gpt-image-1", Status: ModelAvailable, Price: media},
				want: Model{Name: "gpt-image-1", Status: ModelAvailable, Price: media, Updated: t0}},
			{name: "empty media maps read back unset", in: Model{Name: "free", Status: ModelExperimental,
				Price: billing.Price{ImagePrices: map[string]billing.Micros{}, SecondPrices: map[string]billing.Micros{}}},
				want: Model{Name: "free", Status: ModelExperimental, Updated: t0}},
			{name: "negative per image", in: Model{Name: "x", Status: ModelAvailable, Price: billing.Price{PerImage: -1}}, err: ErrInvalid},
			{name: "negative per second", in: Model{Name: "x", Status: ModelAvailable, Price: billing.Price{PerSecond: -1}}, err: ErrInvalid},
			{name: "negative image price", in: Model{Name: "x", Status: ModelAvailable,
				Price: billing.Price{ImagePrices: map[string]billing.Micros{"2K": -1}}}, err: ErrInvalid},
			{name: "bad image key", in: Model{Name: "x", Status: ModelAvailable,
				Price: billing.Price{ImagePrices: map[string]billing.Micros{"1024x1024/": 1}}}, err: ErrInvalid},
			{name: "bad resolution key", in: Model{Name: "x", Status: ModelAvailable,
				Price: billing.Price{SecondPrices: map[string]billing.Micros{"": 1}}}, err: ErrInvalid},
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
		diff(t, []string{"free", "gpt-4o", "gpt-image-1", "old"}, names(list))
		diff(t, media, list[2].Price)

		// The store keeps its own copy of the maps.
		in := Model{Name: "alias", Status: ModelAvailable, Price: billing.Price{ImagePrices: map[string]billing.Micros{"2K": 1}}}
		got, err := s.UpsertModel(ctx, in)
		checkErr(t, err, nil)
		in.Price.ImagePrices["2K"] = 2
		diff(t, billing.Micros(1), got.Price.ImagePrices["2K"])
		checkErr(t, s.DeleteModel(ctx, "alias"), nil)
		checkErr(t, s.DeleteModel(ctx, "gpt-image-1"), nil)

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
