package secret

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	for _, master := range []string{NewMasterKey(), hex.EncodeToString(make([]byte, 32)), "a long enough passphrase"} {
		b, err := NewBox(master)
		if err != nil {
			t.Fatal(err)
		}
		sealed := b.Seal("sk-upstream-secret")
		if strings.Contains(sealed, "sk-upstream") || !strings.HasPrefix(sealed, prefix) {
			t.Fatalf("sealed value %q", sealed)
		}
		if sealed == b.Seal("sk-upstream-secret") {
			t.Fatal("sealing is deterministic: nonces are reused")
		}
		got, err := b.Open(sealed)
		if err != nil || got != "sk-upstream-secret" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
}

func TestOpenRefusesWhatItDidNotSeal(t *testing.T) {
	a, _ := NewBox(NewMasterKey())
	b, _ := NewBox(NewMasterKey())
	sealed := a.Seal("secret")
	tampered := sealed[:len(sealed)-2] + "AA"
	for name, v := range map[string]string{"other key": sealed, "plaintext": "sk-plain", "tampered": tampered, "garbage": "v1:!!!", "short": "v1:AAAA"} {
		box := b
		if name == "tampered" {
			box = a
		}
		if _, err := box.Open(v); err != ErrOpen {
			t.Errorf("%s: Open error = %v, want ErrOpen", name, err)
		}
	}
}

func TestNewBoxRejectsWeakKeys(t *testing.T) {
	for _, k := range []string{"", "short"} {
		if _, err := NewBox(k); err == nil {
			t.Errorf("NewBox(%q) accepted", k)
		}
	}
}
