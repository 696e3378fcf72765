package billing

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// Rate is a price per one million tokens, in Micros. A configured price of
// "1.25" USD per 1M tokens is Rate 1_250_000. One token at that rate costs
// 1.25 Micros, so costs are summed in millionths of a Micro before rounding.
type Rate int64

// ParseRate parses a USD-per-1M-tokens price such as "0.125".
func ParseRate(s string) (Rate, error) {
	v, err := ParseUSD(s)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("%w: a price cannot be negative", ErrAmount)
	}
	return Rate(v), nil
}

// USD formats the rate as dollars per 1M tokens.
func (r Rate) USD() string { return Micros(r).USD() }

// Price is what one model costs. Zero rates are free. CachedInput,
// CacheWrite and Reasoning fall back to Input, Input and Output when unset,
// so that a price list naming only input and output still charges every
// token.
type Price struct {
	Input       Rate `json:"input"`
	Output      Rate `json:"output"`
	CachedInput Rate `json:"cached_input,omitempty"`
	CacheWrite  Rate `json:"cache_write,omitempty"`
	Reasoning   Rate `json:"reasoning,omitempty"`
	// PerRequest is a flat fee charged for every successful request.
	PerRequest Micros `json:"per_request,omitempty"`

	// PerImage is the price of one generated image when ImagePrices has
	// nothing more specific. ImagePrices is keyed by "<size>/<quality>"
	// ("1024x1024/high") or "<size>" ("2K"); see ImageCost.
	PerImage    Micros            `json:"per_image,omitempty"`
	ImagePrices map[string]Micros `json:"images,omitempty"`
	// PerSecond is the price of one second of generated video when
	// SecondPrices, keyed by resolution ("720p"), has no entry; see
	// VideoCost.
	PerSecond    Micros            `json:"per_second,omitempty"`
	SecondPrices map[string]Micros `json:"seconds,omitempty"`
}

// ErrPrice is wrapped by every error of Validate. Its text is the start of
// the field path the messages name: "price.per_image cannot be negative".
var ErrPrice = errors.New("price")

// maxMediaKey bounds the length of an ImagePrices or SecondPrices key.
const maxMediaKey = 64

// Validate reports the first problem with p: a negative amount, or a media
// price key that ImageCost or VideoCost could never look up. The error
// names the field as the config file and the admin API do
// ("price.per_image", `price.images["1024x1024/high"]`).
func (p Price) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"input", int64(p.Input)}, {"output", int64(p.Output)}, {"cached_input", int64(p.CachedInput)},
		{"cache_write", int64(p.CacheWrite)}, {"reasoning", int64(p.Reasoning)},
		{"per_request", int64(p.PerRequest)}, {"per_image", int64(p.PerImage)}, {"per_second", int64(p.PerSecond)},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w.%s cannot be negative", ErrPrice, f.name)
		}
	}
	if err := checkMediaPrices("images", p.ImagePrices, 2); err != nil {
		return err
	}
	return checkMediaPrices("seconds", p.SecondPrices, 1)
}

// checkMediaPrices checks the keys and amounts of one media price map. A
// key is at most parts non-empty, "/"-separated words without spaces.
func checkMediaPrices(field string, m map[string]Micros, parts int) error {
	for k, v := range m {
		words := strings.Split(k, "/")
		bad := len(k) > maxMediaKey || len(words) > parts || strings.ContainsFunc(k, isSpaceOrControl)
		for _, w := range words {
			bad = bad || w == ""
		}
		switch {
		case bad && parts == 1:
			return fmt.Errorf("%w.%s key %q must be a resolution such as \"720p\"", ErrPrice, field, k)
		case bad:
			return fmt.Errorf("%w.%s key %q must be \"<size>\" or \"<size>/<quality>\"", ErrPrice, field, k)
		case v < 0:
			return fmt.Errorf("%w.%s[%q] cannot be negative", ErrPrice, field, k)
		}
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// ImageCost prices n generated images of one size and quality. The price
// of one image is the first set of ImagePrices["<size>/<quality>"],
// ImagePrices["<size>"] and PerImage; keys match exactly, as the request
// spelled them. ok is false when none is set (PerImage 0 counts as unset),
// so that the caller can bill the request another way, by its tokens.
// A present map entry of 0 makes that size free.
func (p Price) ImageCost(size, quality string, n int64) (Micros, bool) {
	each, ok := p.imagePrice(size, quality)
	if !ok {
		return 0, false
	}
	return Micros(mulSat(n, int64(each))), true
}

func (p Price) imagePrice(size, quality string) (Micros, bool) {
	if size != "" {
		if quality != "" {
			if v, ok := p.ImagePrices[size+"/"+quality]; ok {
				return v, true
			}
		}
		if v, ok := p.ImagePrices[size]; ok {
			return v, true
		}
	}
	return p.PerImage, p.PerImage != 0
}

// VideoCost prices seconds of generated video at a resolution: at
// SecondPrices[resolution] when present, else at PerSecond. ok is false
// when neither is set (PerSecond 0 counts as unset).
func (p Price) VideoCost(resolution string, seconds int64) (Micros, bool) {
	each, ok := p.SecondPrices[resolution]
	if !ok || resolution == "" {
		each, ok = p.PerSecond, p.PerSecond != 0
	}
	if !ok {
		return 0, false
	}
	return Micros(mulSat(seconds, int64(each))), true
}

func (p Price) cachedInput() Rate { return orRate(p.CachedInput, p.Input) }
func (p Price) cacheWrite() Rate  { return orRate(p.CacheWrite, p.Input) }
func (p Price) reasoning() Rate   { return orRate(p.Reasoning, p.Output) }

func orRate(r, fallback Rate) Rate {
	if r == 0 {
		return fallback
	}
	return r
}

// Cost prices a usage. The rule, written once here and tested:
// each kind of token is multiplied by its rate, the products are summed
// exactly, and the sum is rounded up to a whole Micro once per request.
// A request therefore never costs less than the tokens it used, and at most
// one Micro (one millionth of a dollar) more.
func (p Price) Cost(u llm.Usage) Micros {
	if u.IsZero() {
		return 0
	}
	// Rates are Micros per 1e6 tokens, so tokens*rate is in 1e-6 Micros.
	sum := mulSat(u.Input, int64(p.Input))
	sum = addSat(sum, mulSat(u.CachedInput, int64(p.cachedInput())))
	sum = addSat(sum, mulSat(u.CacheWrite, int64(p.cacheWrite())))
	sum = addSat(sum, mulSat(u.Output, int64(p.Output)))
	sum = addSat(sum, mulSat(u.Reasoning, int64(p.reasoning())))
	cost := sum / 1_000_000
	if sum%1_000_000 != 0 {
		cost++
	}
	return Micros(addSat(cost, int64(p.PerRequest)))
}

// Estimate is the worst-case cost of a request before it is sent: every
// prompt token at the uncached input rate (or the cache-write rate when that
// is higher) and every possible completion token at the higher of the output
// and reasoning rates. It is what gets reserved.
func (p Price) Estimate(promptTokens, maxCompletionTokens int64) Micros {
	in := p.Input
	if w := p.cacheWrite(); w > in {
		in = w
	}
	out := p.Output
	if r := p.reasoning(); r > out {
		out = r
	}
	worst := Price{Input: in, Output: out, PerRequest: p.PerRequest}
	return worst.Cost(llm.Usage{Input: promptTokens, Output: maxCompletionTokens})
}

const maxInt64 = int64(^uint64(0) >> 1)

func mulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > maxInt64/b {
		return maxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > maxInt64-b {
		return maxInt64
	}
	return a + b
}
