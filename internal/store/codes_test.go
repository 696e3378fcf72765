package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

func TestCodes(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustUser(t, s, "ann")
		codes, err := s.CreateCodes(ctx, "spring", 3, 5*billing.MicrosPerUSD, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 3 || codes[0] == codes[1] || !strings.HasPrefix(codes[0], "TH-") {
			t.Fatalf("codes %q", codes)
		}
		// Typed in lower case without dashes it is the same code.
		typed := strings.ToLower(strings.ReplaceAll(codes[0], "-", ""))
		e, err := s.RedeemCode(ctx, u.ID, typed)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, billing.Micros(5*billing.MicrosPerUSD), e.Amount)
		diff(t, billing.Micros(5*billing.MicrosPerUSD), e.BalanceAfter)
		if _, err := s.RedeemCode(ctx, u.ID, codes[0]); !errors.Is(err, ErrCodeRedeemed) {
			t.Fatalf("second redemption: %v, want ErrCodeRedeemed", err)
		}
		if _, err := s.RedeemCode(ctx, u.ID, "TH-NOPE-NOPE-NOPE-NOPE"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown code: %v, want ErrNotFound", err)
		}
		past := t0.Add(-time.Hour)
		old, err := s.CreateCodes(ctx, "old", 1, billing.MicrosPerUSD, &past)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RedeemCode(ctx, u.ID, old[0]); !errors.Is(err, ErrCodeExpired) {
			t.Fatalf("expired code: %v, want ErrCodeExpired", err)
		}
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, billing.Micros(5*billing.MicrosPerUSD), got.Balance)
		list, err := s.ListCodes(ctx, "spring")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 {
			t.Fatalf("listed %d codes, want 3", len(list))
		}
		redeemed := 0
		for _, c := range list {
			if c.RedeemedBy != nil {
				redeemed++
				diff(t, u.ID, *c.RedeemedBy)
				diff(t, codes[0][:7], c.Prefix)
			}
		}
		diff(t, 1, redeemed)
		if all, err := s.ListCodes(ctx, ""); err != nil || len(all) != 4 {
			t.Fatalf("all codes: %d, %v", len(all), err)
		}
		for _, bad := range []struct {
			n      int
			amount billing.Micros
		}{{0, 1}, {MaxCodeBatch + 1, 1}, {1, 0}, {1, -1}} {
			if _, err := s.CreateCodes(ctx, "", bad.n, bad.amount, nil); !errors.Is(err, ErrInvalid) {
				t.Errorf("CreateCodes(%d, %d): %v, want ErrInvalid", bad.n, bad.amount, err)
			}
		}
	})
}

// TestConcurrentRedeem races many users, and the same user many times, for
// one code: exactly one credit happens.
func TestConcurrentRedeem(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 20
		users := make([]User, n)
		for i := range users {
			users[i] = mustUser(t, s, "u"+string(rune('a'+i)))
		}
		for _, sameUser := range []bool{true, false} {
			codes, err := s.CreateCodes(ctx, "race", 1, billing.MicrosPerUSD, nil)
			if err != nil {
				t.Fatal(err)
			}
			errs := concurrently(n, func(i int) error {
				u := users[i]
				if sameUser {
					u = users[0]
				}
				_, err := s.RedeemCode(ctx, u.ID, codes[0])
				return err
			})
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, ErrCodeRedeemed):
					t.Fatalf("redeem: %v", err)
				}
			}
			diff(t, 1, ok)
		}
		var total billing.Micros
		for _, u := range users {
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := s.LedgerSum(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, sum, got.Balance)
			total += got.Balance
		}
		diff(t, billing.Micros(2*billing.MicrosPerUSD), total)
	})
}
