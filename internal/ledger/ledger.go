// Package ledger is the single-node money path: balances held in memory and
// changed under one mutex, every settlement appended to a write-ahead journal
// file before the request finishes, and the database brought up to date
// from the journal in batches by one goroutine.
//
// A request therefore reserves and settles in microseconds, with no
// database round trip, while keeping every guarantee of the database path:
//
//   - No overdraft: admission (balance − holds − amount ≥ −credit limit, and
//     the key's spend cap) is checked and applied atomically under the mutex.
//   - Nothing is lost on a crash: a settlement is in the journal (the
//     operating system's page cache, the same durability as SQLite's WAL at
//     synchronous=NORMAL) before the request's handler returns; at the next
//     start the journal is replayed into the database, idempotently.
//   - The database ledger stays exact: each settlement becomes a reserve
//     entry and a settle (or refund) entry written in one transaction with
//     the balance change, so every user's balance equals their ledger sum
//     at every commit. The database lags the memory by one batch (a few
//     milliseconds); Flush waits for it.
//
// In-flight holds live only in memory: a crash drops them, which charges
// nobody for requests that never finished.
//
// It is correct only when one process owns the accounts, which is what an
// embedded SQLite database means; the PostgreSQL deployment, which may run
// several nodes, reserves and settles in the database instead.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Backend is the database the ledger writes through to (the store).
type Backend interface {
	Accounts(ctx context.Context) ([]store.Account, []store.KeyAccount, error)
	ApplySettlements(ctx context.Context, batch []store.Settlement, replay bool) error
}

type account struct {
	balance billing.Micros // settled balance, ahead of the database by pending
	held    billing.Micros // in-flight holds
	pending billing.Micros // journaled costs not yet in the database
	credit  billing.Micros
	active  bool
}

type keyAccount struct {
	spent   billing.Micros // settled spend, ahead of the database by pending
	held    billing.Micros
	pending billing.Micros
	limit   billing.Micros
}

type hold struct {
	store.Hold
	at time.Time
}

// Ledger implements Reserve, Settle and Refund in memory with a journal.
type Ledger struct {
	backend Backend
	journal *journal
	owner   *os.File // the lock that makes this process the only owner
	log     *slog.Logger
	now     func() time.Time

	mu    sync.Mutex
	users map[int64]*account
	keys  map[int64]*keyAccount
	holds map[string]hold
	queue []store.Settlement // journaled, waiting for the database
	kick  chan struct{}
	// applying serialises database writes of the applier with Sync, so a
	// Sync reads balances and pending amounts that agree.
	applying sync.Mutex
	flushed  *sync.Cond // signalled after each batch; guarded by mu
	applied  uint64     // settlements written to the database
	retrying bool       // the last batch failed; guarded by applying
	appended uint64     // settlements journaled
	stop     chan struct{}
	done     chan struct{}
	closed   bool
}

// Open replays any journal left by a previous run into the database,
// loads the accounts, and starts the applier. path is the journal file.
func Open(ctx context.Context, backend Backend, path string, log *slog.Logger) (l *Ledger, err error) {
	owner, err := lockOwner(path + "-lock")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			owner.Close()
		}
	}()
	j, pending, err := openJournal(path)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		// Replay is idempotent: settlements already in the database are
		// skipped by request id.
		if err := backend.ApplySettlements(ctx, pending, true); err != nil {
			j.close()
			return nil, fmt.Errorf("ledger: replaying %d journaled settlements: %w", len(pending), err)
		}
		log.Info("replayed the settlement journal into the database", "settlements", len(pending))
	}
	if err := j.reset(); err != nil {
		j.close()
		return nil, err
	}
	l = &Ledger{backend: backend, journal: j, owner: owner, log: log, now: time.Now,
		users: map[int64]*account{}, keys: map[int64]*keyAccount{}, holds: map[string]hold{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	l.flushed = sync.NewCond(&l.mu)
	if err := l.Sync(ctx); err != nil {
		j.close()
		return nil, err
	}
	go l.run()
	return l, nil
}

// Sync reloads every account's limits, status and balance from the database
// (after a top-up, an adjustment, a new user or key, a limit change). Money
// not yet written to the database is carried over, so nothing is counted
// twice or lost.
func (l *Ledger) Sync(ctx context.Context) error {
	l.applying.Lock()
	defer l.applying.Unlock()
	users, keys, err := l.backend.Accounts(ctx)
	if err != nil {
		return fmt.Errorf("ledger: loading accounts: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range users {
		a := l.users[u.UserID]
		if a == nil {
			a = &account{}
			l.users[u.UserID] = a
		}
		a.balance = u.Balance - a.pending
		a.credit = u.CreditLimit
		a.active = u.Status == store.UserActive
	}
	for _, k := range keys {
		a := l.keys[k.KeyID]
		if a == nil {
			a = &keyAccount{}
			l.keys[k.KeyID] = a
		}
		a.spent = k.Spent + a.pending
		a.limit = k.SpendLimit
	}
	return nil
}

// Reserve holds h.Amount for an in-flight request.
func (l *Ledger) Reserve(ctx context.Context, h store.Hold) (store.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return store.Entry{}, errClosed
	}
	if _, dup := l.holds[h.RequestID]; dup {
		return store.Entry{}, store.ErrConflict
	}
	a := l.users[h.UserID]
	if a == nil {
		return store.Entry{}, store.ErrNotFound
	}
	if !a.active {
		return store.Entry{}, store.ErrUserInactive
	}
	if a.balance-a.held-h.Amount < -a.credit {
		return store.Entry{}, store.ErrInsufficientFunds
	}
	var k *keyAccount
	if h.KeyID != 0 {
		if k = l.keys[h.KeyID]; k == nil {
			return store.Entry{}, store.ErrNotFound
		}
		if k.limit > 0 && k.spent+k.held+h.Amount > k.limit {
			return store.Entry{}, store.ErrKeySpendLimit
		}
		k.held += h.Amount
	}
	a.held += h.Amount
	now := l.now()
	l.holds[h.RequestID] = hold{Hold: h, at: now}
	return store.Entry{UserID: h.UserID, Kind: store.EntryReserve, Amount: -h.Amount,
		BalanceAfter: a.balance - a.held, Ref: h.RequestID, Created: now}, nil
}

// Restore puts back, after a restart, the hold of work that outlives a
// process (an asynchronous video task): holds live in memory, so one taken
// before the restart must be taken again before the work is settled. It
// does not check the balance: the money was admitted when the hold was
// first taken. Restoring a hold that is already there does nothing.
func (l *Ledger) Restore(h store.Hold) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed
	}
	if _, dup := l.holds[h.RequestID]; dup {
		return nil
	}
	a := l.users[h.UserID]
	if a == nil {
		return store.ErrNotFound
	}
	if k := l.keys[h.KeyID]; k != nil {
		k.held += h.Amount
	}
	a.held += h.Amount
	l.holds[h.RequestID] = hold{Hold: h, at: l.now()}
	return nil
}

// Settle charges cost for a reserved request and releases the rest.
func (l *Ledger) Settle(ctx context.Context, requestID string, cost billing.Micros, note string) (store.Entry, error) {
	return l.release(requestID, cost, note, false)
}

// Refund releases a reserved request's hold in full: it cost nothing.
func (l *Ledger) Refund(ctx context.Context, requestID, note string) (store.Entry, error) {
	return l.release(requestID, 0, note, true)
}

func (l *Ledger) release(requestID string, cost billing.Micros, note string, refund bool) (store.Entry, error) {
	l.mu.Lock()
	h, ok := l.holds[requestID]
	if !ok {
		l.mu.Unlock()
		return store.Entry{}, store.ErrNotFound
	}
	s := store.Settlement{RequestID: requestID, UserID: h.UserID, KeyID: h.KeyID, Held: h.Amount, Cost: cost,
		Refund: refund, Note: note, Reserved: h.at, Settled: l.now()}
	delete(l.holds, requestID)
	a := l.users[h.UserID]
	a.held -= h.Amount
	k := l.keys[h.KeyID]
	if k != nil {
		k.held -= h.Amount
	}
	if refund {
		// Nothing was charged: the stored balance never changed, so
		// there is nothing to journal or to write.
		l.mu.Unlock()
		return store.Entry{UserID: h.UserID, Kind: store.EntryRefund, Amount: h.Amount,
			Ref: requestID, Note: note, Created: s.Settled}, nil
	}
	a.balance -= cost
	a.pending += cost
	if k != nil {
		k.spent += cost
		k.pending += cost
	}
	l.queue = append(l.queue, s)
	l.appended++
	if l.journal.size > rotateBytes {
		if err := l.journal.rotate(l.appended); err != nil {
			l.log.Error("rotating the settlement journal", "err", err)
		}
	}
	l.journal.size += journalLineEstimate
	entry := store.Entry{UserID: h.UserID, Kind: store.EntrySettle, Amount: h.Amount - cost,
		BalanceAfter: a.balance - a.held, Ref: requestID, Note: note, Created: s.Settled}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	// The journal write happens outside the lock so that concurrent
	// requests do not queue behind each other's system call. Whatever the
	// interleaving with the applier, the settlement is either in the
	// database, in the journal, or both before Settle returns; replay skips
	// what the database already has.
	line, err := encodeRecord(s)
	if err == nil {
		err = l.journal.write(line)
	}
	if err != nil {
		l.log.Error("writing the settlement journal; the settlement is still queued for the database",
			"request_id", requestID, "err", err)
	}
	return entry, nil
}

var errClosed = errors.New("ledger: closed")

// Balance is a user's spendable balance as the request path sees it.
func (l *Ledger) Balance(userID int64) (billing.Micros, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.users[userID]
	if a == nil {
		return 0, false
	}
	return a.balance - a.held, true
}

// Flush waits until every settlement made before the call is in the
// database.
func (l *Ledger) Flush(ctx context.Context) error {
	l.mu.Lock()
	target := l.appended
	l.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.flushed.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.applied < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-l.done:
			return errClosed
		default:
		}
		l.flushed.Wait()
	}
	return nil
}

// Close refuses new reservations, writes every journaled settlement to the
// database and closes the journal. Holds still open are dropped: their
// requests never settled, so they cost nothing.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.owner.Close()
	if len(l.queue) > 0 {
		// The database refused the last batches; the journal keeps them
		// for the next start.
		return l.journal.close()
	}
	if err := l.journal.reset(); err != nil {
		return err
	}
	return l.journal.close()
}

// run is the applier: it writes journaled settlements to the database in
// batches, oldest first, retrying a failed batch until it succeeds.
func (l *Ledger) run() {
	defer close(l.done)
	defer func() {
		l.mu.Lock()
		l.flushed.Broadcast()
		l.mu.Unlock()
	}()
	backoff := 10 * time.Millisecond
	for {
		select {
		case <-l.kick:
		case <-l.stop:
			l.drain()
			return
		}
		// Let a batch gather: a commit costs the same for one settlement
		// as for hundreds, and nobody waits for it.
		select {
		case <-time.After(gatherDelay):
		case <-l.stop:
		}
		for {
			n, err := l.applyBatch()
			if err != nil {
				l.log.Error("writing settlements to the database; retrying", "err", err)
				select {
				case <-time.After(backoff):
					backoff = min(backoff*2, 5*time.Second)
					continue
				case <-l.stop:
					l.drain()
					return
				}
			}
			backoff = 10 * time.Millisecond
			if n == 0 {
				break
			}
		}
	}
}

// drain writes what is left at Close, trying a few times.
func (l *Ledger) drain() {
	for range 5 {
		n, err := l.applyBatch()
		if err != nil {
			l.log.Error("writing settlements at shutdown", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if n == 0 {
			return
		}
	}
}

const maxBatch = 512

// gatherDelay is how long the applier lets settlements accumulate before a
// batch: how far the database trails the memory in normal operation.
const gatherDelay = 25 * time.Millisecond

// applyBatch writes up to maxBatch queued settlements in one transaction.
func (l *Ledger) applyBatch() (int, error) {
	l.applying.Lock()
	defer l.applying.Unlock()
	l.mu.Lock()
	n := min(len(l.queue), maxBatch)
	batch := l.queue[:n:n]
	l.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A batch that failed once is retried in replay mode, which skips
	// anything already applied (a commit whose result was lost).
	if err := l.backend.ApplySettlements(ctx, batch, l.retrying); err != nil {
		l.retrying = true
		return 0, err
	}
	l.retrying = false
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range batch {
		if a := l.users[s.UserID]; a != nil {
			a.pending -= s.Cost
		}
		if k := l.keys[s.KeyID]; k != nil {
			k.pending -= s.Cost
		}
	}
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil // let the backing array go
	}
	l.applied += uint64(n)
	l.journal.applied(l.applied)
	if l.applied == l.appended {
		// Everything journaled is in the database: start the journal
		// afresh so it never grows without bound.
		if err := l.journal.reset(); err != nil {
			l.log.Error("truncating the settlement journal", "err", err)
		}
	}
	l.flushed.Broadcast()
	return n, nil
}
