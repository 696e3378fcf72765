package llm

import (
	"errors"
	"fmt"
	"testing"
)

func TestUsageTotals(t *testing.T) {
	u := Usage{Input: 70, CachedInput: 30, CacheWrite: 5, Output: 30, Reasoning: 20}
	if u.PromptTokens() != 105 || u.CompletionTokens() != 50 || u.Total() != 155 || u.IsZero() {
		t.Fatalf("%+v", u)
	}
	if !(Usage{}).IsZero() {
		t.Fatal("zero usage")
	}
}

func TestAsErrorKeepsDetailOutOfTheMessage(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.7:443: secret internal address")
	e := AsError(fmt.Errorf("wrapped: %w", cause))
	if e.Kind != KindInternal || e.Message != "internal error" || !errors.Is(e, cause) {
		t.Fatalf("%+v", e)
	}
	typed := Errorf(KindNotFound, "model_not_found", "the model %q does not exist", "x")
	if got := AsError(fmt.Errorf("ctx: %w", typed)); got != typed {
		t.Fatal("a typed error was rewrapped")
	}
	if KindRateLimited.String() != "rate_limited" || Kind(99).String() != "unknown" {
		t.Fatal("kind names")
	}
}
