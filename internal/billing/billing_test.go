package billing

import (
	"errors"
	"strings"
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

// Image prices: the most specific key that is set wins, then PerImage.
func TestImageCost(t *testing.T) {
	gptImage := Price{Input: 5_000_000, Output: 40_000_000, PerImage: 40_000,
		ImagePrices: map[string]Micros{"1024x1024/high": 167_000, "1024x1024/low": 11_000, "1536x1024": 63_000, "2K": 30_000, "4K": 0}}
	sizeOnly := Price{ImagePrices: map[string]Micros{"2K": 30_000}}
	tests := []struct {
		name          string
		price         Price
		size, quality string
		n             int64
		want          Micros
		ok            bool
	}{
		{"size and quality", gptImage, "1024x1024", "high", 1, 167_000, true},
		{"several images", gptImage, "1024x1024", "high", 3, 501_000, true},
		{"other quality of the size", gptImage, "1024x1024", "low", 2, 22_000, true},
		{"size without a quality key falls back to size", gptImage, "1536x1024", "high", 2, 126_000, true},
		{"size alone", gptImage, "2K", "", 4, 120_000, true},
		{"unknown quality, no size key: per image", gptImage, "1024x1024", "medium", 2, 80_000, true},
		{"unknown size: per image", gptImage, "512x512", "", 1, 40_000, true},
		{"no size: per image", gptImage, "", "high", 1, 40_000, true},
		{"a key of 0 is free, not unset", gptImage, "4K", "", 5, 0, true},
		{"keys match exactly", gptImage, "2k", "", 1, 40_000, true},
		{"zero images", gptImage, "2K", "", 0, 0, true},
		{"negative count costs nothing", gptImage, "2K", "", -1, 0, true},
		{"nothing set", Price{Input: 1_000_000}, "1024x1024", "high", 1, 0, false},
		{"no key matches and no per image", sizeOnly, "1K", "", 1, 0, false},
		{"size key without per image", sizeOnly, "2K", "standard", 2, 60_000, true},
		{"saturates instead of overflowing", Price{PerImage: 1 << 40}, "", "", 1 << 40, Micros(maxInt64), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.price.ImageCost(tt.size, tt.quality, tt.n)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ImageCost(%q, %q, %d) = %d, %v; want %d, %v", tt.size, tt.quality, tt.n, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestVideoCost(t *testing.T) {
	video := Price{PerSecond: 100_000, SecondPrices: map[string]Micros{"720p": 100_000, "1080p": 250_000, "480p": 0}}
	byRes := Price{SecondPrices: map[string]Micros{"1080p": 250_000}}
	tests := []struct {
		name       string
		price      Price
		resolution string
		seconds    int64
		want       Micros
		ok         bool
	}{
		{"resolution", video, "1080p", 8, 2_000_000, true},
		{"other resolution", video, "720p", 5, 500_000, true},
		{"unknown resolution: per second", video, "4k", 3, 300_000, true},
		{"no resolution: per second", video, "", 10, 1_000_000, true},
		{"a resolution of 0 is free", video, "480p", 10, 0, true},
		{"only resolutions", byRes, "1080p", 4, 1_000_000, true},
		{"only resolutions, unknown one", byRes, "720p", 4, 0, false},
		{"nothing set", Price{Input: 1}, "720p", 4, 0, false},
		{"saturates instead of overflowing", Price{PerSecond: 1 << 40}, "", 1 << 40, Micros(maxInt64), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.price.VideoCost(tt.resolution, tt.seconds)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("VideoCost(%q, %d) = %d, %v; want %d, %v", tt.resolution, tt.seconds, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestPriceValidate(t *testing.T) {
	tests := []struct {
		name  string
		price Price
		want  string // "" for valid
	}{
		{"zero", Price{}, ""},
		{"tokens and media", Price{Input: 1, Output: 2, PerImage: 40_000, PerSecond: 100_000,
			ImagePrices:  map[string]Micros{"1024x1024/high": 167_000, "2K": 30_000, "4K": 0},
			SecondPrices: map[string]Micros{"720p": 100_000, "1080p": 250_000}}, ""},
		{"negative input", Price{Input: -1}, "price.input cannot be negative"},
		{"negative per request", Price{PerRequest: -1}, "price.per_request cannot be negative"},
		{"negative per image", Price{PerImage: -1}, "price.per_image cannot be negative"},
		{"negative per second", Price{PerSecond: -1}, "price.per_second cannot be negative"},
		{"negative image price", Price{ImagePrices: map[string]Micros{"2K": -1}}, `price.images["2K"] cannot be negative`},
		{"negative second price", Price{SecondPrices: map[string]Micros{"720p": -5}}, `price.seconds["720p"] cannot be negative`},
		{"empty image key", Price{ImagePrices: map[string]Micros{"": 1}}, `price.images key "" must be`},
		{"empty quality", Price{ImagePrices: map[string]Micros{"1024x1024/": 1}}, `price.images key "1024x1024/" must be`},
		{"empty size", Price{ImagePrices: map[string]Micros{"/high": 1}}, `price.images key "/high" must be`},
		{"three parts", Price{ImagePrices: map[string]Micros{"1024x1024/high/x": 1}}, `price.images key "1024x1024/high/x" must be`},
		{"space in key", Price{ImagePrices: map[string]Micros{"1024 x 1024": 1}}, `price.images key "1024 x 1024" must be`},
		{"slash in resolution", Price{SecondPrices: map[string]Micros{"720p/hd": 1}}, `price.seconds key "720p/hd" must be a resolution`},
		{"empty resolution", Price{SecondPrices: map[string]Micros{"": 1}}, `price.seconds key "" must be a resolution`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.price.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrPrice) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want ErrPrice containing %q", err, tt.want)
			}
		})
	}
}
