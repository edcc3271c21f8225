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

// CanonicalPath validates a rule's source path and returns it in the one form
// the redirector matches request paths in (reroute.NormalizeSource), so that a
// rule imported from a file matches what the same rule made through the API does.
func CanonicalPath(p string) (string, error) {
	return reroute.NormalizeSource(p)
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
