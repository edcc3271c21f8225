// Package oauth is the OAuth 2.0 authorization server third-party apps use to act
// for a user in one org: the authorization code grant with PKCE (S256 only),
// refresh tokens that rotate on every use, revocation (RFC 7009), introspection
// (RFC 7662) and metadata (RFC 8414). The protocol is ory/fosite's; this package
// is its configuration, its storage on a reroute.OAuthStore, and the API's view
// of a token (a reroute.Caller).
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Config is the server's settings.
type Config struct {
	// Issuer is the API's public base URL (no trailing slash): the token,
	// revocation and introspection endpoints are under it. Empty: "https://"
	// and the host a request came to (API Gateway's own domain).
	Issuer string
	// AuthorizeURL is the dashboard's consent page, the authorization endpoint.
	AuthorizeURL string
	// Lifetimes; zero: a code 60 s, an access token 1 h, a refresh token 30 days.
	CodeLifetime, AccessLifetime, RefreshLifetime time.Duration
}

// Server is the authorization server.
type Server struct {
	cfg      Config
	store    reroute.OAuthStore
	provider fosite.OAuth2Provider
	now      func() time.Time
	log      *slog.Logger
}

// maxFormBytes bounds a token, revocation or introspection request's body.
const maxFormBytes = 16 << 10

// New returns a Server keeping its apps, grants and tokens in store. rand is
// crypto/rand.Reader outside tests; now is time.Now when nil.
func New(cfg Config, store reroute.OAuthStore, rand io.Reader, now func() time.Time, log *slog.Logger) *Server {
	if cfg.CodeLifetime == 0 {
		cfg.CodeLifetime = 60 * time.Second
	}
	if cfg.AccessLifetime == 0 {
		cfg.AccessLifetime = time.Hour
	}
	if cfg.RefreshLifetime == 0 {
		cfg.RefreshLifetime = 30 * 24 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	fc := &fosite.Config{
		AccessTokenLifespan:   cfg.AccessLifetime,
		RefreshTokenLifespan:  cfg.RefreshLifetime,
		AuthorizeCodeLifespan: cfg.CodeLifetime,
		// Refresh tokens for every grant, without an "offline" scope.
		RefreshTokenScopes:             []string{},
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		ClientSecretsHasher:            sha256Hasher{},
		SendDebugMessagesToClients:     false,
	}
	st := &storage{store: store, now: now}
	provider := compose.Compose(fc, st, strategy{rand: rand, now: now},
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2TokenIntrospectionFactory,
	)
	return &Server{cfg: cfg, store: store, provider: provider, now: now, log: log}
}

// Authorize completes an authorization the consent page asked for: it answers
// where to send the user's browser, with a code or (RFC 6749 section 4.1.2.1)
// an error. Requests too broken to redirect (an unknown client, a redirect URI
// not registered) are CodeInvalid errors instead, never a redirect. The caller
// has checked that a.Email belongs to a.OrgID.
func (s *Server) Authorize(ctx context.Context, a reroute.OAuthAuthorization) (redirectTo string, err error) {
	q := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {a.RedirectURI},
		"scope": {a.Scope}, "state": {a.State}, "code_challenge": {a.CodeChallenge},
		"code_challenge_method": {a.CodeChallengeMethod}}
	for k, v := range q {
		if v[0] == "" {
			delete(q, k)
		}
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.AuthorizeURL+"?"+q.Encode(), nil)
	if err != nil {
		return "", &reroute.Error{Code: reroute.CodeInvalid, Reason: "invalid_request", Message: "the authorization request is not valid"}
	}
	ar, err := s.provider.NewAuthorizeRequest(ctx, r)
	if err == nil && a.Deny {
		err = fosite.ErrAccessDenied.WithHint("The user denied the request.")
	}
	if err == nil && len(ar.GetRequestedScopes()) == 0 {
		err = fosite.ErrInvalidScope.WithHint("Ask for at least one scope: " + strings.Join(reroute.OAuthScopes, ", ") + ".")
	}
	if err != nil {
		return s.authorizeError(ctx, ar, err)
	}
	app, err := s.store.GetOAuthApp(ctx, a.ClientID)
	if err != nil {
		return "", err
	}
	for _, sc := range ar.GetRequestedScopes() {
		ar.GrantScope(sc)
	}
	err = s.store.PutOAuthGrant(ctx, reroute.OAuthGrant{OrgID: a.OrgID, Email: a.Email, ClientID: a.ClientID,
		AppName: app.Name, Scopes: ar.GetGrantedScopes()})
	if err != nil {
		return "", err
	}
	resp, err := s.provider.NewAuthorizeResponse(ctx, ar, &Session{OrgID: a.OrgID, Email: a.Email})
	if err != nil {
		return s.authorizeError(ctx, ar, err)
	}
	rec := newRecorder()
	s.provider.WriteAuthorizeResponse(ctx, rec, ar, resp)
	if loc := rec.h.Get("Location"); loc != "" {
		return loc, nil
	}
	return "", errors.New("the authorization response has no redirect")
}

// authorizeError answers the redirect fosite makes for an error, or, when it
// will not redirect (the client or its redirect URI cannot be trusted), an
// invalid request the consent page shows.
func (s *Server) authorizeError(ctx context.Context, ar fosite.AuthorizeRequester, err error) (string, error) {
	rec := newRecorder()
	s.provider.WriteAuthorizeError(ctx, rec, ar, err)
	if loc := rec.h.Get("Location"); loc != "" && rec.status/100 == 3 {
		return loc, nil
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		return "", err
	}
	msg := rfc.DescriptionField
	if rfc.HintField != "" {
		msg += " " + rfc.HintField
	}
	return "", &reroute.Error{Code: reroute.CodeInvalid, Reason: "oauth_" + rfc.ErrorField, Message: msg, Err: err}
}

// Token is the token endpoint (RFC 6749 section 3.2): form-encoded, client
// authentication by client_secret_basic or client_secret_post, none for a
// public client; errors as RFC 6749 section 5.2 JSON.
func (s *Server) Token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Access-Control-Allow-Origin", "*")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ar, err := s.provider.NewAccessRequest(ctx, r, &Session{})
	if err != nil {
		s.logError(ctx, "token request refused", err)
		s.provider.WriteAccessError(ctx, w, ar, err)
		return
	}
	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		s.logError(ctx, "token request failed", err)
		s.provider.WriteAccessError(ctx, w, ar, err)
		return
	}
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
}

// Revoke is the revocation endpoint (RFC 7009): revoking either token of an
// authorization ends all of it.
func (s *Server) Revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Access-Control-Allow-Origin", "*")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	err := s.provider.NewRevocationRequest(ctx, r)
	if err != nil {
		s.logError(ctx, "revocation refused", err)
	}
	s.provider.WriteRevocationResponse(ctx, w, err)
}

// Introspect is the introspection endpoint (RFC 7662), for confidential clients
// authenticating with client_secret_basic, about their own tokens: another
// client's token is inactive to them.
func (s *Server) Introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	id, _, ok := r.BasicAuth()
	if !ok || strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
		s.provider.WriteIntrospectionError(ctx, w, fosite.ErrRequestUnauthorized.WithHint("Authenticate with client_secret_basic."))
		return
	}
	clientID, _ := url.QueryUnescape(id)
	if app, err := s.store.GetOAuthApp(ctx, clientID); err == nil && !app.Confidential {
		s.provider.WriteIntrospectionError(ctx, w, fosite.ErrRequestUnauthorized.WithHint("Only confidential clients may introspect tokens."))
		return
	}
	ir, err := s.provider.NewIntrospectionRequest(ctx, r, &Session{})
	if err != nil {
		s.provider.WriteIntrospectionError(ctx, w, err)
		return
	}
	if ir.GetAccessRequester().GetClient().GetID() != clientID {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"active":false}` + "\n"))
		return
	}
	s.provider.WriteIntrospectionResponse(ctx, w, ir)
}

// Metadata is the authorization server's metadata (RFC 8414).
func (s *Server) Metadata(w http.ResponseWriter, _ *http.Request) {
	doc := map[string]any{
		"issuer":                                        s.cfg.Issuer,
		"authorization_endpoint":                        s.cfg.AuthorizeURL,
		"token_endpoint":                                s.cfg.Issuer + "/oauth/token",
		"revocation_endpoint":                           s.cfg.Issuer + "/oauth/revoke",
		"introspection_endpoint":                        s.cfg.Issuer + "/oauth/introspect",
		"scopes_supported":                              reroute.OAuthScopes,
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":              []string{"S256"},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		"service_documentation":                         s.cfg.Issuer + "/v1/openapi.json",
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(doc)
}

// VerifyAccessToken returns the caller an access token stands for: its user,
// with the app's org and scopes. It fails with CodeUnauthenticated
// "invalid_token" (unknown, revoked, or its app deleted) or "token_expired",
// and with the store's error when the store cannot answer.
func (s *Server) VerifyAccessToken(ctx context.Context, token string) (reroute.Caller, error) {
	_, ar, err := s.provider.IntrospectToken(ctx, token, fosite.AccessToken, &Session{})
	if err != nil {
		switch {
		case errors.Is(err, fosite.ErrTokenExpired):
			return reroute.Caller{}, &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "token_expired", Message: "the access token has expired: refresh it"}
		case errors.Is(err, fosite.ErrServerError), errors.Is(err, fosite.ErrTemporarilyUnavailable):
			return reroute.Caller{}, &reroute.Error{Code: reroute.CodeUnavailable, Reason: "unavailable", Message: "the token cannot be checked now", Err: err}
		}
		return reroute.Caller{}, &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "invalid_token", Message: "the access token is not valid", Err: err}
	}
	sess, ok := ar.GetSession().(*Session)
	if !ok || sess.Email == "" || sess.OrgID == "" {
		return reroute.Caller{}, &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "invalid_token", Message: "the access token is not valid"}
	}
	return reroute.Caller{Email: sess.Email, App: &reroute.AppAccess{
		ClientID: ar.GetClient().GetID(), OrgID: sess.OrgID, Scopes: ar.GetGrantedScopes(),
	}}, nil
}

func (s *Server) logError(ctx context.Context, msg string, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	level := slog.LevelInfo
	if rfc.CodeField >= 500 {
		level = slog.LevelError
	}
	s.log.Log(ctx, level, msg, "error", rfc.ErrorField, "hint", rfc.HintField, "debug", rfc.DebugField)
}

// recorder keeps what fosite writes for an authorization response, which the
// consent page, not the browser, receives.
type recorder struct {
	h      http.Header
	status int
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(status int)      { r.status = status }
