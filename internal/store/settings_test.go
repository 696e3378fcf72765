package store

import (
	"context"
	"testing"
)

func TestSettings(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, err := s.Setting(ctx, "site_name")
		checkErr(t, err, ErrNotFound)
		for _, tc := range []struct {
			name, key, value string
			err              error
		}{
			{name: "set", key: "site_name", value: "Tokenhot"},
			{name: "replace", key: "site_name", value: "Tokenhot EU"},
			{name: "empty value", key: "banner", value: ""},
			{name: "unicode", key: "motto", value: "没有免费的午餐 🍱"},
			{name: "empty key", key: "", value: "x", err: ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkErr(t, s.SetSetting(ctx, tc.key, tc.value), tc.err)
				if tc.err != nil {
					return
				}
				got, err := s.Setting(ctx, tc.key)
				checkErr(t, err, nil)
				diff(t, tc.value, got)
			})
		}
	})
}
