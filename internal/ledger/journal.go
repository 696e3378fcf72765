package ledger

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// record is one journal line. Field names are short: the journal is written
// on every request.
type record struct {
	Ref      string `json:"r"`
	User     int64  `json:"u"`
	Key      int64  `json:"k,omitempty"`
	Held     int64  `json:"h"`
	Cost     int64  `json:"c"`
	Refund   bool   `json:"f,omitempty"`
	Note     string `json:"n,omitempty"`
	Reserved int64  `json:"t0"` // unix microseconds
	Settled  int64  `json:"t1"`
}

// journal is an append-only file of settlements. When it grows past
// rotateBytes while the database is still behind, it is renamed to a
// numbered segment and a fresh file started; a segment is deleted once
// everything in it is in the database.
type journal struct {
	path     string
	size     int64
	segments []segment // oldest first

	// Writes are grouped: a caller appends its record to buf and, if no
	// write is under way, writes everything buffered in one system call;
	// otherwise it waits for the write under way, which will or did take
	// its record. Under load many settlements share one write; alone, a
	// caller writes at once.
	mu       sync.Mutex
	cond     *sync.Cond
	f        *os.File // guarded by mu
	buf      []byte   // records waiting for a write
	spare    []byte
	writing  bool
	seq      uint64 // records put in buf so far
	written  uint64 // records written so far
	writeErr error  // the error of the last write
}

type segment struct {
	path string
	last uint64 // the appended count when it was closed
}

const rotateBytes = 64 << 20

// openJournal opens the journal at path and returns every settlement found
// in it and in leftover segments, oldest first. A torn last line (a crash
// in the middle of a write) is ignored: its request had not settled.
func openJournal(path string) (*journal, []store.Settlement, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	old, _ := filepath.Glob(path + ".*")
	sort.Slice(old, func(i, j int) bool { return segNum(old[i]) < segNum(old[j]) })
	var pending []store.Settlement
	for _, p := range append(old, path) {
		s, err := readJournal(p)
		if err != nil {
			return nil, nil, err
		}
		pending = append(pending, s...)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	j := &journal{path: path, f: f, size: st.Size()}
	j.cond = sync.NewCond(&j.mu)
	for _, p := range old {
		j.segments = append(j.segments, segment{path: p})
	}
	return j, pending, nil
}

func segNum(p string) int {
	n, _ := strconv.Atoi(p[strings.LastIndexByte(p, '.')+1:])
	return n
}

func readJournal(path string) ([]store.Settlement, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []store.Settlement
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil // a line without its newline was torn
		}
		if err != nil {
			return nil, err
		}
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("ledger: %s: corrupt journal line: %w", path, err)
		}
		out = append(out, rec.settlement())
	}
}

func (r record) settlement() store.Settlement {
	return store.Settlement{RequestID: r.Ref, UserID: r.User, KeyID: r.Key, Held: billing.Micros(r.Held),
		Cost: billing.Micros(r.Cost), Refund: r.Refund, Note: r.Note,
		Reserved: time.UnixMicro(r.Reserved).UTC(), Settled: time.UnixMicro(r.Settled).UTC()}
}

// journalLineEstimate is what a record adds to the journal's size for the
// rotation check, which runs before the (unlocked) write.
const journalLineEstimate = 160

// encodeRecord is a settlement's journal line.
func encodeRecord(s store.Settlement) ([]byte, error) {
	rec := record{Ref: s.RequestID, User: s.UserID, Key: s.KeyID, Held: int64(s.Held), Cost: int64(s.Cost),
		Refund: s.Refund, Note: s.Note, Reserved: s.Reserved.UnixMicro(), Settled: s.Settled.UnixMicro()}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// write appends a line and returns once it has been written to the file
// (by this caller or by the one whose write took it along).
func (j *journal) write(line []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(j.buf, line...)
	j.seq++
	mine := j.seq
	for j.written < mine {
		if j.writing {
			j.cond.Wait()
			continue
		}
		j.writing = true
		data, upto, f := j.buf, j.seq, j.f
		j.buf = j.spare[:0]
		j.mu.Unlock()
		_, err := f.Write(data)
		j.mu.Lock()
		j.spare = data[:0]
		j.writing = false
		j.written = upto
		j.writeErr = err
		j.cond.Broadcast()
	}
	return j.writeErr
}

// idle waits until no write is under way; callers hold j.mu.
func (j *journal) idle() {
	for j.writing {
		j.cond.Wait()
	}
}

// rotate closes the current file as a segment holding everything up to
// appended, and starts a new file.
func (j *journal) rotate(appended uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.idle()
	seg := fmt.Sprintf("%s.%d", j.path, time.Now().UnixNano())
	if err := j.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(j.path, seg); err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	j.f, j.size = f, 0
	j.segments = append(j.segments, segment{path: seg, last: appended})
	return nil
}

// applied deletes the segments whose settlements are all in the database.
func (j *journal) applied(count uint64) {
	for len(j.segments) > 0 && j.segments[0].last <= count {
		_ = os.Remove(j.segments[0].path)
		j.segments = j.segments[1:]
	}
}

// reset empties the journal: everything in it is in the database.
func (j *journal) reset() error {
	for _, s := range j.segments {
		_ = os.Remove(s.path)
	}
	j.segments = nil
	j.mu.Lock()
	defer j.mu.Unlock()
	j.idle()
	if err := j.f.Truncate(0); err != nil {
		return err
	}
	j.size = 0
	return nil
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.idle()
	return j.f.Close()
}
