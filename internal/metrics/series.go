package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// requestKey is every label Observe can set. Its cardinality is that of
// requests_total times the error classes, bounded because every field comes
// from the gateway or the operator's catalogue (see the package comment).
type requestKey struct {
	surface, model, channel string
	status                  string // status_class
	stream                  bool
	class                   string // error class, "" on success
}

// Token kinds, in the order of requestSeries.tokens.
const (
	kindInput = iota
	kindCachedInput
	kindCacheWrite
	kindOutput
	kindReasoning
	numKinds
)

var kindNames = [numKinds]string{"input", "cached_input", "cache_write", "output", "reasoning"}

// requestSeries is every child metric one Observe call touches, resolved
// once per requestKey.
type requestSeries struct {
	requests prometheus.Counter
	errors   prometheus.Counter // nil on success
	duration prometheus.Observer
	ttft     prometheus.Observer
	tokens   [numKinds]prometheus.Counter
	cost     *atomic.Int64
}

func (m *Metrics) seriesFor(k requestKey) *requestSeries {
	if s, ok := m.requestSeries.Load(k); ok {
		return s.(*requestSeries)
	}
	s := &requestSeries{
		requests: m.requests.WithLabelValues(k.surface, k.model, k.channel, k.status, strconv.FormatBool(k.stream)),
		duration: m.duration.WithLabelValues(k.surface, k.model),
		ttft:     m.ttft.WithLabelValues(k.model),
		cost:     m.cost.cell(k.model),
	}
	if k.class != "" {
		s.errors = m.errors.WithLabelValues(k.model, k.channel, k.class)
	}
	for i, name := range kindNames {
		s.tokens[i] = m.tokens.WithLabelValues(k.model, name)
	}
	// Two goroutines may both get here; the children are the same either
	// way, so whichever is stored first wins.
	got, _ := m.requestSeries.LoadOrStore(k, s)
	return got.(*requestSeries)
}

// costCounter is tokenhot_cost_usd_total. It sums integer Micros per model
// and converts to dollars only when scraped, so the running total is exact
// (a float64 holds every whole number of Micros below 2^53, about nine
// billion dollars) rather than drifting with each float addition.
type costCounter struct {
	desc  *prometheus.Desc
	cells sync.Map // model → *atomic.Int64 (Micros)
}

var _ prometheus.Collector = (*costCounter)(nil)

func newCostCounter(desc *prometheus.Desc) *costCounter {
	return &costCounter{desc: desc}
}

func (c *costCounter) cell(model string) *atomic.Int64 {
	if v, ok := c.cells.Load(model); ok {
		return v.(*atomic.Int64)
	}
	v, _ := c.cells.LoadOrStore(model, new(atomic.Int64))
	return v.(*atomic.Int64)
}

func (c *costCounter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *costCounter) Collect(ch chan<- prometheus.Metric) {
	c.cells.Range(func(model, v any) bool {
		usd := float64(v.(*atomic.Int64).Load()) / billing.MicrosPerUSD
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, usd, model.(string))
		return true
	})
}
