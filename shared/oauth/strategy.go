package oauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// strategy makes codes and tokens of 256 random bits with a recognisable prefix.
// A token is its own signature: the store keeps its SHA-256 only, like an API
// key, so no signing secret needs keeping (fosite's HMAC strategy would need
// one shared by every instance, to spare a lookup that a 256-bit guess never
// earns anyway).
type strategy struct {
	rand io.Reader
	now  func() time.Time
}

func (s strategy) generate(prefix string) (token, sig string, err error) {
	var b [32]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", "", fmt.Errorf("reading random bytes: %w", err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, token, nil
}

func (s strategy) validate(r fosite.Requester, typ fosite.TokenType, prefix, token string) error {
	if !strings.HasPrefix(token, prefix) {
		return fosite.ErrInvalidTokenFormat
	}
	exp := r.GetSession().GetExpiresAt(typ)
	if exp.IsZero() || !s.now().Before(exp) {
		return fosite.ErrTokenExpired.WithHintf("The %s expired at %s.", typ, exp.UTC().Format(time.RFC3339))
	}
	return nil
}

func (s strategy) AccessTokenSignature(_ context.Context, token string) string  { return token }
func (s strategy) RefreshTokenSignature(_ context.Context, token string) string { return token }
func (s strategy) AuthorizeCodeSignature(_ context.Context, token string) string {
	return token
}

func (s strategy) GenerateAccessToken(context.Context, fosite.Requester) (string, string, error) {
	return s.generate(reroute.OAuthAccessTokenPrefix)
}

func (s strategy) GenerateRefreshToken(context.Context, fosite.Requester) (string, string, error) {
	return s.generate(reroute.OAuthRefreshTokenPrefix)
}

func (s strategy) GenerateAuthorizeCode(context.Context, fosite.Requester) (string, string, error) {
	return s.generate(reroute.OAuthCodePrefix)
}

func (s strategy) ValidateAccessToken(_ context.Context, r fosite.Requester, token string) error {
	return s.validate(r, fosite.AccessToken, reroute.OAuthAccessTokenPrefix, token)
}

func (s strategy) ValidateRefreshToken(_ context.Context, r fosite.Requester, token string) error {
	return s.validate(r, fosite.RefreshToken, reroute.OAuthRefreshTokenPrefix, token)
}

func (s strategy) ValidateAuthorizeCode(_ context.Context, r fosite.Requester, token string) error {
	return s.validate(r, fosite.AuthorizeCode, reroute.OAuthCodePrefix, token)
}
