package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the books are audited straight from the database file

	"github.com/tokenhot/tokenhot/internal/loadtest"
)

// benchFlags are the knobs of `tokenhot bench`.
type benchFlags struct {
	duration, warmup time.Duration
	concurrency      []int
	streams          int
	streamDelay      time.Duration
	out              string
	childLogs        bool
}

// quickFlags make a smoke run of about 15 seconds; flags given explicitly
// still win.
var quickFlags = map[string]string{"duration": "800ms", "warmup": "200ms", "stream-chunk-delay": "250ms"}

func parseBenchFlags(args []string, stderr io.Writer) (benchFlags, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: tokenhot bench [flags]\n\nMeasures, against the same mock upstream, direct calls, a bare httputil.ReverseProxy and\nTokenhot with billing and logging on; prints a Markdown report.\n\n")
		fs.PrintDefaults()
	}
	var f benchFlags
	fs.DurationVar(&f.duration, "duration", 4*time.Second, "measured time per scenario")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	conc := fs.String("concurrency", "1,64", "comma-separated concurrency levels")
	fs.IntVar(&f.streams, "streams", loadtest.TargetStreams, "concurrent streams for Tokenhot's memory test (0 skips it)")
	fs.DurationVar(&f.streamDelay, "stream-chunk-delay", 500*time.Millisecond, "pause between the chunks of the memory test's streams, which keeps them open")
	quick := fs.Bool("quick", false, "a ~15 s smoke run (shorter scenarios and streams)")
	fs.StringVar(&f.out, "out", "", "also write the report to this file")
	fs.BoolVar(&f.childLogs, "child-logs", false, "pass the servers' output through to stderr")
	if err := fs.Parse(args); err != nil {
		return f, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return f, errUsage
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		for name, v := range quickFlags {
			if !set[name] {
				_ = fs.Set(name, v)
			}
		}
	}
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "bench: bad concurrency %q\n", s)
			return f, errUsage
		}
		f.concurrency = append(f.concurrency, n)
	}
	if f.duration <= 0 || f.warmup < 0 || f.streams < 0 {
		fmt.Fprintln(stderr, "bench: --duration must be positive, --warmup and --streams not negative")
		return f, errUsage
	}
	return f, nil
}

// runBench is `tokenhot bench`. It starts the mock upstream, a bare
// reverse proxy and Tokenhot as separate processes (so each one's CPU and
// memory are its own), drives every scenario, audits Tokenhot's books from
// its database after a graceful stop, and prints the report. The hidden
// `tokenhot bench proxy` is the bare proxy's process.
func runBench(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "proxy" {
		return runBareProxy(ctx, args[1:], stdout, stderr)
	}
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: finding this program to start the servers: %w", err)
	}
	tmp, err := os.MkdirTemp("", "tokenhot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	rep := newBenchReport(f)
	h := &harness{exe: exe, env: childEnv(), out: io.Discard, log: stderr}
	if f.childLogs {
		h.out = stderr
	}
	defer h.stopAll()
	sv, err := h.startServers(ctx, tmp, f)
	if err != nil {
		return err
	}
	if err := runScenarios(ctx, f, sv, rep, stderr); err != nil {
		return err
	}
	if f.streams > 0 {
		rep.Memory = measureMemory(ctx, sv, f.streams)
		rep.Books.Sent += uint64(rep.Memory.Burst.Streams)
		rep.Books.Failed += uint64(rep.Memory.Burst.Errors)
		fmt.Fprintf(stderr, "bench: memory: %d streams, peak %d open, RSS idle %.1f MB, peak %.1f MB\n", f.streams,
			rep.Memory.Burst.PeakOpen, float64(rep.Memory.Idle)/1e6, float64(rep.Memory.Peak)/1e6)
	} else {
		rep.Memory.Err = "skipped (--streams 0)"
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// A graceful stop drains, settles and flushes the request log; only then
	// is the database complete.
	if err := sv.tokenhot.Stop(time.Minute); err != nil {
		rep.Books.Err = "Tokenhot did not stop cleanly: " + err.Error()
	} else if err := auditBooks(ctx, sv.dbPath, &rep.Books); err != nil {
		rep.Books.Err = err.Error()
	}
	rep.Machine.LoadAfter = loadAverage()
	return writeBenchReport(rep, f.out, stdout)
}

func newBenchReport(f benchFlags) *loadtest.Report {
	rep := &loadtest.Report{Machine: machine(), Params: loadtest.Params{
		Warmup: f.warmup, Duration: f.duration, Concurrency: f.concurrency, BodyBytes: len(benchBodyFor(benchModel, false)),
		MaxTokens: benchMaxTokens, Chunks: 8, Streams: f.streams, StreamChunkDelay: f.streamDelay,
	}}
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("the load generator, the mock, the bare proxy and Tokenhot are separate processes sharing the machine's %d CPUs", runtime.NumCPU()),
		"Tokenhot runs with billing (a reservation and a journaled settlement per request) and request logging on; streams ask for usage so all three targets carry the same bytes")
	if f.streams > 0 {
		if lim, err := loadtest.RaiseFileLimit(uint64(4*f.streams + 4096)); err != nil {
			rep.Notes = append(rep.Notes, "could not raise the open file limit: "+err.Error())
		} else if lim < uint64(3*f.streams) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the open file limit is %d, low for %d streams", lim, f.streams))
		}
	}
	return rep
}

// runScenarios measures every target, mode and concurrency. The targets
// take turns within each mode and concurrency, so a change in the
// machine's load during the run touches all three alike.
func runScenarios(ctx context.Context, f benchFlags, sv *servers, rep *loadtest.Report, stderr io.Writer) error {
	targets := map[loadtest.Target]string{loadtest.Direct: sv.mockURL, loadtest.Proxy: sv.proxyURL, loadtest.Tokenhot: sv.tokenhotURL}
	for _, stream := range []bool{false, true} {
		for _, c := range f.concurrency {
			for _, t := range loadtest.Targets {
				req := benchRequest(targets[t], sv.key, benchModel, stream)
				res, err := loadtest.Run(ctx, req, loadtest.Options{Concurrency: c, Warmup: f.warmup, Duration: f.duration})
				if err != nil {
					return err
				}
				if t == loadtest.Tokenhot {
					rep.Books.Sent += res.Sent
					rep.Books.Failed += res.Failed
				}
				rep.Scenarios = append(rep.Scenarios, loadtest.Scenario{Target: t, Stream: stream, Concurrency: c, Result: res})
				fmt.Fprintf(stderr, "bench: %-10s %-12s c=%-3d %7.0f req/s  p50 %6d µs  p99 %6d µs  errors %d\n", t, loadtest.ModeName(stream), c,
					res.Throughput(), res.Latency.P50.Microseconds(), res.Latency.P99.Microseconds(), res.Errors)
			}
		}
	}
	return nil
}

// writeBenchReport prints the report, saves it if asked, and fails the
// command if Tokenhot dropped requests or its books do not balance: that
// is a bug, where a missed performance target is a finding.
func writeBenchReport(rep *loadtest.Report, path string, stdout io.Writer) error {
	var buf bytes.Buffer
	if err := rep.WriteMarkdown(&buf); err != nil {
		return err
	}
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if path != "" {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if v := rep.Correctness(); !v.Pass {
		return fmt.Errorf("bench: Tokenhot failed requests or its books do not balance: %s", v.Detail)
	}
	return nil
}

// The request every scenario sends: a small, realistic chat completion.
const (
	benchModel     = "gpt-bench"
	slowModel      = "gpt-bench-slow" // routed to the mock whose streams last seconds
	benchMaxTokens = 256
	benchSystem    = "You are a concise assistant for a software company. Answer in plain English, in at most three sentences, and say so when you are not sure."
	benchUser      = "Our nightly build started failing after we upgraded the compiler. The error mentions an unused variable in a generated file. What is the quickest safe fix?"
)

func benchBodyFor(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `"stream":true,"stream_options":{"include_usage":true},`
	}
	return fmt.Appendf(nil, `{"model":%q,%s"max_tokens":%d,"temperature":0.7,"messages":[{"role":"system","content":%q},{"role":"user","content":%q}]}`,
		model, s, benchMaxTokens, benchSystem, benchUser)
}

func benchRequest(base, key, model string, stream bool) loadtest.Request {
	return loadtest.Request{
		URL:    base + "/v1/chat/completions",
		Header: http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}},
		Body:   benchBodyFor(model, stream),
		Stream: stream,
	}
}

// harness starts and stops the child processes.
type harness struct {
	exe   string
	env   []string
	out   io.Writer // the children's output
	log   io.Writer
	procs []*loadtest.Proc
}

// servers are the running children and how to reach them.
type servers struct {
	mockURL, slowURL, proxyURL, tokenhotURL string
	key, dbPath                             string
	tokenhot                                *loadtest.Proc
}

func anyStatus(int) bool { return true }

func (h *harness) start(ctx context.Context, name, readyURL string, ready func(int) bool, args ...string) (*loadtest.Proc, error) {
	p, err := loadtest.Start(name, h.exe, args, h.env, h.out)
	if err != nil {
		return nil, err
	}
	h.procs = append(h.procs, p)
	if err := loadtest.WaitReady(ctx, p, readyURL, ready, 30*time.Second); err != nil {
		return nil, fmt.Errorf("bench: %w (run with --child-logs to see its output)", err)
	}
	return p, nil
}

// stopAll stops every child still running, the last started first.
func (h *harness) stopAll() {
	for i := len(h.procs) - 1; i >= 0; i-- {
		if err := h.procs[i].Stop(10 * time.Second); err != nil {
			fmt.Fprintln(h.log, "bench:", err)
		}
	}
}

func (h *harness) startServers(ctx context.Context, tmp string, f benchFlags) (*servers, error) {
	addrs, err := loadtest.FreeAddrs(4)
	if err != nil {
		return nil, err
	}
	sv := &servers{mockURL: "http://" + addrs[0], slowURL: "http://" + addrs[1], proxyURL: "http://" + addrs[2],
		tokenhotURL: "http://" + addrs[3], key: "sk-bench-" + randomHex(24), dbPath: filepath.Join(tmp, "tokenhot.db")}
	if _, err := h.start(ctx, "mock", sv.mockURL+"/v1/models", anyStatus, "mock", "--listen", addrs[0]); err != nil {
		return nil, err
	}
	if _, err := h.start(ctx, "slow mock", sv.slowURL+"/v1/models", anyStatus,
		"mock", "--listen", addrs[1], "--chunk-delay", f.streamDelay.String()); err != nil {
		return nil, err
	}
	if _, err := h.start(ctx, "bare proxy", sv.proxyURL+"/v1/models", anyStatus,
		"bench", "proxy", "--listen", addrs[2], "--target", sv.mockURL); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(tmp, "tokenhot.yaml")
	if err := os.WriteFile(cfgPath, []byte(benchConfig(addrs[3], sv.dbPath, sv.mockURL, sv.slowURL, sv.key)), 0o600); err != nil {
		return nil, err
	}
	p, err := h.start(ctx, "tokenhot", sv.tokenhotURL+"/healthz", func(s int) bool { return s == http.StatusOK },
		"serve", "--config", cfgPath, "--data", filepath.Join(tmp, "data"))
	if err != nil {
		return nil, err
	}
	sv.tokenhot = p
	return sv, nil
}

// benchConfig is Tokenhot's configuration: one channel per mock, a priced
// model on each, and a user with a large balance and the bench's key. Rate
// limits are set on every key, user and model — high enough never to refuse
// a request — so that the measured path counts them as production does.
func benchConfig(listen, dbPath, mockURL, slowURL, key string) string {
	return fmt.Sprintf(`listen: %q
database: %q
limits:
  key: {rpm: 100000000, tpm: 100000000000, concurrent: 100000}
  user: {rpm: 100000000, tpm: 100000000000, concurrent: 100000}
channels:
  - name: bench-mock
    type: openai
    base_url: %s
    keys: ["mock-bench-key"]
    models: [%s]
  - name: bench-mock-slow
    type: openai
    base_url: %s
    keys: ["mock-bench-key"]
    models: [%s]
models:
  - name: %s
    price: {input: 1.25, output: 10.00, cached_input: 0.125}
    limits: {rpm: 100000000, tpm: 100000000000, concurrent: 100000}
  - name: %s
    price: {input: 1.25, output: 10.00, cached_input: 0.125}
users:
  - name: bench
    balance: 1000000.00
    keys: [%q]
`, listen, "sqlite://"+dbPath, mockURL, benchModel, slowURL, slowModel, benchModel, slowModel, key)
}

// childEnv is this process's environment with Tokenhot's secrets fixed (so
// the child generates none) and its log settings left at their defaults.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "TOKENHOT_MASTER_KEY", "TOKENHOT_ADMIN_TOKEN", "TOKENHOT_LOG_LEVEL", "TOKENHOT_LOG_FORMAT":
			continue
		}
		env = append(env, kv)
	}
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	return append(env, "TOKENHOT_MASTER_KEY="+base64.StdEncoding.EncodeToString(master),
		"TOKENHOT_ADMIN_TOKEN="+randomHex(32))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// measureMemory samples Tokenhot's RSS while n streams are open at once.
func measureMemory(ctx context.Context, sv *servers, n int) loadtest.Memory {
	var m loadtest.Memory
	pid := sv.tokenhot.PID()
	idle, err := loadtest.ReadRSS(pid)
	if err != nil {
		m.Err = "cannot read Tokenhot's RSS: " + err.Error()
		return m
	}
	m.Idle = idle
	sampler := loadtest.SampleRSS(pid, 100*time.Millisecond)
	m.Burst = loadtest.Burst(ctx, benchRequest(sv.tokenhotURL, sv.key, slowModel, true), loadtest.BurstOptions{Streams: n})
	peak, samples, err := sampler.Stop()
	if err != nil {
		m.Err = "sampling Tokenhot's RSS: " + err.Error()
	}
	m.Peak, m.Samples = peak, samples
	m.After, _ = loadtest.ReadRSS(pid)
	return m
}

// auditBooks counts, in the stopped Tokenhot's database, the ledger's
// settle entries and the distinct requests they settle, the holds left
// open, the request log rows with status 200, and the users whose balance
// differs from the sum of their ledger. It reads the file with plain SQL
// rather than through the store, so that the code under test does not
// audit itself.
func auditBooks(ctx context.Context, path string, b *loadtest.Books) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM ledger WHERE kind = 'settle'),
		(SELECT COUNT(DISTINCT ref) FROM ledger WHERE kind = 'settle'),
		(SELECT COUNT(*) FROM holds),
		(SELECT COUNT(*) FROM request_logs WHERE status = 200),
		(SELECT COUNT(*) FROM users u WHERE u.balance <> (SELECT COALESCE(SUM(amount), 0) FROM ledger l WHERE l.user_id = u.id))`,
	).Scan(&b.Settled, &b.Distinct, &b.Holds, &b.Logged, &b.Unbalanced)
	if err != nil {
		return fmt.Errorf("reading Tokenhot's database: %w", err)
	}
	return nil
}

// machine describes this computer for the report.
func machine() loadtest.Machine {
	m := loadtest.Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	m.LoadBefore = loadAverage()
	return m
}

// loadAverage is the 1-minute load average, 0 if unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// runBareProxy is the bare proxy's process: httputil.ReverseProxy in front
// of --target, nothing else.
func runBareProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	target := fs.String("target", "", "upstream base URL")
	maxIdle := fs.Int("max-idle", 1024, "idle upstream connections kept (as Tokenhot's relay keeps)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		fmt.Fprintln(stderr, "bench proxy: --target must be a URL such as http://127.0.0.1:9000")
		return errUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: loadtest.NewBareProxy(u, *maxIdle), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "bare proxy listening on http://%s, forwarding to %s\n", ln.Addr(), u)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
