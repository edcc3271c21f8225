package reroute

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OAuth scopes: what a third-party app may ask to do for a user in one org.
// A token never does more than its user may: a scope only narrows the role.
const (
	OAuthScopeRoutesRead    = "routes:read"    // list and read routes and their rules
	OAuthScopeRoutesWrite   = "routes:write"   // create, change and delete routes (and read them)
	OAuthScopeAnalyticsRead = "analytics:read" // read the analytics counters
)

// OAuthScopes are every scope, in the order they are shown.
var OAuthScopes = []string{OAuthScopeRoutesRead, OAuthScopeRoutesWrite, OAuthScopeAnalyticsRead}

// OAuthScopeWords say what each scope lets an app do, for a consent page.
var OAuthScopeWords = map[string]string{
	OAuthScopeRoutesRead:    "See your redirects and their rules",
	OAuthScopeRoutesWrite:   "Create, change and delete your redirects",
	OAuthScopeAnalyticsRead: "See how often your redirects are used",
}

// ValidOAuthScope reports whether s is a scope.
func ValidOAuthScope(s string) bool { return slices.Contains(OAuthScopes, s) }

// Prefixes of what the authorization server issues, so that a leaked one is
// recognisable and the API tells an app's token from an API key or a JWT.
const (
	OAuthAccessTokenPrefix  = "dro_at_"
	OAuthRefreshTokenPrefix = "dro_rt_"
	OAuthCodePrefix         = "dro_ac_"
	OAuthClientIDPrefix     = "app_"
	OAuthClientSecretPrefix = "dro_cs_"
)

// OAuthApp is a third-party app an org registered. A confidential app has a
// client secret, of which only the SHA-256 is stored; a public app (native or
// single-page) has none and relies on PKCE alone.
type OAuthApp struct {
	ClientID     string
	OrgID        string // the org that registered it; users of any org may authorize it
	Name         string
	RedirectURIs []string
	Confidential bool
	SecretHash   string // hex SHA-256 of the secret; "" for a public app
	SecretHint   string // the secret's last four characters
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// maxRedirectURIs bounds an app's redirect URIs, and maxAppNameLen its name.
const (
	maxRedirectURIs = 10
	maxAppNameLen   = 100
	maxURILen       = 2000
)

// ValidateOAuthApp checks what a user gives for an app: a name, and 1 to 10
// redirect URIs, each absolute, without a fragment, https unless it is a native
// app's loopback (http://127.0.0.1, http://[::1] or http://localhost, RFC 8252).
func ValidateOAuthApp(name string, redirectURIs []string) error {
	var fields []FieldError
	if n := strings.TrimSpace(name); n == "" || len(n) > maxAppNameLen || n != name {
		fields = append(fields, FieldError{Field: "name", Message: "1 to 100 characters, without leading or trailing spaces"})
	}
	if len(redirectURIs) == 0 || len(redirectURIs) > maxRedirectURIs {
		fields = append(fields, FieldError{Field: "redirectUris", Message: "1 to 10 redirect URIs"})
	}
	seen := map[string]bool{}
	for i, u := range redirectURIs {
		if msg := redirectURIProblem(u); msg != "" {
			fields = append(fields, FieldError{Field: fmt.Sprintf("redirectUris[%d]", i), Message: msg})
		} else if seen[u] {
			fields = append(fields, FieldError{Field: fmt.Sprintf("redirectUris[%d]", i), Message: "listed twice"})
		}
		seen[u] = true
	}
	if len(fields) > 0 {
		return &Error{Code: CodeInvalid, Reason: "validation_failed", Message: "the app is not valid", Fields: fields}
	}
	return nil
}

func redirectURIProblem(s string) string {
	if len(s) > maxURILen {
		return "at most 2000 characters"
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "an absolute URL"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "no fragment (RFC 6749 section 3.1.2)"
	}
	if u.User != nil {
		return "no user information"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		switch u.Hostname() {
		case "127.0.0.1", "::1", "localhost":
			return ""
		}
		return "https, or http only on loopback (127.0.0.1, [::1], localhost) for native apps"
	}
	return "https, or http only on loopback (127.0.0.1, [::1], localhost) for native apps"
}

// NewOAuthClientID makes a client id: "app_" and 16 random bytes.
func NewOAuthClientID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return OAuthClientIDPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewOAuthClientSecret makes a client secret, shown once: its SHA-256 is stored
// and its last four characters kept as a hint. A 256-bit random secret needs no
// slow hash: there is nothing to guess from its digest.
func NewOAuthClientSecret(r io.Reader) (secret, hash, hint string, err error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", "", "", fmt.Errorf("reading random bytes: %w", err)
	}
	secret = OAuthClientSecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashAPIKey(secret), secret[len(secret)-4:], nil
}

// ValidOAuthClientID reports whether s could be a client id NewOAuthClientID made.
func ValidOAuthClientID(s string) bool {
	rest, ok := strings.CutPrefix(s, OAuthClientIDPrefix)
	if !ok || len(rest) != 22 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// OAuthGrant is a user's consent for an app to act in one org: what the user
// sees under "authorized apps" and revokes.
type OAuthGrant struct {
	OrgID     string
	Email     string
	ClientID  string
	AppName   string
	Scopes    []string
	CreatedAt time.Time // first consent
	UpdatedAt time.Time // latest consent
}

// OAuthTokenKind is what an OAuthToken record holds.
type OAuthTokenKind string

const (
	OAuthCode    OAuthTokenKind = "code"
	OAuthPKCE    OAuthTokenKind = "pkce" // the code challenge, kept beside its code
	OAuthAccess  OAuthTokenKind = "access"
	OAuthRefresh OAuthTokenKind = "refresh"
)

// OAuthToken is a code or token as stored: only the SHA-256 of its signature,
// the authorization (request) it belongs to, and the authorization server's own
// record of the request (opaque here). Every token of one authorization shares
// its RequestID: a code, the tokens exchanged for it, and every rotation of them.
type OAuthToken struct {
	Kind      OAuthTokenKind
	Hash      string // hex SHA-256 of the signature
	RequestID string
	ClientID  string
	OrgID     string
	Email     string
	Scopes    []string
	Active    bool // false: used (a code) or rotated (a refresh token); kept to detect reuse
	ExpiresAt time.Time
	Data      []byte
}

// OAuthStore keeps apps, grants and tokens.
type OAuthStore interface {
	// CreateOAuthApp stores a new app of an existing org: CodeNotFound
	// "org_not_found" for a missing or being-deleted org.
	CreateOAuthApp(ctx context.Context, a OAuthApp) error
	// GetOAuthApp finds an app by client id, or CodeNotFound "oauth_app_not_found".
	GetOAuthApp(ctx context.Context, clientID string) (OAuthApp, error)
	// ListOAuthApps pages through the apps an org registered, in client id order.
	ListOAuthApps(ctx context.Context, orgID string, page PageRequest) (Page[OAuthApp], error)
	// UpdateOAuthApp replaces an app's name, redirect URIs and secret;
	// CodeNotFound for another org's app.
	UpdateOAuthApp(ctx context.Context, a OAuthApp) error
	// DeleteOAuthApp deletes an app with every grant and token issued to it;
	// CodeNotFound for another org's app.
	DeleteOAuthApp(ctx context.Context, orgID, clientID string) error

	// PutOAuthGrant records a user's consent (replacing an earlier one's scopes).
	// CodeNotFound "oauth_app_not_found" when the app is gone.
	PutOAuthGrant(ctx context.Context, g OAuthGrant) error
	// ListOAuthGrants pages through an org's grants, of one user when email is
	// not "", in (email, client id) order.
	ListOAuthGrants(ctx context.Context, orgID, email string, page PageRequest) (Page[OAuthGrant], error)
	// RevokeOAuthGrant deletes a grant and every token issued under it;
	// CodeNotFound "oauth_grant_not_found".
	RevokeOAuthGrant(ctx context.Context, orgID, email, clientID string) error

	// CreateOAuthToken stores a code or token, which expires (TTL) at ExpiresAt.
	// It fails with CodeNotFound "oauth_grant_not_found" when the grant (or, but
	// for a code, the authorization) it belongs to has been revoked, so that a
	// revocation racing a refresh cannot leave a token behind.
	CreateOAuthToken(ctx context.Context, t OAuthToken) error
	// GetOAuthToken finds a code or token by the hash of its signature, read
	// consistently; CodeNotFound when there is none (or it has expired).
	GetOAuthToken(ctx context.Context, kind OAuthTokenKind, hash string) (OAuthToken, error)
	// DeactivateOAuthToken marks a code used or a refresh token rotated; one
	// already inactive answers CodeConflict "oauth_token_inactive".
	DeactivateOAuthToken(ctx context.Context, kind OAuthTokenKind, hash string) error
	// DeleteOAuthToken deletes one code or token; a missing one is no error.
	DeleteOAuthToken(ctx context.Context, kind OAuthTokenKind, hash string) error
	// RevokeOAuthRequest deletes the tokens of the given kinds (every kind when
	// none is given) of one authorization.
	RevokeOAuthRequest(ctx context.Context, requestID string, kinds ...OAuthTokenKind) error
}

// AppAccess is what an OAuth access token lets its app do: act for its user in
// one org, within its scopes.
type AppAccess struct {
	ClientID string
	OrgID    string
	Scopes   []string
}

// Has reports whether the token carries scope.
func (a AppAccess) Has(scope string) bool { return slices.Contains(a.Scopes, scope) }

// OAuthAuthorization is what a user's consent page sends to complete an
// authorization request (RFC 6749 section 4.1.1, RFC 7636), with the org the
// app will act on and the user's decision.
type OAuthAuthorization struct {
	ClientID, RedirectURI, Scope, State string
	CodeChallenge, CodeChallengeMethod  string
	OrgID, Email                        string
	Deny                                bool
}
