package loadtest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// BurstResult is the outcome of Burst.
type BurstResult struct {
	Streams   int // streams asked for
	Completed int // streams answered 200 and read to their end
	Errors    int
	// PeakOpen is the largest number of streams open at the same moment:
	// answered with 200 and not yet read to the end.
	PeakOpen int
	// Latency and FirstByte are those of the completed streams.
	Latency, FirstByte Summary
	FirstError         string
}

// BurstOptions shape a burst.
type BurstOptions struct {
	// Streams is the number of requests sent at once.
	Streams int
	// Client sends them; nil means NewClient(Streams).
	Client *http.Client
	// OnOpen, if set, is called with the number of streams open at the
	// moment each one opens (answers 200). It must be quick.
	OnOpen func(open int)
}

// Burst sends o.Streams requests at once, each on its own connection, and
// reads every response to the end. Run it against streams that last longer
// than it takes to open them all, and PeakOpen reaches o.Streams.
func Burst(ctx context.Context, req Request, o BurstOptions) BurstResult {
	n, client := o.Streams, o.Client
	if client == nil {
		client = NewClient(n)
		defer client.CloseIdleConnections()
	}
	type outcome struct {
		ttfb, total time.Duration
		err         error
	}
	outs := make([]outcome, n)
	var open, peak atomic.Int64
	opened := func() {
		v := open.Add(1)
		if o.OnOpen != nil {
			o.OnOpen(int(v))
		}
		for p := peak.Load(); v > p && !peak.CompareAndSwap(p, v); p = peak.Load() {
		}
	}
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			buf := make([]byte, 4<<10)
			was := false
			ttfb, total, err := roundTrip(ctx, client, req, buf, func() { was = true; opened() })
			if was {
				open.Add(-1)
			}
			outs[i] = outcome{ttfb, total, err}
		})
	}
	wg.Wait()

	r := BurstResult{Streams: n, PeakOpen: int(peak.Load())}
	var lat, fb Histogram
	for _, o := range outs {
		if o.err != nil {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = o.err.Error()
			}
			continue
		}
		r.Completed++
		lat.Record(o.total)
		fb.Record(o.ttfb)
	}
	r.Latency, r.FirstByte = lat.Summary(), fb.Summary()
	return r
}
