package auth

import "github.com/dnsreroute/dnsreroute/shared/reroute"

const (
	apiKeySecretBytes = 32
	// apiKeyLen is the length of a secret: the prefix and 32 bytes in unpadded base64url.
	apiKeyLen = len(reroute.APIKeyPrefix) + (apiKeySecretBytes*8+5)/6
)

// wellFormedAPIKey reports whether s could be a secret reroute.NewAPIKeySecret made, so that
// garbage is refused without a store lookup.
func wellFormedAPIKey(s string) bool {
	if len(s) != apiKeyLen || s[:len(reroute.APIKeyPrefix)] != reroute.APIKeyPrefix {
		return false
	}
	for i := len(reroute.APIKeyPrefix); i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
