package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func newVerifier(t testing.TB, srv *jwksServer, cfg auth.JWTConfig) *auth.JWTVerifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = srv.URL
	}
	if cfg.Audience == "" {
		cfg.Audience = testAudience
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = srv.URL + "/keys"
	}
	v, err := auth.NewJWTVerifier(t.Context(), cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestVerify(t *testing.T) {
	t.Parallel()
	rs, es := rsaSigner(0, "rsa-1"), ecSigner(0, "ec-1")
	srv := newJWKSServer(t, rs, es)
	v := newVerifier(t, srv, auth.JWTConfig{})

	with := func(change func(c jwt.MapClaims)) jwt.MapClaims {
		c := srv.claims()
		change(c)
		return c
	}
	now := time.Now()
	pubPEM := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(rs.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()

	tests := []struct {
		name   string
		token  func() string
		email  string // on success
		reason string // on failure
	}{
		{"RS256", func() string { return rs.sign(t, srv.claims()) }, "ann@example.com", ""},
		{"ES256", func() string { return es.sign(t, srv.claims()) }, "ann@example.com", ""},
		{"audience among several", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAudience} }))
		}, "ann@example.com", ""},
		{"email trimmed and lowercased", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email"] = "  BOB@Example.COM " }))
		}, "bob@example.com", ""},
		{"email_verified string true", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = "true" }))
		}, "ann@example.com", ""},
		{"expired within leeway", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-30 * time.Second).Unix() }))
		}, "ann@example.com", ""},
		{"nbf within leeway", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(30 * time.Second).Unix() }))
		}, "ann@example.com", ""},
		{"nbf past", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(-time.Hour).Unix() }))
		}, "ann@example.com", ""},

		{"HS256 keyed with the RSA public key", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, srv.claims())
			tok.Header["kid"] = rs.kid
			s, err := tok.SignedString(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "", "invalid_token"},
		{"alg none", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, srv.claims())
			tok.Header["kid"] = rs.kid
			s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "", "invalid_token"},
		{"RS384 not allowed", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS384, srv.claims())
			tok.Header["kid"] = rs.kid
			s, err := tok.SignedString(rs.key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "", "invalid_token"},
		{"RS256 under the EC key's kid", func() string {
			return signer{kid: es.kid, method: jwt.SigningMethodRS256, key: rs.key}.sign(t, srv.claims())
		}, "", "invalid_token"},
		{"signed by a key not in the set", func() string {
			return rsaSigner(1, rs.kid).sign(t, srv.claims())
		}, "", "invalid_token"},
		{"wrong issuer", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }))
		}, "", "invalid_token"},
		{"no issuer", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { delete(c, "iss") }))
		}, "", "invalid_token"},
		{"wrong audience", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["aud"] = "other-client" }))
		}, "", "invalid_token"},
		{"no audience", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { delete(c, "aud") }))
		}, "", "invalid_token"},
		{"expired", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() }))
		}, "", "token_expired"},
		{"no exp", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") }))
		}, "", "invalid_token"},
		{"nbf in the future", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }))
		}, "", "invalid_token"},
		{"email_verified false", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = false }))
		}, "", "email_not_verified"},
		{"email_verified string false", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = "false" }))
		}, "", "email_not_verified"},
		{"email_verified null", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = nil }))
		}, "", "email_not_verified"},
		{"email_verified number", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = 1 }))
		}, "", "email_not_verified"},
		{"email_verified absent", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { delete(c, "email_verified") }))
		}, "", "email_not_verified"},
		{"email_verified string True", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = "True" }))
		}, "", "email_not_verified"},
		{"email_verified string 1", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = "1" }))
		}, "", "email_not_verified"},
		{"email_verified object", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email_verified"] = map[string]any{"value": true} }))
		}, "", "email_not_verified"},
		{"unverified and expired", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) {
				c["email_verified"] = false
				c["exp"] = now.Add(-2 * time.Minute).Unix()
			}))
		}, "", "token_expired"},
		{"unverified under another audience", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) {
				delete(c, "email_verified")
				c["aud"] = "other-client"
			}))
		}, "", "invalid_token"},
		{"no email", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { delete(c, "email") }))
		}, "", "invalid_token"},
		{"empty email", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email"] = " " }))
		}, "", "invalid_token"},
		{"email not a string", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email"] = []string{"ann@example.com"} }))
		}, "", "invalid_token"},
		{"email not an address", func() string {
			return rs.sign(t, with(func(c jwt.MapClaims) { c["email"] = "Ann <ann@example.com>" }))
		}, "", "invalid_token"},
		{"tampered payload", func() string {
			parts := strings.Split(rs.sign(t, srv.claims()), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"iss":%q,"aud":%q,"email":"mallory@example.com","email_verified":true,"exp":%d}`,
				srv.URL, testAudience, now.Add(time.Hour).Unix()))
			return strings.Join(parts, ".")
		}, "", "invalid_token"},
		{"tampered signature", func() string {
			s := rs.sign(t, srv.claims())
			last := s[len(s)-2]
			repl := byte('A')
			if last == 'A' {
				repl = 'B'
			}
			return s[:len(s)-2] + string(repl) + s[len(s)-1:]
		}, "", "invalid_token"},
		{"not a JWT", func() string { return "not.a.jwt" }, "", "invalid_token"},
		{"empty", func() string { return "" }, "", "invalid_token"},
		{"huge", func() string { return strings.Repeat("a", 20<<10) }, "", "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := tt.token()
			email, err := v.Verify(t.Context(), token)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if email != tt.email {
					t.Errorf("email = %q, want %q", email, tt.email)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token (email %q)", email)
			}
			want := reroute.CodeUnauthenticated
			if tt.reason == "email_not_verified" {
				want = reroute.CodeForbidden
			}
			code, reason := reasonOf(t, err)
			if code != want || reason != tt.reason {
				t.Errorf("error = %s/%s, want %s/%s (%v)", code, reason, want, tt.reason, err)
			}
			var e *reroute.Error
			_ = errors.As(err, &e)
			if token != "" && len(token) > 10 && strings.Contains(e.Message, token[len(token)-10:]) {
				t.Errorf("message %q quotes the token", e.Message)
			}
		})
	}
}

func TestVerifyCustomEmailClaim(t *testing.T) {
	t.Parallel()
	rs := rsaSigner(0, "rsa-1")
	srv := newJWKSServer(t, rs)
	v := newVerifier(t, srv, auth.JWTConfig{EmailClaim: "https://dnsreroute.dev/email"})

	c := srv.claims()
	c["email"] = "wrong@example.com"
	c["https://dnsreroute.dev/email"] = "Custom@Example.com"
	email, err := v.Verify(t.Context(), rs.sign(t, c))
	if err != nil || email != "custom@example.com" {
		t.Fatalf("Verify = %q, %v; want custom@example.com", email, err)
	}

	c = srv.claims() // only the standard claim: refused
	if _, err := v.Verify(t.Context(), rs.sign(t, c)); err == nil {
		t.Fatal("a token without the configured claim was accepted")
	}
}

func TestVerifyLeewayConfigured(t *testing.T) {
	t.Parallel()
	rs := rsaSigner(0, "rsa-1")
	srv := newJWKSServer(t, rs)
	v := newVerifier(t, srv, auth.JWTConfig{Leeway: 5 * time.Second})
	c := srv.claims()
	c["exp"] = time.Now().Add(-30 * time.Second).Unix()
	_, err := v.Verify(t.Context(), rs.sign(t, c))
	if _, reason := reasonOf(t, err); reason != "token_expired" {
		t.Fatalf("reason = %q, want token_expired", reason)
	}
}

// A key the cached set lacks makes the verifier fetch the set again: the issuer can
// rotate its keys without the API restarting, and a removed key stops working.
func TestVerifyKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := rsaSigner(0, "old"), rsaSigner(1, "new")
	srv := newJWKSServer(t, oldKey)
	v := newVerifier(t, srv, auth.JWTConfig{})

	if _, err := v.Verify(t.Context(), oldKey.sign(t, srv.claims())); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	if got := srv.fetches.Load(); got != 1 {
		t.Fatalf("fetches after start = %d, want 1", got)
	}
	srv.setKeys(newKey)
	if _, err := v.Verify(t.Context(), newKey.sign(t, srv.claims())); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("fetches after rotation = %d, want 2", got)
	}
	// The refresh replaced the cached set: the old key is gone.
	if _, err := v.Verify(t.Context(), oldKey.sign(t, srv.claims())); err == nil {
		t.Fatal("the removed key is still accepted")
	}
	// Known keys are served from the cache.
	for range 10 {
		if _, err := v.Verify(t.Context(), newKey.sign(t, srv.claims())); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (cached)", got)
	}
}

// A flood of tokens naming made-up key ids costs the issuer one fetch, not one each.
func TestVerifyUnknownKIDRefreshIsRateLimited(t *testing.T) {
	t.Parallel()
	known := ecSigner(0, "known")
	srv := newJWKSServer(t, known)
	v := newVerifier(t, srv, auth.JWTConfig{})

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			tok := ecSigner(1, fmt.Sprintf("made-up-%d", i)).sign(t, srv.claims())
			start := time.Now()
			_, err := v.Verify(t.Context(), tok)
			if err == nil {
				errs <- fmt.Errorf("token %d accepted", i)
			} else if d := time.Since(start); d > time.Minute { // a ceiling: a refusal that waited for the rate-limited refresh would take 5 minutes
				errs <- fmt.Errorf("token %d took %v to refuse", i, d)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := srv.fetches.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (the first and one refresh)", got)
	}
	// The known key still works, from the cache.
	if _, err := v.Verify(t.Context(), known.sign(t, srv.claims())); err != nil {
		t.Fatal(err)
	}
	if got := srv.fetches.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2", got)
	}
}

// A failed refresh keeps the cached keys.
func TestVerifyRefreshFailureKeepsCache(t *testing.T) {
	t.Parallel()
	k := rsaSigner(0, "k")
	srv := newJWKSServer(t, k)
	v := newVerifier(t, srv, auth.JWTConfig{})
	if _, err := v.Verify(t.Context(), k.sign(t, srv.claims())); err != nil {
		t.Fatalf("before the failure: %v", err)
	}
	srv.jwksFails.Store(true)
	if _, err := v.Verify(t.Context(), rsaSigner(1, "unknown").sign(t, srv.claims())); err == nil {
		t.Fatal("unknown key accepted")
	}
	if _, err := v.Verify(t.Context(), k.sign(t, srv.claims())); err != nil {
		t.Fatalf("cached key after a failed refresh: %v", err)
	}
}

func TestNewJWTVerifierDiscovery(t *testing.T) {
	t.Parallel()
	rs := rsaSigner(0, "rsa-1")
	srv := newJWKSServer(t, rs)
	v, err := auth.NewJWTVerifier(t.Context(), auth.JWTConfig{Issuer: srv.URL, Audience: testAudience}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if email, err := v.Verify(t.Context(), rs.sign(t, srv.claims())); err != nil || email != "ann@example.com" {
		t.Fatalf("Verify = %q, %v", email, err)
	}
	if got := srv.fetches.Load(); got != 1 {
		t.Errorf("JWKS fetches = %d, want 1", got)
	}
}

// Only a configuration that can never work fails the constructor: whatever the
// issuer answers is found out in the background.
func TestNewJWTVerifierFails(t *testing.T) {
	t.Parallel()
	srv := newJWKSServer(t, rsaSigner(0, "k"))
	tests := []struct {
		name string
		cfg  auth.JWTConfig
	}{
		{"no issuer", auth.JWTConfig{Audience: testAudience, JWKSURL: srv.URL + "/keys"}},
		{"no audience", auth.JWTConfig{Issuer: srv.URL, JWKSURL: srv.URL + "/keys"}},
		{"issuer not a URL", auth.JWTConfig{Issuer: "cognito", Audience: testAudience}},
		{"issuer not http", auth.JWTConfig{Issuer: "ftp://issuer.example", Audience: testAudience}},
		{"JWKS URL not a URL", auth.JWTConfig{Issuer: srv.URL, Audience: testAudience, JWKSURL: "keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := auth.NewJWTVerifier(t.Context(), tt.cfg, srv.Client())
			if err == nil {
				v.Close()
				t.Fatal("NewJWTVerifier succeeded")
			}
		})
	}
}

// An issuer that cannot give its keys keeps the verifier from checking tokens, not
// from starting: each token is answered "unavailable" (a 503 for the API), never
// "invalid" (which would sign the user out).
func TestVerifyIssuerUnavailable(t *testing.T) {
	t.Parallel()
	k := rsaSigner(0, "k")
	srv := newJWKSServer(t, k)
	lying := newJWKSServer(t, k)
	lying.issuer = "https://someone-else.example"
	down := newJWKSServer(t, k)
	down.down.Store(true)
	jwksDown := newJWKSServer(t, k)
	jwksDown.jwksFails.Store(true)
	badJWKSURI := newJWKSServer(t, k)
	badJWKSURI.jwksURI = "keys.json"
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // its port now refuses connections

	tests := []struct {
		name string
		cfg  auth.JWTConfig
		srv  *jwksServer
	}{
		{"discovery answers 503", auth.JWTConfig{Issuer: down.URL}, down},
		{"JWKS answers 503", auth.JWTConfig{Issuer: jwksDown.URL}, jwksDown},
		{"JWKS answers 503, URL configured", auth.JWTConfig{Issuer: jwksDown.URL, JWKSURL: jwksDown.URL + "/keys"}, jwksDown},
		{"no discovery document", auth.JWTConfig{Issuer: srv.URL + "/nothing"}, srv},
		{"discovery names another issuer", auth.JWTConfig{Issuer: lying.URL}, lying},
		{"JWKS not found", auth.JWTConfig{Issuer: srv.URL, JWKSURL: srv.URL + "/missing"}, srv},
		{"issuer refuses connections", auth.JWTConfig{Issuer: closed.URL}, srv},
		{"JWKS refuses connections", auth.JWTConfig{Issuer: srv.URL, JWKSURL: closed.URL + "/keys"}, srv},
		{"discovered JWKS URL not a URL", auth.JWTConfig{Issuer: badJWKSURI.URL}, badJWKSURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Audience = testAudience
			v, err := auth.NewJWTVerifier(t.Context(), tt.cfg, srv.Client())
			if err != nil {
				t.Fatalf("NewJWTVerifier: %v", err)
			}
			defer v.Close()
			c := tt.srv.claims()
			c["iss"] = tt.cfg.Issuer
			for range 3 {
				_, err := v.Verify(t.Context(), k.sign(t, c))
				if code, reason := reasonOf(t, err); code != reroute.CodeUnavailable || reason != "issuer_unavailable" {
					t.Fatalf("error = %s/%s (%v), want unavailable/issuer_unavailable", code, reason, err)
				}
			}
			// A malformed token, or one of a refused algorithm, needs no key to be refused.
			none := jwt.NewWithClaims(jwt.SigningMethodNone, c)
			noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{"", "not.a.jwt", "garbage", noneTok} {
				if _, err := v.Verify(t.Context(), tok); reroute.ErrorCode(err) != reroute.CodeUnauthenticated {
					t.Errorf("token %q: %v", tok, err)
				}
			}
		})
	}
}

// Keys that arrive after the start are used as soon as they do: the failed loads
// are retried, sooner while tokens wait for them.
func TestVerifyKeysArriveLater(t *testing.T) {
	t.Parallel()
	k := ecSigner(0, "k")
	srv := newJWKSServer(t, k)
	srv.down.Store(true) // discovery too: the issuer is entirely down
	v, err := auth.NewJWTVerifier(t.Context(), auth.JWTConfig{Issuer: srv.URL, Audience: testAudience}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := k.sign(t, srv.claims())
	if _, err := v.Verify(t.Context(), tok); reroute.ErrorCode(err) != reroute.CodeUnavailable {
		t.Fatalf("with the issuer down: %v", err)
	}
	srv.down.Store(false)
	var last error
	eventually(t, "a token verified once the issuer is back", func() bool {
		_, last = v.Verify(t.Context(), tok)
		if last != nil && reroute.ErrorCode(last) != reroute.CodeUnavailable {
			t.Fatalf("while the keys load: %v", last)
		}
		return last == nil
	})
	// Loaded once: the keys are cached, and an unknown key id is an invalid token
	// (after a refresh), never "unavailable".
	fetches := srv.fetches.Load()
	for range 5 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.fetches.Load(); got != fetches {
		t.Errorf("JWKS fetches = %d after cached verifications, want %d", got, fetches)
	}
	_, err = v.Verify(t.Context(), ecSigner(1, "unknown").sign(t, srv.claims()))
	if code, reason := reasonOf(t, err); code != reroute.CodeUnauthenticated || reason != "invalid_token" {
		t.Errorf("unknown key id: %s/%s", code, reason)
	}
	if got := srv.fetches.Load(); got != fetches+1 {
		t.Errorf("JWKS fetches = %d after an unknown key id, want %d (one refresh)", got, fetches+1)
	}
}

// A key set that does not answer at all holds neither the constructor nor API
// keys; a token waits for the fetch under way only as long as its context allows,
// and works once the fetch completes.
func TestVerifyWhileJWKSHangs(t *testing.T) {
	t.Parallel()
	k := rsaSigner(0, "k")
	srv := newJWKSServer(t, k)
	release := make(chan struct{})
	arrived := make(chan struct{}, 100)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		http.Redirect(w, r, srv.URL+"/keys", http.StatusFound)
	}))
	defer hang.Close()
	defer close(release)

	// A client without a timeout: were the constructor to wait for the key set, it
	// would not return before release.
	v, err := auth.NewJWTVerifier(t.Context(), auth.JWTConfig{Issuer: srv.URL, Audience: testAudience, JWKSURL: hang.URL}, hang.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	<-arrived // the fetch is under way, and stays so until release

	key, secret := newKey(t, "k", reroute.ScopeRead, time.Time{})
	a := auth.NewAuthenticator(v, newMemKeys(key), nil, nil, nil)
	if c, err := a.Authenticate(t.Context(), "Bearer "+secret); err != nil || !c.IsKey() {
		t.Fatalf("API key while the JWKS hangs: %+v, %v", c, err)
	}
	tok := k.sign(t, srv.claims())
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	_, err = a.Authenticate(ctx, "Bearer "+tok)
	cancel()
	if code, reason := reasonOf(t, err); code != reroute.CodeUnavailable || reason != "issuer_unavailable" {
		t.Fatalf("token while the JWKS hangs: %s/%s", code, reason)
	}

	release <- struct{}{} // answers the fetch under way (or, were it timed out, the next)
	eventually(t, "a token verified once the key set answers", func() bool {
		c, err := a.Authenticate(t.Context(), "Bearer "+tok)
		if err != nil && reroute.ErrorCode(err) != reroute.CodeUnavailable {
			t.Fatalf("while the keys load: %v", err)
		}
		return err == nil && c.Email == "ann@example.com"
	})
}

// Which issuers say an email is verified, and how.
func TestVerifyEmailVerifiedSettings(t *testing.T) {
	t.Parallel()
	rs := rsaSigner(0, "rsa-1")
	srv := newJWKSServer(t, rs)
	strict := newVerifier(t, srv, auth.JWTConfig{})
	optional := newVerifier(t, srv, auth.JWTConfig{EmailVerifiedOptional: true})
	entra := newVerifier(t, srv, auth.JWTConfig{EmailVerifiedClaim: "xms_edov"})

	absent := func(c jwt.MapClaims) { delete(c, "email_verified") }
	tests := []struct {
		name   string
		v      *auth.JWTVerifier
		change func(c jwt.MapClaims)
		ok     bool
	}{
		{"required, true", strict, func(jwt.MapClaims) {}, true},
		{"required, absent", strict, absent, false},
		{"optional, absent", optional, absent, true},
		{"optional, true", optional, func(jwt.MapClaims) {}, true},
		{"optional, string true", optional, func(c jwt.MapClaims) { c["email_verified"] = "true" }, true},
		{"optional, false", optional, func(c jwt.MapClaims) { c["email_verified"] = false }, false},
		{"optional, string false", optional, func(c jwt.MapClaims) { c["email_verified"] = "false" }, false},
		{"optional, null", optional, func(c jwt.MapClaims) { c["email_verified"] = nil }, false},
		{"other claim, true", entra, func(c jwt.MapClaims) { absent(c); c["xms_edov"] = true }, true},
		{"other claim, false", entra, func(c jwt.MapClaims) { c["xms_edov"] = false }, false},
		{"other claim absent, email_verified true", entra, func(jwt.MapClaims) {}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := srv.claims()
			tt.change(c)
			email, err := tt.v.Verify(t.Context(), rs.sign(t, c))
			if tt.ok {
				if err != nil || email != "ann@example.com" {
					t.Fatalf("Verify = %q, %v", email, err)
				}
				return
			}
			if code, reason := reasonOf(t, err); code != reroute.CodeForbidden || reason != "email_not_verified" {
				t.Fatalf("error = %s/%s, want forbidden/email_not_verified", code, reason)
			}
			var e *reroute.Error
			if errors.As(err, &e); !strings.Contains(e.Message, "not verified") {
				t.Errorf("message %q does not say the email is not verified", e.Message)
			}
		})
	}
}
