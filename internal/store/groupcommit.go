package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// Group commit for SQLite's money path. Every commit appends the pages it
// touched to the write-ahead log; concurrent Reserve and Settle calls mostly
// touch the same few pages (the users, keys and ledger tables' last
// leaves), so committing a group of them at once writes each page once for
// the whole group and takes the commit's fixed cost once.
//
// One goroutine owns the batching. It takes every operation already
// queued, never waiting for more (so a lone caller pays no delay), runs
// them one after another in one IMMEDIATE transaction, each inside its own
// savepoint, and commits. An operation that fails is rolled back to its
// savepoint: as if it had run alone, it changes nothing, and the others are
// unaffected. Callers learn their result only after the commit, so nobody
// sees a success that is not durable.

// maxGroup bounds a group, so that one commit never grows without limit.
const maxGroup = 64

type groupOp struct {
	ctx   context.Context // not cancelable: once started, an op completes
	run   func(ctx context.Context, tx *sql.Tx) error
	state atomic.Int32 // opQueued → opRunning, or opQueued → opAbandoned
	err   error
	done  chan struct{}
}

const (
	opQueued int32 = iota
	opRunning
	opAbandoned
)

type grouper struct {
	db       *sql.DB
	sp       *savepoints
	ops      chan *groupOp
	stop     chan struct{} // closed by close: the loop is to end
	exited   chan struct{} // closed by the loop when it has ended
	stopped  sync.Once
	wg       sync.WaitGroup
	onCommit func(ops int)
}

// savepoints are the three statements that fence an op, prepared once.
type savepoints struct{ begin, undo, release *sql.Stmt }

func startGrouper(ctx context.Context, db *sql.DB, onCommit func(ops int)) (*grouper, error) {
	sp := &savepoints{}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{{&sp.begin, `SAVEPOINT op`}, {&sp.undo, `ROLLBACK TO op`}, {&sp.release, `RELEASE op`}} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			sp.close()
			return nil, err
		}
		*p.st = st
	}
	g := &grouper{db: db, sp: sp, ops: make(chan *groupOp, maxGroup), stop: make(chan struct{}),
		exited: make(chan struct{}), onCommit: onCommit}
	g.wg.Go(g.loop)
	return g, nil
}

func (sp *savepoints) close() {
	for _, st := range []*sql.Stmt{sp.begin, sp.undo, sp.release} {
		if st != nil {
			st.Close()
		}
	}
}

// do runs fn in the next group's transaction and returns its error, or the
// commit's. If ctx ends while fn is still queued, fn never runs and do
// returns ctx.Err(); once fn has started, do waits for the commit, because
// abandoning it then would leave the caller unsure whether it happened.
func (g *grouper) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	op := &groupOp{ctx: context.WithoutCancel(ctx), run: fn, done: make(chan struct{})}
	select {
	case g.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.exited:
		return errClosed
	}
	var gone error
	select {
	case <-op.done:
		return op.err
	case <-ctx.Done():
		gone = ctx.Err()
	case <-g.exited: // queued after the loop's last look: it will never run
		gone = errClosed
	}
	if op.state.CompareAndSwap(opQueued, opAbandoned) {
		return gone
	}
	<-op.done
	return op.err
}

var errClosed = errors.New("store: closed")

func (g *grouper) loop() {
	group := make([]*groupOp, 0, maxGroup)
	for {
		select {
		case op := <-g.ops:
			group = append(group[:0], op)
		case <-g.stop:
			g.drain()
			close(g.exited)
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case op := <-g.ops:
				group = append(group, op)
			default:
				break more
			}
		}
		g.commit(group)
	}
}

// drain fails what is still queued at Close.
func (g *grouper) drain() {
	for {
		select {
		case op := <-g.ops:
			op.err = errClosed
			close(op.done)
		default:
			return
		}
	}
}

// commit runs one group in one transaction.
func (g *grouper) commit(group []*groupOp) {
	live := group[:0]
	for _, op := range group {
		if op.state.CompareAndSwap(opQueued, opRunning) {
			live = append(live, op)
		} else {
			close(op.done) // abandoned; its caller has gone
		}
	}
	if len(live) == 0 {
		return
	}
	err := g.runGroup(live)
	for _, op := range live {
		if err != nil && op.err == nil {
			op.err = err
		}
		close(op.done)
	}
}

// runGroup returns an error only for what fails the whole group: the
// transaction itself, or a savepoint statement.
func (g *grouper) runGroup(ops []*groupOp) error {
	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	if len(ops) == 1 {
		// Alone, the transaction is the op's savepoint.
		op := ops[0]
		if op.err = op.run(op.ctx, tx); op.err != nil {
			return tx.Rollback()
		}
	} else {
		for _, op := range ops {
			if err := g.fenced(tx, op); err != nil {
				_ = tx.Rollback() // err says what went wrong
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if g.onCommit != nil {
		g.onCommit(len(ops))
	}
	return nil
}

// fenced runs one op of a group between a savepoint and its release,
// rolling back to the savepoint if the op fails.
func (g *grouper) fenced(tx *sql.Tx, op *groupOp) error {
	ctx := op.ctx
	if _, err := tx.StmtContext(ctx, g.sp.begin).ExecContext(ctx); err != nil {
		return err
	}
	if op.err = op.run(ctx, tx); op.err != nil {
		if _, err := tx.StmtContext(ctx, g.sp.undo).ExecContext(ctx); err != nil {
			return err
		}
	}
	_, err := tx.StmtContext(ctx, g.sp.release).ExecContext(ctx)
	return err
}

func (g *grouper) close() {
	g.stopped.Do(func() { close(g.stop) })
	g.wg.Wait()
	g.sp.close()
}
