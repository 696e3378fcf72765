package loadtest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Request is what every worker sends, over and over.
type Request struct {
	URL    string
	Header http.Header
	Body   []byte
	// Stream says the response is a server-sent event stream: the time to
	// its first byte is recorded apart, and it must end with "data: [DONE]".
	Stream bool
}

// Options shape a closed-loop run.
type Options struct {
	// Concurrency is the number of workers, each sending its next request
	// as soon as the previous one has been read to the end. Default 1.
	Concurrency int
	// Warmup is run first and not measured: connections open, caches and
	// pools fill, the servers' goroutine stacks grow.
	Warmup time.Duration
	// Duration is the measured part. A request started before it ends is
	// still read to the end and counted, so nothing is cut half-way.
	Duration time.Duration
	// Client sends the requests; nil means NewClient(Concurrency).
	Client *http.Client
}

// Result is the outcome of a run. Latencies and errors are those of the
// requests started after the warm-up.
type Result struct {
	Requests uint64 // measured requests, failed ones included
	Errors   uint64 // measured requests that failed
	// Completed counts the successful responses that ended within the
	// measured window, whenever they started; Window is its length.
	Completed uint64
	Window    time.Duration
	// Latency is the time from sending a request to the end of its
	// response; FirstByte, for streams, the time to the first byte of the
	// body (the first event). Both count successful requests only.
	Latency   Summary
	FirstByte Summary
	// Sent counts every request sent, warm-up included, and Failed those of
	// them that failed: what the server saw, for reconciling with its books.
	Sent, Failed uint64
	// FirstError describes one failure, if any.
	FirstError string
}

// Throughput is successful responses per second over the measured window.
// Counting responses that end in the window, rather than dividing the
// requests started in it by the time until the last of them ended, keeps
// a target with long latencies from being charged for its final tail.
func (r Result) Throughput() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Completed) / r.Window.Seconds()
}

// NewClient returns a client for load: keep-alive connections, one idle
// connection kept per worker so that none is ever re-dialled, no
// compression, no proxy from the environment, HTTP/1.1 as the gateways
// under test speak it in clear text.
func NewClient(concurrency int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        max(concurrency, 100),
		MaxIdleConnsPerHost: max(concurrency, 2),
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// worker holds one worker's tallies; nothing is shared until the end.
type worker struct {
	latency, firstByte Histogram
	requests, errors   uint64
	sent, failed       uint64
	completed          uint64
	firstErr           error
	buf                []byte
}

// Run drives the closed loop and merges the workers' tallies. It returns
// early with ctx's error if ctx ends.
func Run(ctx context.Context, req Request, o Options) (Result, error) {
	n := max(o.Concurrency, 1)
	client := o.Client
	if client == nil {
		client = NewClient(n)
		defer client.CloseIdleConnections()
	}
	start := time.Now()
	measureFrom := start.Add(o.Warmup)
	end := measureFrom.Add(o.Duration)

	workers := make([]worker, n)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.buf = make([]byte, 32<<10)
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				ttfb, total, err := roundTrip(ctx, client, req, w.buf, nil)
				w.sent++
				if err != nil {
					w.failed++
				} else if t1 := t0.Add(total); !t1.Before(measureFrom) && t1.Before(end) {
					w.completed++
				}
				if t0.Before(measureFrom) {
					continue
				}
				w.requests++
				if err != nil {
					w.errors++
					w.firstErr = cmp.Or(w.firstErr, err)
					continue
				}
				w.latency.Record(total)
				if req.Stream {
					w.firstByte.Record(ttfb)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	var lat, fb Histogram
	r := Result{Window: o.Duration}
	for i := range workers {
		w := &workers[i]
		lat.Merge(&w.latency)
		fb.Merge(&w.firstByte)
		r.Requests += w.requests
		r.Errors += w.errors
		r.Sent += w.sent
		r.Failed += w.failed
		r.Completed += w.completed
		if r.FirstError == "" && w.firstErr != nil {
			r.FirstError = w.firstErr.Error()
		}
	}
	r.Latency = lat.Summary()
	if req.Stream {
		r.FirstByte = fb.Summary()
	}
	return r, nil
}

// roundTrip sends req and reads the response into buf, piece by piece.
// opened, if set, is called once the response headers say 200.
func roundTrip(ctx context.Context, client *http.Client, req Request, buf []byte, opened func()) (ttfb, total time.Duration, err error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return 0, 0, err
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	t0 := time.Now()
	resp, err := client.Do(hr)
	if err != nil {
		return 0, time.Since(t0), err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, time.Since(t0), &StatusError{Code: resp.StatusCode, Body: string(msg)}
	}
	if opened != nil {
		opened()
	}
	var tail tailBuf
	first := true
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if first {
				ttfb, first = time.Since(t0), false
			}
			if req.Stream {
				tail.add(buf[:n])
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return ttfb, time.Since(t0), rerr
		}
	}
	total = time.Since(t0)
	if first {
		ttfb = total
	}
	if req.Stream && !tail.done() {
		return ttfb, total, errUnfinished
	}
	return ttfb, total, nil
}

// StatusError is an answer other than 200.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return "status " + strconv.Itoa(e.Code) + ": " + e.Body
}

var errUnfinished = errors.New(`stream ended without "data: [DONE]"`)

// tailBuf keeps the last bytes of a stream, enough to see how it ended.
type tailBuf struct {
	b [32]byte
	n int
}

func (t *tailBuf) add(p []byte) {
	if len(p) >= len(t.b) {
		t.n = copy(t.b[:], p[len(p)-len(t.b):])
		return
	}
	keep := min(t.n, len(t.b)-len(p))
	copy(t.b[:], t.b[t.n-keep:t.n])
	t.n = keep + copy(t.b[keep:], p)
}

// done reports whether the stream's last event was "data: [DONE]".
func (t *tailBuf) done() bool {
	s := bytes.TrimRight(t.b[:t.n], "\r\n")
	return bytes.HasSuffix(s, []byte("data: [DONE]")) || bytes.HasSuffix(s, []byte("data:[DONE]"))
}
