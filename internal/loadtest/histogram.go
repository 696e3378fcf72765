// Package loadtest is the engine behind `tokenhot bench`: a closed-loop HTTP
// load generator with a low-overhead latency histogram, a burst of
// concurrently open streams, a bare reverse proxy to compare against, child
// process and RSS helpers, and the Markdown report.
package loadtest

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, in the manner of HdrHistogram: values are
// counted in whole microseconds, exactly below 2^subBits µs, and above that
// in buckets 1/2^(subBits-1) as wide as their lower bound. With subBits = 8
// a value up to 255 µs is exact and a larger one is off by less than 0.4 %
// once reported at its bucket's midpoint (at 1 ms, under 4 µs): fine enough
// to compare gateways that differ by tens of microseconds, while a
// histogram stays a fixed 35 KB however many requests it counts.
const (
	subBits  = 8
	subCount = 1 << subBits // buckets below the first doubling
	subHalf  = subCount / 2 // buckets per doubling above it
	maxBits  = 40           // values from 2^40 µs (12.7 days) up share the last bucket
	nBuckets = subCount + (maxBits-subBits)*subHalf
)

// Histogram counts durations. The zero value is empty and ready to use. It
// is not safe for concurrent use: give each worker its own and Merge them.
type Histogram struct {
	counts   [nBuckets]uint64
	n        uint64
	sum      time.Duration
	min, max time.Duration
}

// bucketOf returns the bucket index of a value in microseconds.
func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	if us >= 1<<maxBits {
		return nBuckets - 1
	}
	shift := bits.Len64(us) - subBits // ≥ 1
	mant := us >> shift               // in [subHalf, subCount)
	return subCount + (shift-1)*subHalf + int(mant-subHalf)
}

// bucketRange returns the lower bound and width, in microseconds, of a
// bucket.
func bucketRange(i int) (lo, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	i -= subCount
	shift := i/subHalf + 1
	mant := uint64(i%subHalf + subHalf)
	return mant << shift, 1 << shift
}

// Record counts one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	if h.n == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.n++
	h.sum += d
	h.counts[bucketOf(uint64(d/time.Microsecond))]++
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Count is the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded duration, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Min is the smallest recorded duration, exactly.
func (h *Histogram) Min() time.Duration { return h.min }

// Mean is the exact average.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the nearest-rank q-quantile (0 < q ≤ 1): the value below
// or at which a fraction q of the recorded durations lie, reported as the
// midpoint of its bucket truncated to the microsecond (so exactly, below
// 256 µs) and clamped to the recorded minimum and maximum. An empty histogram
// reports 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := time.Duration(lo+w/2) * time.Microsecond
			return min(max(v, h.min.Truncate(time.Microsecond)), h.max)
		}
	}
	return h.max // unreachable: the counts add up to n
}

// Summary is what a report shows of a histogram.
type Summary struct {
	Count                    uint64
	Mean, P50, P90, P99, Max time.Duration
}

// Summary computes the report's percentiles.
func (h *Histogram) Summary() Summary {
	return Summary{Count: h.n, Mean: h.Mean(), P50: h.Quantile(0.50), P90: h.Quantile(0.90),
		P99: h.Quantile(0.99), Max: h.max}
}
