// Package llm holds the provider-neutral vocabulary of the gateway: token usage
// and where it came from. It does no I/O and imports nothing of ours.
package llm

// Usage counts the tokens of one request by kind. The kinds are disjoint so
// that each token is priced once:
//
//   - Input is prompt tokens that were neither read from nor written to a cache.
//   - CachedInput is prompt tokens read from the provider's prompt cache.
//   - CacheWrite is prompt tokens written to the provider's prompt cache.
//   - Output is completion tokens other than reasoning.
//   - Reasoning is completion tokens spent on hidden reasoning.
//
// Providers report overlapping totals (OpenAI's prompt_tokens includes
// cached_tokens, completion_tokens includes reasoning_tokens); the decoders
// split them so these fields never overlap.
type Usage struct {
	Input       int64 `json:"input_tokens"`
	CachedInput int64 `json:"cached_input_tokens"`
	CacheWrite  int64 `json:"cache_write_tokens"`
	Output      int64 `json:"output_tokens"`
	Reasoning   int64 `json:"reasoning_tokens"`
}

// PromptTokens is every input-side token, cached or not.
func (u Usage) PromptTokens() int64 { return u.Input + u.CachedInput + u.CacheWrite }

// CompletionTokens is every output-side token, reasoning included.
func (u Usage) CompletionTokens() int64 { return u.Output + u.Reasoning }

// Total is every token of the request.
func (u Usage) Total() int64 { return u.PromptTokens() + u.CompletionTokens() }

// IsZero reports whether no token was counted.
func (u Usage) IsZero() bool { return u == Usage{} }

// Source says where a request's usage figures came from. It is written on
// every request log row so that an operator can tell measured from guessed.
type Source string

const (
	// SourceUpstream: the provider reported the usage.
	SourceUpstream Source = "upstream"
	// SourceEstimated: the provider reported nothing usable (the client went
	// away mid-stream, or the stream broke) and the gateway estimated it.
	SourceEstimated Source = "estimated"
	// SourceNone: nothing was produced, so nothing is billed.
	SourceNone Source = "none"
)
