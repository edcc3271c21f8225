package reroute

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

const (
	maxHostLen  = 253
	maxLabelLen = 63
	// MaxWildcardBaseLabels bounds how deep a wildcard's base may be
	// ("*.a.b.example.com" has a base of 4 labels). With it, Candidates lists at
	// most 100 names whatever the request host, so a route lookup is one
	// DynamoDB BatchGetItem (100 keys at most per call): a Host of 127 one-letter
	// labels costs no more round trips than "www.example.com".
	MaxWildcardBaseLabels = 100
)

// hostProfile is IDNA's lookup profile: it maps (lowercases, width-folds) and applies
// the STD3 rules, so underscores and other characters no certificate may carry are
// refused, and already-encoded "xn--" labels are checked to decode.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
)

// NormalizeHost validates a hostname a customer wants to route and returns its
// canonical form: lowercase, no trailing dot, internationalised labels as punycode.
// A wildcard is allowed only as the whole leftmost label ("*.example.com").
// NormalizeHost(NormalizeHost(h)) == NormalizeHost(h) for every valid h.
func NormalizeHost(host string) (string, error) {
	h := strings.TrimSpace(host)
	if h == "" {
		return "", errors.New("a hostname is required")
	}
	wildcard := false
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		wildcard, h = true, rest
	}
	if strings.Contains(h, "*") {
		return "", errors.New(`a wildcard must be the whole leftmost label, as in "*.example.com"`)
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return "", errors.New("an IP address cannot be routed: use a hostname")
	}
	if strings.ContainsAny(h, ":/?#@[] \t") {
		return "", errors.New("a hostname has no scheme, port, path or spaces: give only the name, as in \"www.example.com\"")
	}
	h = strings.TrimSuffix(h, ".")
	ascii, err := toASCII(h)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid hostname: %s", host, idnaReason(err))
	}
	if err := checkDNSShape(ascii); err != nil {
		if wildcard {
			return "", fmt.Errorf("the wildcard's base is not a valid hostname: %w", err)
		}
		return "", err
	}
	if wildcard {
		if len(ascii)+2 > maxHostLen {
			return "", fmt.Errorf("a hostname is at most %d characters", maxHostLen)
		}
		if strings.Count(ascii, ".")+1 > MaxWildcardBaseLabels {
			return "", fmt.Errorf("a wildcard's base is at most %d labels", MaxWildcardBaseLabels)
		}
		return "*." + ascii, nil
	}
	return ascii, nil
}

// toASCII is hostProfile.ToASCII refusing invalid UTF-8, which the idna package
// would otherwise encode, without an error, as a U+FFFD that no later check accepts.
func toASCII(h string) (string, error) {
	if !utf8.ValidString(h) {
		return "", errors.New("it is not valid UTF-8 text")
	}
	return hostProfile.ToASCII(h)
}

// idnaReason turns the idna package's error into words a customer can act on.
func idnaReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "disallowed rune U+005F"):
		return "underscores are not allowed in hostnames"
	case strings.Contains(msg, "disallowed rune"):
		return "it contains a character hostnames cannot have"
	case strings.Contains(msg, "hyphen"):
		return "a label cannot start or end with a hyphen"
	case strings.Contains(msg, "empty label"):
		return "it has an empty label (two dots in a row?)"
	case strings.Contains(msg, "invalid label"):
		return `a label cannot start or end with a hyphen, nor have "--" in its third and fourth places unless it is valid punycode ("xn--")`
	}
	return msg
}

// checkDNSShape applies the rules DNS and the service add to an ASCII hostname.
func checkDNSShape(h string) error {
	if len(h) > maxHostLen {
		return fmt.Errorf("a hostname is at most %d characters", maxHostLen)
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return errors.New("an IP address cannot be routed: use a hostname")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q needs at least two labels, as in \"example.com\"", h)
	}
	for _, l := range labels {
		if l == "" {
			return errors.New("a hostname cannot have an empty label (two dots in a row?)")
		}
		if len(l) > maxLabelLen {
			return fmt.Errorf("each label of a hostname is at most %d characters", maxLabelLen)
		}
	}
	tld := labels[len(labels)-1]
	// Browsers read a last label that is a decimal or "0x" hex number as an IPv4 address.
	if strings.Trim(tld, "0123456789") == "" || strings.HasPrefix(tld, "0x") && strings.Trim(tld[2:], "0123456789abcdef") == "" {
		return errors.New("the last label cannot be a number (an IP address cannot be routed)")
	}
	if tld == "localhost" {
		return errors.New("localhost names cannot be routed")
	}
	// A public suffix ("co.uk", "github.io") is no one's name: routing it, or a
	// wildcard on it, would capture every customer's domain beneath it.
	if ps, _ := publicsuffix.PublicSuffix(h); ps == h {
		return fmt.Errorf("%s is a public suffix, shared by many owners: route a name registered under it", h)
	}
	return nil
}

// IsWildcard reports whether a normalised host is a wildcard route.
func IsWildcard(host string) bool { return strings.HasPrefix(host, "*.") }

// WildcardMatches reports whether a normalised wildcard ("*.example.com") covers a
// normalised host: any deeper name matches, the base name itself does not.
func WildcardMatches(wildcard, host string) bool {
	base, ok := strings.CutPrefix(wildcard, "*")
	return ok && strings.HasPrefix(base, ".") && len(host) > len(base) && strings.HasSuffix(host, base) && host[len(host)-len(base)-1] != '.'
}

// Candidates lists the route hosts that may answer a request host, best first:
// the exact name, then wildcards from the longest to the shortest. A wildcard's base
// is never a public suffix, so "*.com" and "*.co.uk" are never candidates, nor
// deeper than MaxWildcardBaseLabels, so there are at most MaxWildcardBaseLabels
// candidates (a public suffix has a label at least).
func Candidates(host string) []string {
	out := []string{host}
	ps, _ := publicsuffix.PublicSuffix(host)
	labels := strings.Count(host, ".") + 1
	for i := 0; i < len(host); i++ {
		if host[i] != '.' {
			continue
		}
		labels--
		suffix := host[i+1:]
		if len(suffix) <= len(ps) || !strings.Contains(suffix, ".") {
			break
		}
		if labels > MaxWildcardBaseLabels {
			continue // no route can have a base this deep
		}
		out = append(out, "*."+suffix)
	}
	return out
}

// LookupHost turns a Host header into the form routes are stored under: port and
// trailing dot removed, lowercase, punycode. It returns "" for a value that can be
// no routed host. Hosts already in canonical form are returned without allocating,
// since this runs on every redirect.
func LookupHost(header string) string {
	if len(header) == 0 || len(header) > maxHostLen+7 {
		return ""
	}
	if isCanonicalASCII(header) {
		return header
	}
	h := header
	if h[0] == '[' {
		return "" // an IPv6 literal
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > maxHostLen {
		return ""
	}
	if isASCII(h) {
		h = strings.ToLower(h)
		if !isCanonicalASCII(h) {
			return ""
		}
		return h
	}
	ascii, err := toASCII(h)
	if err != nil || !isCanonicalASCII(ascii) {
		return ""
	}
	return ascii
}

// isCanonicalASCII reports whether h has only lowercase letters, digits, hyphens and
// dots between labels of 1 to 63 bytes, at most 253 in all: the shape and the only
// bytes a stored route host has.
func isCanonicalASCII(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-':
			if label++; label > maxLabelLen {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
