package billing

import (
	"fmt"

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
