package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const testAudience = "client-123"

// signer is a signing key with its kid and algorithm.
type signer struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

// Keys are made once: RSA generation is slow.
var (
	rsaKeys = sync.OnceValue(func() []*rsa.PrivateKey {
		ks := make([]*rsa.PrivateKey, 3)
		for i := range ks {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			ks[i] = k
		}
		return ks
	})
	ecKeys = sync.OnceValue(func() []*ecdsa.PrivateKey {
		ks := make([]*ecdsa.PrivateKey, 2)
		for i := range ks {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			ks[i] = k
		}
		return ks
	})
)

func rsaSigner(i int, kid string) signer {
	return signer{kid: kid, method: jwt.SigningMethodRS256, key: rsaKeys()[i]}
}

func ecSigner(i int, kid string) signer {
	return signer{kid: kid, method: jwt.SigningMethodES256, key: ecKeys()[i]}
}

// sign makes a token of claims signed by s, with s's kid in its header.
func (s signer) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	str, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return str
}

// jwksServer is an issuer serving a discovery document and a key set that a test
// can change, counting the key set's fetches.
type jwksServer struct {
	*httptest.Server
	mu        sync.Mutex
	keys      []signer
	issuer    string // the discovery document's issuer; the server URL if ""
	jwksURI   string // the discovery document's jwks_uri; the server's /keys if ""
	fetches   atomic.Int64
	jwksFails atomic.Bool // the key set answers 503
	down      atomic.Bool // the discovery document and the key set answer 503
}

func newJWKSServer(t testing.TB, keys ...signer) *jwksServer {
	s := &jwksServer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		iss, uri := s.issuer, s.jwksURI
		s.mu.Unlock()
		if iss == "" {
			iss = s.URL
		}
		if uri == "" {
			uri = s.URL + "/keys"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": uri})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if s.jwksFails.Load() || s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		keys := append([]signer(nil), s.keys...)
		s.mu.Unlock()
		var set jwkset.JWKSMarshal
		for _, k := range keys {
			alg := jwkset.ALG(k.method.Alg())
			jwk, err := jwkset.NewJWKFromKey(k.key.Public(), jwkset.JWKOptions{
				Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: alg, USE: jwkset.UseSig},
			})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			set.Keys = append(set.Keys, jwk.Marshal())
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...signer) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

// claims returns valid claims for this issuer, to be changed by a test.
func (s *jwksServer) claims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":            s.URL,
		"aud":            testAudience,
		"sub":            "user-1",
		"email":          "Ann@Example.com",
		"email_verified": true,
		"iat":            now.Unix(),
		"exp":            now.Add(time.Hour).Unix(),
	}
}

// eventually calls f until it reports true, failing the test when it has not within
// a deadline generous enough for a busy machine.
func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reasonOf returns the code and reason of a domain error, or fails.
func reasonOf(t testing.TB, err error) (reroute.Code, string) {
	t.Helper()
	var e *reroute.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *reroute.Error", err, err)
	}
	return e.Code, e.Reason
}

// memKeys is an in-memory reroute.APIKeyStore.
type memKeys struct {
	mu       sync.Mutex
	byHash   map[string]reroute.APIKey
	gets     int
	touches  []time.Time
	getErr   error
	touchErr error
}

var _ reroute.APIKeyStore = (*memKeys)(nil)

func newMemKeys(keys ...reroute.APIKey) *memKeys {
	m := &memKeys{byHash: make(map[string]reroute.APIKey)}
	for _, k := range keys {
		m.byHash[k.Hash] = k
	}
	return m
}

func (m *memKeys) CreateAPIKey(_ context.Context, k reroute.APIKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byHash[k.Hash]; ok {
		return reroute.Errorf(reroute.CodeConflict, "key_exists", "the key exists")
	}
	m.byHash[k.Hash] = k
	return nil
}

func (m *memKeys) GetAPIKeyByHash(_ context.Context, hash string) (reroute.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.getErr != nil {
		return reroute.APIKey{}, m.getErr
	}
	k, ok := m.byHash[hash]
	if !ok {
		return reroute.APIKey{}, reroute.Errorf(reroute.CodeNotFound, "api_key_not_found", "no such API key")
	}
	return k, nil
}

func (m *memKeys) ListAPIKeys(_ context.Context, orgID string, _ reroute.PageRequest) (reroute.Page[reroute.APIKey], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var p reroute.Page[reroute.APIKey]
	for _, k := range m.byHash {
		if k.OrgID == orgID {
			p.Items = append(p.Items, k)
		}
	}
	return p, nil
}

func (m *memKeys) DeleteAPIKey(_ context.Context, orgID, keyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, k := range m.byHash {
		if k.OrgID == orgID && k.ID == keyID {
			delete(m.byHash, h)
			return nil
		}
	}
	return reroute.Errorf(reroute.CodeNotFound, "api_key_not_found", "no such API key")
}

func (m *memKeys) TouchAPIKey(_ context.Context, hash string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touches = append(m.touches, at)
	if m.touchErr != nil {
		return m.touchErr
	}
	k, ok := m.byHash[hash]
	if !ok {
		return reroute.Errorf(reroute.CodeNotFound, "api_key_not_found", "no such API key")
	}
	if k.LastUsedAt.IsZero() || at.Sub(k.LastUsedAt) >= time.Minute {
		k.LastUsedAt = at
		m.byHash[hash] = k
	}
	return nil
}

func (m *memKeys) counts() (gets, touches int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets, len(m.touches)
}
