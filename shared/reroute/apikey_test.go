package reroute_test

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// counting returns the bytes 0, 1, 2, ...
func counting(n int) *bytes.Reader {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return bytes.NewReader(b)
}

func TestNewAPIKeySecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		rand                    *bytes.Reader
		secret, hash, hint, err string
	}{
		{"known bytes", counting(32),
			"drr_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
			"5753259b610087735d3cac1db79fa8f26d06ccbc31d6b0713c312f03b2d90089", "dHh8", ""},
		{"short read", counting(31), "", "", "", "too few random bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secret, hash, hint, err := reroute.NewAPIKeySecret(tt.rand)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("NewAPIKeySecret = %q, want an error (%s)", secret, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if secret != tt.secret || hash != tt.hash || hint != tt.hint {
				t.Errorf("NewAPIKeySecret = %q, %q, %q; want %q, %q, %q", secret, hash, hint, tt.secret, tt.hash, tt.hint)
			}
			if got := reroute.HashAPIKey(secret); got != hash {
				t.Errorf("HashAPIKey = %q, want %q", got, hash)
			}
		})
	}
}

func TestNewAPIKeySecretRandom(t *testing.T) {
	t.Parallel()
	format := regexp.MustCompile(`^drr_[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 100 {
		secret, hash, hint, err := reroute.NewAPIKeySecret(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !format.MatchString(secret) || !strings.HasPrefix(secret, reroute.APIKeyPrefix) {
			t.Fatalf("secret %q has the wrong form", secret)
		}
		if len(hash) != 64 || hint != secret[len(secret)-4:] {
			t.Fatalf("hash %q, hint %q", hash, hint)
		}
		if seen[secret] {
			t.Fatal("a secret repeated")
		}
		seen[secret] = true
	}
}
