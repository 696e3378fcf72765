package anthropic

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// kinds is the one table from an error's Kind to the HTTP status and the
// error.type an Anthropic client sees. The types are those the SDKs know
// (shared.ErrorType); 529 overloaded_error is Anthropic's own status for "no
// capacity", which the SDKs retry like any 5xx.
var kinds = map[llm.Kind]struct {
	status int
	typ    string
}{
	llm.KindInternal:       {http.StatusInternalServerError, "api_error"},
	llm.KindInvalid:        {http.StatusBadRequest, "invalid_request_error"},
	llm.KindAuth:           {http.StatusUnauthorized, "authentication_error"},
	llm.KindForbidden:      {http.StatusForbidden, "permission_error"},
	llm.KindNotFound:       {http.StatusNotFound, "not_found_error"},
	llm.KindTooLarge:       {http.StatusRequestEntityTooLarge, "request_too_large"},
	llm.KindInsufficient:   {http.StatusPaymentRequired, "billing_error"},
	llm.KindRateLimited:    {http.StatusTooManyRequests, "rate_limit_error"},
	llm.KindUpstream:       {http.StatusBadGateway, "api_error"},
	llm.KindUnavailable:    {529, "overloaded_error"},
	llm.KindTimeout:        {http.StatusGatewayTimeout, "timeout_error"},
	llm.KindUpstreamClient: {http.StatusBadRequest, "invalid_request_error"},
}

// errorType is the error.type for e's Kind.
func errorType(e *llm.Error) string {
	// A status passed on from an upstream names its own type, so that the
	// SDK raises the matching error class (NotFoundError for a 404, ...).
	if t, ok := statusTypes[e.Status]; ok {
		return t
	}
	if k, ok := kinds[e.Kind]; ok {
		return k.typ
	}
	return "api_error"
}

// statusTypes are Anthropic's error types by HTTP status.
var statusTypes = map[int]string{
	http.StatusBadRequest:            "invalid_request_error",
	http.StatusUnauthorized:          "authentication_error",
	http.StatusPaymentRequired:       "billing_error",
	http.StatusForbidden:             "permission_error",
	http.StatusNotFound:              "not_found_error",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusTooManyRequests:       "rate_limit_error",
	http.StatusGatewayTimeout:        "timeout_error",
	529:                              "overloaded_error",
}

// Status is the HTTP status an Anthropic client gets for e: e.Status when
// set (an upstream's 4xx passed through), else the Kind's.
func Status(e *llm.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	if k, ok := kinds[e.Kind]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

// ErrorBody is the status and the body
// {"type":"error","error":{"type","message"},"request_id"} for e. The
// request id is also appended to the message, which is what users paste
// into support requests.
func ErrorBody(e *llm.Error, requestID string) (status int, body []byte) {
	return Status(e), appendErrorPayload(nil, e, requestID)
}

func appendErrorPayload(b []byte, e *llm.Error, requestID string) []byte {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if requestID != "" {
		msg += " (request id: " + requestID + ")"
	}
	b = append(b, `{"type":"error","error":{"type":`...)
	b = sse.AppendString(b, errorType(e))
	b = append(b, `,"message":`...)
	b = sse.AppendString(b, msg)
	b = append(b, '}')
	if requestID != "" {
		b = append(b, `,"request_id":`...)
		b = sse.AppendString(b, requestID)
	}
	return append(b, '}')
}

// WriteError writes e as an Anthropic error response.
func WriteError(w http.ResponseWriter, e *llm.Error, requestID string) {
	status, body := ErrorBody(e, requestID)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		// Whole seconds, rounded up: a client that retries early is refused again.
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+999_999_999)/1e9), 10))
	}
	if requestID != "" {
		h.Set("Request-Id", requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// StreamErrorEvent is the event that ends a broken stream:
// "event: error" with {"type":"error","error":{...}}; the SDKs raise it as
// an API error typed by error.type.
func StreamErrorEvent(e *llm.Error, requestID string) []byte {
	return appendStreamError(nil, e, requestID)
}

func appendStreamError(dst []byte, e *llm.Error, requestID string) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = appendErrorPayload(dst, e, requestID)
	return append(dst, "\n\n"...)
}

// Authenticate returns the API key of a request: x-api-key (what the SDKs
// send with ANTHROPIC_API_KEY), else an Authorization bearer token (what
// they send with ANTHROPIC_AUTH_TOKEN); "" when there is neither.
func Authenticate(h http.Header) string {
	if k := strings.TrimSpace(h.Get("X-Api-Key")); k != "" {
		return k
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(h.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
