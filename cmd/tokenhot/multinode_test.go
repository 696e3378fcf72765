package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/tokenhot/tokenhot/internal/mock"
)

// Keys and names of the three-node test. The prefixes (first 12
// characters) differ so the two keys are told apart in logs.
const (
	mnRPMKey     = "sk-th-mnrpm-0000000000000000000000"
	mnConcKey    = "sk-th-mncon-0000000000000000000000"
	mnAdminToken = "multinode-test-admin-token"
	mnRedisDB    = 9 // a logical DB of its own: the gateway's Redis prefix is fixed
	mnModelRPM   = 300
	mnConcurrent = 5
	// mnMarkerRPM is set on the concurrency key next to its concurrent
	// limit only so that each node's answers show (in
	// X-Ratelimit-Limit-Requests) when it has loaded the new limits; no
	// burst comes near it.
	mnMarkerRPM = 100_000
)

// Three gateway processes sharing one PostgreSQL database and one Redis
// admit, together, what the limits allow and no more: a model's 300
// requests per minute across 900 concurrent requests spread over the
// nodes, and a key's 5 concurrent requests across 60 simultaneous ones.
// Every admitted request is settled once in the shared ledger.
func TestRateLimitsHoldAcrossThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gateway processes")
	}
	pgBase, redisBase := os.Getenv("TOKENHOT_TEST_POSTGRES_DSN"), os.Getenv("TOKENHOT_TEST_REDIS_URL")
	if pgBase == "" || redisBase == "" {
		t.Skip("needs TOKENHOT_TEST_POSTGRES_DSN and TOKENHOT_TEST_REDIS_URL")
	}
	ctx := t.Context()
	dsn, db := mnFreshSchema(t, pgBase)
	redisURL, rdb := mnFreshRedis(t, redisBase)

	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "tokenhot.yaml")
	cfg := fmt.Sprintf(`database: %q
redis: {url: %q, nodes: 3}
channels:
  - {name: mock, type: openai, base_url: %q, keys: [k], models: [gpt-5, gpt-5-free]}
models:
  - {name: gpt-5, price: {input: 1.25, output: 10}, limits: {rpm: %d}}
  - {name: gpt-5-free, price: {input: 1.25, output: 10}}
users:
  - {name: rpm, balance: 1000, keys: [%q]}
  - {name: conc, balance: 1000, keys: [%q]}
`, dsn, redisURL, up.URL, mnModelRPM, mnRPMKey, mnConcKey)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// All three start at once on the empty database: each migrates it and
	// applies the config file, racing the others.
	nodes := []*mnNode{mnStart(t, cfgPath, dir, 0), mnStart(t, cfgPath, dir, 1), mnStart(t, cfgPath, dir, 2)}
	for _, n := range nodes {
		n.waitHealthy(t)
	}

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 128},
		Timeout:   time.Minute,
	}
	defer client.CloseIdleConnections()

	// Phase 1: the model's requests per minute, across the nodes.
	const total, workers = 900, 64
	answers := make([]mnAnswer, total)
	var next atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				body := fmt.Sprintf(`{"model":"gpt-5","messages":[{"role":"user","content":"request %d"}]}`, i)
				answers[i] = mnPost(client, nodes[i%len(nodes)].addr, mnRPMKey, body)
				answers[i].node = i % len(nodes)
			}
		})
	}
	wg.Wait()
	burst := time.Since(began)
	if burst > 30*time.Second {
		t.Fatalf("the 900 requests took %v: too close to the 60-second window for the count to mean anything", burst)
	}
	rep := mnReporter{t: t}
	var ok1, limited1 int
	perNode := make([]int, len(nodes))
	var rpmIDs []string
	for i, a := range answers {
		switch {
		case a.err != nil:
			rep.errorf("request %d: %v", i, a.err)
		case a.status == http.StatusOK:
			ok1++
			perNode[a.node]++
			rpmIDs = append(rpmIDs, a.id)
			if got := a.header.Get("X-Ratelimit-Limit-Requests"); got != strconv.Itoa(mnModelRPM) {
				rep.errorf("request %d: 200 with X-Ratelimit-Limit-Requests %q, want %d", i, got, mnModelRPM)
			}
		case a.status == http.StatusTooManyRequests:
			limited1++
			a.checkRateLimited(&rep, i)
			if got := a.header.Get("X-Ratelimit-Limit-Requests"); got != strconv.Itoa(mnModelRPM) {
				rep.errorf("request %d: 429 with X-Ratelimit-Limit-Requests %q, want %d", i, got, mnModelRPM)
			}
		default:
			rep.errorf("request %d: status %d: %s", i, a.status, a.body)
		}
	}
	t.Logf("phase 1: %d requests in %v over 3 nodes: %d answered 200 (per node %v), %d answered 429",
		total, burst.Round(time.Millisecond), ok1, perNode, limited1)
	if ok1 < mnModelRPM || ok1 > mnModelRPM+mnModelRPM/100 {
		t.Errorf("%d requests admitted against a limit of %d rpm shared by 3 nodes; want %d to %d",
			ok1, mnModelRPM, mnModelRPM, mnModelRPM+mnModelRPM/100)
	}
	if ok1+limited1 != total {
		t.Errorf("%d answers were neither 200 nor 429", total-ok1-limited1)
	}
	// The shared count in Redis is the admitted requests, whichever node
	// admitted them.
	counted := mnRedisSum(ctx, t, rdb, "tokenhot:rl:{model:gpt-5}:r")
	t.Logf("phase 1: Redis counts %d requests for model gpt-5", counted)
	if counted != int64(ok1) {
		t.Errorf("Redis counted %d requests for the model, %d were admitted", counted, ok1)
	}

	// Phase 2: a key's concurrent requests, across the nodes. Its limits are
	// set through one node's admin API and reach the others by the
	// database's change notifications.
	var concKeyID int64
	if err := db.QueryRowContext(ctx, `SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.name = 'conc'`).
		Scan(&concKeyID); err != nil {
		t.Fatal(err)
	}
	limits := fmt.Sprintf(`{"concurrent":%d,"rpm":%d}`, mnConcurrent, mnMarkerRPM)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut,
		"http://"+nodes[0].addr+"/admin/v1/keys/"+strconv.FormatInt(concKeyID, 10)+"/limits", strings.NewReader(limits))
	req.Header.Set("Authorization", "Bearer "+mnAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT key limits: %d %s", resp.StatusCode, raw)
	}
	// Wait until every node shows the key's new limits in its answers.
	propagating := time.Now()
	var concIDs []string // every request of the key answered 200: probes and burst
	const probe = `{"model":"gpt-5-free","messages":[{"role":"user","content":"probe"}]}`
	for n, node := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for {
			a := mnPost(client, node.addr, mnConcKey, probe)
			if a.err != nil || a.status != http.StatusOK {
				t.Fatalf("probe of node %d: status %d, err %v: %s", n, a.status, a.err, a.body)
			}
			concIDs = append(concIDs, a.id)
			if a.header.Get("X-Ratelimit-Limit-Requests") == strconv.Itoa(mnMarkerRPM) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d did not load the key's new limits within 10s (X-Ratelimit-Limit-Requests %q, want %d)",
					n, a.header.Get("X-Ratelimit-Limit-Requests"), mnMarkerRPM)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The probes' slots are released after their answers are sent: start
	// the burst only once none is held.
	slots := "tokenhot:rl:{key:" + strconv.FormatInt(concKeyID, 10) + "}:c"
	mnWaitNoSlots(ctx, t, rdb, slots)
	t.Logf("phase 2: the key's limits reached the three nodes in %v (%d probes)",
		time.Since(propagating).Round(time.Millisecond), len(concIDs))

	// All 60 requests leave at once; each admitted one lasts delay, far
	// longer than it takes the 60 to arrive, so no slot frees during the
	// burst and exactly 5 are admitted. The check that every 429 came back
	// before the first 200 proves that premise on every run.
	const concurrent = 60
	const delay = time.Second
	body := fmt.Sprintf(`{"model":"gpt-5-free","messages":[{"role":"user","content":"slow [[mock:delay=%s]]"}]}`, delay)
	conc := make([]mnAnswer, concurrent)
	gate := make(chan struct{})
	var ready sync.WaitGroup
	for i := range concurrent {
		ready.Add(1)
		wg.Go(func() {
			ready.Done()
			<-gate
			conc[i] = mnPost(client, nodes[i%len(nodes)].addr, mnConcKey, body)
			conc[i].node = i % len(nodes)
		})
	}
	ready.Wait()
	began = time.Now()
	close(gate)
	wg.Wait()
	var ok2, limited2 int
	perNode = make([]int, len(nodes))
	var last429, first200 time.Duration = 0, time.Hour
	for i, a := range conc {
		switch {
		case a.err != nil:
			rep.errorf("concurrent request %d: %v", i, a.err)
		case a.status == http.StatusOK:
			ok2++
			perNode[a.node]++
			concIDs = append(concIDs, a.id)
			first200 = min(first200, a.done.Sub(began))
			if a.at < delay {
				rep.errorf("concurrent request %d: admitted and answered in %v, less than the mock's delay %v", i, a.at, delay)
			}
		case a.status == http.StatusTooManyRequests:
			limited2++
			last429 = max(last429, a.done.Sub(began))
			a.checkRateLimited(&rep, i)
		default:
			rep.errorf("concurrent request %d: status %d: %s", i, a.status, a.body)
		}
	}
	t.Logf("phase 2: %d simultaneous requests over 3 nodes against %d concurrent: %d answered 200 (per node %v), %d answered 429; last 429 at %v, first 200 at %v",
		concurrent, mnConcurrent, ok2, perNode, limited2, last429.Round(time.Millisecond), first200.Round(time.Millisecond))
	if ok2 > 0 && limited2 > 0 && last429 >= first200 {
		t.Errorf("a 429 came back at %v, after the first 200 at %v: a slot may have been freed during the burst, the count is not exact",
			last429, first200)
	}
	if ok2 != mnConcurrent || limited2 != concurrent-mnConcurrent {
		t.Errorf("%d admitted and %d refused of %d simultaneous requests; want %d admitted under concurrent: %d",
			ok2, limited2, concurrent, mnConcurrent, mnConcurrent)
	}
	mnWaitNoSlots(ctx, t, rdb, slots)

	// Stop the nodes as an operator would: they drain, settle and flush
	// their request logs. The client's idle connections go first: a
	// connection dialed but never used counts as active in http.Server's
	// Shutdown for its first 5 seconds, and would only slow the drain.
	client.CloseIdleConnections()
	stopping := time.Now()
	for _, n := range nodes {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, n := range nodes {
		n.waitStopped(t)
	}
	t.Logf("the three nodes stopped in %v", time.Since(stopping).Round(time.Millisecond))
	for i, n := range nodes {
		if s := n.stderr.String(); strings.Contains(s, "shared limiter failed") {
			t.Errorf("node %d fell back to local limits during the test:\n%s", i, s)
		}
	}

	// The books: one settlement per 200, nothing else.
	for _, u := range []struct {
		name string
		ids  []string
	}{{"rpm", rpmIDs}, {"conc", concIDs}} {
		var uid int64
		if err := db.QueryRowContext(ctx, `SELECT id FROM users WHERE name = $1`, u.name).Scan(&uid); err != nil {
			t.Fatal(err)
		}
		refs := mnStrings(ctx, t, db, `SELECT ref FROM ledger WHERE user_id = $1 AND kind = 'settle'`, uid)
		slices.Sort(refs)
		want := slices.Sorted(slices.Values(u.ids))
		if !slices.Equal(refs, want) {
			t.Errorf("user %s: %d settlements for %d answers of 200 (settled refs differ from the request ids)",
				u.name, len(refs), len(want))
		}
		var reserves, refunds, logged200, logged429, holds int
		var balance, sum int64
		if err := db.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM ledger WHERE user_id = $1 AND kind = 'reserve'),
			(SELECT count(*) FROM ledger WHERE user_id = $1 AND kind = 'refund'),
			(SELECT count(*) FROM request_logs WHERE user_id = $1 AND status = 200),
			(SELECT count(*) FROM request_logs WHERE user_id = $1 AND status = 429),
			(SELECT count(*) FROM holds WHERE user_id = $1),
			(SELECT balance FROM users WHERE id = $1),
			(SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE user_id = $1)`, uid).
			Scan(&reserves, &refunds, &logged200, &logged429, &holds, &balance, &sum); err != nil {
			t.Fatal(err)
		}
		t.Logf("user %s: %d answers of 200; ledger: %d reserve, %d settle, %d refund; request_logs: %d of 200, %d of 429; %d holds left",
			u.name, len(want), reserves, len(refs), refunds, logged200, logged429, holds)
		if reserves != len(want) || refunds != 0 || logged200 != len(want) || holds != 0 {
			t.Errorf("user %s: want %d reserves and request log rows of 200, no refund and no hold left", u.name, len(want))
		}
		if balance != sum {
			t.Errorf("user %s: balance %d, ledger sum %d", u.name, balance, sum)
		}
	}
	var logged429 int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM request_logs r JOIN users u ON u.id = r.user_id
		WHERE u.name = 'rpm' AND r.status = 429`).Scan(&logged429); err != nil {
		t.Fatal(err)
	}
	if logged429 != limited1 {
		t.Errorf("request_logs has %d rows of 429 for the rpm user, %d were answered", logged429, limited1)
	}
}

// mnAnswer is what one request got back.
type mnAnswer struct {
	status int
	id     string // X-Request-Id
	header http.Header
	body   []byte
	err    error
	node   int
	at     time.Duration // from sending to the whole answer read
	done   time.Time
}

func mnPost(c *http.Client, addr, key, body string) mnAnswer {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return mnAnswer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return mnAnswer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	done := time.Now()
	return mnAnswer{status: resp.StatusCode, id: resp.Header.Get("X-Request-Id"), header: resp.Header, body: raw, err: err,
		at: done.Sub(start), done: done}
}

// checkRateLimited checks a 429: OpenAI's error body with code
// rate_limit_exceeded, and a Retry-After of whole seconds.
func (a mnAnswer) checkRateLimited(rep *mnReporter, i int) {
	var e struct {
		Error struct {
			Type string  `json:"type"`
			Code *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error.Code == nil || *e.Error.Code != "rate_limit_exceeded" ||
		e.Error.Type != "rate_limit_error" {
		rep.errorf("request %d: 429 body %s, want an OpenAI error of code rate_limit_exceeded", i, a.body)
	}
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 {
		rep.errorf("request %d: 429 with Retry-After %q, want whole seconds ≥ 1", i, a.header.Get("Retry-After"))
	}
}

// mnReporter reports the first few failures of a kind that could repeat
// hundreds of times, then counts the rest.
type mnReporter struct {
	t testing.TB
	n int
}

func (r *mnReporter) errorf(format string, args ...any) {
	r.t.Helper()
	r.n++
	switch {
	case r.n <= 10:
		r.t.Errorf(format, args...)
	case r.n == 11:
		r.t.Errorf("(further failures not shown)")
	default:
		r.t.Fail()
	}
}

// mnNode is one `tokenhot serve` process.
type mnNode struct {
	addr   string
	cmd    *exec.Cmd
	stderr *mnBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// mnStart runs the test binary as `tokenhot serve` on a free port.
func mnStart(t *testing.T, cfgPath, dir string, i int) *mnNode {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := &mnNode{addr: freeAddr(t), stderr: &mnBuffer{}, exited: make(chan struct{})}
	n.cmd = exec.Command(self, "serve", "--config", cfgPath, "--listen", n.addr,
		"--data", filepath.Join(dir, "data"+strconv.Itoa(i)))
	n.cmd.Env = append(os.Environ(), benchChildEnv+"=1",
		"TOKENHOT_MASTER_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"TOKENHOT_ADMIN_TOKEN="+mnAdminToken)
	n.cmd.Stdout, n.cmd.Stderr = n.stderr, n.stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		n.err = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-n.exited:
		default:
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
		if t.Failed() {
			t.Logf("node %d (%s) output:\n%s", i, n.addr, n.stderr.tail(4000))
		}
	})
	return n
}

func (n *mnNode) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get("http://" + n.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-n.exited:
			t.Fatalf("the gateway on %s exited (%v):\n%s", n.addr, n.err, n.stderr.tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway on %s did not start within 30s:\n%s", n.addr, n.stderr.tail(4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStopped waits for the drain that SIGTERM started: every settlement
// and request log row is then in the database.
func (n *mnNode) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-n.exited:
		if n.err != nil {
			t.Errorf("the gateway on %s stopped with %v:\n%s", n.addr, n.err, n.stderr.tail(4000))
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the gateway on %s did not stop within 90s", n.addr)
	}
}

// mnBuffer collects a child's output.
type mnBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *mnBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *mnBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *mnBuffer) tail(n int) string {
	out := s.String()
	if len(out) > n {
		out = "…" + out[len(out)-n:]
	}
	return out
}

// mnFreshSchema makes an empty PostgreSQL schema, dropped at the end, and
// returns a DSN selecting it (search_path) and a connection to it.
func mnFreshSchema(t *testing.T, base string) (string, *sql.DB) {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "mn_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	// Registered first, so it runs after the nodes are stopped.
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	dsn := base + sep + "search_path=" + schema
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

// mnFreshRedis selects logical DB mnRedisDB of the test Redis, empties it
// now and at the end, and returns its URL and a client.
func mnFreshRedis(t *testing.T, base string) (string, *redis.Client) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TOKENHOT_TEST_REDIS_URL: %v", err)
	}
	if u.Scheme == "unix" {
		q := u.Query()
		q.Set("db", strconv.Itoa(mnRedisDB))
		u.RawQuery = q.Encode()
	} else {
		u.Path = "/" + strconv.Itoa(mnRedisDB)
	}
	o, err := redis.ParseURL(u.String())
	if err != nil {
		t.Fatalf("TOKENHOT_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(o)
	ctx := context.Background()
	if err := c.FlushDB(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("redis at %s: %v", o.Addr, err)
	}
	t.Cleanup(func() {
		_ = c.FlushDB(context.Background()).Err()
		c.Close()
	})
	return u.String(), c
}

// mnRedisSum adds up the per-second counts of a limiter hash.
func mnRedisSum(ctx context.Context, t *testing.T, c *redis.Client, key string) int64 {
	t.Helper()
	m, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s holds %q", key, v)
		}
		sum += n
	}
	return sum
}

// mnWaitNoSlots waits until no concurrency slot of a limiter set is held.
func mnWaitNoSlots(ctx context.Context, t *testing.T, c *redis.Client, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := c.ZCard(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d concurrency slots still held in %s after 5s", n, key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mnStrings(ctx context.Context, t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
