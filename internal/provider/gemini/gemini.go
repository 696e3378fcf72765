// Package gemini says where Google Gemini (Developer API) upstreams are and
// how they are authenticated. The wire format itself is in
// internal/protocol/gemini.
package gemini

import (
	"net/http"
	"net/url"
	"strings"
)

// DefaultBaseURL is used when a channel sets no base_url.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// RequestIDHeader is not sent by Gemini; its answers carry a responseId in
// the body instead. The Google front end's trace header is the closest.
const RequestIDHeader = "X-Cloud-Trace-Context"

// URL is the endpoint for method ("generateContent",
// "streamGenerateContent", "countTokens") of model on a channel: base_url as
// configured when it already ends in a version (/v1beta, /v1), else base_url
// + "/v1beta". Streams ask for SSE framing.
func URL(baseURL, model, method string) string {
	baseURL = strings.TrimRight(baseURL, "/")
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(baseURL, "/v1beta") && !strings.HasSuffix(baseURL, "/v1") {
		baseURL += "/v1beta"
	}
	u := baseURL + "/models/" + url.PathEscape(model) + ":" + method
	if method == "streamGenerateContent" {
		u += "?alt=sse"
	}
	return u
}

// Authorize sets the upstream credential.
func Authorize(h http.Header, key string) {
	h.Set("X-Goog-Api-Key", key)
}
