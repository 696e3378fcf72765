package apikey

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := New()
		if !strings.HasPrefix(k, Prefix) || len(k) != len(Prefix)+40 {
			t.Fatalf("bad key %q", k)
		}
		for _, c := range k[len(Prefix):] {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("key %q has %q", k, c)
			}
		}
		if seen[k] {
			t.Fatal("duplicate key")
		}
		seen[k] = true
	}
}

func TestHashAndDisplay(t *testing.T) {
	k := "sk-th-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab"
	same := string([]byte(k)) // a distinct string value with the same bytes
	if Hash(k) != Hash(same) || Hash(k) == Hash(k+"x") {
		t.Fatal("hash is not a function of the key")
	}
	if got := Display(k); got != "sk-th-AbCdEf" {
		t.Fatalf("Display = %q", got)
	}
	if got := Display("abc"); got != "****" {
		t.Fatalf("Display(short) = %q", got)
	}
	if got := Display("sk-12345"); got != "sk-1" {
		t.Fatalf("Display(medium) = %q", got)
	}
}
