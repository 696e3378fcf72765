package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhot/tokenhot/internal/mock"
)

const chatBody = `{"model":"gpt-5","max_tokens":64,"messages":[{"role":"user","content":"Hello there"}]}`
const streamBody = `{"model":"gpt-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hello there"}]}`

func chatRequest(base string, stream bool) Request {
	body := chatBody
	if stream {
		body = streamBody
	}
	return Request{
		URL:    base + "/v1/chat/completions",
		Header: http.Header{"Authorization": {"Bearer sk-test"}, "Content-Type": {"application/json"}},
		Body:   []byte(body),
		Stream: stream,
	}
}

// TestRunMock drives the project's mock directly and through the bare
// proxy, streamed and not.
func TestRunMock(t *testing.T) {
	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	px := httptest.NewServer(NewBareProxy(target, 8))
	defer px.Close()

	for _, base := range []struct{ name, url string }{{"direct", up.URL}, {"proxy", px.URL}} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s stream=%v", base.name, stream), func(t *testing.T) {
				r, err := Run(t.Context(), chatRequest(base.url, stream), Options{Concurrency: 4, Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if r.Requests == 0 || r.Errors != 0 || r.FirstError != "" {
					t.Fatalf("requests %d, errors %d (%s)", r.Requests, r.Errors, r.FirstError)
				}
				if r.Sent < r.Requests || r.Failed != 0 {
					t.Errorf("sent %d, failed %d, measured %d", r.Sent, r.Failed, r.Requests)
				}
				if r.Latency.Count != r.Requests || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 || r.Latency.Max < r.Latency.P99 {
					t.Errorf("latency summary %+v for %d requests", r.Latency, r.Requests)
				}
				if stream != (r.FirstByte.Count > 0) {
					t.Errorf("first byte summary %+v, stream %v", r.FirstByte, stream)
				}
				if r.Window != 100*time.Millisecond || r.Completed == 0 || r.Completed > r.Sent || r.Throughput() <= 0 {
					t.Errorf("window %v, completed %d of %d sent, throughput %v", r.Window, r.Completed, r.Sent, r.Throughput())
				}
			})
		}
	}
}

// TestStreamTiming checks that the first byte and the end of a stream are
// timed apart: the server holds the stream 30 ms after its first event.
func TestStreamTiming(t *testing.T) {
	const hold = 30 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(hold)
		fmt.Fprint(w, "data: {\"n\":2}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	r, err := Run(t.Context(), chatRequest(srv.URL, true), Options{Concurrency: 1, Duration: 3 * hold})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Requests == 0 {
		t.Fatalf("requests %d, errors %d: %s", r.Requests, r.Errors, r.FirstError)
	}
	if r.Latency.Max < hold || r.Latency.P50 < hold {
		t.Errorf("stream latency %+v, want at least %v", r.Latency, hold)
	}
	// Every stream ends at least hold after its first byte, so on average too.
	if r.Latency.Mean-r.FirstByte.Mean < hold {
		t.Errorf("first byte %+v should come %v before the end (latency %+v)", r.FirstByte, hold, r.Latency)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		stream  bool
		wantErr string
	}{
		{"status", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":"nope"}`, http.StatusTooManyRequests)
		}, false, "status 429"},
		{"unfinished stream", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "data: {}\n\n")
		}, true, "without"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			r, err := Run(t.Context(), chatRequest(srv.URL, tt.stream), Options{Concurrency: 2, Duration: 30 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests == 0 || r.Errors != r.Requests || r.Failed != r.Sent || r.Latency.Count != 0 || r.Completed != 0 {
				t.Errorf("requests %d errors %d sent %d failed %d latency count %d", r.Requests, r.Errors, r.Sent, r.Failed, r.Latency.Count)
			}
			if !strings.Contains(r.FirstError, tt.wantErr) {
				t.Errorf("first error %q, want it to mention %q", r.FirstError, tt.wantErr)
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	srv := httptest.NewServer(mock.New(mock.Options{}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Run(ctx, chatRequest(srv.URL, false), Options{Duration: time.Hour}); err == nil {
		t.Error("a cancelled run returned no error")
	}
}

func TestTailBuf(t *testing.T) {
	tests := []struct {
		name   string
		pieces []string
		want   bool
	}{
		{"done", []string{"data: {}\n\ndata: [DONE]\n\n"}, true},
		{"done without space", []string{"data:[DONE]\n\n"}, true},
		{"done split across reads", []string{"data: {\"x\":1}\n\ndata: [DO", "NE]\n", "\n"}, true},
		{"long tail before done", []string{strings.Repeat("x", 100), "\n\ndata: [DONE]\r\n\r\n"}, true},
		{"not done", []string{"data: [DONE]\n\ndata: {}\n\n"}, false},
		{"empty", nil, false},
		{"byte by byte", strings.Split("data: [DONE]\n\n", ""), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tb tailBuf
			for _, p := range tt.pieces {
				tb.add([]byte(p))
			}
			if got := tb.done(); got != tt.want {
				t.Errorf("done() = %v, want %v (tail %q)", got, tt.want, tb.b[:tb.n])
			}
		})
	}
}

// TestBurst holds every stream open in the server until all have arrived,
// so the peak is exactly n.
func TestBurst(t *testing.T) {
	const n = 50
	all := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		<-all
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	r := Burst(t.Context(), chatRequest(srv.URL, true), BurstOptions{Streams: n, OnOpen: func(open int) {
		if open == n {
			once.Do(func() { close(all) })
		}
	}})
	if r.Streams != n || r.Completed != n || r.Errors != 0 || r.PeakOpen != n {
		t.Errorf("burst %+v, want %d streams all open at once and completed", r, n)
	}
	if r.Latency.Count != n || r.FirstByte.Count != n {
		t.Errorf("summaries count %d and %d, want %d", r.Latency.Count, r.FirstByte.Count, n)
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"typical", "Name:\ttokenhot\nVmPeak:\t  900 kB\nVmRSS:\t   41236 kB\nRssAnon:\t 30000 kB\n", 41236 << 10, false},
		{"missing", "Name:\tkthreadd\n", 0, true},
		{"bad unit", "VmRSS:\t12 MB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmRSS([]byte(tt.status))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseVmRSS = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
