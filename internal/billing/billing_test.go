package billing

import (
	"errors"
	"testing"

	"github.com/tokenhot/tokenhot/internal/llm"
)

func TestParseUSD(t *testing.T) {
	tests := []struct {
		in   string
		want Micros
		err  bool
	}{
		{"0", 0, false},
		{"20", 20_000_000, false},
		{"20.00", 20_000_000, false},
		{"1.25", 1_250_000, false},
		{"0.125", 125_000, false},
		{"0.000001", 1, false},
		{"-3.5", -3_500_000, false},
		{"+7", 7_000_000, false},
		{".5", 500_000, false},
		{"1.2500000", 1_250_000, false},
		{"0.0000001", 0, true},
		{"1e3", 0, true},
		{"", 0, true},
		{"abc", 0, true},
		{"1.2.3", 0, true},
		{"-", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUSD(tt.in)
			if tt.err {
				if !errors.Is(err, ErrAmount) {
					t.Fatalf("ParseUSD(%q) error = %v, want ErrAmount", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUSD(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMicrosFormat(t *testing.T) {
	tests := []struct {
		in       Micros
		str, usd string
	}{
		{0, "0.000000", "0"},
		{20_000_000, "20.000000", "20"},
		{1_250_000, "1.250000", "1.25"},
		{1, "0.000001", "0.000001"},
		{-3_500_000, "-3.500000", "-3.5"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.str {
			t.Errorf("(%d).String() = %q, want %q", tt.in, got, tt.str)
		}
		if got := tt.in.USD(); got != tt.usd {
			t.Errorf("(%d).USD() = %q, want %q", tt.in, got, tt.usd)
		}
		back, err := ParseUSD(tt.in.USD())
		if err != nil || back != tt.in {
			t.Errorf("round trip of %d = %d, %v", tt.in, back, err)
		}
	}
}

// The rounding rule: every kind of token times its rate, summed exactly,
// rounded up to a whole Micro once per request.
func TestCost(t *testing.T) {
	gpt5 := Price{Input: 1_250_000, Output: 10_000_000, CachedInput: 125_000}
	tests := []struct {
		name  string
		price Price
		usage llm.Usage
		want  Micros
	}{
		{"nothing costs nothing", gpt5, llm.Usage{}, 0},
		// 1000*1.25 + 500*10 = 1250 + 5000 = 6250 Micros exactly.
		{"exact", gpt5, llm.Usage{Input: 1000, Output: 500}, 6250},
		// 1 token at 1.25 Micros rounds up to 2.
		{"one input token rounds up", gpt5, llm.Usage{Input: 1}, 2},
		// 8 tokens at 0.125 = 1 Micro exactly.
		{"cached exact", gpt5, llm.Usage{CachedInput: 8}, 1},
		// 3*1.25 + 7*0.125 + 2*10 = 3.75 + 0.875 + 20 = 24.625 → 25: rounded once, not per kind (which would give 4+1+20=25 here but differs elsewhere).
		{"sum then round once", gpt5, llm.Usage{Input: 3, CachedInput: 7, Output: 2}, 25},
		// 1*1.25 + 1*0.125 = 1.375 → 2, where per-kind rounding would give 2+1 = 3.
		{"rounding is per request not per kind", gpt5, llm.Usage{Input: 1, CachedInput: 1}, 2},
		// Unset cached/cache-write/reasoning rates fall back to input/input/output.
		{"fallback rates", Price{Input: 2_000_000, Output: 8_000_000}, llm.Usage{CachedInput: 10, CacheWrite: 10, Reasoning: 10}, 20 + 20 + 80},
		{"reasoning own rate", Price{Input: 1_000_000, Output: 4_000_000, Reasoning: 2_000_000}, llm.Usage{Output: 10, Reasoning: 10}, 40 + 20},
		{"per request fee", Price{Input: 1_000_000, PerRequest: 500}, llm.Usage{Input: 1000}, 1500},
		{"free model", Price{}, llm.Usage{Input: 1_000_000, Output: 1_000_000}, 0},
		{"saturates instead of overflowing", Price{Input: 1 << 40}, llm.Usage{Input: 1 << 40}, Micros(maxInt64/1_000_000 + 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.price.Cost(tt.usage); got != tt.want {
				t.Fatalf("Cost(%+v) = %d, want %d", tt.usage, got, tt.want)
			}
		})
	}
}

func TestEstimateIsAnUpperBound(t *testing.T) {
	p := Price{Input: 1_250_000, Output: 10_000_000, CachedInput: 125_000, CacheWrite: 1_500_000, Reasoning: 12_000_000}
	est := p.Estimate(1000, 500)
	// Worst case: input at the cache-write rate, output at the reasoning rate.
	if want := Micros(1000*1.5 + 500*12); est != want {
		t.Fatalf("Estimate = %d, want %d", est, want)
	}
	for _, u := range []llm.Usage{
		{Input: 1000, Output: 500},
		{CachedInput: 1000, Reasoning: 500},
		{CacheWrite: 1000, Reasoning: 250, Output: 250},
		{Input: 400, CachedInput: 300, CacheWrite: 300, Output: 100, Reasoning: 400},
	} {
		if c := p.Cost(u); c > est {
			t.Errorf("Cost(%+v) = %d exceeds the estimate %d", u, c, est)
		}
	}
}

func TestParseRate(t *testing.T) {
	if r, err := ParseRate("0.125"); err != nil || r != 125_000 {
		t.Fatalf("ParseRate = %d, %v", r, err)
	}
	if _, err := ParseRate("-1"); err == nil {
		t.Fatal("negative rate accepted")
	}
}
