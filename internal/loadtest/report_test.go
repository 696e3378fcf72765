package loadtest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sampleReport() *Report {
	us := time.Microsecond
	res := func(p50, p99 time.Duration, n uint64, stream bool) Result {
		r := Result{Requests: n, Sent: n + n/10, Completed: n, Window: 5 * time.Second,
			Latency: Summary{Count: n, Mean: p50 + 10*us, P50: p50, P90: p50 + 40*us, P99: p99, Max: 2 * p99}}
		if stream {
			r.FirstByte = Summary{Count: n, P50: p50 / 2, P99: p99 / 2}
		}
		return r
	}
	r := &Report{
		Machine: Machine{CPUs: 2, GOMAXPROCS: 2, CPUModel: "Test CPU @ 3.0GHz", Go: "go1.26.8", OS: "linux", Arch: "amd64",
			LoadBefore: 1.52, LoadAfter: 4.75},
		Params: Params{Warmup: time.Second, Duration: 5 * time.Second, Concurrency: []int{1, 64}, BodyBytes: 412,
			MaxTokens: 256, Chunks: 8, Streams: 1000, StreamChunkDelay: 500 * time.Millisecond},
		Memory: Memory{Idle: 31_400_000, Peak: 74_250_000, After: 52_000_000, Samples: 52,
			Burst: BurstResult{Streams: 1000, Completed: 1000, PeakOpen: 1000,
				Latency: Summary{Count: 1000, P50: 4100 * time.Millisecond, Max: 4600 * time.Millisecond}}},
		Books: Books{Sent: 120_000, Settled: 120_000, Distinct: 120_000, Logged: 120_000},
		Notes: []string{"the load generator, the mock and the servers share the machine's CPUs"},
	}
	for _, stream := range []bool{false, true} {
		extra := time.Duration(0)
		if stream {
			extra = 100 * us
		}
		r.Scenarios = append(r.Scenarios,
			Scenario{Direct, stream, 1, res(120*us+extra, 200*us+extra, 40000, stream)},
			Scenario{Proxy, stream, 1, res(450*us+extra, 700*us+extra, 11000, stream)},
			Scenario{Tokenhot, stream, 1, res(490*us+extra, 820*us+extra, 10000, stream)},
			Scenario{Direct, stream, 64, res(2000*us+extra, 5000*us+extra, 160000, stream)},
			Scenario{Proxy, stream, 64, res(6000*us+extra, 15000*us+extra, 53000, stream)},
			Scenario{Tokenhot, stream, 64, res(6700*us+extra, 17000*us+extra, 46000, stream)},
		)
	}
	r.Scenarios[2].Result.FirstError = "status 502: {\"error\":\n  \"bad\"}"
	return r
}

func TestReportGolden(t *testing.T) {
	tests := []struct {
		name   string
		report func() *Report
	}{
		{"report", sampleReport},
		{"report-partial", func() *Report {
			r := sampleReport()
			r.Params.Concurrency = []int{1, 16}
			r.Scenarios = r.Scenarios[:3]
			r.Memory = Memory{Err: "skipped (--streams 0)"}
			r.Books = Books{Sent: 10, Failed: 1, Err: "no such table: ledger"}
			r.Notes = nil
			r.Machine.LoadBefore, r.Machine.LoadAfter = 0, 0
			return r
		}},
		{"report-misses", func() *Report {
			r := sampleReport()
			r.Memory.Peak = 120_000_000
			r.Memory.Burst.PeakOpen = 999
			r.Books.Settled--
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.report().WriteMarkdown(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".md")
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	r := sampleReport()
	var got []string
	for _, v := range r.Verdicts() {
		got = append(got, v.word())
	}
	// Tokenhot adds 40 µs over the proxy at 1 (pass), reaches 86.8 % of its
	// throughput at 64 (miss), stays at 74 MB (pass), and its books balance.
	want := []string{"PASS", "PASS", "MISS", "MISS", "PASS", "PASS"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}
