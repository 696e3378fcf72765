// Package openai speaks to upstreams of the OpenAI protocol: OpenAI itself,
// Volcengine Ark's chat API and any OpenAI-compatible provider. Requests in
// the same protocol are forwarded as raw bytes, so this package only knows
// where to send them and how to authenticate.
package openai

import (
	"net/http"
	"strings"
)

// defaultPrefix is the API version path each channel type puts after a bare
// host: "https://api.openai.com" serves "/v1/chat/completions", Ark's
// "https://ark.cn-beijing.volces.com" serves "/api/v3/chat/completions".
var defaultPrefix = map[string]string{
	"openai":            "/v1",
	"openai-responses":  "/v1",
	"openai-compatible": "/v1",
	"ark":               "/api/v3",
}

// Speaks reports whether a channel type uses this protocol.
func Speaks(channelType string) bool {
	_, ok := defaultPrefix[channelType]
	return ok
}

// Base returns the API root for a channel: base_url as configured when it
// carries a path (".../v1", ".../api/v3", a reseller's "/openai/v1"), else
// base_url plus the type's default version prefix.
func Base(channelType, baseURL string) string {
	baseURL = strings.TrimRight(baseURL, "/")
	rest := baseURL
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if strings.Contains(rest, "/") {
		return baseURL
	}
	return baseURL + defaultPrefix[channelType]
}

// Authorize sets the upstream credential.
func Authorize(h http.Header, key string) {
	h.Set("Authorization", "Bearer "+key)
}

// RequestIDHeader is where OpenAI-protocol upstreams return their request id.
const RequestIDHeader = "X-Request-Id"
