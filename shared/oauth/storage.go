package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Session is what an authorization carries through its codes and tokens: the
// user it acts for, in which org, and when each of its tokens expires.
type Session struct {
	OrgID     string                         `json:"orgId"`
	Email     string                         `json:"email"`
	ExpiresAt map[fosite.TokenType]time.Time `json:"expiresAt"`
}

func (s *Session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	if s.ExpiresAt == nil {
		s.ExpiresAt = map[fosite.TokenType]time.Time{}
	}
	s.ExpiresAt[key] = exp
}

func (s *Session) GetExpiresAt(key fosite.TokenType) time.Time {
	if s.ExpiresAt == nil {
		return time.Time{}
	}
	return s.ExpiresAt[key]
}

func (s *Session) GetUsername() string { return s.Email }
func (s *Session) GetSubject() string  { return s.Email }

func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	c.ExpiresAt = make(map[fosite.TokenType]time.Time, len(s.ExpiresAt))
	for k, v := range s.ExpiresAt {
		c.ExpiresAt[k] = v
	}
	return &c
}

// storedRequest is fosite's record of an authorization, as kept beside each of
// its codes and tokens. The client is kept by id and read again on every load,
// so that a deleted app's tokens stop working at once.
type storedRequest struct {
	ID             string          `json:"id"`
	RequestedAt    time.Time       `json:"requestedAt"`
	ClientID       string          `json:"clientId"`
	RequestedScope []string        `json:"requestedScope"`
	GrantedScope   []string        `json:"grantedScope"`
	Form           url.Values      `json:"form"`
	Session        json.RawMessage `json:"session"`
}

// storage is fosite's storage on a reroute.OAuthStore: codes and tokens are
// looked up by the SHA-256 of their signature, which is all the store keeps.
type storage struct {
	store reroute.OAuthStore
	now   func() time.Time
}

func hashSignature(sig string) string {
	sum := sha256.Sum256([]byte(sig))
	return hex.EncodeToString(sum[:])
}

// client is an app as fosite sees it.
func client(a reroute.OAuthApp) fosite.Client {
	return &fosite.DefaultClient{
		ID:            a.ClientID,
		Secret:        []byte(a.SecretHash),
		RedirectURIs:  a.RedirectURIs,
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        reroute.OAuthScopes,
		Public:        !a.Confidential,
	}
}

func (s *storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	a, err := s.store.GetOAuthApp(ctx, id)
	if reroute.IsNotFound(err) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return client(a), nil
}

// Client assertions (private_key_jwt) are not offered: no JTI is ever valid.
func (s *storage) ClientAssertionJWTValid(context.Context, string) error {
	return fosite.ErrJTIKnown
}

func (s *storage) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return fosite.ErrJTIKnown
}

func (s *storage) create(ctx context.Context, kind reroute.OAuthTokenKind, sig string, req fosite.Requester, active bool) error {
	sess, ok := req.GetSession().(*Session)
	if !ok || sess == nil {
		return fmt.Errorf("the request carries no session of ours")
	}
	sessJSON, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("encoding the session: %w", err)
	}
	data, err := json.Marshal(storedRequest{
		ID: req.GetID(), RequestedAt: req.GetRequestedAt(), ClientID: req.GetClient().GetID(),
		RequestedScope: req.GetRequestedScopes(), GrantedScope: req.GetGrantedScopes(),
		Form: req.GetRequestForm(), Session: sessJSON,
	})
	if err != nil {
		return fmt.Errorf("encoding the request: %w", err)
	}
	exp := sess.GetExpiresAt(tokenType(kind))
	if exp.IsZero() {
		return fmt.Errorf("the %s has no expiry", kind)
	}
	err = s.store.CreateOAuthToken(ctx, reroute.OAuthToken{
		Kind: kind, Hash: hashSignature(sig), RequestID: req.GetID(), ClientID: req.GetClient().GetID(),
		OrgID: sess.OrgID, Email: sess.Email, Scopes: req.GetGrantedScopes(), Active: active, ExpiresAt: exp, Data: data,
	})
	if reroute.IsNotFound(err) {
		// The grant or the authorization was revoked meanwhile.
		return fosite.ErrNotFound.WithWrap(err)
	}
	return err
}

func tokenType(kind reroute.OAuthTokenKind) fosite.TokenType {
	switch kind {
	case reroute.OAuthAccess:
		return fosite.AccessToken
	case reroute.OAuthRefresh:
		return fosite.RefreshToken
	}
	return fosite.AuthorizeCode // codes and their PKCE challenges
}

// get loads a code or token; an inactive one is returned with inactive set.
// fosite hands in the session it goes on using: the stored one is decoded into
// it (when it is one of ours), as JSON decoding does, merging expiry times, so
// that the expiries fosite set on it for the tokens it is issuing survive a
// second read of the code.
func (s *storage) get(ctx context.Context, kind reroute.OAuthTokenKind, sig string, into fosite.Session) (req fosite.Requester, inactive bool, err error) {
	t, err := s.store.GetOAuthToken(ctx, kind, hashSignature(sig))
	if reroute.IsNotFound(err) {
		return nil, false, fosite.ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	var sr storedRequest
	if err := json.Unmarshal(t.Data, &sr); err != nil {
		return nil, false, fmt.Errorf("decoding a stored request: %w", err)
	}
	c, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, false, err
	}
	sess, ok := into.(*Session)
	if !ok || sess == nil {
		sess = &Session{}
	}
	if len(sr.Session) > 0 {
		if err := json.Unmarshal(sr.Session, sess); err != nil {
			return nil, false, fmt.Errorf("decoding a stored session: %w", err)
		}
	}
	r := &fosite.Request{
		ID: sr.ID, RequestedAt: sr.RequestedAt, Client: c,
		RequestedScope: sr.RequestedScope, GrantedScope: sr.GrantedScope,
		Form: sr.Form, Session: sess,
		RequestedAudience: fosite.Arguments{}, GrantedAudience: fosite.Arguments{},
	}
	if r.Form == nil {
		r.Form = url.Values{}
	}
	return r, !t.Active, nil
}

func (s *storage) CreateAuthorizeCodeSession(ctx context.Context, code string, req fosite.Requester) error {
	return s.create(ctx, reroute.OAuthCode, code, req, true)
}

func (s *storage) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	req, inactive, err := s.get(ctx, reroute.OAuthCode, code, session)
	if err != nil {
		return nil, err
	}
	if inactive {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

func (s *storage) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	err := s.store.DeactivateOAuthToken(ctx, reroute.OAuthCode, hashSignature(code))
	if reroute.ErrorCode(err) == reroute.CodeConflict || reroute.IsNotFound(err) {
		// Used by a concurrent exchange: this one must not issue tokens too.
		return fosite.ErrInvalidatedAuthorizeCode
	}
	return err
}

func (s *storage) CreatePKCERequestSession(ctx context.Context, sig string, req fosite.Requester) error {
	return s.create(ctx, reroute.OAuthPKCE, sig, req, true)
}

func (s *storage) GetPKCERequestSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.get(ctx, reroute.OAuthPKCE, sig, session)
	return req, err
}

func (s *storage) DeletePKCERequestSession(ctx context.Context, sig string) error {
	return s.store.DeleteOAuthToken(ctx, reroute.OAuthPKCE, hashSignature(sig))
}

func (s *storage) CreateAccessTokenSession(ctx context.Context, sig string, req fosite.Requester) error {
	return s.create(ctx, reroute.OAuthAccess, sig, req, true)
}

func (s *storage) GetAccessTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.get(ctx, reroute.OAuthAccess, sig, session)
	return req, err
}

func (s *storage) DeleteAccessTokenSession(ctx context.Context, sig string) error {
	return s.store.DeleteOAuthToken(ctx, reroute.OAuthAccess, hashSignature(sig))
}

func (s *storage) CreateRefreshTokenSession(ctx context.Context, sig, _ string, req fosite.Requester) error {
	return s.create(ctx, reroute.OAuthRefresh, sig, req, true)
}

func (s *storage) GetRefreshTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	req, inactive, err := s.get(ctx, reroute.OAuthRefresh, sig, session)
	if err != nil {
		return nil, err
	}
	if inactive {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

func (s *storage) DeleteRefreshTokenSession(ctx context.Context, sig string) error {
	return s.store.DeleteOAuthToken(ctx, reroute.OAuthRefresh, hashSignature(sig))
}

// RotateRefreshToken retires a refresh token being exchanged (kept, inactive,
// so that its reuse is recognised and revokes the authorization) and the
// access tokens issued beside it.
func (s *storage) RotateRefreshToken(ctx context.Context, requestID, sig string) error {
	err := s.store.DeactivateOAuthToken(ctx, reroute.OAuthRefresh, hashSignature(sig))
	if reroute.ErrorCode(err) == reroute.CodeConflict || reroute.IsNotFound(err) {
		// A concurrent refresh won: fosite answers "retry", and the token is spent.
		return fosite.ErrSerializationFailure
	}
	if err != nil {
		return err
	}
	return s.store.RevokeOAuthRequest(ctx, requestID, reroute.OAuthAccess)
}

// RevokeRefreshToken ends the whole authorization: its refresh tokens cannot be
// had without its access tokens going too (RFC 7009 section 2.1), and with it
// gone nothing more can be issued under it.
func (s *storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.store.RevokeOAuthRequest(ctx, requestID)
}

func (s *storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.store.RevokeOAuthRequest(ctx, requestID, reroute.OAuthAccess)
}

// sha256Hasher compares client secrets by SHA-256: they are 256-bit random
// strings, for which a slow hash would only cost time on every token request.
type sha256Hasher struct{}

func (sha256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(reroute.HashAPIKey(string(data))), nil
}

func (sha256Hasher) Compare(_ context.Context, hash, data []byte) error {
	if len(hash) == 0 || subtle.ConstantTimeCompare(hash, []byte(reroute.HashAPIKey(string(data)))) != 1 {
		return errors.New("the client secret does not match")
	}
	return nil
}
