package mock

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// dialect is what differs between the protocols outside their bodies: where
// the key is, the request-id header, and the error envelope.
type dialect struct {
	requestIDHeader string
	authMessage     string
	key             func(r *http.Request) string
	check           func(r *http.Request) string // a protocol's required headers; "" if fine
	errorBody       func(b []byte, status int, msg, reqID string, retryAfter time.Duration) []byte
}

var (
	openaiDialect = dialect{
		requestIDHeader: "x-request-id",
		authMessage:     "Incorrect API key provided.",
		key:             bearer,
		errorBody:       openaiError,
	}
	arkDialect = dialect{
		requestIDHeader: "x-request-id",
		authMessage:     "The API key in the request is missing or invalid.",
		key:             bearer,
		errorBody:       arkError,
	}
	anthropicDialect = dialect{
		requestIDHeader: "request-id",
		authMessage:     "invalid x-api-key",
		key: func(r *http.Request) string {
			if k := r.Header.Get("x-api-key"); k != "" {
				return k
			}
			return bearer(r)
		},
		check: func(r *http.Request) string {
			if r.Header.Get("anthropic-version") == "" {
				return "anthropic-version: header is required"
			}
			return ""
		},
		errorBody: anthropicError,
	}
	geminiDialect = dialect{
		requestIDHeader: "x-request-id",
		authMessage:     "API key not valid. Please pass a valid API key.",
		key: func(r *http.Request) string {
			if k := r.Header.Get("x-goog-api-key"); k != "" {
				return k
			}
			if k := r.URL.Query().Get("key"); k != "" {
				return k
			}
			return bearer(r)
		},
		errorBody: geminiError,
	}
)

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// faultMessage is the error message of an injected status.
func faultMessage(status int) string {
	var msg string
	switch status {
	case http.StatusTooManyRequests:
		msg = "Rate limit reached for requests."
	case http.StatusInternalServerError:
		msg = "The server had an error while processing your request."
	case http.StatusServiceUnavailable, 529:
		msg = "The server is overloaded. Please try again later."
	case http.StatusGatewayTimeout:
		msg = "The request timed out."
	default:
		msg = http.StatusText(status)
		if msg == "" {
			msg = "Error " + strconv.Itoa(status) + "."
		}
	}
	return msg + " (mock fault)"
}

// openaiError writes {"error":{"message","type","param","code"}} (§1).
func openaiError(b []byte, status int, msg, _ string, _ time.Duration) []byte {
	typ, code := "invalid_request_error", ""
	switch {
	case status == http.StatusUnauthorized:
		code = "invalid_api_key"
	case status == http.StatusForbidden:
		typ, code = "permission_error", "permission_denied"
	case status == http.StatusNotFound:
		code = "not_found"
	case status == http.StatusTooManyRequests:
		typ, code = "requests", "rate_limit_exceeded"
	case status == http.StatusServiceUnavailable:
		typ, code = "server_error", "server_is_overloaded"
	case status >= 500:
		typ = "server_error"
	}
	b = append(b, `{"error":{"message":`...)
	b = appendString(b, msg)
	b = appendField(b, "type", typ)
	b = append(b, `,"param":null,"code":`...)
	if code == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, code)
	}
	return append(b, "}}"...)
}

// arkError writes {"error":{"code","message","param","type"}} (§9.4); the
// message ends with the request id, as Ark's do.
func arkError(b []byte, status int, msg, reqID string, _ time.Duration) []byte {
	var typ, code string
	switch {
	case status == http.StatusBadRequest:
		typ, code = "BadRequest", "InvalidParameter"
	case status == http.StatusUnauthorized:
		typ, code = "Unauthorized", "AuthenticationError"
	case status == http.StatusForbidden:
		typ, code = "Forbidden", "AccessDenied"
	case status == http.StatusNotFound:
		typ, code = "NotFound", "InvalidEndpointOrModel.NotFound"
	case status == http.StatusTooManyRequests:
		typ, code = "TooManyRequests", "RateLimitExceeded.EndpointRPMExceeded"
	case status == http.StatusServiceUnavailable:
		typ, code = "ServiceUnavailable", "ServerOverloaded"
	case status >= 500:
		typ, code = "InternalServerError", "InternalServiceError"
	default:
		typ, code = strings.ReplaceAll(http.StatusText(status), " ", ""), "InvalidParameter"
	}
	return appendArkError(b, code, typ, msg, reqID)
}

// appendArkError writes an Ark error body with the given code and type.
func appendArkError(b []byte, code, typ, msg, reqID string) []byte {
	b = append(b, `{"error":{"code":`...)
	b = appendString(b, code)
	b = appendField(b, "message", msg+" Request id: "+reqID)
	b = appendField(b, "param", "")
	b = appendField(b, "type", typ)
	return append(b, "}}"...)
}

// anthropicError writes {"type":"error","error":{"type","message"},"request_id"} (§7.5).
func anthropicError(b []byte, status int, msg, reqID string, _ time.Duration) []byte {
	typ := "invalid_request_error"
	switch status {
	case http.StatusUnauthorized:
		typ = "authentication_error"
	case http.StatusPaymentRequired:
		typ = "billing_error"
	case http.StatusForbidden:
		typ = "permission_error"
	case http.StatusNotFound:
		typ = "not_found_error"
	case http.StatusRequestEntityTooLarge:
		typ = "request_too_large"
	case http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case http.StatusGatewayTimeout:
		typ = "timeout_error"
	case 529, http.StatusServiceUnavailable:
		typ = "overloaded_error"
	default:
		if status >= 500 {
			typ = "api_error"
		}
	}
	b = append(b, `{"type":"error","error":{"type":`...)
	b = appendString(b, typ)
	b = appendField(b, "message", msg)
	b = append(b, '}')
	b = appendField(b, "request_id", reqID)
	return append(b, '}')
}

// geminiError writes {"error":{"code","message","status","details"}} (§8.5).
// A 429 with a retry delay carries the RetryInfo detail Google sends instead
// of a header; a bad key carries the ErrorInfo reason API_KEY_INVALID.
func geminiError(b []byte, status int, msg, _ string, retryAfter time.Duration) []byte {
	var rpc string
	switch status {
	case http.StatusBadRequest:
		rpc = "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		rpc = "UNAUTHENTICATED"
	case http.StatusForbidden:
		rpc = "PERMISSION_DENIED"
	case http.StatusNotFound:
		rpc = "NOT_FOUND"
	case http.StatusConflict:
		rpc = "ABORTED"
	case http.StatusTooManyRequests:
		rpc = "RESOURCE_EXHAUSTED"
	case http.StatusNotImplemented:
		rpc = "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		rpc = "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		rpc = "DEADLINE_EXCEEDED"
	default:
		rpc = "INTERNAL"
		if status < 500 {
			rpc = "FAILED_PRECONDITION"
		}
	}
	b = append(b, `{"error":{"code":`...)
	b = appendInt(b, status)
	b = appendField(b, "message", msg)
	b = appendField(b, "status", rpc)
	switch {
	case status == http.StatusUnauthorized:
		b = append(b, `,"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]`...)
	case status == http.StatusTooManyRequests && retryAfter > 0:
		b = append(b, `,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"`...)
		b = strconv.AppendFloat(b, retryAfter.Seconds(), 'f', -1, 64)
		b = append(b, `s"}]`...)
	}
	return append(b, "}}"...)
}
