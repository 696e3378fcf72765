package relay

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote string
		xff          []string
		proxies      []netip.Prefix
		want         string
	}{
		{"direct", "203.0.113.5:1234", nil, nil, "203.0.113.5"},
		{"forwarded header ignored without trusted proxies", "203.0.113.5:1234", []string{"1.2.3.4"}, nil, "203.0.113.5"},
		{"untrusted peer cannot spoof", "203.0.113.5:1234", []string{"1.2.3.4"}, proxies, "203.0.113.5"},
		{"trusted proxy", "10.0.0.2:1234", []string{"198.51.100.7"}, proxies, "198.51.100.7"},
		{"chain of proxies, rightmost untrusted wins", "10.0.0.2:1", []string{"6.6.6.6, 198.51.100.7, 10.0.0.9"}, proxies, "198.51.100.7"},
		{"several headers", "10.0.0.2:1", []string{"6.6.6.6", "198.51.100.7"}, proxies, "198.51.100.7"},
		{"garbage stops at the last good hop", "10.0.0.2:1", []string{"nonsense"}, proxies, "10.0.0.2"},
		{"ipv6", "[2001:db8::1]:443", nil, nil, "2001:db8::1"},
		{"mapped ipv4", "[::ffff:192.0.2.1]:80", nil, nil, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rl := &Relay{opts: Options{TrustedProxies: tt.proxies}}
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := rl.clientIP(r).String(); got != tt.want {
				t.Fatalf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCarriesOutput(t *testing.T) {
	tests := map[string]bool{
		`{"choices":[{"delta":{"role":"assistant","content":""}}]}`:                                   false,
		`{"choices":[{"delta":{"content":"Hi"}}]}`:                                                    true,
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]}}]}`:        true,
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":""}}]}}]}`: false,
		`{"choices":[{"delta":{"content":"","reasoning_content":"hmm"}}]}`:                            true,
		`{"choices":[{"delta":{},"finish_reason":"stop"}]}`:                                           false,
	}
	for payload, want := range tests {
		if got := carriesOutput([]byte(payload)); got != want {
			t.Errorf("carriesOutput(%s) = %v, want %v", payload, got, want)
		}
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := newRequestID()
		if len(id) != 36 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestReadResponseRefusesOversizedAnswers(t *testing.T) {
	for name, resp := range map[string]*http.Response{
		"announced too long": {ContentLength: maxResponseBytes + 1, Body: io.NopCloser(strings.NewReader("{}"))},
		"unannounced too long": {ContentLength: -1,
			Body: io.NopCloser(io.LimitReader(zeros{}, maxResponseBytes+10))},
	} {
		if _, err := readResponse(resp); err == nil {
			t.Errorf("%s: an oversized answer was accepted (and would have been cut)", name)
		}
	}
	body, err := readResponse(&http.Response{ContentLength: -1, Body: io.NopCloser(strings.NewReader(`{"ok":1}`))})
	if err != nil || string(body) != `{"ok":1}` {
		t.Fatalf("%q, %v", body, err)
	}
	body, err = readResponse(&http.Response{ContentLength: 3, Body: io.NopCloser(strings.NewReader(`{}`))})
	if err == nil {
		t.Fatalf("a body shorter than announced was accepted: %q", body)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
