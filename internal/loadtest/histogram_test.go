package loadtest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBucketsTile(t *testing.T) {
	// Every bucket starts where the previous one ended, and its bounds map
	// back to it.
	next := uint64(0)
	for i := range nBuckets - 1 {
		lo, w := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(lo + w - 1); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo+w-1, got, i)
		}
		if i >= subCount && w*subHalf > lo {
			t.Fatalf("bucket %d [%d,+%d) is wider than 1/%d of its lower bound", i, lo, w, subHalf)
		}
		next = lo + w
	}
	if got := bucketOf(1 << 62); got != nBuckets-1 {
		t.Errorf("bucketOf(huge) = %d, want the last bucket %d", got, nBuckets-1)
	}
}

func TestBucketGolden(t *testing.T) {
	tests := []struct {
		us     uint64
		bucket int
		lo, w  uint64
	}{
		{0, 0, 0, 1},
		{255, 255, 255, 1},
		{256, 256, 256, 2},
		{257, 256, 256, 2},
		{511, 383, 510, 2},
		{512, 384, 512, 4},
		{1000, 506, 1000, 4},
		{1_000_000, 1780, 999424, 4096},
	}
	for _, tt := range tests {
		if got := bucketOf(tt.us); got != tt.bucket {
			t.Errorf("bucketOf(%d) = %d, want %d", tt.us, got, tt.bucket)
			continue
		}
		lo, w := bucketRange(tt.bucket)
		if lo != tt.lo || w != tt.w {
			t.Errorf("bucketRange(%d) = [%d,+%d), want [%d,+%d)", tt.bucket, lo, w, tt.lo, tt.w)
		}
	}
}

func TestQuantileGolden(t *testing.T) {
	us := time.Microsecond
	tests := []struct {
		name   string
		values []time.Duration
		want   Summary
	}{
		{"empty", nil, Summary{}},
		{"one value", []time.Duration{1500*us + 700}, Summary{Count: 1, Mean: 1500*us + 700, P50: 1500 * us, P90: 1500 * us, P99: 1500 * us, Max: 1500*us + 700}},
		{"exact below 256 µs", seq(1, 100, us), Summary{Count: 100, Mean: 50500 * time.Nanosecond, P50: 50 * us, P90: 90 * us, P99: 99 * us, Max: 100 * us}},
		{"1 to 1000 µs", seq(1, 1000, us), Summary{Count: 1000, Mean: 500500 * time.Nanosecond, P50: 501 * us, P90: 902 * us, P99: 990 * us, Max: 1000 * us}},
		{"negative counts as zero", []time.Duration{-5 * us, 3 * us}, Summary{Count: 2, Mean: 1500 * time.Nanosecond, P50: 0, P90: 3 * us, P99: 3 * us, Max: 3 * us}},
		{"beyond the range", []time.Duration{time.Duration(1<<41) * us}, Summary{Count: 1, Mean: time.Duration(1<<41) * us, P50: time.Duration(1<<41) * us, P90: time.Duration(1<<41) * us, P99: time.Duration(1<<41) * us, Max: time.Duration(1<<41) * us}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			if diff := cmp.Diff(tt.want, h.Summary()); diff != "" {
				t.Errorf("Summary (-want +got):\n%s", diff)
			}
		})
	}
}

func seq(from, to int, unit time.Duration) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*unit)
	}
	return out
}

// TestQuantileError checks the documented precision against the exact
// nearest-rank quantile of random latencies.
func TestQuantileError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]time.Duration, 20000)
	for i := range vals {
		// Log-normal-ish spread from ~50 µs to ~50 ms.
		vals[i] = time.Duration(50e3 * (1 + r.ExpFloat64()*r.ExpFloat64()*100))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[int(q*float64(len(vals))+0.999999)-1]
		got := h.Quantile(q)
		tol := exact/256 + time.Microsecond
		if d := got - exact; d > tol || -d > tol {
			t.Errorf("Quantile(%v) = %v, exact %v: off by more than %v", q, got, exact, tol)
		}
	}
}

func TestMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var all, a, b Histogram
	for i := range 5000 {
		v := time.Duration(r.IntN(5e6))
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&Histogram{}) // merging nothing changes nothing
	m.Merge(&a)
	m.Merge(&b)
	if m != all {
		t.Errorf("merged histogram differs from the one that recorded everything: %+v vs %+v", m.Summary(), all.Summary())
	}
}
