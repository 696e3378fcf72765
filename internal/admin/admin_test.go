package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/secret"
	"github.com/tokenhot/tokenhot/internal/store"
)

const testToken = "th-admin-0123456789abcdefghijABCDEFGHIJ0123456789"

// now is the clock the API sees in tests (key expiries are checked against it).
var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// reloader counts reloads of a real catalogue, and can be made to fail.
type reloader struct {
	cat  *catalog.Catalog
	n    atomic.Int64
	fail atomic.Bool
}

func (r *reloader) Reload(ctx context.Context) error {
	r.n.Add(1)
	if r.fail.Load() {
		return errors.New("reload broken by the test")
	}
	return r.cat.Reload(ctx)
}

type env struct {
	t   *testing.T
	st  *store.Store
	rel *reloader
	srv *httptest.Server
}

// pgEnv names a Postgres server the suite also runs against; each test gets
// its own schema (as the store's tests do). Unset: SQLite only.
const pgEnv = "TOKENHOT_TEST_POSTGRES_DSN"

// eachDB runs test on a fresh SQLite database and, when pgEnv is set, on a
// fresh Postgres schema.
func eachDB(t *testing.T, test func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			test(t, newEnv(t, testDSN(t, d)))
		})
	}
}

func testDSN(t *testing.T, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return "sqlite://" + filepath.Join(t.TempDir(), "tokenhot.db")
	}
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		t.Skip(pgEnv + " is not set")
	}
	db, err := pgAdmin()
	if err != nil {
		t.Fatal(err)
	}
	schema := "tokenhot_admin_test_" + rand.Text()[:12]
	schema = strings.ToLower(schema)
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	return u.String()
}

var pgAdmin = sync.OnceValues(func() (*sql.DB, error) {
	db, err := sql.Open("pgx", os.Getenv(pgEnv))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	return db, nil
})

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	box, err := secret.NewBox(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := catalog.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	rel := &reloader{cat: cat}
	a := New(st, rel, sha256.Sum256([]byte(testToken)), slog.New(slog.DiscardHandler))
	a.now = func() time.Time { return now }
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, rel: rel, srv: srv}
}

// raw sends a request with the admin token and returns the status and body.
// It also checks the reload rule: a write that succeeds reloads the
// catalogue exactly once, anything else not at all.
func (e *env) raw(method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	before := e.rel.n.Load()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	want := int64(0)
	if method != http.MethodGet && resp.StatusCode < 300 && !bytes.Contains(b, []byte(`"applied":false`)) ||
		bytes.Contains(b, []byte(`"reload_failed"`)) {
		want = 1
	}
	if got := e.rel.n.Load() - before; got != want {
		e.t.Errorf("%s %s → %d: %d reloads, want %d", method, path, resp.StatusCode, got, want)
	}
	return resp.StatusCode, b
}

// call expects status and decodes the answer into out (when not nil).
func (e *env) call(method, path, body string, status int, out any) {
	e.t.Helper()
	got, b := e.raw(method, path, body)
	if got != status {
		e.t.Fatalf("%s %s %s: status %d, want %d; body %s", method, path, body, got, status, b)
	}
	if out != nil {
		reflect.ValueOf(out).Elem().SetZero() // what the answer leaves out must read as absent
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// failCase is a request that must fail with status, a message containing
// msg, and no change.
type failCase struct {
	name, method, path, body string
	status                   int
	msg                      string
}

func (e *env) fails(t *testing.T, cases []failCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got ErrorBody
			e.sub(t).call(c.method, c.path, c.body, c.status, &got)
			if !strings.Contains(got.Error.Message, c.msg) || got.Error.Code == "" {
				t.Errorf("error %+v, want a message containing %q", got.Error, c.msg)
			}
		})
	}
}

// sub runs a subtest whose failures report through e.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func TestAuth(t *testing.T) {
	e := newEnv(t, testDSN(t, "sqlite"))
	for _, tc := range []struct {
		name   string
		header string
		want   int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong token", "Bearer th-admin-wrong", http.StatusUnauthorized},
		{"token prefix", "Bearer " + testToken[:20], http.StatusUnauthorized},
		{"basic scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"no token", "Bearer ", http.StatusUnauthorized},
		{"right token", "Bearer " + testToken, http.StatusOK},
		{"lowercase scheme", "bearer " + testToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range []string{"GET /admin/v1/users", "POST /admin/v1/users", "GET /admin/v1/nowhere"} {
				method, path, _ := strings.Cut(target, " ")
				req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(`{"name":"mallory"}`))
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if tc.want == http.StatusUnauthorized && resp.StatusCode != tc.want {
					t.Errorf("%s: status %d, want 401", target, resp.StatusCode)
				}
				if tc.want == http.StatusOK && resp.StatusCode == http.StatusUnauthorized {
					t.Errorf("%s: status 401 with the right token", target)
				}
			}
		})
	}
	// Only the authorized POST created mallory, once per right-token case.
	users, err := e.st.ListUsers(context.Background())
	if err != nil || len(users) != 1 {
		t.Errorf("users %v, %v: want mallory alone", users, err)
	}

	t.Run("no token configured", func(t *testing.T) {
		a := New(e.st, e.rel, [32]byte{}, slog.New(slog.DiscardHandler))
		req := httptest.NewRequest(http.MethodGet, "/admin/v1/users", nil)
		req.Header.Set("Authorization", "Bearer ")
		w := httptest.NewRecorder()
		a.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", w.Code)
		}
	})
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || !strings.HasPrefix(a, "th-admin-") || len(a) != len("th-admin-")+40 {
		t.Errorf("tokens %q, %q", a, b)
	}
	if strings.Trim(strings.TrimPrefix(a, "th-admin-"), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("token %q is not base62", a)
	}
}

// clearUser zeroes what the database decides, so views compare.
func clearUser(u User) User { u.CreatedAt = time.Time{}; return u }

func TestUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var alice, bob User
		e.call("POST", "/admin/v1/users", `{"name":"alice"}`, 201, &alice)
		e.call("POST", "/admin/v1/users", `{"name":" bob ","credit_limit":"12.5"}`, 201, &bob)
		if alice.CreatedAt.IsZero() {
			t.Error("created_at is not set")
		}
		want := User{ID: bob.ID, Name: "bob", Status: "active", Balance: "0", CreditLimit: "12.5"}
		if d := cmp.Diff(want, clearUser(bob)); d != "" {
			t.Errorf("created bob (-want +got):\n%s", d)
		}

		var got User
		e.call("GET", "/admin/v1/users/"+itoa(bob.ID), "", 200, &got)
		if d := cmp.Diff(want, clearUser(got)); d != "" {
			t.Errorf("GET bob (-want +got):\n%s", d)
		}
		e.call("POST", "/admin/v1/users/"+itoa(bob.ID)+"/suspend", "", 200, &got)
		if got.Status != "suspended" {
			t.Errorf("after suspend: status %q", got.Status)
		}
		e.call("POST", "/admin/v1/users/"+itoa(bob.ID)+"/reactivate", "", 200, &got)
		if got.Status != "active" {
			t.Errorf("after reactivate: status %q", got.Status)
		}
		e.call("PUT", "/admin/v1/users/"+itoa(bob.ID)+"/credit-limit", `{"credit_limit":"0.000001"}`, 200, &got)
		if got.CreditLimit != "0.000001" {
			t.Errorf("credit limit %q, want 0.000001", got.CreditLimit)
		}

		// Rate limits: set at creation, replaced as a whole, seen by the catalogue.
		var carol User
		e.call("POST", "/admin/v1/users", `{"name":"carol","credit_limit":"1","limits":{"rpm":600,"tpm":5000000000}}`, 201, &carol)
		if d := cmp.Diff(RateLimits{RPM: ptr[int64](600), TPM: ptr[int64](5_000_000_000)}, carol.Limits); d != "" || carol.CreditLimit != "1" {
			t.Errorf("created carol %+v; limits (-want +got):\n%s", carol, d)
		}
		e.call("GET", "/admin/v1/users/"+itoa(carol.ID), "", 200, &got)
		if d := cmp.Diff(carol.Limits, got.Limits); d != "" {
			t.Errorf("GET carol limits (-want +got):\n%s", d)
		}
		e.call("PUT", "/admin/v1/users/"+itoa(carol.ID)+"/limits", `{"concurrent":3}`, 200, &got)
		if d := cmp.Diff(RateLimits{Concurrent: ptr[int64](3)}, got.Limits); d != "" {
			t.Errorf("replaced limits (-want +got):\n%s", d)
		}
		if _, err := e.st.CreateKey(context.Background(), carol.ID, "k", apikey.Hash("sk-th-carol"), "sk-th-carol", store.KeyLimits{}); err != nil {
			t.Fatal(err)
		}
		e.call("PUT", "/admin/v1/users/"+itoa(carol.ID)+"/limits", `{"concurrent":4,"rpm":0}`, 200, &got)
		if k, ok := e.rel.cat.Current().Key(apikey.Hash("sk-th-carol")); !ok || k.UserRate != (store.Limits{Concurrent: 4}) {
			t.Errorf("the catalogue's user limits: %+v", k)
		}
		e.call("PUT", "/admin/v1/users/"+itoa(carol.ID)+"/limits", `{}`, 200, &got)
		if d := cmp.Diff(RateLimits{}, got.Limits); d != "" {
			t.Errorf("cleared limits (-want +got):\n%s", d)
		}
		e.call("DELETE", "/admin/v1/users/"+itoa(carol.ID), "", 204, nil)
		if _, b := e.raw("GET", "/admin/v1/users/"+itoa(bob.ID), ""); !bytes.Contains(b, []byte(`"limits":{}`)) {
			t.Errorf("a user without limits shows %s, want \"limits\":{}", b)
		}

		var list List[User]
		e.call("GET", "/admin/v1/users", "", 200, &list)
		if len(list.Data) != 2 || list.Data[0].Name != "alice" || list.Data[1].Name != "bob" {
			t.Errorf("list %+v", list.Data)
		}

		e.call("DELETE", "/admin/v1/users/"+itoa(alice.ID), "", 204, nil)
		e.call("GET", "/admin/v1/users", "", 200, &list)
		if len(list.Data) != 1 || list.Data[0].Name != "bob" {
			t.Errorf("list after delete %+v", list.Data)
		}
		// The name is free again.
		e.call("POST", "/admin/v1/users", `{"name":"alice"}`, 201, nil)

		id := itoa(bob.ID)
		e.fails(t, []failCase{
			{"empty body", "POST", "/admin/v1/users", ``, 400, "body is empty"},
			{"no name", "POST", "/admin/v1/users", `{}`, 400, "name is required"},
			{"blank name", "POST", "/admin/v1/users", `{"name":"  "}`, 400, "name is required"},
			{"digits name", "POST", "/admin/v1/users", `{"name":"123"}`, 400, "all digits"},
			{"reserved name", "POST", "/admin/v1/users", `{"name":"deleted-7"}`, 400, "reserved"},
			{"control char", "POST", "/admin/v1/users", `{"name":"a\u0007b"}`, 400, "control"},
			{"duplicate", "POST", "/admin/v1/users", `{"name":"bob"}`, 409, `"bob" already exists`},
			{"unknown field", "POST", "/admin/v1/users", `{"name":"carol","balance":"5"}`, 400, `unknown field "balance"`},
			{"float money", "POST", "/admin/v1/users", `{"name":"carol","credit_limit":5}`, 400, "credit_limit must be a string"},
			{"bad money", "POST", "/admin/v1/users", `{"name":"carol","credit_limit":"5.0000001"}`, 400, "credit_limit"},
			{"negative limit", "POST", "/admin/v1/users", `{"name":"carol","credit_limit":"-1"}`, 400, "credit_limit cannot be negative"},
			{"huge limit", "POST", "/admin/v1/users", `{"name":"carol","credit_limit":"1000000001"}`, 400, "beyond the limit"},
			{"two objects", "POST", "/admin/v1/users", `{"name":"carol"}{}`, 400, "single JSON object"},
			{"malformed", "POST", "/admin/v1/users", `{"name":`, 400, "malformed JSON"},
			{"array", "POST", "/admin/v1/users", `["carol"]`, 400, "JSON object"},
			{"bad id", "GET", "/admin/v1/users/abc", "", 400, "not a positive integer"},
			{"zero id", "GET", "/admin/v1/users/0", "", 400, "not a positive integer"},
			{"missing user", "GET", "/admin/v1/users/999", "", 404, "user 999 not found"},
			{"suspend missing", "POST", "/admin/v1/users/999/suspend", "", 404, "user 999 not found"},
			{"reactivate missing", "POST", "/admin/v1/users/999/reactivate", "", 404, "user 999 not found"},
			{"delete missing", "DELETE", "/admin/v1/users/999", "", 404, "user 999 not found"},
			{"delete deleted", "DELETE", "/admin/v1/users/" + itoa(alice.ID), "", 404, "not found"},
			{"limit missing", "PUT", "/admin/v1/users/" + id + "/credit-limit", `{}`, 400, "credit_limit is required"},
			{"limit negative", "PUT", "/admin/v1/users/" + id + "/credit-limit", `{"credit_limit":"-5"}`, 400, "cannot be negative"},
			{"limit of missing", "PUT", "/admin/v1/users/999/credit-limit", `{"credit_limit":"5"}`, 404, "user 999 not found"},
			{"negative rate limit at creation", "POST", "/admin/v1/users", `{"name":"dave","limits":{"tpm":-1}}`, 400, "limits.tpm cannot be negative"},
			{"string rate limit", "POST", "/admin/v1/users", `{"name":"dave","limits":{"rpm":"60"}}`, 400, "limits.rpm must be of type integer"},
			{"fractional rate limit", "POST", "/admin/v1/users", `{"name":"dave","limits":{"rpm":1.5}}`, 400, "limits.rpm must be of type integer"},
			{"unknown rate limit", "POST", "/admin/v1/users", `{"name":"dave","limits":{"rps":1}}`, 400, `unknown field "rps"`},
			{"negative rate limit", "PUT", "/admin/v1/users/" + id + "/limits", `{"rpm":5,"concurrent":-1}`, 400, "concurrent cannot be negative"},
			{"rate limits wrapped", "PUT", "/admin/v1/users/" + id + "/limits", `{"limits":{"rpm":5}}`, 400, `unknown field "limits"`},
			{"rate limits of missing", "PUT", "/admin/v1/users/999/limits", `{"rpm":5}`, 404, "user 999 not found"},
			{"rate limits of deleted", "PUT", "/admin/v1/users/" + itoa(alice.ID) + "/limits", `{"rpm":5}`, 404, "not found"},
			{"list query", "GET", "/admin/v1/users?status=active", "", 400, `unknown query parameter "status"`},
			{"unknown route", "GET", "/admin/v1/userz", "", 404, "no admin route"},
			{"wrong method", "PATCH", "/admin/v1/users", `{}`, 404, "no admin route"},
		})
		e.call("GET", "/admin/v1/users/"+id, "", 200, &got)
		if got.CreditLimit != "0.000001" || got.Status != "active" || got.Limits != (RateLimits{}) {
			t.Errorf("failed requests changed bob: %+v", got)
		}
		if _, err := e.st.GetUserByName(context.Background(), "dave"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused request created dave: %v", err)
		}
	})
}

func TestMoney(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var u User
		e.call("POST", "/admin/v1/users", `{"name":"alice"}`, 201, &u)
		base := "/admin/v1/users/" + itoa(u.ID)

		var first, replay, adj, tiny Credited
		e.call("POST", base+"/topups", `{"amount":"20.5","note":"invoice 7","idempotency_key":"inv-7"}`, 201, &first)
		e.call("POST", base+"/topups", `{"amount":"20.5","note":"invoice 7","idempotency_key":"inv-7"}`, 200, &replay)
		if !first.Applied || replay.Applied {
			t.Errorf("applied: first %v, replay %v", first.Applied, replay.Applied)
		}
		if d := cmp.Diff(first.Entry, replay.Entry); d != "" {
			t.Errorf("replay returned another entry (-first +replay):\n%s", d)
		}
		want := Entry{ID: first.Entry.ID, UserID: u.ID, Kind: "topup", Amount: "20.5", BalanceAfter: "20.5",
			Ref: "inv-7", Note: "invoice 7", CreatedAt: first.Entry.CreatedAt}
		if d := cmp.Diff(want, first.Entry); d != "" {
			t.Errorf("top-up entry (-want +got):\n%s", d)
		}
		e.call("POST", base+"/adjustments", `{"amount":"-3.25","reason":"refund of a failed batch"}`, 201, &adj)
		if adj.Entry.Amount != "-3.25" || adj.Entry.BalanceAfter != "17.25" || adj.Entry.Note != "refund of a failed batch" ||
			adj.Entry.Kind != "adjust" || adj.Entry.Ref == "" {
			t.Errorf("adjustment entry %+v", adj.Entry)
		}
		e.call("POST", base+"/topups", `{"amount":"0.000001"}`, 201, &tiny)
		if tiny.Entry.BalanceAfter != "17.250001" || tiny.Entry.Ref == "" || tiny.Entry.Ref == adj.Entry.Ref {
			t.Errorf("tiny top-up %+v", tiny.Entry)
		}

		var l Ledger
		e.call("GET", base+"/ledger", "", 200, &l)
		if l.Balance != "17.250001" || l.LedgerSum != "17.250001" || len(l.Data) != 3 || l.NextBefore != 0 {
			t.Errorf("ledger %+v", l)
		}
		if len(l.Data) == 3 && (l.Data[0].ID != tiny.Entry.ID || l.Data[2].ID != first.Entry.ID) {
			t.Errorf("ledger is not newest first: %+v", l.Data)
		}
		// Paging.
		e.call("GET", base+"/ledger?limit=2", "", 200, &l)
		if len(l.Data) != 2 || l.NextBefore != l.Data[1].ID {
			t.Fatalf("first page %+v", l)
		}
		e.call("GET", base+"/ledger?limit=2&before="+itoa(l.NextBefore), "", 200, &l)
		if len(l.Data) != 1 || l.Data[0].ID != first.Entry.ID || l.NextBefore != 0 {
			t.Errorf("second page %+v", l)
		}

		var other User
		e.call("POST", "/admin/v1/users", `{"name":"bob"}`, 201, &other)
		e.fails(t, []failCase{
			{"zero top-up", "POST", base + "/topups", `{"amount":"0"}`, 400, "greater than zero"},
			{"negative top-up", "POST", base + "/topups", `{"amount":"-1"}`, 400, "greater than zero"},
			{"no amount", "POST", base + "/topups", `{}`, 400, "amount is required"},
			{"float amount", "POST", base + "/topups", `{"amount":20.5}`, 400, "amount must be a string"},
			{"seven decimals", "POST", base + "/topups", `{"amount":"0.0000001"}`, 400, "at most 6 decimal places"},
			{"garbage amount", "POST", base + "/topups", `{"amount":"1e3"}`, 400, "amount"},
			{"reason on top-up", "POST", base + "/topups", `{"amount":"1","reason":"x"}`, 400, `unknown field "reason"`},
			{"key reused for more", "POST", base + "/topups", `{"amount":"21","idempotency_key":"inv-7"}`, 409, "already used"},
			{"key reused for bob", "POST", "/admin/v1/users/" + itoa(other.ID) + "/topups", `{"amount":"20.5","idempotency_key":"inv-7"}`, 409, "already used"},
			{"top-up missing user", "POST", "/admin/v1/users/999/topups", `{"amount":"1"}`, 404, "user 999 not found"},
			{"zero adjustment", "POST", base + "/adjustments", `{"amount":"0","reason":"x"}`, 400, "cannot be zero"},
			{"no reason", "POST", base + "/adjustments", `{"amount":"1"}`, 400, "reason is required"},
			{"note on adjustment", "POST", base + "/adjustments", `{"amount":"1","reason":"x","note":"y"}`, 400, `unknown field "note"`},
			{"ledger missing user", "GET", "/admin/v1/users/999/ledger", "", 404, "user 999 not found"},
			{"ledger bad limit", "GET", base + "/ledger?limit=0", "", 400, "limit must be an integer from 1 to 1000"},
			{"ledger big limit", "GET", base + "/ledger?limit=1001", "", 400, "limit must be"},
			{"ledger bad before", "GET", base + "/ledger?before=x", "", 400, "before must be"},
			{"ledger unknown param", "GET", base + "/ledger?page=2", "", 400, `unknown query parameter "page"`},
		})
		e.call("GET", base+"/ledger", "", 200, &l)
		if l.Balance != "17.250001" || len(l.Data) != 3 {
			t.Errorf("failed requests changed the ledger: %+v", l)
		}

		// A deleted user keeps their ledger but takes no more money.
		e.call("DELETE", base, "", 204, nil)
		e.call("GET", base+"/ledger", "", 200, &l)
		if l.Balance != "17.250001" {
			t.Errorf("deleted user's ledger %+v", l)
		}
		e.fails(t, []failCase{{"top-up deleted", "POST", base + "/topups", `{"amount":"1"}`, 409, "deleted"}})
	})
}

func TestReloadFailure(t *testing.T) {
	e := newEnv(t, testDSN(t, "sqlite"))
	e.rel.fail.Store(true)
	var got ErrorBody
	e.call("POST", "/admin/v1/users", `{"name":"alice"}`, 500, &got)
	if got.Error.Code != "reload_failed" || !strings.Contains(got.Error.Message, "saved") {
		t.Errorf("error %+v", got.Error)
	}
	if _, err := e.st.GetUserByName(context.Background(), "alice"); err != nil {
		t.Errorf("the user was not saved: %v", err)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
