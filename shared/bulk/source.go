package bulk

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// A source URL holds what Cloudflare's source URLs may hold: an optional http or
// https scheme, a host and a path; no user information, port, query string or
// fragment, which Cloudflare refuses too.
// https://developers.cloudflare.com/rules/url-forwarding/bulk-redirects/reference/url-components/
//
// The scheme is dropped: a route answers both schemes (Cloudflare would let
// "http://a.example/x" and "https://a.example/x" be two redirects; here they are
// the same rule, and a file naming both is refused as a duplicate).

// splitSource splits a source URL into its raw host and its canonical path ("/"
// when it has none).
func splitSource(s string) (host, path string, err error) {
	if len(s) > MaxSourceLen {
		return "", "", fmt.Errorf("a source URL is at most %d bytes", MaxSourceLen)
	}
	if i := strings.Index(s, "://"); i >= 0 && !strings.ContainsAny(s[:i], "/?#") {
		switch strings.ToLower(s[:i]) {
		case "http", "https":
			s = s[i+3:]
		default:
			return "", "", errors.New("a source URL's scheme is http or https, or none")
		}
	}
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	host, path = s[:end], s[end:]
	switch {
	case host == "":
		return "", "", errors.New(`a source URL starts with a hostname, as in "example.com/path"`)
	case strings.Contains(host, "@"):
		return "", "", errors.New("a source URL cannot carry a user name or password")
	case strings.Contains(host, ":"):
		return "", "", errors.New("a source URL cannot carry a port")
	case strings.Contains(path, "?"):
		return "", "", errors.New("a source URL cannot include a query string: Cloudflare Bulk Redirects match paths only")
	case strings.Contains(path, "#"):
		return "", "", errors.New("a source URL cannot include a fragment (#...): browsers never send one")
	}
	if path == "" {
		return host, "/", nil
	}
	path, err = CanonicalPath(path)
	return host, path, err
}

// CanonicalPath validates a rule's source path and returns it as a request
// carries it, in one form for all the ways of writing it (RFC 3986, section
// 6.2.2): escapes of unreserved characters decoded ("%41" is "A"), other
// escapes in uppercase hex ("%c3%a9" is "%C3%A9"), and characters a URL cannot
// carry as they are escaped ("café" is "caf%C3%A9"). Spaces and control
// characters are refused, as they are in targets. A path already canonical is
// returned without allocating.
func CanonicalPath(p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", errors.New(`a source path starts with "/"`)
	}
	var b []byte // nil until the path differs from p
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c <= ' ' || c == 0x7f:
			return "", errors.New("a source URL cannot contain spaces or control characters (percent-encode them)")
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", errors.New(`a source URL has a "%" that does not start an escape such as "%20"`)
			}
			d := unhex(p[i+1])<<4 | unhex(p[i+2])
			switch {
			case isUnreserved(d):
				b = grow(b, p, i)
				b = append(b, d)
			case isUpperHex(p[i+1]) && isUpperHex(p[i+2]):
				if b != nil {
					b = append(b, p[i:i+3]...)
				}
			default:
				b = grow(b, p, i)
				b = append(b, '%', upperHex[d>>4], upperHex[d&15])
			}
			i += 2
		case isPathChar(c):
			if b != nil {
				b = append(b, c)
			}
		default:
			b = grow(b, p, i)
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	if b == nil {
		return p, nil
	}
	if len(b) > MaxSourceLen {
		return "", fmt.Errorf("a source path is at most %d bytes once percent-encoded", MaxSourceLen)
	}
	return string(b), nil
}

// grow starts the rewritten path with p's first i bytes, the first time.
func grow(b []byte, p string, i int) []byte {
	if b != nil {
		return b
	}
	return append(make([]byte, 0, len(p)+16), p[:i]...)
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool      { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isUnreserved: RFC 3986's unreserved characters, never escaped in canonical form.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// isPathChar: what a path may carry unescaped (RFC 3986 pchar and "/").
func isPathChar(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '/', ':', '@', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

// hostCache normalizes each distinct host of a file once: a file lists
// thousands of paths of a few hosts, and IDNA mapping is the costly part.
type hostCache map[string]hostResult

type hostResult struct {
	host string
	err  error
}

func (c hostCache) normalize(raw string) (string, error) {
	if r, ok := c[raw]; ok {
		return r.host, r.err
	}
	h, err := reroute.NormalizeHost(raw)
	c[raw] = hostResult{h, err}
	return h, err
}
