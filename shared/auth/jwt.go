// Package auth identifies the caller of the management API: a user by an OIDC JWT
// from the operator's identity provider (verified against the issuer's JWKS with
// keyfunc), or a program by an org's API key (looked up by the SHA-256 of its secret).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// JWTConfig says which tokens a JWTVerifier accepts.
type JWTConfig struct {
	// Issuer is the exact "iss" of accepted tokens, e.g.
	// "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123". Required.
	Issuer string
	// Audience must be one of the token's "aud" values (for Cognito ID tokens, the
	// app client id). Required.
	Audience string
	// JWKSURL is where the issuer's signing keys are; "" discovers it from
	// Issuer + "/.well-known/openid-configuration" (its jwks_uri).
	JWKSURL string
	// EmailClaim names the claim holding the user's email ("email" if empty).
	EmailClaim string
	// Leeway is the clock skew allowed on exp and nbf (60s if zero).
	Leeway time.Duration
	// Log receives failures of background JWKS refreshes; nil discards them.
	Log *slog.Logger
}

// Timings of the JWKS cache.
const (
	// jwksRefreshEvery refreshes the key set in the background, so that a removed
	// key stops being accepted without a restart.
	jwksRefreshEvery = time.Hour
	// unknownKIDRefreshEvery bounds the refreshes caused by tokens with a key id not
	// in the cached set: a rotation is picked up at once, a flood of made-up key ids
	// costs the issuer at most one request per interval.
	unknownKIDRefreshEvery = 5 * time.Minute
	// jwksFetchTimeout bounds one fetch of the discovery document or the key set,
	// and the time a request waits for an unknown-kid refresh (including the wait
	// for the rate limiter, which fails at once when it would be longer).
	jwksFetchTimeout = 10 * time.Second
	// maxTokenLen refuses absurd tokens before parsing them.
	maxTokenLen = 16 << 10
	// maxDiscoveryBytes bounds the discovery document.
	maxDiscoveryBytes = 1 << 20
)

// JWTVerifier verifies an OIDC issuer's JWTs and returns the email they carry. It
// is safe for concurrent use.
type JWTVerifier struct {
	cfg    JWTConfig
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
	stop   context.CancelFunc
}

// NewJWTVerifier fetches the issuer's key set (discovering its address first if
// cfg.JWKSURL is empty) and returns a verifier that keeps it cached: refreshed every
// hour in the background, and at once (at most every 5 minutes) when a token names
// a key id the cache lacks, so a key rotation needs no restart. It fails when the
// key set cannot be fetched.
//
// ctx bounds the first fetches and must live as long as the verifier: its end, or
// Close, stops the background refresh. client makes the requests (a client with a 10s timeout if nil).
func NewJWTVerifier(ctx context.Context, cfg JWTConfig, client *http.Client) (*JWTVerifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: JWTConfig.Issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: JWTConfig.Audience is required")
	}
	if cfg.EmailClaim == "" {
		cfg.EmailClaim = "email"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 60 * time.Second
	}
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	if cfg.JWKSURL == "" {
		u, err := discoverJWKSURL(ctx, client, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		cfg.JWKSURL = u
	}
	if err := checkHTTPURL(cfg.JWKSURL); err != nil {
		return nil, fmt.Errorf("auth: JWKS URL: %w", err)
	}

	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	jwksURL := cfg.JWKSURL
	// The storage starts its refresh goroutine before its first fetch, and does not
	// stop it when that fetch fails: cancel it ourselves then.
	bg, cancel := context.WithCancel(ctx)
	httpStore, err := jwkset.NewStorageFromHTTP(jwksURL, jwkset.HTTPClientStorageOptions{
		Client:                    client,
		Ctx:                       bg,
		HTTPTimeout:               jwksFetchTimeout,
		NoErrorReturnFirstHTTPReq: false,
		RefreshInterval:           jwksRefreshEvery,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			log.WarnContext(ctx, "refreshing the JWKS failed", "url", jwksURL, "err", err)
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: fetching the JWKS from %s: %w", jwksURL, err)
	}
	store, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{jwksURL: httpStore},
		RateLimitWaitMax:  jwksFetchTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDRefreshEvery), 1),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: JWKS storage: %w", err)
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: bg, Storage: store})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: keyfunc: %w", err)
	}
	return &JWTVerifier{
		cfg:  cfg,
		keys: kf,
		stop: cancel,
		parser: jwt.NewParser(
			// Only asymmetric algorithms: "none" and HS* (an HMAC keyed with the
			// public key) are refused before any key is looked up.
			jwt.WithValidMethods([]string{"RS256", "ES256"}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(cfg.Leeway),
		),
	}, nil
}

// Close stops the background refresh of the key set. Verify still works after it,
// with the cached keys and the refreshes for unknown key ids.
func (v *JWTVerifier) Close() { v.stop() }

// Verify checks token's signature, issuer, audience, expiry and not-before, and
// returns the verified email it carries, lowercased. Every failure is a
// CodeUnauthenticated error: reason "token_expired" for an expired token,
// "invalid_token" otherwise.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > maxTokenLen {
		return "", invalidToken("the token is not valid", nil)
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keys.KeyfuncCtx(ctx)); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return "", &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "token_expired",
				Message: "the token has expired", Err: err}
		}
		return "", invalidToken("the token is not valid", err)
	}
	switch ev := claims["email_verified"].(type) {
	case nil:
		if _, present := claims["email_verified"]; present {
			return "", invalidToken("the token's email is not verified", nil)
		}
	case bool:
		if !ev {
			return "", invalidToken("the token's email is not verified", nil)
		}
	case string:
		if !strings.EqualFold(ev, "true") {
			return "", invalidToken("the token's email is not verified", nil)
		}
	default:
		return "", invalidToken("the token's email is not verified", nil)
	}
	raw, _ := claims[v.cfg.EmailClaim].(string)
	if strings.TrimSpace(raw) == "" {
		return "", invalidToken("the token carries no email", nil)
	}
	email, err := reroute.NormalizeEmail(raw)
	if err != nil {
		return "", invalidToken("the token carries no valid email", nil)
	}
	return email, nil
}

func invalidToken(msg string, cause error) *reroute.Error {
	return &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "invalid_token", Message: msg, Err: cause}
}

// discoverJWKSURL reads the issuer's OpenID Connect discovery document.
func discoverJWKSURL(ctx context.Context, client *http.Client, issuer string) (string, error) {
	if err := checkHTTPURL(issuer); err != nil {
		return "", fmt.Errorf("auth: issuer: %w", err)
	}
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("auth: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("auth: discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("auth: discovery: GET %s: status %d", u, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBytes)).Decode(&doc); err != nil {
		return "", fmt.Errorf("auth: discovery: decoding %s: %w", u, err)
	}
	// OpenID Connect Discovery 1.0 §4.3: the document's issuer must be the one asked.
	if doc.Issuer != issuer {
		return "", fmt.Errorf("auth: discovery: %s names issuer %q, not %q", u, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("auth: discovery: %s has no jwks_uri", u)
	}
	return doc.JWKSURI, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
