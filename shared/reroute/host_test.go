package reroute_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Hostnames at the length limits: labels of 63 and 64 bytes, 253 and 254 in all.
var (
	label63 = strings.Repeat("a", 63)
	label64 = strings.Repeat("a", 64)
	host253 = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	host254 = host253 + "d"
	base251 = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 59)
)

// idnLabelOver63 is 26 characters whose punycode label takes 80 bytes.
const idnLabelOver63 = "日本語漢字仮名平片東京大阪名古屋福岡札幌仙台広島神戸"

func TestLengthFixtures(t *testing.T) {
	if len(label63) != 63 || len(label64) != 64 || len(host253) != 253 || len(host254) != 254 || len(base251) != 251 {
		t.Fatal("length fixtures are wrong")
	}
}

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string // canonical form when valid
		wantErr  string // a substring of the error when invalid
	}{
		// Valid names and their canonical forms.
		{name: "plain", in: "example.com", want: "example.com"},
		{name: "subdomain", in: "www.example.com", want: "www.example.com"},
		{name: "deep", in: "a.b.c.example.co.uk", want: "a.b.c.example.co.uk"},
		{name: "uppercase", in: "WWW.Example.COM", want: "www.example.com"},
		{name: "trailing dot", in: "www.example.com.", want: "www.example.com"},
		{name: "uppercase and trailing dot", in: "Example.COM.", want: "example.com"},
		{name: "surrounding whitespace trimmed", in: " \twww.example.com\n ", want: "www.example.com"},
		{name: "digits and hyphens", in: "a-1.b2-c.example.com", want: "a-1.b2-c.example.com"},
		{name: "numeric inner labels", in: "123.456.example.com", want: "123.456.example.com"},
		{name: "double hyphen not in 3rd and 4th place", in: "a--b.example.com", want: "a--b.example.com"},
		{name: "alphanumeric TLD", in: "example.com1", want: "example.com1"},
		{name: "TLD starting with a digit", in: "example.1com", want: "example.1com"},
		{name: "two one-letter labels", in: "a.b", want: "a.b"},
		{name: "localhost as an inner label", in: "localhost.example.com", want: "localhost.example.com"},
		{name: "registered under a public suffix", in: "shop.co.uk", want: "shop.co.uk"},
		{name: "wildcard under a public suffix", in: "*.shop.co.uk", want: "*.shop.co.uk"},
		{name: "label of 63 bytes", in: label63 + ".example.com", want: label63 + ".example.com"},
		{name: "253 bytes", in: host253, want: host253},
		{name: "253 bytes and a trailing dot", in: host253 + ".", want: host253},

		// Internationalised names become punycode.
		{name: "IDN", in: "bücher.example", want: "xn--bcher-kva.example"},
		{name: "IDN uppercase", in: "BÜCHER.Example", want: "xn--bcher-kva.example"},
		{name: "IDN German", in: "münchen.de", want: "xn--mnchen-3ya.de"},
		{name: "IDN Japanese", in: "例え.テスト", want: "xn--r8jz45g.xn--zckzah"},
		{name: "IDN sharp s kept (non-transitional)", in: "faß.de", want: "xn--fa-hia.de"},
		{name: "IDN trailing dot", in: "bücher.example.", want: "xn--bcher-kva.example"},
		{name: "fullwidth letters folded", in: "ＥＸＡＭＰＬＥ.com", want: "example.com"},
		{name: "punycode kept", in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{name: "punycode uppercase", in: "XN--BCHER-KVA.EXAMPLE", want: "xn--bcher-kva.example"},

		// Wildcards.
		{name: "wildcard", in: "*.example.com", want: "*.example.com"},
		{name: "wildcard deep", in: "*.a.b.example.com", want: "*.a.b.example.com"},
		{name: "wildcard uppercase and trailing dot", in: "*.EXAMPLE.com.", want: "*.example.com"},
		{name: "wildcard IDN", in: "*.bücher.example", want: "*.xn--bcher-kva.example"},
		{name: "wildcard of 253 bytes", in: "*." + base251, want: "*." + base251},
		{name: "wildcard over 253 bytes", in: "*." + base251 + "x", wantErr: "at most 253"},
		{name: "wildcard base of 100 labels", in: "*." + strings.Repeat("a.", 98) + "example.com", want: "*." + strings.Repeat("a.", 98) + "example.com"},
		{name: "wildcard base over 100 labels", in: "*." + strings.Repeat("a.", 99) + "example.com", wantErr: "at most 100 labels"},
		{name: "exact name over 100 labels", in: strings.Repeat("a.", 99) + "example.com", want: strings.Repeat("a.", 99) + "example.com"},
		{name: "wildcard in a middle label", in: "a.*.example.com", wantErr: "whole leftmost label"},
		{name: "wildcard as part of a label", in: "*example.com", wantErr: "whole leftmost label"},
		{name: "wildcard as label suffix", in: "a*.example.com", wantErr: "whole leftmost label"},
		{name: "double star", in: "**.example.com", wantErr: "whole leftmost label"},
		{name: "two wildcard labels", in: "*.*.example.com", wantErr: "whole leftmost label"},
		{name: "wildcard rightmost", in: "example.*", wantErr: "whole leftmost label"},
		{name: "bare star", in: "*", wantErr: "whole leftmost label"},
		{name: "star dot", in: "*.", wantErr: "two labels"},
		{name: "wildcard of a TLD", in: "*.com", wantErr: "two labels"},
		{name: "wildcard of a TLD with dot", in: "*.com.", wantErr: "two labels"},
		{name: "wildcard of localhost", in: "*.localhost", wantErr: "two labels"},
		{name: "wildcard of an IP", in: "*.192.0.2.1", wantErr: "IP address"},
		{name: "wildcard with bad base", in: "*.exa_mple.com", wantErr: "underscores"},

		// Shape.
		{name: "empty", in: "", wantErr: "required"},
		{name: "blank", in: " \t ", wantErr: "required"},
		{name: "single label", in: "com", wantErr: "two labels"},
		{name: "single label trailing dot", in: "com.", wantErr: "two labels"},
		{name: "dot", in: ".", wantErr: "two labels"},
		{name: "two dots", in: "..", wantErr: "empty label"},
		{name: "leading dot", in: ".example.com", wantErr: "empty label"},
		{name: "empty inner label", in: "www..example.com", wantErr: "empty label"},
		{name: "two trailing dots", in: "example.com..", wantErr: "empty label"},
		{name: "label of 64 bytes", in: label64 + ".example.com", wantErr: "at most 63"},
		{name: "TLD of 64 bytes", in: "example." + label64, wantErr: "at most 63"},
		{name: "IDN label over 63 bytes once encoded", in: idnLabelOver63 + ".example", wantErr: "at most 63"},
		{name: "254 bytes", in: host254, wantErr: "at most 253"},
		{name: "254 bytes and a trailing dot", in: host254 + ".", wantErr: "at most 253"},

		// IP literals, numbers and localhost.
		{name: "IPv4", in: "192.0.2.1", wantErr: "IP address"},
		{name: "IPv4 trailing dot", in: "192.0.2.1.", wantErr: "IP address"},
		{name: "IPv4 out of range", in: "999.0.2.1", wantErr: "number"},
		{name: "IPv4 shorthand", in: "127.1", wantErr: "number"},
		{name: "IPv4 hex", in: "0x7f.0x1", wantErr: "number"},
		{name: "hex TLD", in: "example.0xff", wantErr: "number"},
		{name: "bare 0x TLD", in: "example.0x", wantErr: "number"},
		{name: "IPv6", in: "2001:db8::1", wantErr: "IP address"},
		{name: "IPv6 loopback", in: "::1", wantErr: "IP address"},
		{name: "IPv6 bracketed", in: "[2001:db8::1]", wantErr: "IP address"},
		{name: "IPv6 bracketed with port", in: "[::1]:443", wantErr: "port"},
		{name: "numeric TLD", in: "example.123", wantErr: "number"},
		{name: "localhost", in: "localhost", wantErr: "two labels"},
		{name: "public suffix", in: "co.uk", wantErr: "public suffix"},
		{name: "private public suffix", in: "github.io", wantErr: "public suffix"},
		{name: "wildcard on a public suffix", in: "*.co.uk", wantErr: "public suffix"},
		{name: "wildcard on a private public suffix", in: "*.s3.amazonaws.com", wantErr: "public suffix"},
		{name: "localhost uppercase with dot", in: "LOCALHOST.", wantErr: "two labels"},
		{name: "under localhost", in: "app.localhost", wantErr: "localhost"},
		{name: "deep under localhost", in: "a.b.localhost", wantErr: "localhost"},

		// Characters hostnames cannot have.
		{name: "underscore label", in: "_dmarc.example.com", wantErr: "underscores"},
		{name: "underscore inside", in: "my_site.example.com", wantErr: "underscores"},
		{name: "leading hyphen", in: "-www.example.com", wantErr: "hyphen"},
		{name: "trailing hyphen", in: "www-.example.com", wantErr: "hyphen"},
		{name: "TLD trailing hyphen", in: "example.com-", wantErr: "hyphen"},
		{name: "hyphens in 3rd and 4th place", in: "ab--cd.example.com", wantErr: "hyphen"},
		{name: "invalid punycode", in: "xn--zz.example.com", wantErr: "punycode"},
		{name: "punycode of a control", in: "xn--a.example.com", wantErr: "not a valid hostname"},
		{name: "punycode bare prefix", in: "xn--.example.com", wantErr: "label"},
		{name: "inner space", in: "exa mple.com", wantErr: "spaces"},
		{name: "inner tab", in: "exa\tmple.com", wantErr: "spaces"},
		{name: "inner newline", in: "exa\nmple.com", wantErr: "character"},
		{name: "NUL", in: "exa\x00mple.com", wantErr: "character"},
		{name: "no-break space inside", in: "exa\u00a0mple.com", wantErr: "character"},
		{name: "percent", in: "exa%41mple.com", wantErr: "character"},
		{name: "backslash", in: `example.com\path`, wantErr: "character"},
		{name: "emoji-free symbol", in: "a!b.example.com", wantErr: "character"},
		{name: "invalid UTF-8", in: "exa\xffmple.com", wantErr: "not a valid hostname"},
		{name: "fullwidth colon", in: "example.com：443", wantErr: "character"},

		// Not a hostname: a URL, port or path given by mistake.
		{name: "port", in: "example.com:8080", wantErr: "port"},
		{name: "scheme", in: "https://example.com", wantErr: "scheme"},
		{name: "scheme and path", in: "http://www.example.com/path", wantErr: "scheme"},
		{name: "path", in: "example.com/path", wantErr: "path"},
		{name: "query", in: "example.com?x=1", wantErr: "path"},
		{name: "fragment", in: "example.com#top", wantErr: "path"},
		{name: "userinfo", in: "user@example.com", wantErr: "only the name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reroute.NormalizeHost(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("NormalizeHost(%q) = %q, want an error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("NormalizeHost(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if got != "" {
					t.Errorf("NormalizeHost(%q) = %q with an error, want \"\"", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeHost(%q) error = %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Fatalf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := reroute.NormalizeHost(got)
			if err != nil || again != got {
				t.Errorf("NormalizeHost(%q) = %q, %v: not idempotent", got, again, err)
			}
			if wantWild := strings.HasPrefix(tt.want, "*."); reroute.IsWildcard(got) != wantWild {
				t.Errorf("IsWildcard(%q) = %v, want %v", got, !wantWild, wantWild)
			}
		})
	}
}

func TestLookupHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"canonical", "www.example.com", "www.example.com"},
		{"mixed case", "Mixed.Case.Example.COM", "mixed.case.example.com"},
		{"port", "www.example.com:443", "www.example.com"},
		{"mixed case and port", "Mixed.Case.example.com:443", "mixed.case.example.com"},
		{"empty port", "www.example.com:", "www.example.com"},
		{"trailing dot", "www.example.com.", "www.example.com"},
		{"trailing dot and port", "Www.Example.com.:8080", "www.example.com"},
		{"IDN", "bücher.example", "xn--bcher-kva.example"},
		{"IDN uppercase and port", "BÜCHER.example:443", "xn--bcher-kva.example"},
		{"IDN trailing dot", "bücher.example.", "xn--bcher-kva.example"},
		{"punycode", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"punycode uppercase", "XN--BCHER-KVA.example", "xn--bcher-kva.example"},
		{"fullwidth", "ＥＸＡＭＰＬＥ.com", "example.com"},
		{"253 bytes", host253, host253},
		{"253 bytes with dot and port", host253 + ".:443", host253},
		{"label of 63 bytes", label63 + ".example.com", label63 + ".example.com"},

		{"empty", "", ""},
		{"dot", ".", ""},
		{"port only", ":443", ""},
		{"IPv6 bracketed", "[::1]", ""},
		{"IPv6 bracketed with port", "[2001:db8::1]:8443", ""},
		{"IPv6 bare", "::1", ""},
		{"IPv6 bare long", "2001:db8::1", ""},
		{"254 bytes", host254, ""},
		{"254 bytes with port", host254 + ":443", ""},
		{"over the header bound", strings.Repeat("a", 300), ""},
		{"label of 64 bytes", label64 + ".example.com", ""},
		{"label of 64 bytes mixed case", "A" + label63 + ".example.com", ""},
		{"IDN label over 63 bytes", idnLabelOver63 + ".example", ""},
		{"leading dot", ".example.com", ""},
		{"empty label", "www..example.com", ""},
		{"empty label IDN", "ä..example.com", ""},
		{"two trailing dots", "example.com..", ""},
		{"IDN ideographic full stop at the end", "ä.example.com。", ""},
		{"wildcard", "*.example.com", ""},
		{"space", "exa mple.com", ""},
		{"underscore", "_dmarc.example.com", ""},
		{"path", "example.com/path", ""},
		{"userinfo", "user@example.com", ""},
		{"NUL", "example.com\x00", ""},
		{"CRLF", "example.com\r\n", ""},
		{"invalid UTF-8", "\xff\xfe.example.com", ""},
		{"invalid punycode", "ä.xn--zz.example", ""},
		{"two ports", "example.com:1:2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reroute.LookupHost(tt.in); got != tt.want {
				t.Errorf("LookupHost(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A host stored by NormalizeHost is found by the Host header a browser sends for it.
func TestLookupHostFindsNormalizedHosts(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"example.com", "WWW.Example.com.", "bücher.example", "例え.テスト", "xn--bcher-kva.example", host253} {
		stored, err := reroute.NormalizeHost(in)
		if err != nil {
			t.Fatalf("NormalizeHost(%q): %v", in, err)
		}
		for _, header := range []string{stored, in, in + ":443", strings.ToUpper(in)} {
			if got := reroute.LookupHost(header); got != stored {
				t.Errorf("LookupHost(%q) = %q, want %q (stored from %q)", header, got, stored, in)
			}
		}
	}
}

func TestLookupHostCanonicalDoesNotAllocate(t *testing.T) {
	host := "www.example.com"
	if n := testing.AllocsPerRun(100, func() { _ = reroute.LookupHost(host) }); n != 0 {
		t.Errorf("LookupHost(%q) allocates %v times, want 0", host, n)
	}
}

func TestCandidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want []string
	}{
		{"example.com", []string{"example.com"}},
		{"www.example.com", []string{"www.example.com", "*.example.com"}},
		{"a.b.example.com", []string{"a.b.example.com", "*.b.example.com", "*.example.com"}},
		{"a.b.c.example.co.uk", []string{"a.b.c.example.co.uk", "*.b.c.example.co.uk", "*.c.example.co.uk", "*.example.co.uk"}},
		{"xn--bcher-kva.example", []string{"xn--bcher-kva.example"}},
		{"www.xn--bcher-kva.example", []string{"www.xn--bcher-kva.example", "*.xn--bcher-kva.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got := reroute.Candidates(tt.host)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Candidates(%q) = %q, want %q", tt.host, got, tt.want)
			}
			for _, c := range got[1:] {
				if !reroute.IsWildcard(c) || !reroute.WildcardMatches(c, tt.host) {
					t.Errorf("candidate %q of %q is not a wildcard that matches it", c, tt.host)
				}
				if n, err := reroute.NormalizeHost(c); err != nil || n != c {
					t.Errorf("candidate %q is not a valid route host: %q, %v", c, n, err)
				}
			}
		})
	}
}

// TestCandidatesBounded checks that the deepest request host (127 labels in 253
// bytes) has at most 100 candidates, one BatchGetItem's worth, and that the
// deepest wildcard a route can have is among them.
func TestCandidatesBounded(t *testing.T) {
	t.Parallel()
	host := strings.Repeat("a.", 121) + "example.com" // 123 labels, 253 bytes
	if len(host) > 253 {
		t.Fatalf("fixture of %d bytes", len(host))
	}
	got := reroute.Candidates(host)
	if len(got) > reroute.MaxWildcardBaseLabels {
		t.Fatalf("%d candidates, want at most %d", len(got), reroute.MaxWildcardBaseLabels)
	}
	deepest := "*." + strings.Repeat("a.", 98) + "example.com"
	if n, err := reroute.NormalizeHost(deepest); err != nil || n != deepest {
		t.Fatalf("NormalizeHost(deepest wildcard) = %q, %v", n, err)
	}
	if got[0] != host || got[1] != deepest || got[len(got)-1] != "*.example.com" {
		t.Errorf("Candidates = %q..., want the host, %q first, *.example.com last", got[:2], deepest)
	}
	for _, c := range got[1:] {
		if !reroute.WildcardMatches(c, host) {
			t.Errorf("candidate %q does not match", c)
		}
	}
}

// findRoute is what a RouteFinder does with Candidates: the first stored one wins.
func findRoute(stored []string, host string) string {
	for _, c := range reroute.Candidates(host) {
		if slices.Contains(stored, c) {
			return c
		}
	}
	return ""
}

func TestCandidatesPrecedence(t *testing.T) {
	t.Parallel()
	stored := []string{"*.example.com", "*.b.example.com", "a.b.example.com", "example.com"}
	tests := []struct{ host, want string }{
		{"a.b.example.com", "a.b.example.com"}, // exact beats every wildcard
		{"x.b.example.com", "*.b.example.com"}, // longer wildcard beats shorter
		{"y.x.b.example.com", "*.b.example.com"},
		{"b.example.com", "*.example.com"},
		{"x.example.com", "*.example.com"},
		{"example.com", "example.com"},           // a wildcard never covers its base...
		{"example.org", ""},                      // ...nor another domain
		{"badexample.com", ""},                   // ...nor a name that only ends the same
		{"x.a.b.example.com", "*.b.example.com"}, // an exact route covers no deeper name
	}
	for _, tt := range tests {
		if got := findRoute(stored, tt.host); got != tt.want {
			t.Errorf("route for %q = %q, want %q", tt.host, got, tt.want)
		}
	}
}

func TestWildcardMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wildcard, host string
		want           bool
	}{
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "www.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "a.b.c.example.com", true},
		{"*.xn--bcher-kva.example", "www.xn--bcher-kva.example", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "a..example.com", false},
		{"*.example.com", "badexample.com", false},
		{"*.example.com", "a.example.org", false},
		{"*.example.com", "a.example.com.evil.net", false},
		{"*.example.com", "", false},
		{"*.b.example.com", "a.example.com", false},
		{"example.com", "a.example.com", false},  // not a wildcard
		{"*example.com", "aexample.com", false},  // not a normalised wildcard
		{"*example.com", "a.example.com", false}, // not a normalised wildcard
		{"", "a.example.com", false},
	}
	for _, tt := range tests {
		if got := reroute.WildcardMatches(tt.wildcard, tt.host); got != tt.want {
			t.Errorf("WildcardMatches(%q, %q) = %v, want %v", tt.wildcard, tt.host, got, tt.want)
		}
	}
}

func TestIsWildcard(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"*.example.com": true, "example.com": false, "*example.com": false, "": false, "a.*.example.com": false,
	} {
		if got := reroute.IsWildcard(host); got != want {
			t.Errorf("IsWildcard(%q) = %v, want %v", host, got, want)
		}
	}
}
