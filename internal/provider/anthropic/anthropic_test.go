package anthropic

import (
	"net/http"
	"testing"
)

func TestURLsAndAuth(t *testing.T) {
	for base, want := range map[string]string{
		"":                           "https://api.anthropic.com/v1/messages",
		"http://mock:1/":             "http://mock:1/v1/messages",
		"https://proxy.example/a/v1": "https://proxy.example/a/v1/messages",
	} {
		if got := MessagesURL(base); got != want {
			t.Errorf("MessagesURL(%q) = %q, want %q", base, got, want)
		}
	}
	if got := CountTokensURL(""); got != "https://api.anthropic.com/v1/messages/count_tokens" {
		t.Errorf("CountTokensURL = %q", got)
	}
	h := http.Header{}
	Authorize(h, "sk-ant", "", []string{"a-2025", "b-2025"})
	if h.Get("X-Api-Key") != "sk-ant" || h.Get("Anthropic-Version") != Version || len(h.Values("Anthropic-Beta")) != 2 {
		t.Fatalf("%v", h)
	}
}
