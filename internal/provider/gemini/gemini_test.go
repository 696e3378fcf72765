package gemini

import "testing"

func TestURL(t *testing.T) {
	tests := []struct{ base, model, method, want string }{
		{"", "gemini-2.5-flash", "generateContent", "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"},
		{"http://mock:1/", "m", "streamGenerateContent", "http://mock:1/v1beta/models/m:streamGenerateContent?alt=sse"},
		{"https://proxy.example/google/v1", "m", "countTokens", "https://proxy.example/google/v1/models/m:countTokens"},
	}
	for _, tt := range tests {
		if got := URL(tt.base, tt.model, tt.method); got != tt.want {
			t.Errorf("URL(%q, %q, %q) = %q, want %q", tt.base, tt.model, tt.method, got, tt.want)
		}
	}
}
