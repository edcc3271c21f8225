package reroute_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Seeds shared by the host fuzzers; more live in testdata/fuzz/<FuzzName>/.
var hostSeeds = []string{
	"example.com", "WWW.Example.COM.", "*.example.com", "*.EXAMPLE.com.", "a.*.example.com", "*example.com",
	"**.example.com", "*.com", "bücher.example", "例え.テスト", "xn--bcher-kva.example", "xn--zz.example.com",
	"ＥＸＡＭＰＬＥ.com", "example.com。", "ä.example.com。", "192.0.2.1", "[::1]:443", "::1", "example.123",
	"0x7f.0x1", "localhost", "a.localhost", "_dmarc.example.com", "-a.example.com", "a-.example.com",
	"example.com:443", "https://example.com/path", " example.com ", "exa\xffmple.com", "a..example.com",
	label63 + ".example.com", label64 + ".example.com", host253, host254, "*." + base251,
}

// checkCanonicalHost asserts the shape of a host NormalizeHost returned.
func checkCanonicalHost(t *testing.T, in, n string) {
	t.Helper()
	if len(n) > 253 {
		t.Fatalf("NormalizeHost(%q) = %q: %d bytes, over 253", in, n, len(n))
	}
	base, _ := strings.CutPrefix(n, "*.")
	labels := strings.Split(base, ".")
	if len(labels) < 2 {
		t.Fatalf("NormalizeHost(%q) = %q: fewer than two labels", in, n)
	}
	for _, l := range labels {
		if len(l) < 1 || len(l) > 63 {
			t.Fatalf("NormalizeHost(%q) = %q: label %q of %d bytes", in, n, l, len(l))
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			t.Fatalf("NormalizeHost(%q) = %q: label %q starts or ends with a hyphen", in, n, l)
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				t.Fatalf("NormalizeHost(%q) = %q: byte %q is not [a-z0-9.-]", in, n, c)
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" || tld == "localhost" {
		t.Fatalf("NormalizeHost(%q) = %q: last label %q cannot be routed", in, n, tld)
	}
}

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range hostSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := reroute.NormalizeHost(in)
		if err != nil {
			if n != "" {
				t.Fatalf("NormalizeHost(%q) = %q and an error", in, n)
			}
			if err.Error() == "" {
				t.Fatalf("NormalizeHost(%q): empty error text", in)
			}
			return
		}
		checkCanonicalHost(t, in, n)
		again, err := reroute.NormalizeHost(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeHost(%q) = %q, but NormalizeHost(%q) = %q, %v", in, n, n, again, err)
		}
		if !reroute.IsWildcard(n) {
			if got := reroute.LookupHost(n); got != n {
				t.Fatalf("LookupHost(%q) = %q, want it unchanged", n, got)
			}
			if c := reroute.Candidates(n); c[0] != n {
				t.Fatalf("Candidates(%q) = %q, want the exact name first", n, c)
			}
			return
		}
		// A wildcard covers a name one label deeper, which is a valid route host
		// that lists the wildcard as its first wildcard candidate; not its base.
		deeper := "a" + n[1:]
		if got, err := reroute.NormalizeHost(deeper); err != nil || got != deeper {
			t.Fatalf("NormalizeHost(%q) = %q, %v, want it valid and unchanged", deeper, got, err)
		}
		if !reroute.WildcardMatches(n, deeper) || reroute.WildcardMatches(n, n[2:]) {
			t.Fatalf("WildcardMatches(%q) is wrong for %q or %q", n, deeper, n[2:])
		}
		if c := reroute.Candidates(deeper); len(c) < 2 || c[1] != n {
			t.Fatalf("Candidates(%q) = %q, want %q second", deeper, c, n)
		}
	})
}

func FuzzLookupHost(f *testing.F) {
	for _, s := range hostSeeds {
		f.Add(s)
	}
	for _, s := range []string{"Mixed.Case.example.com:443", "example.com.:8080", "[2001:db8::1]:443", ":443", "example.com:1:2", "BÜCHER.example:443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := reroute.LookupHost(header)
		if got != "" {
			if len(got) > 253 {
				t.Fatalf("LookupHost(%q) = %q: over 253 bytes", header, got)
			}
			for _, l := range strings.Split(got, ".") {
				if len(l) < 1 || len(l) > 63 {
					t.Fatalf("LookupHost(%q) = %q: label %q of %d bytes", header, got, l, len(l))
				}
				for i := 0; i < len(l); i++ {
					if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
						t.Fatalf("LookupHost(%q) = %q: byte %q is not [a-z0-9.-]", header, got, c)
					}
				}
			}
			if again := reroute.LookupHost(got); again != got {
				t.Fatalf("LookupHost(%q) = %q, but LookupHost(%q) = %q", header, got, got, again)
			}
			c := reroute.Candidates(got)
			if c[0] != got {
				t.Fatalf("Candidates(%q) = %q, want the exact name first", got, c)
			}
			for i, w := range c[1:] {
				if !reroute.WildcardMatches(w, got) || i > 0 && len(w) >= len(c[i]) {
					t.Fatalf("Candidates(%q) = %q: %q out of order or not matching", got, c, w)
				}
			}
		}
		// A header spelling a routable name finds the route stored for that name.
		if len(header) <= 253 && header == strings.TrimSpace(header) {
			if n, err := reroute.NormalizeHost(header); err == nil && !reroute.IsWildcard(n) && got != n {
				t.Fatalf("LookupHost(%q) = %q, but the route is stored as %q", header, got, n)
			}
		}
	})
}

func FuzzNormalizeTarget(f *testing.F) {
	for _, s := range []string{
		"https://example.com/", "HTTP://Example.COM./a/b?c=d#e", "https://bücher.example/ä?q=é#ß",
		"http://[2001:db8::1]:8080/x", "http://192.0.2.1:80", "http://[fe80::1%25en0]/", "https://user:pw@example.com/",
		"https://example.com/a%2Fb%20c?x=%26y#f%20g", "https://example.com/%zz", "https://example.com:/",
		"https://example.com:65536/", "ftp://example.com/", "javascript:alert(1)", "//example.com", "https:example.com",
		"https://example.com/\r\nSet-Cookie: a=b", "https://example.com/\xff?\xfe#\xfd", "https://exa%FFmple.com/",
		"https://example.com/?", "https://example.com/#", "https://example.com/%7E?%7E#%7E", "http://a/;x", "http://[::1]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := reroute.NormalizeTarget(in)
		if err != nil {
			if out != "" {
				t.Fatalf("NormalizeTarget(%q) = %q and an error", in, out)
			}
			return
		}
		if len(out) > reroute.MaxTargetLen {
			t.Fatalf("NormalizeTarget(%q) = %q: %d bytes", in, out, len(out))
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("NormalizeTarget(%q) = %q: byte %#x cannot go in a Location header", in, out, c)
			}
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("NormalizeTarget(%q) = %q, which does not parse: %v", in, out, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("NormalizeTarget(%q) = %q: scheme %q, host %q, user %v, opaque %q", in, out, u.Scheme, u.Host, u.User, u.Opaque)
		}
		if !utf8.ValidString(u.Hostname()) {
			t.Fatalf("NormalizeTarget(%q) = %q: host is not UTF-8", in, out)
		}
		again, err := reroute.NormalizeTarget(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeTarget(%q) = %q, but NormalizeTarget(%q) = %q, %v", in, out, out, again, err)
		}
	})
}
