package loadtest

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Target is what a scenario sends its requests to.
type Target string

// The three targets, all in front of the same mock upstream.
const (
	Direct   Target = "direct"
	Proxy    Target = "bare proxy"
	Tokenhot Target = "tokenhot"
)

// Targets lists them in report order.
var Targets = []Target{Direct, Proxy, Tokenhot}

// Scenario is one measured run.
type Scenario struct {
	Target      Target
	Stream      bool
	Concurrency int
	Result      Result
}

// Machine describes where the bench ran.
type Machine struct {
	CPUs, GOMAXPROCS int
	CPUModel         string
	Go, OS, Arch     string
	// LoadBefore and LoadAfter are the 1-minute load averages when the run
	// began and ended (0 if unknown): other work on the machine skews
	// every figure.
	LoadBefore, LoadAfter float64
}

// Params are the knobs of the run, echoed in the report.
type Params struct {
	Warmup, Duration time.Duration
	Concurrency      []int
	BodyBytes        int
	MaxTokens        int
	Chunks           int
	Streams          int           // concurrent streams of the memory test; 0 skips it
	StreamChunkDelay time.Duration // pace of the memory test's streams
}

// Memory is Tokenhot's resident set size around the burst of streams.
type Memory struct {
	Idle, Peak, After int64 // bytes
	Samples           int
	Burst             BurstResult
	Err               string // why it was not measured
}

// Books is the reconciliation of Tokenhot's database with what the bench
// sent: every request answered 200 must have exactly one settlement and one
// request log row.
type Books struct {
	Sent, Failed    uint64 // requests the bench sent to Tokenhot, and those not answered 200 or cut short
	Settled, Logged int64  // settle entries in the ledger, request log rows
	Distinct        int64  // distinct requests the settle entries settle
	Holds           int64  // holds left open
	Unbalanced      int64  // users whose balance is not the sum of their ledger
	Err             string // why the database could not be read
}

// Report is everything `tokenhot bench` prints.
type Report struct {
	Machine   Machine
	Params    Params
	Scenarios []Scenario
	Memory    Memory
	Books     Books
	Notes     []string
}

// Find returns the scenario for t, mode and concurrency.
func (r *Report) Find(t Target, stream bool, conc int) (Scenario, bool) {
	for _, s := range r.Scenarios {
		if s.Target == t && s.Stream == stream && s.Concurrency == conc {
			return s, true
		}
	}
	return Scenario{}, false
}

// Limits of the issue that `tokenhot bench` checks.
const (
	MaxAddedP50Gap   = 50 * time.Microsecond // Tokenhot's added p50 over the bare proxy's, at concurrency 1
	MinThroughputPct = 90                    // Tokenhot's throughput at 64 as a share of the bare proxy's
	MaxRSSBytes      = 100_000_000           // peak RSS with TargetStreams open streams
	TargetStreams    = 1000
	latencyConc      = 1
	throughputConc   = 64
)

// Verdict is the outcome of one check.
type Verdict struct {
	Pass   bool
	Skip   bool // not measured
	Target string
	Detail string
}

func (v Verdict) word() string {
	switch {
	case v.Skip:
		return "SKIP"
	case v.Pass:
		return "PASS"
	}
	return "MISS"
}

// Verdicts checks the targets, then the run's correctness.
func (r *Report) Verdicts() []Verdict {
	var out []Verdict
	for _, stream := range []bool{false, true} {
		mode := ModeName(stream)
		v := Verdict{Target: fmt.Sprintf("added p50 at concurrency %d, %s: Tokenhot within %d µs of the bare proxy", latencyConc, mode, MaxAddedP50Gap.Microseconds())}
		d, okD := r.Find(Direct, stream, latencyConc)
		p, okP := r.Find(Proxy, stream, latencyConc)
		t, okT := r.Find(Tokenhot, stream, latencyConc)
		if !okD || !okP || !okT {
			v.Skip, v.Detail = true, fmt.Sprintf("concurrency %d not measured", latencyConc)
		} else {
			pa := p.Result.Latency.P50 - d.Result.Latency.P50
			ta := t.Result.Latency.P50 - d.Result.Latency.P50
			gap := ta - pa
			v.Pass = gap <= MaxAddedP50Gap
			v.Detail = fmt.Sprintf("Tokenhot %s µs, bare proxy %s µs: %s µs apart", us(ta), us(pa), us(gap))
		}
		out = append(out, v)
	}
	for _, stream := range []bool{false, true} {
		mode := ModeName(stream)
		v := Verdict{Target: fmt.Sprintf("throughput at concurrency %d, %s: Tokenhot at least %d %% of the bare proxy", throughputConc, mode, MinThroughputPct)}
		p, okP := r.Find(Proxy, stream, throughputConc)
		t, okT := r.Find(Tokenhot, stream, throughputConc)
		if !okP || !okT || p.Result.Throughput() == 0 {
			v.Skip, v.Detail = true, fmt.Sprintf("concurrency %d not measured", throughputConc)
		} else {
			pct := 100 * t.Result.Throughput() / p.Result.Throughput()
			v.Pass = pct >= MinThroughputPct
			v.Detail = fmt.Sprintf("%.0f req/s vs %.0f req/s: %.1f %%", t.Result.Throughput(), p.Result.Throughput(), pct)
		}
		out = append(out, v)
	}
	m := r.Memory
	v := Verdict{Target: fmt.Sprintf("Tokenhot RSS under %d MB with %d concurrent open streams", MaxRSSBytes/1_000_000, TargetStreams)}
	switch {
	case m.Err != "":
		v.Skip, v.Detail = true, m.Err
	case m.Burst.Streams < TargetStreams:
		v.Skip, v.Detail = true, fmt.Sprintf("only %d streams asked for", m.Burst.Streams)
	case m.Burst.PeakOpen < TargetStreams || m.Burst.Errors > 0:
		v.Detail = fmt.Sprintf("the run did not hold %d streams open (peak %d, %d errors); peak RSS %s MB", TargetStreams, m.Burst.PeakOpen, m.Burst.Errors, mb(m.Peak))
	default:
		v.Pass = m.Peak < MaxRSSBytes
		v.Detail = fmt.Sprintf("peak %s MB with %d open at once (idle %s MB)", mb(m.Peak), m.Burst.PeakOpen, mb(m.Idle))
	}
	out = append(out, v)
	return append(out, r.Correctness())
}

// Correctness checks that Tokenhot answered every request with 200 and that
// its database holds exactly one settlement and one request log row for
// each, no hold left open, and every balance equal to its ledger's sum.
func (r *Report) Correctness() Verdict {
	b := r.Books
	v := Verdict{Target: "correctness: every Tokenhot request answered 200 and billed exactly once"}
	switch {
	case b.Err != "":
		v.Detail = fmt.Sprintf("%d of %d requests failed; the database could not be checked: %s", b.Failed, b.Sent, b.Err)
	default:
		ok := uint64(b.Settled) == b.Sent && b.Distinct == b.Settled && uint64(b.Logged) == b.Sent && b.Holds == 0 && b.Unbalanced == 0
		v.Pass = b.Failed == 0 && ok
		v.Detail = fmt.Sprintf("%d requests, %d failed; ledger: %d settlements of %d distinct requests, %d holds open, %d balances off their ledger sum; %d request log rows",
			b.Sent, b.Failed, b.Settled, b.Distinct, b.Holds, b.Unbalanced, b.Logged)
	}
	return v
}

// ModeName names a scenario's mode in reports.
func ModeName(stream bool) string {
	if stream {
		return "streamed"
	}
	return "non-streamed"
}

// us renders a duration in whole microseconds, with a sign when negative.
func us(d time.Duration) string { return fmt.Sprintf("%d", d.Microseconds()) }

// signedUS renders a difference with an explicit sign.
func signedUS(d time.Duration) string { return fmt.Sprintf("%+d", d.Microseconds()) }

// mb renders bytes in megabytes (10^6), one decimal.
func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/1e6) }

// WriteMarkdown renders the report.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	m, p := r.Machine, r.Params
	b.WriteString("# Tokenhot bench\n\n")
	fmt.Fprintf(&b, "- Machine: %d CPUs", m.CPUs)
	if m.CPUModel != "" {
		fmt.Fprintf(&b, " (%s)", m.CPUModel)
	}
	fmt.Fprintf(&b, ", GOMAXPROCS %d, %s/%s, %s\n", m.GOMAXPROCS, m.OS, m.Arch, m.Go)
	if m.LoadBefore > 0 || m.LoadAfter > 0 {
		fmt.Fprintf(&b, "- Load average (1 min): %.2f before the run, %.2f at its end (the bench's own included)", m.LoadBefore, m.LoadAfter)
		if m.LoadBefore > float64(m.CPUs)/2 {
			b.WriteString(" — the machine was already busy: other work competed with the bench and the figures are noisy")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "- Each scenario: %v warm-up, then %v measured, closed loop at concurrency %s\n", p.Warmup, p.Duration, joinInts(p.Concurrency))
	fmt.Fprintf(&b, "- Request: chat completion, %d-byte body, max_tokens %d; mock reply: %d chunks, no added delay\n", p.BodyBytes, p.MaxTokens, p.Chunks)
	b.WriteString("- Latency is from sending the request to the end of the response body; all times in µs\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}

	b.WriteString("\n## Latency\n\n")
	b.WriteString("| target | mode | conc. | requests | errors | req/s | p50 | p90 | p99 | max | first byte p50 | first byte p99 |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range r.Scenarios {
		res := s.Result
		fb50, fb99 := "", ""
		if s.Stream {
			fb50, fb99 = us(res.FirstByte.P50), us(res.FirstByte.P99)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %s |\n",
			s.Target, ModeName(s.Stream), s.Concurrency, res.Requests, res.Errors, res.Throughput(),
			us(res.Latency.P50), us(res.Latency.P90), us(res.Latency.P99), us(res.Latency.Max), fb50, fb99)
	}

	b.WriteString("\n## Added latency over direct calls\n\n")
	b.WriteString("| mode | conc. | bare proxy p50 | Tokenhot p50 | Tokenhot − proxy p50 | bare proxy p99 | Tokenhot p99 | Tokenhot − proxy p99 |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, stream := range []bool{false, true} {
		for _, c := range p.Concurrency {
			d, okD := r.Find(Direct, stream, c)
			px, okP := r.Find(Proxy, stream, c)
			t, okT := r.Find(Tokenhot, stream, c)
			if !okD || !okP || !okT {
				continue
			}
			dl, pl, tl := d.Result.Latency, px.Result.Latency, t.Result.Latency
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", ModeName(stream), c,
				signedUS(pl.P50-dl.P50), signedUS(tl.P50-dl.P50), signedUS(tl.P50-pl.P50),
				signedUS(pl.P99-dl.P99), signedUS(tl.P99-dl.P99), signedUS(tl.P99-pl.P99))
		}
	}

	r.writeThroughput(&b, maxInt(p.Concurrency))

	b.WriteString("\n## Tokenhot memory (RSS, MB = 10^6 bytes)\n\n")
	mem := r.Memory
	if mem.Err != "" {
		fmt.Fprintf(&b, "Not measured: %s\n", mem.Err)
	} else {
		bu := mem.Burst
		b.WriteString("| when | RSS (MB) |\n|---|--:|\n")
		fmt.Fprintf(&b, "| idle, after the latency scenarios | %s |\n", mb(mem.Idle))
		fmt.Fprintf(&b, "| peak, %d streams opened at once | %s |\n", bu.Streams, mb(mem.Peak))
		fmt.Fprintf(&b, "| after the streams ended | %s |\n", mb(mem.After))
		fmt.Fprintf(&b, "\n%d streams asked for, %d open at the same moment at the peak, %d completed, %d errors; "+
			"each stream paced at %v per chunk; stream duration p50 %v, max %v; RSS sampled %d times.\n",
			bu.Streams, bu.PeakOpen, bu.Completed, bu.Errors, p.StreamChunkDelay,
			bu.Latency.P50.Round(time.Millisecond), bu.Latency.Max.Round(time.Millisecond), mem.Samples)
		if bu.FirstError != "" {
			fmt.Fprintf(&b, "\nFirst stream error: %s\n", oneLine(bu.FirstError))
		}
	}

	b.WriteString("\n## Targets\n\n")
	for _, v := range r.Verdicts() {
		fmt.Fprintf(&b, "- **%s** %s — %s\n", v.word(), v.Target, v.Detail)
	}
	for _, s := range r.Scenarios {
		if s.Result.FirstError != "" {
			fmt.Fprintf(&b, "\nFirst error, %s %s at %d: %s\n", s.Target, ModeName(s.Stream), s.Concurrency, oneLine(s.Result.FirstError))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeThroughput writes the throughput table at concurrency c, if measured.
func (r *Report) writeThroughput(b *strings.Builder, c int) {
	var rows []string
	for _, stream := range []bool{false, true} {
		d, _ := r.Find(Direct, stream, c)
		px, okP := r.Find(Proxy, stream, c)
		t, okT := r.Find(Tokenhot, stream, c)
		if !okP || !okT {
			continue
		}
		ratio := "n/a"
		if px.Result.Throughput() > 0 {
			ratio = fmt.Sprintf("%.1f %%", 100*t.Result.Throughput()/px.Result.Throughput())
		}
		rows = append(rows, fmt.Sprintf("| %s | %.0f | %.0f | %.0f | %s |\n", ModeName(stream),
			d.Result.Throughput(), px.Result.Throughput(), t.Result.Throughput(), ratio))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Throughput at concurrency %d (req/s)\n\n", c)
	b.WriteString("| mode | direct | bare proxy | Tokenhot | Tokenhot / bare proxy |\n|---|--:|--:|--:|--:|\n")
	for _, row := range rows {
		b.WriteString(row)
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
