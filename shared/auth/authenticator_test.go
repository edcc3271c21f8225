package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// fakeVerifier accepts the token "good-jwt" as ann@example.com; "unverified-jwt" has
// an unverified email, and "early-jwt" comes before the issuer's keys.
type fakeVerifier struct{ err error }

func (f fakeVerifier) Verify(_ context.Context, token string) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	switch token {
	case "good-jwt":
		return "ann@example.com", nil
	case "unverified-jwt":
		return "", &reroute.Error{Code: reroute.CodeForbidden, Reason: "email_not_verified", Message: "not verified"}
	case "early-jwt":
		return "", &reroute.Error{Code: reroute.CodeUnavailable, Reason: "issuer_unavailable", Message: "try again"}
	}
	return "", &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "invalid_token", Message: "the token is not valid"}
}

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newKey makes a key of org-1 with the given scope and expiry, and its secret.
func newKey(t testing.TB, id string, scope reroute.Scope, expires time.Time) (reroute.APIKey, string) {
	t.Helper()
	secret, hash, hint, err := reroute.NewAPIKeySecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return reroute.APIKey{ID: id, OrgID: "org-1", Name: id, Scope: scope, Hash: hash, Hint: hint,
		CreatedBy: "ann@example.com", CreatedAt: t0.Add(-time.Hour), ExpiresAt: expires}, secret
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	readKey, readSecret := newKey(t, "k-read", reroute.ScopeRead, time.Time{})
	writeKey, writeSecret := newKey(t, "k-write", reroute.ScopeWrite, t0.Add(time.Hour))
	expiredKey, expiredSecret := newKey(t, "k-expired", reroute.ScopeWrite, t0)
	unknownSecret, _, _, _ := reroute.NewAPIKeySecret(rand.Reader)

	tests := []struct {
		name    string
		header  string
		email   string // a user
		keyID   string // or a key
		code    reroute.Code
		reason  string
		lookups int // store lookups made
	}{
		{"read key", "Bearer " + readSecret, "", "k-read", "", "", 1},
		{"write key", "Bearer " + writeSecret, "", "k-write", "", "", 1},
		{"scheme case-insensitive", "bearer " + readSecret, "", "k-read", "", "", 1},
		{"scheme upper case", "BEARER " + readSecret, "", "k-read", "", "", 1},
		{"spaces around", "  Bearer   " + readSecret + " ", "", "k-read", "", "", 1},
		{"expired key", "Bearer " + expiredSecret, "", "", reroute.CodeUnauthenticated, "api_key_expired", 1},
		{"unknown key", "Bearer " + unknownSecret, "", "", reroute.CodeUnauthenticated, "invalid_api_key", 1},
		{"malformed key", "Bearer drr_short", "", "", reroute.CodeUnauthenticated, "invalid_api_key", 0},
		{"key with a bad character", "Bearer " + readSecret[:len(readSecret)-1] + "+", "", "", reroute.CodeUnauthenticated, "invalid_api_key", 0},
		{"key too long", "Bearer " + readSecret + "x", "", "", reroute.CodeUnauthenticated, "invalid_api_key", 0},
		{"user token", "Bearer good-jwt", "ann@example.com", "", "", "", 0},
		{"bad user token", "Bearer bad-jwt", "", "", reroute.CodeUnauthenticated, "invalid_token", 0},
		{"unverified email", "Bearer unverified-jwt", "", "", reroute.CodeForbidden, "email_not_verified", 0},
		{"issuer keys not loaded", "Bearer early-jwt", "", "", reroute.CodeUnavailable, "issuer_unavailable", 0},
		{"no header", "", "", "", reroute.CodeUnauthenticated, "missing_token", 0},
		{"scheme only", "Bearer", "", "", reroute.CodeUnauthenticated, "missing_token", 0},
		{"scheme and space", "Bearer ", "", "", reroute.CodeUnauthenticated, "missing_token", 0},
		{"other scheme", "Basic " + readSecret, "", "", reroute.CodeUnauthenticated, "missing_token", 0},
		{"no scheme", readSecret, "", "", reroute.CodeUnauthenticated, "missing_token", 0},
		{"two tokens", "Bearer good-jwt other", "", "", reroute.CodeUnauthenticated, "missing_token", 0},
		{"scheme glued", "Bearergood-jwt", "", "", reroute.CodeUnauthenticated, "missing_token", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemKeys(readKey, writeKey, expiredKey)
			a := auth.NewAuthenticator(fakeVerifier{}, store, nil, func() time.Time { return t0 }, nil)
			c, err := a.Authenticate(t.Context(), tt.header)
			if gets, _ := store.counts(); gets != tt.lookups {
				t.Errorf("store lookups = %d, want %d", gets, tt.lookups)
			}
			if tt.code != "" {
				if err == nil {
					t.Fatalf("Authenticate = %+v, want an error", c)
				}
				if code, reason := reasonOf(t, err); code != tt.code || reason != tt.reason {
					t.Fatalf("error = %s/%s, want %s/%s", code, reason, tt.code, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if c.Email != tt.email {
				t.Errorf("Email = %q, want %q", c.Email, tt.email)
			}
			switch {
			case tt.keyID == "" && c.IsKey():
				t.Errorf("caller is key %s, want a user", c.Key.ID)
			case tt.keyID != "" && (!c.IsKey() || c.Key.ID != tt.keyID || c.Key.OrgID != "org-1"):
				t.Errorf("caller = %+v, want key %s of org-1", c, tt.keyID)
			}
		})
	}
}

func TestAuthenticateStoreUnavailable(t *testing.T) {
	t.Parallel()
	k, secret := newKey(t, "k", reroute.ScopeRead, time.Time{})
	store := newMemKeys(k)
	unavailable := &reroute.Error{Code: reroute.CodeUnavailable, Reason: "store_unavailable", Message: "try again"}
	store.getErr = unavailable
	a := auth.NewAuthenticator(fakeVerifier{}, store, nil, nil, nil)
	_, err := a.Authenticate(t.Context(), "Bearer "+secret)
	if reroute.ErrorCode(err) != reroute.CodeUnavailable || !errors.Is(err, unavailable) {
		t.Fatalf("error = %v (code %s), want the store's unavailable error", err, reroute.ErrorCode(err))
	}
}

func TestAuthenticateVerifierError(t *testing.T) {
	t.Parallel()
	// A verifier failing with a plain error is still a refusal, never a 500.
	a := auth.NewAuthenticator(fakeVerifier{err: errors.New("boom")}, newMemKeys(), nil, nil, nil)
	_, err := a.Authenticate(t.Context(), "Bearer some-jwt")
	if code, reason := reasonOf(t, err); code != reroute.CodeUnauthenticated || reason != "invalid_token" {
		t.Fatalf("error = %s/%s", code, reason)
	}
	// No verifier: user tokens are refused, keys still work.
	k, secret := newKey(t, "k", reroute.ScopeRead, time.Time{})
	a = auth.NewAuthenticator(nil, newMemKeys(k), nil, nil, nil)
	if _, err := a.Authenticate(t.Context(), "Bearer some-jwt"); reroute.ErrorCode(err) != reroute.CodeUnauthenticated {
		t.Fatalf("error = %v", err)
	}
	if c, err := a.Authenticate(t.Context(), "Bearer "+secret); err != nil || !c.IsKey() {
		t.Fatalf("Authenticate = %+v, %v", c, err)
	}
}

// A key's use is recorded at most once a minute per process, and not when the
// store already has a use from the last minute.
func TestAuthenticateTouch(t *testing.T) {
	t.Parallel()
	k, secret := newKey(t, "k", reroute.ScopeWrite, time.Time{})
	other, otherSecret := newKey(t, "other", reroute.ScopeRead, time.Time{})
	steps := []struct {
		advance time.Duration
		secret  string
		touches int // in total after the step
	}{
		{0, secret, 1},                     // first use
		{0, secret, 1},                     // same instant
		{30 * time.Second, secret, 1},      // within the minute
		{0, otherSecret, 2},                // another key has its own minute
		{29 * time.Second, secret, 2},      // 59s after the first: still not
		{time.Second, secret, 3},           // a minute after the first
		{0, "bad-jwt", 3},                  // refusals touch nothing
		{0, "drr_not-a-real-key", 3},       //
		{0, "good-jwt", 3},                 // users have nothing to touch
		{10 * time.Minute, otherSecret, 4}, //
		{59 * time.Second, otherSecret, 4}, //
		{time.Second, otherSecret, 5},      //
	}
	// With a store that records uses, and with one whose writes fail (then only
	// the process's own memory bounds the touches).
	for _, failing := range []bool{false, true} {
		store := newMemKeys(k, other)
		if failing {
			store.touchErr = errors.New("write failed")
		}
		clk := &clock{t: t0}
		a := auth.NewAuthenticator(fakeVerifier{}, store, nil, clk.now, nil)
		for i, s := range steps {
			clk.add(s.advance)
			_, _ = a.Authenticate(t.Context(), "Bearer "+s.secret)
			if _, got := store.counts(); got != s.touches {
				t.Fatalf("failing=%v step %d (+%v, %s…): touches = %d, want %d", failing, i, s.advance, s.secret[:6], got, s.touches)
			}
		}
		if failing {
			continue
		}
		// A fresh process (another Lambda) sees the store's last use and does not touch.
		fresh := auth.NewAuthenticator(fakeVerifier{}, store, nil, clk.now, nil)
		_, before := store.counts()
		if _, err := fresh.Authenticate(t.Context(), "Bearer "+otherSecret); err != nil {
			t.Fatal(err)
		}
		if _, after := store.counts(); after != before {
			t.Error("a fresh authenticator touched a key the store says was just used")
		}
	}
}

// A failure to record the use does not fail the request, and the log carries no secret.
func TestAuthenticateTouchFailure(t *testing.T) {
	t.Parallel()
	k, secret := newKey(t, "k", reroute.ScopeWrite, time.Time{})
	store := newMemKeys(k)
	store.touchErr = &reroute.Error{Code: reroute.CodeUnavailable, Reason: "store_unavailable", Message: "try again"}
	var logs bytes.Buffer
	a := auth.NewAuthenticator(fakeVerifier{}, store, nil, func() time.Time { return t0 }, slog.New(slog.NewJSONHandler(&logs, nil)))
	c, err := a.Authenticate(t.Context(), "Bearer "+secret)
	if err != nil || !c.IsKey() {
		t.Fatalf("Authenticate = %+v, %v", c, err)
	}
	if !strings.Contains(logs.String(), `"keyId":"k"`) || !strings.Contains(logs.String(), "WARN") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), secret[len(reroute.APIKeyPrefix):]) {
		t.Errorf("the log carries the secret: %s", logs.String())
	}
}

// The keys the API makes (reroute.NewAPIKeySecret) are the keys accepted here.
func TestAuthenticateAcceptsDomainKeys(t *testing.T) {
	t.Parallel()
	for range 20 {
		secret, hash, hint, err := reroute.NewAPIKeySecret(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k := reroute.APIKey{ID: "k", OrgID: "org-1", Scope: reroute.ScopeRead, Hash: hash, Hint: hint}
		a := auth.NewAuthenticator(nil, newMemKeys(k), nil, nil, nil)
		if c, err := a.Authenticate(t.Context(), "Bearer "+secret); err != nil || !c.IsKey() {
			t.Fatalf("Authenticate = %+v, %v", c, err)
		}
	}
}
