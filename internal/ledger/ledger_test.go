package ledger

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/tokenhot/tokenhot/internal/apikey"
	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/secret"
	"github.com/tokenhot/tokenhot/internal/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeBackend is an in-memory database that applies settlements exactly as
// the store does, so tests can inspect every step.
type fakeBackend struct {
	mu       sync.Mutex
	users    map[int64]*store.Account
	keys     map[int64]*store.KeyAccount
	settled  map[string]bool
	applied  []store.Settlement
	failNext error
	down     bool // every apply fails
}

func newFake() *fakeBackend {
	return &fakeBackend{users: map[int64]*store.Account{}, keys: map[int64]*store.KeyAccount{}, settled: map[string]bool{}}
}

func (f *fakeBackend) Accounts(context.Context) ([]store.Account, []store.KeyAccount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var us []store.Account
	for _, u := range f.users {
		us = append(us, *u)
	}
	var ks []store.KeyAccount
	for _, k := range f.keys {
		ks = append(ks, *k)
	}
	return us, ks, nil
}

func (f *fakeBackend) ApplySettlements(_ context.Context, batch []store.Settlement, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("database down")
	}
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	for _, s := range batch {
		if f.settled[s.RequestID] {
			continue
		}
		f.settled[s.RequestID] = true
		f.users[s.UserID].Balance -= s.Cost
		if k := f.keys[s.KeyID]; k != nil {
			k.Spent += s.Cost
		}
		f.applied = append(f.applied, s)
	}
	return nil
}

func (f *fakeBackend) balance(id int64) billing.Micros {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users[id].Balance
}

func open(t *testing.T, b Backend, dir string) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), b, filepath.Join(dir, "db.journal"), quiet)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReserveSettleRefund(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.users[1] = &store.Account{UserID: 1, Balance: 1000, Status: store.UserActive}
	f.users[2] = &store.Account{UserID: 2, Balance: 1000, Status: store.UserSuspended}
	f.keys[10] = &store.KeyAccount{KeyID: 10, UserID: 1, SpendLimit: 500}
	l := open(t, f, t.TempDir())
	defer l.Close()

	steps := []struct {
		name string
		h    store.Hold
		want error
	}{
		{"fits", store.Hold{RequestID: "a", UserID: 1, KeyID: 10, Amount: 400}, nil},
		{"duplicate id", store.Hold{RequestID: "a", UserID: 1, KeyID: 10, Amount: 1}, store.ErrConflict},
		{"key cap counts holds", store.Hold{RequestID: "b", UserID: 1, KeyID: 10, Amount: 101}, store.ErrKeySpendLimit},
		{"balance counts holds", store.Hold{RequestID: "c", UserID: 1, Amount: 601}, store.ErrInsufficientFunds},
		{"exactly the rest", store.Hold{RequestID: "d", UserID: 1, Amount: 600}, nil},
		{"suspended", store.Hold{RequestID: "e", UserID: 2, Amount: 1}, store.ErrUserInactive},
		{"unknown user", store.Hold{RequestID: "f", UserID: 3, Amount: 1}, store.ErrNotFound},
	}
	for _, s := range steps {
		if _, err := l.Reserve(ctx, s.h); !errors.Is(err, s.want) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.want)
		}
	}
	if b, _ := l.Balance(1); b != 0 {
		t.Fatalf("available %d, want 0 with 1000 held", b)
	}
	if _, err := l.Settle(ctx, "a", 150, "n"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Settle(ctx, "a", 150, "n"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second settle: %v", err)
	}
	if _, err := l.Refund(ctx, "d", "failed"); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Balance(1); b != 850 {
		t.Fatalf("available %d, want 850", b)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if f.balance(1) != 850 || f.keys[10].Spent != 150 || len(f.applied) != 1 { // the refund writes nothing
		t.Fatalf("database: balance %d, spent %d, applied %d", f.balance(1), f.keys[10].Spent, len(f.applied))
	}
	// The key cap now counts the settled spend: 150 + 351 > 500.
	if _, err := l.Reserve(ctx, store.Hold{RequestID: "g", UserID: 1, KeyID: 10, Amount: 351}); !errors.Is(err, store.ErrKeySpendLimit) {
		t.Fatalf("cap after spend: %v", err)
	}
}

// Concurrent requests never take the balance below zero, and every admitted
// request is charged once.
func TestNoOverdraftUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.users[1] = &store.Account{UserID: 1, Balance: 10_000, Status: store.UserActive}
	l := open(t, f, t.TempDir())
	defer l.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "r" + string(rune('A'+i/26)) + string(rune('a'+i%26))
			if _, err := l.Reserve(ctx, store.Hold{RequestID: id, UserID: 1, Amount: 100}); err != nil {
				if !errors.Is(err, store.ErrInsufficientFunds) {
					t.Error(err)
				}
				return
			}
			if b, _ := l.Balance(1); b < 0 {
				t.Errorf("overdraft: %d", b)
			}
			if _, err := l.Settle(ctx, id, 70, ""); err != nil {
				t.Error(err)
			}
			mu.Lock()
			admitted++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.balance(1); got != 10_000-billing.Micros(admitted)*70 || got < 0 {
		t.Fatalf("balance %d after %d admitted", got, admitted)
	}
	if admitted < 100 {
		t.Fatalf("only %d admitted; at least 100 fit", admitted)
	}
}

// Sync picks up a top-up made in the database while settlements are still
// on their way there, counting each exactly once.
func TestSyncKeepsPendingMoney(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.users[1] = &store.Account{UserID: 1, Balance: 1000, Status: store.UserActive}
	f.failNext = errors.New("database away") // the first batch waits for a retry
	l := open(t, f, t.TempDir())
	defer l.Close()
	if _, err := l.Reserve(ctx, store.Hold{RequestID: "a", UserID: 1, Amount: 300}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Settle(ctx, "a", 200, ""); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.users[1].Balance += 5000 // an admin top-up
	f.mu.Unlock()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Balance(1); b != 5800 || f.balance(1) != 5800 {
		t.Fatalf("memory %d, database %d; want 5800 both", b, f.balance(1))
	}
}

// Settlements journaled before a crash reach the database at the next
// start, once, even when the crash came after they were applied; a torn
// last line is ignored.
func TestJournalReplay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := newFake()
	f.users[1] = &store.Account{UserID: 1, Balance: 1000, Status: store.UserActive}
	f.down = true // nothing reaches the database before the "crash"
	l := open(t, f, dir)
	defer l.Close()
	for _, id := range []string{"a", "b"} {
		if _, err := l.Reserve(ctx, store.Hold{RequestID: id, UserID: 1, Amount: 100}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Settle(ctx, id, 40, ""); err != nil {
			t.Fatal(err)
		}
	}
	// "Crash": abandon l without Close, and tear a half-written record on.
	jf, err := os.OpenFile(filepath.Join(dir, "db.journal"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = jf.WriteString(`{"r":"c","u":1,"h":100,"c":4`)
	jf.Close()

	// The new process's database already has "a" (applied just before the
	// crash, the journal not yet emptied): replay must skip it.
	l.owner.Close() // a dead process's lock goes with it
	g := newFake()
	g.users[1] = &store.Account{UserID: 1, Balance: 960, Status: store.UserActive}
	g.settled["a"] = true
	l2 := open(t, g, dir)
	defer l2.Close()
	if got := g.balance(1); got != 920 {
		t.Fatalf("balance after replay %d, want 920 (two settlements of 40, once each)", got)
	}
	if b, _ := l2.Balance(1); b != 920 {
		t.Fatalf("memory after replay %d", b)
	}
	if st, _ := os.Stat(filepath.Join(dir, "db.journal")); st.Size() != 0 {
		t.Fatalf("journal not emptied after replay: %d bytes", st.Size())
	}
}

// Against the real store: the database ledger sums to the balance, with a
// reserve and a settle entry per request.
func TestSecondOwnerIsRefused(t *testing.T) {
	f := newFake()
	dir := t.TempDir()
	l := open(t, f, dir)
	defer l.Close()
	if _, err := Open(context.Background(), f, filepath.Join(dir, "db.journal"), quiet); err == nil {
		t.Fatal("a second ledger opened the same journal")
	}
}

func TestWithSQLiteStore(t *testing.T) {
	ctx := context.Background()
	box, _ := secret.NewBox(secret.NewMasterKey())
	dir := t.TempDir()
	st, err := store.Open(ctx, "sqlite://"+dir+"/t.db", box)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _ := st.CreateUser(ctx, "u")
	if _, _, err := st.Credit(ctx, u.ID, store.EntryTopUp, 1_000_000, "t", ""); err != nil {
		t.Fatal(err)
	}
	k, err := st.CreateKey(ctx, u.ID, "k", apikey.Hash("sk-th-x-0000000000000000000"), "sk-th-x", store.KeyLimits{})
	if err != nil {
		t.Fatal(err)
	}
	l := open(t, st, dir)
	for i, cost := range []billing.Micros{10, 0, 25} {
		id := string(rune('a' + i))
		if _, err := l.Reserve(ctx, store.Hold{RequestID: id, UserID: u.ID, KeyID: k.ID, Amount: 100}); err != nil {
			t.Fatal(err)
		}
		if cost == 0 {
			_, err = l.Refund(ctx, id, "failed")
		} else {
			_, err = l.Settle(ctx, id, cost, "ok")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetUser(ctx, u.ID)
	sum, _ := st.LedgerSum(ctx, u.ID)
	if got.Balance != 1_000_000-35 || sum != got.Balance {
		t.Fatalf("balance %d, ledger sum %d", got.Balance, sum)
	}
	entries, _ := st.Entries(ctx, u.ID, 0, 100)
	kinds := map[string]int{}
	for _, e := range entries {
		kinds[e.Kind]++
	}
	// Holds never touched the stored balance, and the refunded request
	// charged nothing: only the two charges are balance changes.
	if kinds[store.EntrySettle] != 2 || len(kinds) != 2 || kinds[store.EntryTopUp] != 1 {
		t.Fatalf("entries %v", kinds)
	}
	kk, _ := st.GetKey(ctx, k.ID)
	if kk.Spent != 35 {
		t.Fatalf("key spent %d", kk.Spent)
	}
}

func BenchmarkReserveSettle(b *testing.B) {
	ctx := context.Background()
	f := newFake()
	f.users[1] = &store.Account{UserID: 1, Balance: 1 << 60, Status: store.UserActive}
	l, err := Open(ctx, f, filepath.Join(b.TempDir(), "j"), quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = "req_" + strconv.Itoa(i)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := l.Reserve(ctx, store.Hold{RequestID: ids[i], UserID: 1, Amount: 100}); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Settle(ctx, ids[i], 10, "model=x usage=upstream"); err != nil {
			b.Fatal(err)
		}
	}
}

// Concurrent settlements share journal writes without losing or tearing a
// line.
func TestJournalGroupWrites(t *testing.T) {
	dir := t.TempDir()
	j, _, err := openJournal(filepath.Join(dir, "j"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, err := encodeRecord(store.Settlement{RequestID: "r" + strconv.Itoa(i), UserID: 1, Cost: billing.Micros(i)})
			if err == nil {
				err = j.write(line)
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	got, err := readJournal(filepath.Join(dir, "j"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range got {
		seen[s.RequestID] = true
	}
	if len(got) != 200 || len(seen) != 200 {
		t.Fatalf("%d records, %d distinct; want 200", len(got), len(seen))
	}
}
