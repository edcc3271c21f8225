package auth_test

import (
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Verifying a token whose key is cached: the cost of every signed-in request.
func BenchmarkVerify(b *testing.B) {
	for _, s := range []signer{rsaSigner(0, "rsa"), ecSigner(0, "ec")} {
		b.Run(s.method.Alg(), func(b *testing.B) {
			srv := newJWKSServer(b, s)
			v := newVerifier(b, srv, auth.JWTConfig{})
			token := s.sign(b, srv.claims())
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
			if got := srv.fetches.Load(); got != 1 {
				b.Fatalf("JWKS fetches = %d, want 1", got)
			}
		})
	}
}

// Authenticating with an API key against an in-memory store (touched once a minute).
func BenchmarkAuthenticateAPIKey(b *testing.B) {
	k, secret := newKey(b, "k", reroute.ScopeWrite, time.Time{})
	a := auth.NewAuthenticator(nil, newMemKeys(k), nil, func() time.Time { return t0 }, nil)
	header := "Bearer " + secret
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, header); err != nil {
			b.Fatal(err)
		}
	}
}
