package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/llm"
)

const namespace = "tokenhot"

// Label values used when the caller had nothing to report.
const (
	unknownModel = "unknown"
	noChannel    = "none"
	unknownLabel = "unknown"
)

// Bucket boundaries in seconds. A whole LLM call runs from tens of
// milliseconds (an embedding, a cached refusal) to minutes (a long
// reasoning stream); the first token usually arrives within seconds.
var (
	durationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300}
	ttftBuckets     = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60}
)

// Metrics owns Tokenhot's Prometheus metrics and the registry that exposes
// them. It is safe for concurrent use. Each Metrics has its own registry, so
// several can live in one process (as in tests).
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	ttft        *prometheus.HistogramVec
	tokens      *prometheus.CounterVec
	cost        *costCounter
	attempts    *prometheus.CounterVec
	breaker     *prometheus.GaugeVec
	inflight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	backendUp   *prometheus.GaugeVec // no labels; see New

	// Observe's children resolved per label set, so that a request costs
	// one lock-free map lookup instead of hashing label values for each of
	// the up to ten series it touches (about 4x faster).
	requestSeries sync.Map // requestKey → *requestSeries
}

// New returns Metrics registered on a fresh registry together with the Go
// runtime and process collectors. It never touches the global registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "Finished client requests by surface, public model, channel, HTTP status class and streaming.",
		}, []string{"surface", "model", "channel", "status_class", "stream"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "errors_total",
			Help: "Failed client requests by public model, channel and error class.",
		}, []string{"model", "channel", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds",
			Help:    "Time from receiving a client request to finishing its answer.",
			Buckets: durationBuckets,
		}, []string{"surface", "model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ttft_seconds",
			Help:    "Time from receiving a client request to delivering its first output.",
			Buckets: ttftBuckets,
		}, []string{"model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tokens_total",
			Help: "Tokens metered by public model and disjoint kind.",
		}, []string{"model", "kind"}),
		cost: newCostCounter(prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "", "cost_usd_total"),
			"Cost charged to clients in US dollars, by public model. Approximate: the ledger is the source of truth.",
			[]string{"model"}, nil)),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_attempts_total",
			Help: "Upstream attempts by channel and outcome (ok, failover, error).",
		}, []string{"channel", "outcome"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "breaker_state",
			Help: "Circuit breaker state per channel key: 0 closed, 1 half-open, 2 open, 3 disabled.",
		}, []string{"channel", "key"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "inflight_requests",
			Help: "Client requests being served.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rate_limited_total",
			Help: "Requests refused by a rate limit, by scope (key, user, model, channel) and kind (requests, tokens, concurrent).",
		}, []string{"scope", "kind"}),
		// A vector without labels so that the series appears only once a
		// shared backend has reported: a gateway limiting in memory must
		// not look like one whose Redis is down.
		backendUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "ratelimit_backend_up",
			Help: "Whether the shared rate-limit backend (Redis) is reachable: 1 up, 0 down.",
		}, nil),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.errors, m.duration, m.ttft, m.tokens, m.cost,
		m.attempts, m.breaker, m.inflight, m.rateLimited, m.backendUp,
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format. A
// collector that fails is reported in promhttp_metric_handler_errors_total
// and does not prevent the rest from being served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// Request is one finished request, as the relay's finish step knows it.
//
// Model and Channel must come from the operator's catalogue, never from the
// client: the relay passes "" (reported as "unknown") for a model the
// catalogue does not have, so a client cannot create series at will.
type Request struct {
	Surface    string // "openai-chat", "openai-responses", "anthropic", "gemini", "openai-embeddings"
	Model      string // public model name ("" when the request failed before it was known → label "unknown")
	Channel    string // channel name ("" → "none")
	Status     int    // HTTP status sent to the client (499 = client left)
	ErrorClass string // "" on success, else e.g. "upstream_error", "rate_limited", "timeout", "invalid_request"
	Stream     bool
	Latency    time.Duration
	TTFT       time.Duration // 0 when nothing was delivered
	Usage      llm.Usage
	Cost       billing.Micros
	// Attempts is the number of upstream attempts made (failover), 0 if
	// none. It is not exported by Observe: upstream_attempts_total is
	// counted by Attempt as each attempt ends, and counting here too would
	// count every attempt twice.
	Attempts int
}

// Observe records one finished request. It is called once per request on
// the request path: after the first request with a given set of labels it
// does one map lookup and a few atomic additions, and allocates nothing.
//
// Latency is always observed; TTFT only when positive; tokens and cost only
// when positive (a negative figure is a bug upstream of here and is
// dropped rather than allowed to panic a counter). errors_total counts the
// request when ErrorClass is not empty.
func (m *Metrics) Observe(r Request) {
	s := m.seriesFor(requestKey{
		surface: orDefault(r.Surface, unknownLabel),
		model:   orDefault(r.Model, unknownModel),
		channel: orDefault(r.Channel, noChannel),
		status:  statusClass(r.Status),
		stream:  r.Stream,
		class:   r.ErrorClass,
	})
	s.requests.Inc()
	if s.errors != nil {
		s.errors.Inc()
	}
	s.duration.Observe(max(r.Latency, 0).Seconds())
	if r.TTFT > 0 {
		s.ttft.Observe(r.TTFT.Seconds())
	}
	addTokens(s.tokens[kindInput], r.Usage.Input)
	addTokens(s.tokens[kindCachedInput], r.Usage.CachedInput)
	addTokens(s.tokens[kindCacheWrite], r.Usage.CacheWrite)
	addTokens(s.tokens[kindOutput], r.Usage.Output)
	addTokens(s.tokens[kindReasoning], r.Usage.Reasoning)
	if r.Cost > 0 {
		s.cost.Add(int64(r.Cost))
	}
}

// Inflight adds delta to the number of requests in flight: +1 when a
// request starts, -1 when it finishes.
func (m *Metrics) Inflight(delta int) {
	m.inflight.Add(float64(delta))
}

// Attempt counts one upstream attempt on channel. Outcome is "ok",
// "failover" (failed, and another channel was tried) or "error" (failed,
// and the request failed with it).
func (m *Metrics) Attempt(channel, outcome string) {
	m.attempts.WithLabelValues(orDefault(channel, noChannel), orDefault(outcome, unknownLabel)).Inc()
}

// BreakerState is the state of a channel key's circuit breaker; its value
// is the value of the breaker_state gauge.
type BreakerState int

// The breaker states.
const (
	BreakerClosed BreakerState = iota
	BreakerHalfOpen
	BreakerOpen
	BreakerDisabled
)

// Breaker records the breaker state of one key of a channel. Key is the
// key's short display id, never the secret itself.
func (m *Metrics) Breaker(channel, key string, state BreakerState) {
	m.breaker.WithLabelValues(orDefault(channel, noChannel), orDefault(key, unknownLabel)).Set(float64(state))
}

// RateLimited counts one request refused by a limit. ScopeKind is what the
// limit applies to ("key", "user", "model", "channel"), kind what it counts
// ("requests", "tokens", "concurrent").
func (m *Metrics) RateLimited(scopeKind, kind string) {
	m.rateLimited.WithLabelValues(orDefault(scopeKind, unknownLabel), orDefault(kind, unknownLabel)).Inc()
}

// RateLimitBackend records whether the shared rate-limit backend (Redis)
// is reachable. Until it is first called, ratelimit_backend_up is absent.
func (m *Metrics) RateLimitBackend(up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.backendUp.WithLabelValues().Set(v)
}

// statusClass gives the status_class label of an HTTP status. 499 (the
// client went away) is kept apart from the 4xx the gateway chose to send.
func statusClass(status int) string {
	switch {
	case status == 499:
		return "499"
	case status >= 100 && status < 200:
		return "1xx"
	case status >= 200 && status < 300:
		return "2xx"
	case status >= 300 && status < 400:
		return "3xx"
	case status >= 400 && status < 500:
		return "4xx"
	case status >= 500 && status < 600:
		return "5xx"
	default:
		return unknownLabel
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func addTokens(c prometheus.Counter, n int64) {
	if n > 0 {
		c.Add(float64(n))
	}
}
