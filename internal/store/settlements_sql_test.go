package store

import "testing"

func TestInsertSQL(t *testing.T) {
	sq, pg := &Store{}, &Store{pg: true}
	if got, want := sq.insertSQL("t", "a, b", 2, 2), "INSERT INTO t (a, b) VALUES (?,?),(?,?)"; got != want {
		t.Errorf("sqlite: %s", got)
	}
	if got, want := pg.insertSQL("t", "a, b", 2, 2), "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)"; got != want {
		t.Errorf("postgres: %s", got)
	}
}
