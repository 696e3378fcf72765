package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/mock"
	"github.com/tokenhot/tokenhot/internal/store"
)

// 250 concurrent requests against a balance that covers only some of them:
// no overdraft, every admitted request settled exactly once, every refused
// one left no trace, and the ledger sums to the balance.
func TestConcurrentRequestsNeverOverdraw(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvWith(t, backend, mock.Options{Latency: 20 * time.Millisecond})
		ctx := context.Background()
		st := e.g.Store
		eve, err := st.CreateUser(ctx, "eve")
		if err != nil {
			t.Fatal(err)
		}
		const start = billing.Micros(40_000) // 4 cents
		if _, _, err := st.Credit(ctx, eve.ID, store.EntryTopUp, start, "eve-start", ""); err != nil {
			t.Fatal(err)
		}
		key := "sk-th-test-eve-00000000000000000000000"
		if _, err := st.CreateKey(ctx, eve.ID, "k", hashOf(key), key[:12], store.KeyLimits{}); err != nil {
			t.Fatal(err)
		}
		if err := e.g.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		// "cheap" costs 1 Micro a token; max_tokens 1000 makes each
		// reservation about 1,030 Micros while the real cost is tiny, so
		// the balance admits ~38 at once and the rest race for what
		// settlements give back.
		body := `{"model":"cheap","max_tokens":1000,"messages":[{"role":"user","content":"count me"}]}`
		const n = 250
		tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		var wg sync.WaitGroup
		gate := make(chan struct{})
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		close(gate)
		wg.Wait()
		ok, refused := 0, 0
		for _, c := range codes {
			switch c {
			case 200:
				ok++
			case 402:
				refused++
			default:
				t.Fatalf("unexpected status %d", c)
			}
		}
		if ok == 0 || refused == 0 {
			t.Fatalf("the test did not reach the limit: %d admitted, %d refused", ok, refused)
		}
		e.flushLogs()
		entries, err := st.Entries(ctx, eve.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		refs := map[string][]string{}
		var sum billing.Micros
		for _, en := range entries {
			kinds[en.Kind]++
			sum += en.Amount
			if en.BalanceAfter < 0 {
				t.Fatalf("overdraft: %+v", en)
			}
			if en.Kind != store.EntryTopUp {
				refs[en.Ref] = append(refs[en.Ref], en.Kind)
			}
		}
		// In the database (PostgreSQL) a hold is a balance change: a
		// reserve and a settle entry per request. With SQLite the hold
		// lives in memory and the settlement is the one stored change.
		perRequest := []string{store.EntryReserve, store.EntrySettle}
		if st.Dialect() == store.DialectSQLite {
			perRequest = []string{store.EntrySettle}
		}
		if kinds[store.EntrySettle] != ok || kinds[store.EntryReserve] != ok*(len(perRequest)-1) || kinds[store.EntryRefund] != 0 {
			t.Fatalf("%d admitted but ledger has %v", ok, kinds)
		}
		if len(refs) != ok {
			t.Fatalf("%d admitted but entries name %d requests", ok, len(refs))
		}
		for ref, ks := range refs {
			if diff := cmp.Diff(perRequest, ks, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Fatalf("request %s entries (-want +got):\n%s", ref, diff)
			}
		}
		u := e.user("eve")
		if u.Balance < 0 || u.Balance != sum {
			t.Fatalf("balance %d, ledger sum %d", u.Balance, sum)
		}
		e.flushLogs()
		rows, err := st.RequestLogs(ctx, store.LogFilter{UserID: eve.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var billed billing.Micros
		statuses := map[int]int{}
		for _, r := range rows {
			billed += r.Cost
			statuses[r.Status]++
		}
		if statuses[200] != ok || statuses[402] != refused {
			t.Fatalf("log statuses %v; want %d ok and %d refused", statuses, ok, refused)
		}
		if start-u.Balance != billed {
			t.Fatalf("spent %d but log rows bill %d", start-u.Balance, billed)
		}
		t.Logf("%s: %d admitted, %d refused, %s USD billed", backend, ok, refused, billed.USD())
	})
}

// A bootstrap balance is credited once, however often the server restarts.
func TestBootstrapBalanceCreditedOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.restart()
		e.restart()
		e.checkLedger("alice", tenUSD)
		entries, err := e.g.Store.Entries(context.Background(), e.user("alice").ID, 0, 100)
		if err != nil || len(entries) != 1 || entries[0].Kind != store.EntryTopUp {
			t.Fatalf("entries %+v %v", entries, err)
		}
		// The key from the file still works after restarts.
		if resp, body := e.post("/v1/chat/completions", aliceKey, hello); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}

// Prompt and output content appear in no table and no log line.
func TestNoContentIsStored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		canary := "zebra-canary-7f3a91"
		const output = "quick" // a word of the mock's fixed reply
		for _, stream := range []bool{false, true} {
			body := fmt.Sprintf(`{"model":"gpt-5","stream":%v,"messages":[{"role":"system","content":"%s system"},{"role":"user","content":"%s please echo %s"}]}`,
				stream, canary, canary, canary)
			resp, raw := e.post("/v1/chat/completions", aliceKey, body)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, raw)
			}
			if !strings.Contains(string(raw), output) {
				t.Fatalf("the mock's reply changed; this test looks for %q: %s", output, raw)
			}
		}
		// Errors too: an upstream failure must not log the prompt.
		e.post("/v1/chat/completions", aliceKey, `{"model":"gpt-5","messages":[{"role":"user","content":"[[mock:status=500]] `+canary+`"}]}`)
		e.flushLogs()
		dump := dumpDatabase(t, e)
		for _, secret := range []string{"zebra", output} {
			if strings.Contains(dump, secret) {
				t.Fatalf("content %q found in the database:\n%s", secret, grepLines(dump, secret))
			}
			if logs := e.logs.String(); strings.Contains(logs, secret) {
				t.Fatalf("content %q found in the log output:\n%s", secret, grepLines(logs, secret))
			}
		}
		if !strings.Contains(dump, "gpt-5") {
			t.Fatal("the dump holds no request metadata, so it proves nothing")
		}
	})
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// dumpDatabase renders every row of every table as text.
func dumpDatabase(t *testing.T, e *env) string {
	t.Helper()
	db := e.g.Store.DB()
	var q string
	if e.g.Store.Dialect() == "sqlite" {
		q = `SELECT name FROM sqlite_master WHERE type='table'`
	} else {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		if !identRE.MatchString(table) {
			continue
		}
		r, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			_ = r.Scan(ptrs...)
			fmt.Fprintf(&b, "%s:", table)
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, " %v", v)
			}
			b.WriteByte('\n')
		}
		r.Close()
	}
	return b.String()
}
