package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// scrape GETs m.Handler() and returns every sample as "name{labels}" →
// value, exactly as the text exposition prints it (labels sorted by name,
// "le" last on histogram buckets).
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, body:\n%s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want text/plain", ct)
	}
	samples := make(map[string]float64)
	for line := range strings.Lines(rec.Body.String()) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("malformed sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// own returns Tokenhot's samples other than histogram buckets, which are
// checked separately.
func own(samples map[string]float64) map[string]float64 {
	got := make(map[string]float64)
	for k, v := range samples {
		if strings.HasPrefix(k, "tokenhot_") && !strings.Contains(k, "_bucket{") {
			got[k] = v
		}
	}
	return got
}

// tokenSeries is the five tokens_total samples of model.
func tokenSeries(model string, input, cachedInput, cacheWrite, output, reasoning float64) map[string]float64 {
	s := func(kind string) string { return fmt.Sprintf(`tokenhot_tokens_total{kind=%q,model=%q}`, kind, model) }
	return map[string]float64{
		s("input"): input, s("cached_input"): cachedInput, s("cache_write"): cacheWrite,
		s("output"): output, s("reasoning"): reasoning,
	}
}

func merge(maps ...map[string]float64) map[string]float64 {
	out := make(map[string]float64)
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestObserve(t *testing.T) {
	m := New()
	for _, r := range []Request{
		{
			Surface: "openai-chat", Model: "gpt-4o", Channel: "primary", Status: 200, Stream: true,
			Latency: 500 * time.Millisecond, TTFT: 250 * time.Millisecond,
			Usage: llm.Usage{Input: 100, CachedInput: 20, Output: 50, Reasoning: 10},
			Cost:  1_500_000, Attempts: 1,
		},
		{
			Surface: "openai-chat", Model: "gpt-4o", Channel: "primary", Status: 200, Stream: true,
			Latency: 2 * time.Second, TTFT: time.Second,
			Usage: llm.Usage{Input: 10, CacheWrite: 7, Output: 5},
			Cost:  250_000, Attempts: 2,
		},
		{
			Surface: "openai-chat", Model: "gpt-4o", Channel: "backup", Status: 499, Stream: true,
			Latency: 4 * time.Second, Attempts: 1,
		},
		{
			Surface: "anthropic", Status: 404, ErrorClass: "invalid_request",
			Latency: 125 * time.Millisecond,
		},
		{
			Surface: "gemini", Model: "gemini-2.5-pro", Channel: "vertex", Status: 502, ErrorClass: "upstream_error",
			Latency: 30 * time.Second, Attempts: 2,
		},
	} {
		m.Observe(r)
	}
	samples := scrape(t, m)

	want := merge(
		map[string]float64{
			`tokenhot_requests_total{channel="primary",model="gpt-4o",status_class="2xx",stream="true",surface="openai-chat"}`:    2,
			`tokenhot_requests_total{channel="backup",model="gpt-4o",status_class="499",stream="true",surface="openai-chat"}`:     1,
			`tokenhot_requests_total{channel="none",model="unknown",status_class="4xx",stream="false",surface="anthropic"}`:       1,
			`tokenhot_requests_total{channel="vertex",model="gemini-2.5-pro",status_class="5xx",stream="false",surface="gemini"}`: 1,
			`tokenhot_errors_total{channel="none",class="invalid_request",model="unknown"}`:                                       1,
			`tokenhot_errors_total{channel="vertex",class="upstream_error",model="gemini-2.5-pro"}`:                               1,
			`tokenhot_request_duration_seconds_sum{model="gpt-4o",surface="openai-chat"}`:                                         6.5,
			`tokenhot_request_duration_seconds_count{model="gpt-4o",surface="openai-chat"}`:                                       3,
			`tokenhot_request_duration_seconds_sum{model="unknown",surface="anthropic"}`:                                          0.125,
			`tokenhot_request_duration_seconds_count{model="unknown",surface="anthropic"}`:                                        1,
			`tokenhot_request_duration_seconds_sum{model="gemini-2.5-pro",surface="gemini"}`:                                      30,
			`tokenhot_request_duration_seconds_count{model="gemini-2.5-pro",surface="gemini"}`:                                    1,
			`tokenhot_ttft_seconds_sum{model="gpt-4o"}`:                                                                           1.25,
			`tokenhot_ttft_seconds_count{model="gpt-4o"}`:                                                                         2,
			`tokenhot_ttft_seconds_sum{model="unknown"}`:                                                                          0,
			`tokenhot_ttft_seconds_count{model="unknown"}`:                                                                        0,
			`tokenhot_ttft_seconds_sum{model="gemini-2.5-pro"}`:                                                                   0,
			`tokenhot_ttft_seconds_count{model="gemini-2.5-pro"}`:                                                                 0,
			`tokenhot_cost_usd_total{model="gpt-4o"}`:                                                                             1.75,
			`tokenhot_cost_usd_total{model="unknown"}`:                                                                            0,
			`tokenhot_cost_usd_total{model="gemini-2.5-pro"}`:                                                                     0,
			`tokenhot_inflight_requests`:                                                                                          0,
		},
		tokenSeries("gpt-4o", 110, 20, 7, 55, 10),
		tokenSeries("unknown", 0, 0, 0, 0, 0),
		tokenSeries("gemini-2.5-pro", 0, 0, 0, 0, 0),
	)
	if diff := cmp.Diff(want, own(samples)); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}

	// Buckets are cumulative: each counts the observations at or below le.
	for series, want := range map[string]float64{
		`tokenhot_request_duration_seconds_bucket{model="gpt-4o",surface="openai-chat",le="0.25"}`:   0,
		`tokenhot_request_duration_seconds_bucket{model="gpt-4o",surface="openai-chat",le="0.5"}`:    1,
		`tokenhot_request_duration_seconds_bucket{model="gpt-4o",surface="openai-chat",le="2.5"}`:    2,
		`tokenhot_request_duration_seconds_bucket{model="gpt-4o",surface="openai-chat",le="5"}`:      3,
		`tokenhot_request_duration_seconds_bucket{model="gpt-4o",surface="openai-chat",le="+Inf"}`:   3,
		`tokenhot_request_duration_seconds_bucket{model="gemini-2.5-pro",surface="gemini",le="20"}`:  0,
		`tokenhot_request_duration_seconds_bucket{model="gemini-2.5-pro",surface="gemini",le="30"}`:  1,
		`tokenhot_request_duration_seconds_bucket{model="gemini-2.5-pro",surface="gemini",le="300"}`: 1,
		`tokenhot_request_duration_seconds_bucket{model="unknown",surface="anthropic",le="0.05"}`:    0,
		`tokenhot_request_duration_seconds_bucket{model="unknown",surface="anthropic",le="0.25"}`:    1,
		`tokenhot_ttft_seconds_bucket{model="gpt-4o",le="0.1"}`:                                      0,
		`tokenhot_ttft_seconds_bucket{model="gpt-4o",le="0.25"}`:                                     1,
		`tokenhot_ttft_seconds_bucket{model="gpt-4o",le="1"}`:                                        2,
		`tokenhot_ttft_seconds_bucket{model="gpt-4o",le="60"}`:                                       2,
		`tokenhot_ttft_seconds_bucket{model="gpt-4o",le="+Inf"}`:                                     2,
	} {
		got, ok := samples[series]
		if !ok {
			t.Errorf("%s: missing", series)
		} else if got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	// The bucket boundaries are the ones documented.
	for _, h := range []struct {
		prefix string
		want   []float64
	}{
		{`tokenhot_request_duration_seconds_bucket{model="gpt-4o",surface="openai-chat",le=`, durationBuckets},
		{`tokenhot_ttft_seconds_bucket{model="gpt-4o",le=`, ttftBuckets},
	} {
		var got []float64
		for series := range samples {
			if le, ok := strings.CutPrefix(series, h.prefix); ok && le != `"+Inf"}` {
				v, err := strconv.ParseFloat(strings.Trim(le, `"}`), 64)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
		}
		slices.Sort(got)
		if diff := cmp.Diff(h.want, got); diff != "" {
			t.Errorf("%s buckets (-want +got):\n%s", h.prefix, diff)
		}
	}
}

func TestAttemptsLimitsInflight(t *testing.T) {
	m := New()
	m.Attempt("primary", "failover")
	m.Attempt("backup", "ok")
	m.Attempt("backup", "ok")
	m.Attempt("primary", "error")
	m.RateLimited("key", "requests")
	m.RateLimited("key", "requests")
	m.RateLimited("model", "tokens")
	m.Inflight(1)
	m.Inflight(1)
	m.Inflight(1)
	m.Inflight(-1)

	want := map[string]float64{
		`tokenhot_upstream_attempts_total{channel="primary",outcome="failover"}`: 1,
		`tokenhot_upstream_attempts_total{channel="primary",outcome="error"}`:    1,
		`tokenhot_upstream_attempts_total{channel="backup",outcome="ok"}`:        2,
		`tokenhot_rate_limited_total{kind="requests",scope="key"}`:               2,
		`tokenhot_rate_limited_total{kind="tokens",scope="model"}`:               1,
		`tokenhot_inflight_requests`:                                             2,
	}
	if diff := cmp.Diff(want, own(scrape(t, m))); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestBreaker(t *testing.T) {
	m := New()
	m.Breaker("primary", "sk-…a1b2", BreakerClosed)
	const series = `tokenhot_breaker_state{channel="primary",key="sk-…a1b2"}`
	const other = `tokenhot_breaker_state{channel="primary",key="sk-…c3d4"}`
	m.Breaker("primary", "sk-…c3d4", BreakerHalfOpen)

	for _, tc := range []struct {
		name  string
		state BreakerState
		want  float64
	}{
		{"open", BreakerOpen, 2},
		{"half-open", BreakerHalfOpen, 1},
		{"closed", BreakerClosed, 0},
		{"disabled", BreakerDisabled, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.Breaker("primary", "sk-…a1b2", tc.state)
			samples := scrape(t, m)
			if got, ok := samples[series]; !ok || got != tc.want {
				t.Errorf("%s = %v (present %t), want %v", series, got, ok, tc.want)
			}
			// Another key of the same channel keeps its own state.
			if got := samples[other]; got != 1 {
				t.Errorf("%s = %v, want 1", other, got)
			}
		})
	}
}

func TestRateLimitBackend(t *testing.T) {
	m := New()
	const series = `tokenhot_ratelimit_backend_up`
	if got, ok := scrape(t, m)[series]; ok {
		t.Fatalf("%s = %v before any report, want absent", series, got)
	}
	for _, tc := range []struct {
		name string
		up   bool
		want float64
	}{
		{"up", true, 1},
		{"down", false, 0},
		{"up again", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.RateLimitBackend(tc.up)
			if got, ok := scrape(t, m)[series]; !ok || got != tc.want {
				t.Errorf("%s = %v (present %t), want %v", series, got, ok, tc.want)
			}
		})
	}
}

func TestEmptyAndInvalidInput(t *testing.T) {
	m := New()
	m.Observe(Request{})
	// Negative figures are dropped rather than panicking a counter.
	m.Observe(Request{Latency: -time.Second, TTFT: -time.Second, Cost: -5, Usage: llm.Usage{Input: -1, Output: 3}})
	m.Attempt("", "")
	m.Breaker("", "", BreakerOpen)
	m.RateLimited("", "")

	want := merge(
		map[string]float64{
			`tokenhot_requests_total{channel="none",model="unknown",status_class="unknown",stream="false",surface="unknown"}`: 2,
			`tokenhot_request_duration_seconds_sum{model="unknown",surface="unknown"}`:                                        0,
			`tokenhot_request_duration_seconds_count{model="unknown",surface="unknown"}`:                                      2,
			`tokenhot_ttft_seconds_sum{model="unknown"}`:                                                                      0,
			`tokenhot_ttft_seconds_count{model="unknown"}`:                                                                    0,
			`tokenhot_cost_usd_total{model="unknown"}`:                                                                        0,
			`tokenhot_upstream_attempts_total{channel="none",outcome="unknown"}`:                                              1,
			`tokenhot_breaker_state{channel="none",key="unknown"}`:                                                            2,
			`tokenhot_rate_limited_total{kind="unknown",scope="unknown"}`:                                                     1,
			`tokenhot_inflight_requests`:                                                                                      0,
		},
		tokenSeries("unknown", 0, 0, 0, 3, 0),
	)
	if diff := cmp.Diff(want, own(scrape(t, m))); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestStatusClass(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{0, "unknown"},
		{101, "1xx"},
		{200, "2xx"},
		{204, "2xx"},
		{304, "3xx"},
		{400, "4xx"},
		{429, "4xx"},
		{499, "499"},
		{500, "5xx"},
		{504, "5xx"},
		{600, "unknown"},
		{-1, "unknown"},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			if got := statusClass(tc.status); got != tc.want {
				t.Errorf("statusClass(%d) = %q, want %q", tc.status, got, tc.want)
			}
		})
	}
}

// TestOwnRegistry checks that each Metrics has its own registry (a second
// New would panic on duplicate registration with the global one) and that
// it serves the runtime and process collectors.
func TestOwnRegistry(t *testing.T) {
	a, b := New(), New()
	a.Inflight(1)
	if got := scrape(t, b)[`tokenhot_inflight_requests`]; got != 0 {
		t.Errorf("second registry's inflight_requests = %v, want 0", got)
	}
	samples := scrape(t, a)
	want := []string{"go_goroutines", "go_memstats_alloc_bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_resident_memory_bytes", "process_open_fds")
	}
	for _, name := range want {
		if _, ok := samples[name]; !ok {
			t.Errorf("%s missing from the scrape", name)
		}
	}
}

func TestConcurrentObserve(t *testing.T) {
	m := New()
	const goroutines, perGoroutine = 8, 500
	models := []string{"gpt-4o", "claude-sonnet", "gemini-2.5-pro", ""}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				m.Inflight(1)
				m.Observe(Request{
					Surface: "openai-chat", Model: models[(g+i)%len(models)], Channel: "primary",
					Status: 200, Latency: time.Second, Usage: llm.Usage{Input: 2, Output: 1}, Cost: 3,
				})
				m.Attempt("primary", "ok")
				m.Inflight(-1)
			}
		})
	}
	// Scrape while requests are being observed, for the race detector.
	scrape(t, m)
	wg.Wait()

	samples := own(scrape(t, m))
	const perModel = goroutines * perGoroutine / 4
	for _, model := range []string{"gpt-4o", "claude-sonnet", "gemini-2.5-pro", "unknown"} {
		for series, want := range map[string]float64{
			fmt.Sprintf(`tokenhot_requests_total{channel="primary",model=%q,status_class="2xx",stream="false",surface="openai-chat"}`, model): perModel,
			fmt.Sprintf(`tokenhot_tokens_total{kind="input",model=%q}`, model):                                                                2 * perModel,
			fmt.Sprintf(`tokenhot_cost_usd_total{model=%q}`, model):                                                                           3 * perModel / 1e6,
		} {
			if got := samples[series]; got != want {
				t.Errorf("%s = %v, want %v", series, got, want)
			}
		}
	}
	for series, want := range map[string]float64{
		`tokenhot_upstream_attempts_total{channel="primary",outcome="ok"}`: goroutines * perGoroutine,
		`tokenhot_inflight_requests`:                                       0,
	} {
		if got := samples[series]; got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

var benchRequest = Request{
	Surface: "openai-chat", Model: "gpt-4o-mini", Channel: "primary", Status: 200, Stream: true,
	Latency: 1200 * time.Millisecond, TTFT: 180 * time.Millisecond,
	Usage: llm.Usage{Input: 812, CachedInput: 1024, Output: 240, Reasoning: 64},
	Cost:  431, Attempts: 1,
}

// BenchmarkObserve measures the per-request cost of Observe once its label
// set has been seen, which is the steady state of a running gateway.
func BenchmarkObserve(b *testing.B) {
	b.Run("one-series", func(b *testing.B) {
		m := New()
		m.Observe(benchRequest)
		b.ReportAllocs()
		for b.Loop() {
			m.Observe(benchRequest)
		}
	})
	b.Run("64-series", func(b *testing.B) {
		m := New()
		reqs := make([]Request, 64)
		for i := range reqs {
			r := benchRequest
			r.Model = fmt.Sprintf("model-%d", i%16)
			r.Channel = fmt.Sprintf("channel-%d", i%4)
			reqs[i] = r
			m.Observe(r)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Observe(reqs[i%len(reqs)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		m := New()
		m.Observe(benchRequest)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Observe(benchRequest)
			}
		})
	})
}

func BenchmarkAttempt(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.Attempt("primary", "ok")
	}
}
