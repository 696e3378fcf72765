// Package metrics owns Tokenhot's Prometheus metrics: it defines them,
// registers them on a registry of its own (with the Go runtime and process
// collectors, never the global registry) and serves them through Handler.
//
// The relay calls [Metrics.Observe] once per finished request and
// [Metrics.Inflight] around each request; routing calls [Metrics.Attempt]
// for each upstream attempt and [Metrics.Breaker] on breaker changes; the
// rate limiter calls [Metrics.RateLimited] and [Metrics.RateLimitBackend].
// Observe is on the request path, so it resolves its children once per
// label set and afterwards costs a map lookup and a few atomic additions,
// with no allocation (BenchmarkObserve).
//
// # Metrics
//
//	tokenhot_requests_total{surface,model,channel,status_class,stream}  counter
//	    Finished requests. status_class is "2xx", "4xx", "5xx" or "499"
//	    (client went away); "1xx", "3xx" or "unknown" if such a status is
//	    ever reported. stream is "true" or "false".
//	tokenhot_errors_total{model,channel,class}                           counter
//	    Requests that finished with an error class (upstream_error,
//	    rate_limited, timeout, invalid_request, ...).
//	tokenhot_request_duration_seconds{surface,model}                     histogram
//	    Whole-request latency; buckets 0.05 s to 300 s.
//	tokenhot_ttft_seconds{model}                                         histogram
//	    Time to first output, for requests that delivered any; buckets
//	    0.01 s to 60 s.
//	tokenhot_tokens_total{model,kind}                                    counter
//	    Metered tokens; kind is input, cached_input, cache_write, output or
//	    reasoning. The kinds are disjoint (see llm.Usage): their sum is the
//	    request's total.
//	tokenhot_cost_usd_total{model}                                       counter
//	    Cost charged, in dollars (Micros / 1e6), summed exactly in Micros and
//	    converted when scraped. It is for dashboards and alerts only: the
//	    ledger is the source of truth for money, and a refunded or
//	    re-settled request is not corrected here.
//	tokenhot_upstream_attempts_total{channel,outcome}                    counter
//	    Upstream attempts; outcome is ok, failover or error.
//	tokenhot_breaker_state{channel,key}                                  gauge
//	    Per channel key: 0 closed, 1 half-open, 2 open, 3 disabled. key is
//	    the key's short display id, never the secret.
//	tokenhot_inflight_requests                                           gauge
//	    Requests being served.
//	tokenhot_rate_limited_total{scope,kind}                              counter
//	    Refusals by a limit; scope is key, user, model or channel, kind is
//	    requests, tokens or concurrent.
//	tokenhot_ratelimit_backend_up                                        gauge
//	    1 while the shared rate-limit backend (Redis) is reachable, 0 when
//	    not; absent when no shared backend has reported (limits kept in
//	    memory).
//
// An empty model is reported as "unknown", an empty channel as "none", and
// any other empty label as "unknown".
//
// # Cardinality
//
// Every label value must come from a bounded set the gateway controls:
// surfaces, status classes, error classes, outcomes and limit scopes are
// constants in the code, and model, channel and key names come from the
// operator's catalogue. Nothing a client sends is ever used as a label: the
// relay reports a model name the catalogue does not have as "" ("unknown"),
// so a client sending random model names adds no series. Series of models or
// channels the operator later removes stay until the process restarts.
package metrics
