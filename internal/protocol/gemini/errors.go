package gemini

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/sse"
)

// kinds is the one table from llm.Kind to this protocol's HTTP status and
// google.rpc status name. The statuses are the OpenAI surface's, so a client
// sees the same code whichever protocol it speaks.
var kinds = map[llm.Kind]struct {
	status int
	name   string
}{
	llm.KindInternal:       {http.StatusInternalServerError, "INTERNAL"},
	llm.KindInvalid:        {http.StatusBadRequest, "INVALID_ARGUMENT"},
	llm.KindAuth:           {http.StatusUnauthorized, "UNAUTHENTICATED"},
	llm.KindForbidden:      {http.StatusForbidden, "PERMISSION_DENIED"},
	llm.KindNotFound:       {http.StatusNotFound, "NOT_FOUND"},
	llm.KindTooLarge:       {http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT"},
	llm.KindInsufficient:   {http.StatusPaymentRequired, "FAILED_PRECONDITION"},
	llm.KindRateLimited:    {http.StatusTooManyRequests, "RESOURCE_EXHAUSTED"},
	llm.KindUpstream:       {http.StatusBadGateway, "UNAVAILABLE"},
	llm.KindUnavailable:    {http.StatusServiceUnavailable, "UNAVAILABLE"},
	llm.KindTimeout:        {http.StatusGatewayTimeout, "DEADLINE_EXCEEDED"},
	llm.KindUpstreamClient: {http.StatusBadRequest, "INVALID_ARGUMENT"},
}

// statusNames names the google.rpc status of an HTTP status passed through
// from an upstream (llm.Error.Status), so that the name matches the code.
var statusNames = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION", 403: "PERMISSION_DENIED",
	404: "NOT_FOUND", 409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
	499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
	504: "DEADLINE_EXCEEDED",
}

// statusOf is the HTTP status and status name for e.
func statusOf(e *llm.Error) (int, string) {
	k, ok := kinds[e.Kind]
	if !ok {
		k = kinds[llm.KindInternal]
	}
	if e.Status == 0 || e.Status == k.status {
		return k.status, k.name
	}
	if e.Status == 529 { // Anthropic's "overloaded", which Google's clients do not know
		return http.StatusServiceUnavailable, "UNAVAILABLE"
	}
	if name, ok := statusNames[e.Status]; ok {
		return e.Status, name
	}
	if e.Status >= 500 {
		return e.Status, "INTERNAL"
	}
	return e.Status, k.name
}

// ErrorBody is Google's error envelope {"error":{code,message,status}},
// with the request id appended to the message as clients show it. The
// gateway's own code travels in a google.rpc.ErrorInfo detail, and a retry
// delay in a google.rpc.RetryInfo, because the SDKs read no Retry-After.
func ErrorBody(e *llm.Error, requestID string) (int, []byte) {
	status, name := statusOf(e)
	msg := e.Message
	if requestID != "" {
		msg += " (request id: " + requestID + ")"
	}
	b := make([]byte, 0, 160+len(msg))
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = sse.AppendString(b, msg)
	b = append(b, `,"status":`...)
	b = sse.AppendString(b, name)
	b = appendDetails(b, e)
	return status, append(b, "}}"...)
}

func appendDetails(b []byte, e *llm.Error) []byte {
	if e.Code == "" && e.RetryAfter <= 0 {
		return b
	}
	b = append(b, `,"details":[`...)
	if e.Code != "" {
		b = append(b, `{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":`...)
		b = sse.AppendString(b, e.Code)
		b = append(b, `,"domain":"tokenhot"`...)
		if e.Param != "" {
			b = append(b, `,"metadata":{"param":`...)
			b = sse.AppendString(b, e.Param)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if e.RetryAfter > 0 {
		if e.Code != "" {
			b = append(b, ',')
		}
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		b = append(b, `{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"`...)
		b = strconv.AppendInt(b, secs, 10)
		b = append(b, `s"}`...)
	}
	return append(b, ']')
}

// WriteError writes e as an HTTP response.
func WriteError(w http.ResponseWriter, e *llm.Error, requestID string) {
	status, body := ErrorBody(e, requestID)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// StreamErrorEvent is the frame that ends a broken stream: go-genai and
// @google/genai both raise an APIError for a data payload holding "error".
func StreamErrorEvent(e *llm.Error, requestID string) []byte {
	_, body := ErrorBody(e, requestID)
	return sse.AppendData(make([]byte, 0, len(body)+8), body)
}

// badResponse is the error for an upstream answer the gateway cannot read.
func badResponse(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_bad_response", Message: "the upstream sent an unreadable answer: " + msg}
}

// upstreamError converts an error object Gemini sent in a 200 body or in
// the stream. Overload and quota errors keep their kind so that the relay
// can retry or fail over.
func upstreamError(v gjson.Result) *llm.Error {
	status := v.Get("status").Str
	e := &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error", Message: v.Get("message").Str}
	switch status {
	case "RESOURCE_EXHAUSTED":
		e.Kind = llm.KindRateLimited
	case "UNAVAILABLE":
		e.Kind = llm.KindUnavailable
	}
	if status != "" {
		e.Code = strings.ToLower(status)
	}
	if e.Message == "" {
		e.Message = "the upstream reported an error"
	}
	v.Get("details").ForEach(func(_, d gjson.Result) bool {
		if delay, err := time.ParseDuration(d.Get("retryDelay").Str); err == nil && delay > 0 {
			e.RetryAfter = delay
			return false
		}
		return true
	})
	return e
}
