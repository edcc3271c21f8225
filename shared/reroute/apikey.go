package reroute

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Scope is what an API key may do.
type Scope string

const (
	ScopeRead  Scope = "read"  // read routes
	ScopeWrite Scope = "write" // read and write routes
)

// ValidScope reports whether s is a scope.
func ValidScope(s Scope) bool { return s == ScopeRead || s == ScopeWrite }

// APIKeyPrefix starts every API key, so that a leaked one is recognisable.
const APIKeyPrefix = "drr_"

// APIKey lets a program act for one org. Only the SHA-256 of the secret is stored.
type APIKey struct {
	ID         string
	OrgID      string
	Name       string
	Scope      Scope
	Hash       string // hex SHA-256 of the whole secret
	Hint       string // the secret's last four characters, to tell keys apart
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
}

// Expired reports whether the key has expired at now.
func (k APIKey) Expired(now time.Time) bool { return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) }

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	// CreateAPIKey stores a key of an existing org: CodeNotFound "org_not_found" for
	// a missing or being-deleted org.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKeyByHash finds a key by the hash of its secret, or CodeNotFound.
	GetAPIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// ListAPIKeys pages through an org's keys, in id order.
	ListAPIKeys(ctx context.Context, orgID string, page PageRequest) (Page[APIKey], error)
	// DeleteAPIKey revokes one of an org's keys; CodeNotFound for another org's.
	DeleteAPIKey(ctx context.Context, orgID, keyID string) error
	// TouchAPIKey records a use at `at`, unless one was recorded in the minute before;
	// a key that is gone is no error.
	TouchAPIKey(ctx context.Context, hash string, at time.Time) error
}

// Caller is who makes a request: a signed-in user, a program with an API key, or
// a third-party app with an OAuth access token acting for a user.
type Caller struct {
	Email string     // the user's verified email (an app's: the user it acts for); "" for an API key
	Key   *APIKey    // the API key used; nil for a user or an app
	App   *AppAccess // the OAuth token's grant; nil for a user or an API key
}

// IsKey reports whether the caller is a program using an API key.
func (c Caller) IsKey() bool { return c.Key != nil }

// IsApp reports whether the caller is a third-party app with an OAuth token.
func (c Caller) IsApp() bool { return c.App != nil }

// IsUser reports whether the caller is a signed-in user in person.
func (c Caller) IsUser() bool { return c.Key == nil && c.App == nil }

// NewAPIKeySecret makes a new API key: the secret shown once to its creator, the
// SHA-256 stored in its place, and a hint (its last four characters).
func NewAPIKeySecret(rand io.Reader) (secret, hash, hint string, err error) {
	var b [32]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", "", "", fmt.Errorf("reading random bytes: %w", err)
	}
	secret = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashAPIKey(secret), secret[len(secret)-4:], nil
}

// HashAPIKey is the stored form of an API key secret: hex SHA-256.
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
