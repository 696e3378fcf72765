// Package secret seals upstream credentials at rest with AES-256-GCM under a
// master key that lives outside the database.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// prefix marks a sealed value, so a plaintext value in the database (from a
// manual edit) is recognised and refused instead of being sent upstream as is.
const prefix = "v1:"

// Box seals and opens secrets. It is safe for concurrent use.
type Box struct{ aead cipher.AEAD }

// ErrOpen reports a value that was not sealed by this master key.
var ErrOpen = errors.New("secret: cannot open value (wrong master key or corrupt data)")

// NewBox builds a Box from a master key given as 32 bytes in base64 or hex.
// Any other string of at least 16 characters is accepted as a passphrase and
// stretched with SHA-256; operators should prefer a random 32-byte key.
func NewBox(master string) (*Box, error) {
	master = strings.TrimSpace(master)
	key := decodeKey(master)
	if key == nil {
		if len(master) < 16 {
			return nil, errors.New("secret: master key must be 32 bytes (base64 or hex) or a passphrase of at least 16 characters")
		}
		sum := sha256.Sum256([]byte("tokenhot master key v1\x00" + master))
		key = sum[:]
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

func decodeKey(s string) []byte {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b
		}
	}
	return nil
}

// NewMasterKey returns a fresh random master key in base64.
func NewMasterKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Seal encrypts plaintext. The result is printable and self-describing.
func (b *Box) Seal(plaintext string) string {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value produced by Seal.
func (b *Box) Open(sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}
