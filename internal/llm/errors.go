package llm

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a failure independently of any wire protocol. Each client
// surface maps a Kind to its own status code and error body in one table.
type Kind int

const (
	KindInternal       Kind = iota // a bug or an unexpected failure of ours
	KindInvalid                    // the request is malformed or misses fields
	KindAuth                       // missing, unknown, expired or revoked key
	KindForbidden                  // suspended account, model or IP not allowed
	KindNotFound                   // unknown or offline model, unknown route
	KindTooLarge                   // request body over the limit
	KindInsufficient               // balance or key spend limit exhausted
	KindRateLimited                // a rate limit was hit; retry later
	KindUpstream                   // the upstream failed or answered nonsense
	KindUnavailable                // no upstream can serve the model now
	KindTimeout                    // the upstream took too long
	KindUpstreamClient             // the upstream rejected the request as the caller's fault
)

var kindNames = [...]string{
	KindInternal: "internal", KindInvalid: "invalid_request", KindAuth: "authentication",
	KindForbidden: "permission", KindNotFound: "not_found", KindTooLarge: "too_large",
	KindInsufficient: "insufficient_balance", KindRateLimited: "rate_limited",
	KindUpstream: "upstream_error", KindUnavailable: "unavailable", KindTimeout: "timeout",
	KindUpstreamClient: "upstream_rejected",
}

// String is the error class written to request logs and metrics.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is a failure to report to a client. Message is safe to show; Cause
// is for the log only and never reaches the client.
type Error struct {
	Kind    Kind
	Code    string // a stable machine-readable code, e.g. "model_not_found"
	Message string
	Param   string
	// Status overrides the surface's default status for the Kind (used to
	// pass an upstream's 4xx through unchanged).
	Status     int
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error with a formatted safe message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, wrapping unknown errors as internal ones
// with a generic message so no detail leaks.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: "internal_error", Message: "internal error", Cause: err}
}
