package auth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const (
	apiKeySecretBytes = 32
	// apiKeyLen is the length of a secret: the prefix and 32 bytes in unpadded base64url.
	apiKeyLen = len(reroute.APIKeyPrefix) + (apiKeySecretBytes*8+5)/6
	idBytes   = 16
)

// GenerateAPIKey makes a new API key from 32 bytes of r (crypto/rand.Reader if nil):
// the secret, shown to its owner once ("drr_" and 43 base64url characters); the
// hex SHA-256 of the whole secret, which is all that is stored; and the secret's
// last four characters, to tell keys apart in lists. It is reroute.NewAPIKeySecret,
// so that the keys the API makes and the keys this package accepts cannot differ.
func GenerateAPIKey(r io.Reader) (secret, hash, hint string, err error) {
	if r == nil {
		r = rand.Reader
	}
	return reroute.NewAPIKeySecret(r)
}

// HashAPIKey returns the hex SHA-256 of a whole secret, prefix included: the key's
// lookup key in the store (reroute.HashAPIKey).
func HashAPIKey(secret string) string { return reroute.HashAPIKey(secret) }

// NewID returns a random id for URLs and keys: 16 bytes of r (crypto/rand.Reader
// if nil) as 22 base64url characters.
func NewID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [idBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("auth: generating an id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// wellFormedAPIKey reports whether s could be a secret GenerateAPIKey made, so that
// garbage is refused without a store lookup.
func wellFormedAPIKey(s string) bool {
	if len(s) != apiKeyLen || s[:len(reroute.APIKeyPrefix)] != reroute.APIKeyPrefix {
		return false
	}
	for i := len(reroute.APIKeyPrefix); i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
