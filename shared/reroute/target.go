package reroute

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxTargetLen bounds a target URL, well under what browsers and CDNs accept.
const MaxTargetLen = 2048

// NormalizeTarget validates a redirect target and returns its canonical form: an
// absolute http or https URL with a lowercase scheme and a punycode host, its path
// and query escaped as a Location header needs them.
func NormalizeTarget(target string) (string, error) {
	if target == "" {
		return "", errors.New("a target URL is required")
	}
	if len(target) > MaxTargetLen {
		return "", fmt.Errorf("a target URL is at most %d bytes", MaxTargetLen)
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f || (c >= 0x80 && c <= 0x9f) {
			return "", errors.New("a target URL cannot contain spaces or control characters (percent-encode them)")
		}
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("the target is not a valid URL: %s", urlReason(err))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New(`a target must be an absolute http:// or https:// URL`)
	}
	if u.Opaque != "" || u.Host == "" {
		return "", errors.New(`a target must name a host, as in "https://www.example.com/"`)
	}
	if u.User != nil {
		return "", errors.New("a target cannot carry a user name or password")
	}
	host, err := targetHost(u.Hostname())
	if err != nil {
		return "", err
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", errors.New("the target's port must be between 1 and 65535")
		}
		host += ":" + port
	} else if strings.HasSuffix(u.Host, ":") {
		return "", errors.New("the target's port is empty")
	}
	u.Host = host
	u.RawQuery = escapeNonASCII(u.RawQuery) // url.Parse keeps the query as given
	out := u.String()
	if len(out) > MaxTargetLen {
		return "", fmt.Errorf("a target URL is at most %d bytes once encoded", MaxTargetLen)
	}
	return out, nil
}

// targetHost accepts any hostname a browser can reach, IP literals included.
func targetHost(h string) (string, error) {
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return "", errors.New("the target's IP address cannot carry a zone")
		}
		if ip.Is6() {
			return "[" + ip.String() + "]", nil
		}
		return ip.String(), nil
	}
	h = strings.TrimSuffix(h, ".")
	ascii, err := toASCII(h)
	if err != nil || ascii == "" {
		return "", fmt.Errorf("the target's host %q is not a valid hostname", h)
	}
	if len(ascii) > maxHostLen {
		return "", fmt.Errorf("the target's host is at most %d characters", maxHostLen)
	}
	if !isCanonicalASCII(ascii) { // an empty label ("a..b", "..") or one over 63 bytes
		return "", fmt.Errorf("the target's host %q is not a valid hostname", h)
	}
	return ascii, nil
}

// escapeNonASCII percent-encodes the bytes a Location header cannot carry raw; the
// caller has already refused spaces and control characters.
func escapeNonASCII(s string) string {
	if isASCII(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func urlReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// checkLoop refuses a target that would come back to the same route, or go to the
// service's own redirect hostname, where it could only end in "not configured".
func (rules Rules) checkLoop(routeHost, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	th := u.Hostname()
	switch {
	case th == routeHost:
		return errors.New("the target points back at the route's own host: it would redirect forever")
	case IsWildcard(routeHost) && WildcardMatches(routeHost, th):
		return fmt.Errorf("the target's host %s is covered by %s: it would redirect forever", th, routeHost)
	case rules.ServiceHost != "" && th == rules.ServiceHost:
		return errors.New("the target cannot be the service's own hostname")
	}
	return nil
}
