// Package anthropic says where Anthropic Messages API upstreams are and how
// they are authenticated. The wire format itself is in
// internal/protocol/anthropic.
package anthropic

import (
	"net/http"
	"strings"
)

// DefaultBaseURL is used when a channel sets no base_url.
const DefaultBaseURL = "https://api.anthropic.com"

// Version is the API version sent when the client named none.
const Version = "2023-06-01"

// RequestIDHeader is where Anthropic returns its request id.
const RequestIDHeader = "Request-Id"

// MessagesURL is the Messages endpoint of a channel: base_url as configured
// when it already ends in /v1 (a reseller's path), else base_url + "/v1".
func MessagesURL(baseURL string) string { return root(baseURL) + "/messages" }

// CountTokensURL is the token counting endpoint of a channel.
func CountTokensURL(baseURL string) string { return root(baseURL) + "/messages/count_tokens" }

func root(baseURL string) string {
	baseURL = strings.TrimRight(baseURL, "/")
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if strings.HasSuffix(baseURL, "/v1") {
		return baseURL
	}
	return baseURL + "/v1"
}

// Authorize sets the upstream credential and the API version. version and
// betas are the client's when it spoke Anthropic's protocol, so features it
// opted into reach the upstream.
func Authorize(h http.Header, key, version string, betas []string) {
	h.Set("X-Api-Key", key)
	if version == "" {
		version = Version
	}
	h.Set("Anthropic-Version", version)
	for _, b := range betas {
		h.Add("Anthropic-Beta", b)
	}
}
