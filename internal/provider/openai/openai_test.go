package openai

import (
	"net/http"
	"testing"
)

func TestBase(t *testing.T) {
	tests := []struct{ typ, url, want string }{
		{"openai", "https://api.openai.com", "https://api.openai.com/v1"},
		{"openai", "https://api.openai.com/", "https://api.openai.com/v1"},
		{"ark", "https://ark.cn-beijing.volces.com", "https://ark.cn-beijing.volces.com/api/v3"},
		{"ark", "https://ark.cn-beijing.volces.com/api/v3/", "https://ark.cn-beijing.volces.com/api/v3"},
		{"openai-compatible", "https://api.deepseek.com", "https://api.deepseek.com/v1"},
		{"openai-compatible", "https://reseller.example/openai/v1", "https://reseller.example/openai/v1"},
		{"openai-compatible", "http://127.0.0.1:9000", "http://127.0.0.1:9000/v1"},
	}
	for _, tt := range tests {
		if got := Base(tt.typ, tt.url); got != tt.want {
			t.Errorf("Base(%q, %q) = %q, want %q", tt.typ, tt.url, got, tt.want)
		}
	}
}

func TestSpeaksAndAuthorize(t *testing.T) {
	for typ, want := range map[string]bool{"openai": true, "ark": true, "openai-compatible": true, "anthropic": false, "gemini": false} {
		if Speaks(typ) != want {
			t.Errorf("Speaks(%q) = %v", typ, !want)
		}
	}
	h := http.Header{}
	Authorize(h, "sk-x")
	if h.Get("Authorization") != "Bearer sk-x" {
		t.Fatal(h)
	}
}
