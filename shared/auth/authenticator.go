package auth

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// TokenVerifier verifies a user's bearer token and returns the verified email.
// *JWTVerifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (email string, err error)
}

// AppTokenVerifier verifies a third-party app's OAuth access token and returns
// the caller it stands for. *oauth.Server is one.
type AppTokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (reroute.Caller, error)
}

// touchEvery is how often a key's last use is recorded.
const touchEvery = time.Minute

// maxTouched bounds the map of recent touches: past it, entries older than
// touchEvery are dropped, and if none are, the whole map (at worst a key is
// touched twice in a minute, which the store also guards against).
const maxTouched = 10000

// Authenticator identifies the caller from an Authorization header: an API key
// ("Bearer drr_..."), an app's OAuth access token ("Bearer dro_at_...") or an
// OIDC token. It is safe for concurrent use.
type Authenticator struct {
	tokens TokenVerifier
	keys   reroute.APIKeyStore
	apps   AppTokenVerifier
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	touched map[string]time.Time // key hash -> when this process last recorded its use
}

// NewAuthenticator returns an Authenticator verifying user tokens with tokens,
// looking API keys up in keys and verifying apps' OAuth access tokens with apps
// (nil: none are accepted). now is time.Now and log discards if nil.
func NewAuthenticator(tokens TokenVerifier, keys reroute.APIKeyStore, apps AppTokenVerifier, now func() time.Time, log *slog.Logger) *Authenticator {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authenticator{tokens: tokens, keys: keys, apps: apps, now: now, log: log, touched: make(map[string]time.Time)}
}

// Authenticate returns the caller an Authorization header identifies. It fails with
// CodeUnauthenticated and reason "missing_token" (no or a malformed header),
// "invalid_api_key", "api_key_expired", "invalid_token" or "token_expired"; with
// CodeForbidden "email_not_verified" for a valid user token whose email is not
// verified; and with CodeUnavailable, since the caller may well be entitled, when
// the key store cannot answer (the store's error) or the issuer's keys are not
// loaded yet ("issuer_unavailable": API keys work all the same).
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (reroute.Caller, error) {
	token, ok := bearerToken(authorization)
	if !ok {
		return reroute.Caller{}, &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "missing_token",
			Message: `an "Authorization: Bearer <token>" header is required`}
	}
	if strings.HasPrefix(token, reroute.APIKeyPrefix) {
		return a.apiKey(ctx, token)
	}
	if strings.HasPrefix(token, reroute.OAuthAccessTokenPrefix) {
		if a.apps == nil {
			return reroute.Caller{}, invalidToken("the token is not valid", nil)
		}
		return a.apps.VerifyAccessToken(ctx, token)
	}
	if a.tokens == nil {
		return reroute.Caller{}, invalidToken("the token is not valid", nil)
	}
	email, err := a.tokens.Verify(ctx, token)
	if err != nil {
		switch reroute.ErrorCode(err) {
		case reroute.CodeUnauthenticated, reroute.CodeForbidden, reroute.CodeUnavailable:
			return reroute.Caller{}, err
		}
		return reroute.Caller{}, invalidToken("the token is not valid", err)
	}
	return reroute.Caller{Email: email}, nil
}

func (a *Authenticator) apiKey(ctx context.Context, secret string) (reroute.Caller, error) {
	invalid := &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "invalid_api_key", Message: "the API key is not valid"}
	if !wellFormedAPIKey(secret) || a.keys == nil {
		return reroute.Caller{}, invalid
	}
	hash := reroute.HashAPIKey(secret)
	k, err := a.keys.GetAPIKeyByHash(ctx, hash)
	if err != nil {
		if reroute.IsNotFound(err) {
			return reroute.Caller{}, invalid
		}
		return reroute.Caller{}, err
	}
	now := a.now()
	if k.Expired(now) {
		return reroute.Caller{}, &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "api_key_expired",
			Message: "the API key has expired"}
	}
	if a.shouldTouch(hash, k.LastUsedAt, now) {
		// A failure to record the use must not fail the request it is about.
		if err := a.keys.TouchAPIKey(ctx, hash, now); err != nil {
			a.log.WarnContext(ctx, "recording an API key's use failed", "keyId", k.ID, "orgId", k.OrgID, "err", err)
		}
	}
	return reroute.Caller{Key: &k}, nil
}

// shouldTouch reports whether a key's use at now should be recorded, and if so
// notes that it is: at most once a minute per key and process, and not when the
// store already holds a use from the minute before.
func (a *Authenticator) shouldTouch(hash string, lastUsed, now time.Time) bool {
	if !lastUsed.IsZero() && now.Sub(lastUsed) < touchEvery && !now.Before(lastUsed) {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if last, ok := a.touched[hash]; ok && now.Sub(last) < touchEvery && !now.Before(last) {
		return false
	}
	if len(a.touched) >= maxTouched {
		for h, t := range a.touched {
			if now.Sub(t) >= touchEvery || now.Before(t) {
				delete(a.touched, h)
			}
		}
		if len(a.touched) >= maxTouched {
			clear(a.touched)
		}
	}
	a.touched[hash] = now
	return true
}

// bearerToken returns the token of a "Bearer <token>" header; the scheme is
// case-insensitive (RFC 9110 §11.1).
func bearerToken(h string) (string, bool) {
	h = strings.TrimSpace(h)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", false
	}
	return token, true
}
