package gemini

import (
	"net/http"
	"strings"
)

// ParsePath splits the last segment of a Gemini URL,
// "gemini-2.5-flash:generateContent" (also "models/gemini-2.5-flash:..."),
// into the model and the method. A trailing slash after the method, which
// some published examples show, is tolerated.
func ParsePath(modelAndMethod string) (model, method string, ok bool) {
	s := strings.TrimPrefix(modelAndMethod, "/")
	s = strings.TrimPrefix(s, "models/")
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	model, method = s[:i], strings.TrimSuffix(s[i+1:], "/")
	if model == "" || method == "" || strings.ContainsAny(model, "/:") || strings.Contains(method, "/") {
		return "", "", false
	}
	return model, method, true
}

// Authenticate returns the API key of a Gemini-style request: the
// x-goog-api-key header (both SDKs), else the ?key= query parameter (REST
// examples), else an Authorization bearer token.
func Authenticate(r *http.Request) string {
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	if r.URL != nil {
		if k := r.URL.Query().Get("key"); k != "" {
			return k
		}
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}
