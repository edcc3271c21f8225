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
	"sync"
	"sync/atomic"
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
	// EmailVerifiedClaim names the claim that must be true for the email to be
	// trusted ("email_verified" if empty). Memberships are keyed by email, so an
	// unverified address would let anyone who registers it act as its owner.
	EmailVerifiedClaim string
	// EmailVerifiedOptional accepts tokens that lack EmailVerifiedClaim, for an
	// issuer that verifies every address it puts in a token without saying so. A
	// claim that is present and not true is refused all the same.
	EmailVerifiedOptional bool
	// Leeway is the clock skew allowed on exp and nbf (60s if zero).
	Leeway time.Duration
	// Log receives failures to load or refresh the JWKS; nil discards them.
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
	// Until the key set is first loaded, a failed load is tried again after
	// loadRetryFirst, doubling up to loadRetryMax; a user request waiting for
	// the keys brings the next try forward, but never to less than
	// loadRetryFloor after the previous one, so a flood of requests costs the
	// issuer at most one request per floor.
	loadRetryFirst = time.Second
	loadRetryMax   = 30 * time.Second
	loadRetryFloor = time.Second
	// maxTokenLen refuses absurd tokens before parsing them.
	maxTokenLen = 16 << 10
	// maxDiscoveryBytes bounds the discovery document.
	maxDiscoveryBytes = 1 << 20
)

// JWTVerifier verifies an OIDC issuer's JWTs and returns the email they carry. It
// is safe for concurrent use.
type JWTVerifier struct {
	cfg    JWTConfig
	client *http.Client
	log    *slog.Logger
	parser *jwt.Parser
	bg     context.Context // the loader's and the refreshes' lifetime
	stop   context.CancelFunc

	keys atomic.Pointer[loadedKeys] // nil until the key set is first loaded
	kick chan struct{}              // a request waits for keys: try loading again soon

	mu      sync.Mutex
	attempt chan struct{} // closed when the load under way ends; nil between tries
}

type loadedKeys struct{ kf keyfunc.Keyfunc }

// NewJWTVerifier checks cfg and returns a verifier at once; the issuer's key set is
// loaded in the background (its address discovered first if cfg.JWKSURL is empty),
// so that an unreachable issuer keeps neither the API from starting nor API keys
// from working. Until the keys arrive, Verify answers CodeUnavailable
// "issuer_unavailable", after waiting for a load under way (the first one starts
// here). A failed load is retried with backoff. Once loaded, the key set is
// refreshed every hour, and at once (at most every 5 minutes) when a token names a
// key id the cache lacks, so a key rotation needs no restart.
//
// ctx must live as long as the verifier: its end, or Close, stops the loading and
// the refreshes. client makes the requests (a client with a 10s timeout if nil). It
// fails only on a configuration that can never work.
func NewJWTVerifier(ctx context.Context, cfg JWTConfig, client *http.Client) (*JWTVerifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: JWTConfig.Issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: JWTConfig.Audience is required")
	}
	if err := checkHTTPURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("auth: issuer: %w", err)
	}
	if cfg.JWKSURL != "" {
		if err := checkHTTPURL(cfg.JWKSURL); err != nil {
			return nil, fmt.Errorf("auth: JWKS URL: %w", err)
		}
	}
	if cfg.EmailClaim == "" {
		cfg.EmailClaim = "email"
	}
	if cfg.EmailVerifiedClaim == "" {
		cfg.EmailVerifiedClaim = "email_verified"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 60 * time.Second
	}
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bg, cancel := context.WithCancel(ctx)
	v := &JWTVerifier{
		cfg: cfg, client: client, log: log, bg: bg, stop: cancel,
		kick: make(chan struct{}, 1),
		// The first load is under way before NewJWTVerifier returns, so the first
		// requests wait for it rather than answer "unavailable" at once.
		attempt: make(chan struct{}),
		parser: jwt.NewParser(
			// Only asymmetric algorithms: "none" and HS* (an HMAC keyed with the
			// public key) are refused before any key is looked up.
			jwt.WithValidMethods([]string{"RS256", "ES256"}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(cfg.Leeway),
		),
	}
	go v.load()
	return v, nil
}

// Close stops loading and refreshing the key set. Verify still works after it,
// with the keys already loaded and the refreshes for unknown key ids.
func (v *JWTVerifier) Close() { v.stop() }

// load loads the key set, trying again until it succeeds or the verifier closes.
func (v *JWTVerifier) load() {
	jwksURL := v.cfg.JWKSURL
	delay := loadRetryFirst
	for {
		select { // a kick before this try is answered by it
		case <-v.kick:
		default:
		}
		var err error
		if jwksURL == "" {
			jwksURL, err = discoverJWKSURL(v.bg, v.client, v.cfg.Issuer)
		}
		if err == nil {
			err = v.loadKeys(jwksURL)
		}
		v.mu.Lock()
		close(v.attempt)
		v.attempt = nil
		v.mu.Unlock()
		if err == nil {
			v.log.Info("the OIDC issuer's signing keys are loaded", "issuer", v.cfg.Issuer, "jwksUrl", jwksURL)
			return
		}
		if v.bg.Err() != nil {
			return
		}
		v.log.Warn("loading the OIDC issuer's signing keys failed: user tokens are answered 503 until they load",
			"issuer", v.cfg.Issuer, "err", err, "retryIn", delay.String())
		if !v.waitToRetry(delay) {
			return
		}
		delay = min(2*delay, loadRetryMax)
		v.mu.Lock()
		v.attempt = make(chan struct{})
		v.mu.Unlock()
	}
}

// waitToRetry waits delay, or less when a request kicks, but at least
// loadRetryFloor. It reports false when the verifier closed.
func (v *JWTVerifier) waitToRetry(delay time.Duration) bool {
	floor := time.NewTimer(loadRetryFloor)
	defer floor.Stop()
	select {
	case <-v.bg.Done():
		return false
	case <-floor.C:
	}
	rest := time.NewTimer(max(delay-loadRetryFloor, 0))
	defer rest.Stop()
	select {
	case <-v.bg.Done():
		return false
	case <-rest.C:
	case <-v.kick:
	}
	return true
}

// loadKeys fetches the key set once and, if that works, keeps it for Verify with
// its refreshes.
func (v *JWTVerifier) loadKeys(jwksURL string) (err error) {
	// The storage starts its refresh goroutine before its first fetch, and does not
	// stop it when that fetch fails: cancel it ourselves then.
	ctx, cancel := context.WithCancel(v.bg)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	httpStore, err := jwkset.NewStorageFromHTTP(jwksURL, jwkset.HTTPClientStorageOptions{
		Client:                    v.client,
		Ctx:                       ctx,
		HTTPTimeout:               jwksFetchTimeout,
		NoErrorReturnFirstHTTPReq: false,
		RefreshInterval:           jwksRefreshEvery,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			v.log.WarnContext(ctx, "refreshing the JWKS failed", "url", jwksURL, "err", err)
		},
	})
	if err != nil {
		return fmt.Errorf("auth: fetching the JWKS from %s: %w", jwksURL, err)
	}
	store, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{jwksURL: httpStore},
		RateLimitWaitMax:  jwksFetchTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDRefreshEvery), 1),
	})
	if err != nil {
		return fmt.Errorf("auth: JWKS storage: %w", err)
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: store})
	if err != nil {
		return fmt.Errorf("auth: keyfunc: %w", err)
	}
	v.keys.Store(&loadedKeys{kf: kf})
	return nil
}

// keyfunc returns the loaded key set. Without one, it asks for a new try and waits
// for the load under way, if any, bounded by ctx.
func (v *JWTVerifier) keyfunc(ctx context.Context) (keyfunc.Keyfunc, error) {
	if k := v.keys.Load(); k != nil {
		return k.kf, nil
	}
	v.mu.Lock()
	attempt := v.attempt
	v.mu.Unlock()
	select {
	case v.kick <- struct{}{}:
	default:
	}
	if attempt != nil {
		select {
		case <-attempt:
		case <-ctx.Done():
		}
		if k := v.keys.Load(); k != nil {
			return k.kf, nil
		}
	}
	return nil, &reroute.Error{Code: reroute.CodeUnavailable, Reason: "issuer_unavailable",
		Message: "the sign-in provider's keys could not be loaded yet, so sign-in tokens cannot be checked: " +
			"try again shortly (API keys are not affected)"}
}

// Verify checks token's signature, issuer, audience, expiry and not-before, and
// returns the verified email it carries, lowercased. A token that fails a check is
// a CodeUnauthenticated error: reason "token_expired" for an expired token,
// "invalid_token" otherwise. A valid token whose email is not verified is
// CodeForbidden "email_not_verified". Until the issuer's key set is loaded, every
// token is CodeUnavailable "issuer_unavailable".
func (v *JWTVerifier) Verify(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > maxTokenLen {
		return "", invalidToken("the token is not valid", nil)
	}
	// The keys are asked for only once the token is well formed and of an allowed
	// algorithm, so that garbage is refused even before they are loaded.
	keyFor := func(t *jwt.Token) (any, error) {
		keys, err := v.keyfunc(ctx)
		if err != nil {
			return nil, err
		}
		return keys.KeyfuncCtx(ctx)(t)
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, keyFor); err != nil {
		var unavailable *reroute.Error
		if errors.As(err, &unavailable) && unavailable.Code == reroute.CodeUnavailable {
			return "", unavailable
		}
		if errors.Is(err, jwt.ErrTokenExpired) {
			return "", &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "token_expired",
				Message: "the token has expired", Err: err}
		}
		return "", invalidToken("the token is not valid", err)
	}
	raw, _ := claims[v.cfg.EmailClaim].(string)
	if strings.TrimSpace(raw) == "" {
		return "", invalidToken("the token carries no email", nil)
	}
	email, err := reroute.NormalizeEmail(raw)
	if err != nil {
		return "", invalidToken("the token carries no valid email", nil)
	}
	if !v.emailVerified(claims) {
		return "", &reroute.Error{Code: reroute.CodeForbidden, Reason: "email_not_verified",
			Message: "your email address is not verified: confirm it with your sign-in provider, then sign in again"}
	}
	return email, nil
}

// emailVerified reports whether claims say the email is verified: the claim is the
// JSON boolean true (OpenID Connect Core 1.0 §5.1), or the string "true", which
// is how Amazon Cognito writes the attribute elsewhere (user attributes, the
// userInfo endpoint, a pre token generation trigger's claim overrides); either is
// the issuer's signed statement. Anything else present, including false, null or
// "True", is not. An absent claim counts as verified only when the operator said so.
func (v *JWTVerifier) emailVerified(claims jwt.MapClaims) bool {
	c, present := claims[v.cfg.EmailVerifiedClaim]
	if !present {
		return v.cfg.EmailVerifiedOptional
	}
	switch c := c.(type) {
	case bool:
		return c
	case string:
		return c == "true"
	}
	return false
}

func invalidToken(msg string, cause error) *reroute.Error {
	return &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "invalid_token", Message: msg, Err: cause}
}

// discoverJWKSURL reads the issuer's OpenID Connect discovery document.
func discoverJWKSURL(ctx context.Context, client *http.Client, issuer string) (string, error) {
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
	if err := checkHTTPURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("auth: discovery: %s: jwks_uri: %w", u, err)
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
