package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// upstreamTransportError classifies a failed round trip. clientCtx tells a
// client that went away from an upstream that failed.
func upstreamTransportError(clientCtx context.Context, err error) *llm.Error {
	if clientCtx.Err() != nil {
		return &llm.Error{Kind: llm.KindInvalid, Code: "client_closed", Status: 499,
			Message: "the client closed the request", Cause: err}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &llm.Error{Kind: llm.KindTimeout, Code: "upstream_timeout", Message: "the upstream did not answer in time", Cause: err}
	}
	return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_unreachable", Message: "the upstream could not be reached", Cause: err}
}

// upstreamStatusError maps an upstream error answer. Errors that are the
// caller's (a bad parameter) keep their status and message so the client
// can fix the request; errors that are the operator's (the channel's key was
// refused) or the provider's become a 502 or 503 with a safe message, and
// the upstream's own text goes only to the log.
func upstreamStatusError(resp *http.Response) *llm.Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := gjson.GetBytes(raw, "error.message").Str
	if msg == "" {
		msg = gjson.GetBytes(raw, "message").Str
	}
	cause := errors.New("upstream status " + strconv.Itoa(resp.StatusCode) + ": " + string(raw))
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusPaymentRequired ||
		s == http.StatusBadRequest && strings.Contains(string(raw), `"API_KEY_INVALID"`):
		// Gemini refuses a bad key with a 400: the key is the gateway's, not
		// the caller's.
		return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_auth_error",
			Message: "the upstream refused this gateway's credentials", Cause: cause}
	case s == http.StatusTooManyRequests && (strings.Contains(string(raw), `"insufficient_quota"`) ||
		strings.Contains(string(raw), `"enforced_spend_limit_reached"`)):
		// Out of credit, not busy: waiting will not help, so the key is
		// taken out of rotation.
		return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_out_of_credit",
			Message: "the upstream account has no credit left", Cause: cause}
	case s == http.StatusTooManyRequests:
		return &llm.Error{Kind: llm.KindRateLimited, Code: "upstream_rate_limited",
			Message: "the upstream is rate limiting; retry later", RetryAfter: retryAfter(resp.Header, raw), Cause: cause}
	case s == http.StatusServiceUnavailable || s == 529:
		// Overloaded: 503 for OpenAI and Gemini clients, 529
		// overloaded_error for Anthropic's.
		return &llm.Error{Kind: llm.KindUnavailable, Code: "upstream_overloaded",
			Message: "the upstream is overloaded; retry later", RetryAfter: retryAfter(resp.Header, raw), Cause: cause}
	case s == http.StatusGatewayTimeout:
		return &llm.Error{Kind: llm.KindTimeout, Code: "upstream_timeout",
			Message: "the upstream timed out", Cause: cause}
	case s >= 500:
		return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error",
			Message: "the upstream failed (status " + strconv.Itoa(s) + ")", Cause: cause}
	case s >= 400:
		if msg == "" {
			msg = "the upstream rejected the request"
		}
		code := gjson.GetBytes(raw, "error.code").String()
		if code == "" || gjson.GetBytes(raw, "error.code").Type == gjson.Number {
			code = gjson.GetBytes(raw, "error.type").Str // Anthropic
		}
		if code == "" {
			code = gjson.GetBytes(raw, "error.status").Str // Gemini
		}
		return &llm.Error{Kind: llm.KindUpstreamClient, Code: code, Status: s, Param: gjson.GetBytes(raw, "error.param").Str,
			Message: msg, Cause: cause}
	default:
		return &llm.Error{Kind: llm.KindUpstream, Code: "upstream_error",
			Message: "unexpected upstream status " + strconv.Itoa(s), Cause: cause}
	}
}

// retryAfter reads Retry-After-Ms, else Retry-After in seconds (HTTP dates
// are rare upstream), else Gemini's RetryInfo.retryDelay in the body
// ("43s"), since Gemini sends no header.
func retryAfter(h http.Header, body []byte) time.Duration {
	if ms, err := strconv.Atoi(h.Get("Retry-After-Ms")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	for _, d := range gjson.GetBytes(body, "error.details").Array() {
		if delay := d.Get("retryDelay").Str; delay != "" {
			if v, err := time.ParseDuration(delay); err == nil && v > 0 {
				return v
			}
		}
	}
	return 0
}
