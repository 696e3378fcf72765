package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxAmount bounds every amount the store accepts (one billion dollars).
// Far above any real balance, it keeps sums clear of int64 overflow, which
// SQLite would otherwise turn into a lossy REAL.
const maxAmount = 1_000_000_000 * 1_000_000

// tv is how a time is bound: unix microseconds on SQLite, a timestamptz on
// Postgres.
func (s *Store) tv(t time.Time) any {
	if s.pg {
		return dbTime(t)
	}
	return t.UnixMicro()
}

// ntv binds an optional time as NULL or tv.
func (s *Store) ntv(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.tv(*t)
}

// timeScanner reads a time column of either dialect into t, or, when null
// is set, a nullable one into *null.
type timeScanner struct {
	t    *time.Time
	null **time.Time
}

func scanTime(t *time.Time) timeScanner      { return timeScanner{t: t} }
func scanNullTime(t **time.Time) timeScanner { return timeScanner{null: t} }

func (ts timeScanner) Scan(src any) error {
	var t time.Time
	switch v := src.(type) {
	case nil:
		if ts.null == nil {
			return errors.New("store: unexpected NULL time")
		}
		*ts.null = nil
		return nil
	case int64:
		t = time.UnixMicro(v).UTC()
	case time.Time:
		t = v.UTC()
	default:
		return fmt.Errorf("store: cannot read %T as a time", src)
	}
	if ts.null != nil {
		*ts.null = &t
	} else {
		*ts.t = t
	}
	return nil
}

// encodeList stores a list as a JSON array; nil and empty are the same.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// decodeList reads what encodeList wrote; an empty list is nil, so that what
// is read back compares equal to what was normalised on the way in.
func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("store: corrupt list %q: %w", s, err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

func decodeMap(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("store: corrupt map: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func cloneList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return append([]string(nil), l...)
}

// Constraint violations, told apart by driver error codes rather than
// messages.

func isUniqueViolation(err error) bool {
	if code, ok := pgCode(err); ok {
		return code == "23505"
	}
	var e *sqlite.Error
	return errors.As(err, &e) &&
		(e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func isForeignKeyViolation(err error) bool {
	if code, ok := pgCode(err); ok {
		return code == "23503"
	}
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func pgCode(err error) (string, bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return "", false
}

// insertSQL is an INSERT of rows rows of ncols columns. Postgres gets
// numbered "$N" placeholders; SQLite gets anonymous "?", because its parser
// resolves each named parameter by a linear search, which is quadratic in
// a statement with hundreds of them.
func (s *Store) insertSQL(table, cols string, ncols, rows int) string {
	var b strings.Builder
	b.Grow(len(table) + len(cols) + rows*ncols*5 + 32)
	b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range ncols {
			if c > 0 {
				b.WriteByte(',')
			}
			if s.pg {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(i*ncols + c + 1))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}
