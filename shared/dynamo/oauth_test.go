package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const testClient = "app_AAAAAAAAAAAAAAAAAAAAAA"

func oauthToken(kind reroute.OAuthTokenKind, id, request string) reroute.OAuthToken {
	return reroute.OAuthToken{Kind: kind, Hash: hashOf(id), RequestID: request, ClientID: testClient, OrgID: "org1",
		Email: "ann@example.com", Scopes: []string{"routes:read"}, Active: true, ExpiresAt: time.Now().Add(time.Hour), Data: []byte("{}")}
}

func newOAuthStore(t *testing.T) *dynamo.Store {
	t.Helper()
	s := newStore(t, "org1")
	ctx := context.Background()
	if err := s.CreateOAuthApp(ctx, reroute.OAuthApp{ClientID: testClient, OrgID: "org1", Name: "App", RedirectURIs: []string{"https://a.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutOAuthGrant(ctx, reroute.OAuthGrant{OrgID: "org1", Email: "ann@example.com", ClientID: testClient, AppName: "App", Scopes: []string{"routes:read"}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOAuthTokensOfAnAuthorization: tokens join their authorization, a revoked
// authorization takes them all and admits no new one, and a used code stays
// (inactive) so that its reuse is seen.
func TestOAuthTokensOfAnAuthorization(t *testing.T) {
	s := newOAuthStore(t)
	ctx := context.Background()
	if err := s.CreateOAuthToken(ctx, oauthToken(reroute.OAuthAccess, "orphan", "req-0")); reroute.ErrorCode(err) != reroute.CodeNotFound {
		t.Fatalf("a token of no authorization: %v", err)
	}
	for _, tok := range []reroute.OAuthToken{
		oauthToken(reroute.OAuthCode, "code", "req-1"),
		oauthToken(reroute.OAuthPKCE, "code", "req-1"),
		oauthToken(reroute.OAuthAccess, "at", "req-1"),
		oauthToken(reroute.OAuthRefresh, "rt", "req-1"),
	} {
		if err := s.CreateOAuthToken(ctx, tok); err != nil {
			t.Fatalf("%s: %v", tok.Kind, err)
		}
	}
	if err := s.CreateOAuthToken(ctx, oauthToken(reroute.OAuthCode, "code", "req-1")); reroute.ErrorCode(err) != reroute.CodeConflict {
		t.Fatalf("a code twice: %v", err)
	}
	if err := s.DeactivateOAuthToken(ctx, reroute.OAuthCode, hashOf("code")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeactivateOAuthToken(ctx, reroute.OAuthCode, hashOf("code")); reroute.ErrorCode(err) != reroute.CodeConflict {
		t.Fatalf("a code used twice: %v", err)
	}
	if got, err := s.GetOAuthToken(ctx, reroute.OAuthCode, hashOf("code")); err != nil || got.Active || got.RequestID != "req-1" {
		t.Fatalf("the used code: %+v %v", got, err)
	}
	// Revoking the access tokens only.
	if err := s.RevokeOAuthRequest(ctx, "req-1", reroute.OAuthAccess); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOAuthToken(ctx, reroute.OAuthAccess, hashOf("at")); !reroute.IsNotFound(err) {
		t.Fatalf("the revoked access token: %v", err)
	}
	if _, err := s.GetOAuthToken(ctx, reroute.OAuthRefresh, hashOf("rt")); err != nil {
		t.Fatalf("the refresh token beside it: %v", err)
	}
	// Revoking the grant: every token, and no new one.
	if err := s.RevokeOAuthGrant(ctx, "org1", "ann@example.com", testClient); err != nil {
		t.Fatal(err)
	}
	for _, k := range []reroute.OAuthTokenKind{reroute.OAuthCode, reroute.OAuthPKCE, reroute.OAuthRefresh} {
		if _, err := s.GetOAuthToken(ctx, k, hashOf(map[reroute.OAuthTokenKind]string{reroute.OAuthCode: "code", reroute.OAuthPKCE: "code", reroute.OAuthRefresh: "rt"}[k])); !reroute.IsNotFound(err) {
			t.Fatalf("%s after the grant was revoked: %v", k, err)
		}
	}
	if err := s.CreateOAuthToken(ctx, oauthToken(reroute.OAuthAccess, "at2", "req-1")); !reroute.IsNotFound(err) {
		t.Fatalf("a token of a revoked authorization: %v", err)
	}
	if err := s.CreateOAuthToken(ctx, oauthToken(reroute.OAuthCode, "code2", "req-2")); !reroute.IsNotFound(err) {
		t.Fatalf("a code of a revoked grant: %v", err)
	}
	if err := s.RevokeOAuthGrant(ctx, "org1", "ann@example.com", testClient); !reroute.IsNotFound(err) {
		t.Fatalf("revoking twice: %v", err)
	}
}

// TestOAuthExpiredTokenIsGone: a token past its expiry that the TTL has not
// removed yet reads as missing.
func TestOAuthExpiredTokenIsGone(t *testing.T) {
	s := newOAuthStore(t)
	ctx := context.Background()
	code := oauthToken(reroute.OAuthCode, "c", "req-9")
	code.ExpiresAt = time.Now().Add(-time.Second)
	if err := s.CreateOAuthToken(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOAuthToken(ctx, reroute.OAuthCode, hashOf("c")); !reroute.IsNotFound(err) {
		t.Fatalf("an expired code: %v", err)
	}
}

// TestOAuthAppDeleteRevokesGrants: deleting an app takes its grants and their
// tokens, in every org; another org cannot delete it.
func TestOAuthAppDeleteRevokesGrants(t *testing.T) {
	s := newOAuthStore(t)
	ctx := context.Background()
	if err := s.CreateOAuthToken(ctx, oauthToken(reroute.OAuthCode, "c", "req-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOAuthToken(ctx, oauthToken(reroute.OAuthAccess, "at", "req-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOAuthApp(ctx, "org2", testClient); !reroute.IsNotFound(err) {
		t.Fatalf("another org deletes the app: %v", err)
	}
	// GSI1 is eventually consistent: DynamoDB Local's is not, but wait anyway.
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := s.ListOAuthGrants(ctx, "org1", "", reroute.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.DeleteOAuthApp(ctx, "org1", testClient); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOAuthToken(ctx, reroute.OAuthAccess, hashOf("at")); !reroute.IsNotFound(err) {
		t.Fatalf("a deleted app's token: %v", err)
	}
	if p, err := s.ListOAuthGrants(ctx, "org1", "", reroute.PageRequest{}); err != nil || len(p.Items) != 0 {
		t.Fatalf("grants of a deleted app: %+v %v", p, err)
	}
	if _, err := s.GetOAuthApp(ctx, testClient); !reroute.IsNotFound(err) {
		t.Fatalf("the deleted app: %v", err)
	}
}

// TestOAuthOrgDeleteTakesItsApps: deleting an org revokes the grants in it and
// deletes the apps it registered.
func TestOAuthOrgDeleteTakesItsApps(t *testing.T) {
	s := newOAuthStore(t)
	ctx := context.Background()
	if err := s.CreateOAuthToken(ctx, oauthToken(reroute.OAuthCode, "c", "req-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrg(ctx, "org1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOAuthApp(ctx, testClient); !reroute.IsNotFound(err) {
		t.Fatalf("the deleted org's app: %v", err)
	}
	if _, err := s.GetOAuthToken(ctx, reroute.OAuthCode, hashOf("c")); !reroute.IsNotFound(err) {
		t.Fatalf("a code in the deleted org: %v", err)
	}
	if p, err := s.ListOAuthGrants(ctx, "org1", "", reroute.PageRequest{}); err != nil || len(p.Items) != 0 {
		t.Fatalf("grants of the deleted org: %+v %v", p, err)
	}
}

// TestOAuthRotationKeepsTheAuthorizationSmall: each refresh retires the token
// it used, and the authorization forgets it, so an app refreshing for months
// never grows the item toward DynamoDB's 400 KB; a retired token is still
// recognised (inactive) when it comes back.
func TestOAuthRotationKeepsTheAuthorizationSmall(t *testing.T) {
	s := newOAuthStore(t)
	ctx := context.Background()
	for _, tok := range []reroute.OAuthToken{oauthToken(reroute.OAuthCode, "c", "req-r"), oauthToken(reroute.OAuthRefresh, "rt-0", "req-r")} {
		if err := s.CreateOAuthToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	const rotations = 40
	for i := range rotations {
		if err := s.DeactivateOAuthToken(ctx, reroute.OAuthRefresh, hashOf(fmt.Sprintf("rt-%d", i))); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		for _, k := range []reroute.OAuthTokenKind{reroute.OAuthRefresh, reroute.OAuthAccess} {
			if err := s.CreateOAuthToken(ctx, oauthToken(k, fmt.Sprintf("rt-%d", i+1), "req-r")); err != nil {
				t.Fatalf("rotation %d: %v", i, err)
			}
		}
		if err := s.RevokeOAuthRequest(ctx, "req-r", reroute.OAuthAccess); err != nil {
			t.Fatal(err)
		}
	}
	// The code and the one live refresh token.
	if n, err := dynamo.OAuthRequestTokens(s, "req-r"); err != nil || n != 2 {
		t.Fatalf("after %d rotations the authorization holds %d tokens (%v), want 2", rotations, n, err)
	}
	if got, err := s.GetOAuthToken(ctx, reroute.OAuthRefresh, hashOf("rt-3")); err != nil || got.Active {
		t.Fatalf("a retired refresh token: %+v %v", got, err)
	}
	// Revoking the authorization still takes the live one.
	if err := s.RevokeOAuthRequest(ctx, "req-r"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOAuthToken(ctx, reroute.OAuthRefresh, hashOf(fmt.Sprintf("rt-%d", rotations))); !reroute.IsNotFound(err) {
		t.Fatalf("the live refresh token after revocation: %v", err)
	}
}
