// Package apikey makes client API keys and the digests they are stored and
// looked up by. A key is shown once; the database keeps only its SHA-256
// digest and a short prefix for display.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"
)

// Prefix starts every key Tokenhot issues.
const Prefix = "sk-th-"

// displayLen is how much of a key is kept in clear for display: the prefix
// and the first six random characters, e.g. "sk-th-Ab3xY9".
const displayLen = len(Prefix) + 6

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Digest is the stored form of a key. Keys carry 238 bits of randomness, so
// a fast unsalted hash is enough: there is nothing to brute-force.
type Digest [sha256.Size]byte

// New returns a fresh random key.
func New() string {
	const n = 40
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	var b strings.Builder
	b.Grow(len(Prefix) + n)
	b.WriteString(Prefix)
	for _, c := range buf {
		// 256 % 62 != 0, so reject the biased tail instead of using modulo.
		for c >= 248 {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				panic(err)
			}
			c = one[0]
		}
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

// Hash returns the digest a key is stored and looked up by.
func Hash(key string) Digest { return sha256.Sum256([]byte(key)) }

// Display returns the part of a key that may be shown and logged.
func Display(key string) string {
	if len(key) <= displayLen {
		if len(key) <= 4 {
			return "****"
		}
		return key[:len(key)/2]
	}
	return key[:displayLen]
}
