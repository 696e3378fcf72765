// Package openai is the OpenAI-compatible client surface: how requests in
// OpenAI's wire format are inspected and patched, and how errors are written
// back in OpenAI's shape.
package openai

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// status and type per Kind: the one table for this surface.
var kinds = map[llm.Kind]struct {
	status int
	typ    string
}{
	llm.KindInternal:       {http.StatusInternalServerError, "server_error"},
	llm.KindInvalid:        {http.StatusBadRequest, "invalid_request_error"},
	llm.KindAuth:           {http.StatusUnauthorized, "invalid_request_error"},
	llm.KindForbidden:      {http.StatusForbidden, "permission_error"},
	llm.KindNotFound:       {http.StatusNotFound, "invalid_request_error"},
	llm.KindTooLarge:       {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	llm.KindInsufficient:   {http.StatusPaymentRequired, "insufficient_quota"},
	llm.KindRateLimited:    {http.StatusTooManyRequests, "rate_limit_error"},
	llm.KindUpstream:       {http.StatusBadGateway, "upstream_error"},
	llm.KindUnavailable:    {http.StatusServiceUnavailable, "service_unavailable_error"},
	llm.KindTimeout:        {http.StatusGatewayTimeout, "timeout_error"},
	llm.KindUpstreamClient: {http.StatusBadRequest, "invalid_request_error"},
}

// Status is the HTTP status this surface uses for an error.
func Status(e *llm.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	if k, ok := kinds[e.Kind]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

// ErrorBody encodes {"error":{"message","type","param","code"}} with the
// request id appended to the message, as clients show it to users.
func ErrorBody(e *llm.Error, requestID string) []byte {
	typ := "server_error"
	if k, ok := kinds[e.Kind]; ok {
		typ = k.typ
	}
	msg := e.Message
	if requestID != "" {
		msg += " (request id: " + requestID + ")"
	}
	b := make([]byte, 0, 128+len(msg))
	b = append(b, `{"error":{"message":`...)
	b = appendString(b, msg)
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"param":`...)
	b = appendNullable(b, e.Param)
	b = append(b, `,"code":`...)
	b = appendNullable(b, e.Code)
	b = append(b, "}}"...)
	return b
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendString appends s as a JSON string (errors are off the hot path).
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// WriteError writes an error response.
func WriteError(w http.ResponseWriter, e *llm.Error, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1e9)))
	}
	w.WriteHeader(Status(e))
	_, _ = w.Write(ErrorBody(e, requestID))
}

// StreamErrorEvent is the SSE event that ends a broken stream: openai-go and
// the npm SDK both raise an error when a data payload carries "error".
func StreamErrorEvent(e *llm.Error, requestID string) []byte {
	body := ErrorBody(e, requestID)
	out := make([]byte, 0, len(body)+8)
	out = append(out, "data: "...)
	out = append(out, body...)
	return append(out, "\n\n"...)
}
