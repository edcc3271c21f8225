package reroute_test

import (
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestNormalizeTarget(t *testing.T) {
	t.Parallel()
	const base = "https://example.com/" // 20 bytes
	at2048 := base + strings.Repeat("a", reroute.MaxTargetLen-len(base))
	tests := []struct {
		name, in string
		want     string // canonical form when valid
		wantErr  string // a substring of the error when invalid
	}{
		// Schemes and hosts.
		{name: "https", in: "https://example.com/", want: "https://example.com/"},
		{name: "http", in: "http://example.com/", want: "http://example.com/"},
		{name: "no path", in: "https://example.com", want: "https://example.com"},
		{name: "uppercase scheme and host, path case kept", in: "HTTPS://WWW.Example.COM/Some/Path", want: "https://www.example.com/Some/Path"},
		{name: "mixed-case scheme", in: "HtTp://example.com/", want: "http://example.com/"},
		{name: "host trailing dot", in: "https://example.com./x", want: "https://example.com/x"},
		{name: "single-label host", in: "http://intranet/", want: "http://intranet/"},
		{name: "IDN host", in: "https://bücher.example/", want: "https://xn--bcher-kva.example/"},
		{name: "IDN host uppercase", in: "https://BÜCHER.Example/x", want: "https://xn--bcher-kva.example/x"},
		{name: "IDN host percent-encoded", in: "https://b%C3%BCcher.example/", want: "https://xn--bcher-kva.example/"},
		{name: "IDN host fullwidth", in: "https://ＥＸＡＭＰＬＥ.com/", want: "https://example.com/"},
		{name: "punycode host", in: "https://xn--bcher-kva.example/", want: "https://xn--bcher-kva.example/"},
		{name: "ftp", in: "ftp://example.com/", wantErr: "http"},
		{name: "javascript", in: "javascript:alert(1)", wantErr: "http"},
		{name: "data", in: "data:text/html,hi", wantErr: "http"},
		{name: "mailto", in: "mailto:a@example.com", wantErr: "http"},
		{name: "no scheme", in: "example.com/path", wantErr: "http"},
		{name: "scheme-relative", in: "//example.com/path", wantErr: "http"},
		{name: "path only", in: "/path", wantErr: "http"},
		{name: "opaque", in: "https:example.com", wantErr: "name a host"},
		{name: "empty host", in: "https:///path", wantErr: "name a host"},
		{name: "scheme only", in: "https://", wantErr: "name a host"},
		{name: "host is a dot", in: "https://./", wantErr: "not a valid hostname"},
		{name: "host is two dots", in: "http://..", wantErr: "not a valid hostname"},
		{name: "host with an empty label", in: "https://a..example.com/", wantErr: "not a valid hostname"},
		{name: "host with a leading dot", in: "https://.example.com/", wantErr: "not a valid hostname"},
		{name: "host label of 64 bytes", in: "https://" + label64 + ".example.com/", wantErr: "not a valid hostname"},
		{name: "host label of 63 bytes", in: "https://" + label63 + ".example.com/", want: "https://" + label63 + ".example.com/"},
		{name: "host with underscore", in: "https://exa_mple.com/", wantErr: "not a valid hostname"},
		{name: "host with leading hyphen", in: "https://-a.example.com/", wantErr: "not a valid hostname"},
		{name: "host invalid punycode", in: "https://xn--zz.example/", wantErr: "not a valid hostname"},
		{name: "host invalid UTF-8", in: "https://exa%FFmple.com/", wantErr: "not a valid hostname"},
		{name: "host too long", in: "https://" + host254 + "/", wantErr: "at most 253"},
		{name: "empty", in: "", wantErr: "required"},

		// User info.
		{name: "user", in: "https://user@example.com/", wantErr: "user name or password"},
		{name: "user and password", in: "https://user:secret@example.com/", wantErr: "user name or password"},
		{name: "empty user info", in: "https://@example.com/", wantErr: "user name or password"},
		{name: "spoofing user info", in: "https://example.com@evil.example/", wantErr: "user name or password"},

		// Spaces and control characters, wherever they are.
		{name: "space in path", in: "https://example.com/a b", wantErr: "spaces"},
		{name: "space in host", in: "https://exa mple.com/", wantErr: "spaces"},
		{name: "leading space", in: " https://example.com/", wantErr: "spaces"},
		{name: "trailing space", in: "https://example.com/ ", wantErr: "spaces"},
		{name: "tab", in: "https://example.com/\t", wantErr: "control"},
		{name: "CRLF header injection", in: "https://example.com/\r\nSet-Cookie: a=b", wantErr: "control"},
		{name: "newline in query", in: "https://example.com/?a=\n", wantErr: "control"},
		{name: "NUL", in: "https://example.com/\x00", wantErr: "control"},
		{name: "DEL", in: "https://example.com/\x7f", wantErr: "control"},
		{name: "C1 control", in: "https://example.com/\u0085", wantErr: "control"},

		// Length.
		{name: "2048 bytes", in: at2048, want: at2048},
		{name: "2049 bytes", in: at2048 + "a", wantErr: "at most 2048"},
		{name: "2048 bytes growing past the limit once encoded", in: base + strings.Repeat("é", (reroute.MaxTargetLen-len(base))/2), wantErr: "once encoded"},

		// IP literals and ports.
		{name: "IPv4", in: "http://192.0.2.1/", want: "http://192.0.2.1/"},
		{name: "IPv4 with port", in: "http://192.0.2.1:8080/x", want: "http://192.0.2.1:8080/x"},
		{name: "IPv6", in: "http://[2001:db8::1]/", want: "http://[2001:db8::1]/"},
		{name: "IPv6 with port, canonical form", in: "https://[2001:DB8:0:0::1]:8443/x", want: "https://[2001:db8::1]:8443/x"},
		{name: "IPv6 loopback", in: "http://[::1]:3000", want: "http://[::1]:3000"},
		{name: "IPv4-mapped IPv6", in: "http://[::ffff:192.0.2.1]/", want: "http://[::ffff:192.0.2.1]/"},
		{name: "IPv6 with zone", in: "http://[fe80::1%25en0]/", wantErr: "zone"},
		{name: "IPv6 unbracketed", in: "http://2001:db8::1/", wantErr: "not a valid URL"},
		{name: "IPv6 unclosed", in: "http://[::1/", wantErr: "not a valid URL"},
		{name: "port kept", in: "https://example.com:443/", want: "https://example.com:443/"},
		{name: "highest port", in: "https://example.com:65535/", want: "https://example.com:65535/"},
		{name: "port 1", in: "https://example.com:1/", want: "https://example.com:1/"},
		{name: "port 0", in: "https://example.com:0/", wantErr: "port"},
		{name: "port too high", in: "https://example.com:65536/", wantErr: "port"},
		{name: "port huge", in: "https://example.com:99999999999999999999/", wantErr: "port"},
		{name: "port empty", in: "https://example.com:/", wantErr: "port is empty"},
		{name: "port not a number", in: "https://example.com:https/", wantErr: "not a valid URL"},

		// Path, query and fragment: kept, and percent-encoding preserved.
		{name: "query", in: "https://example.com/p?a=1&b=2", want: "https://example.com/p?a=1&b=2"},
		{name: "query without path", in: "https://example.com?x=1", want: "https://example.com?x=1"},
		{name: "empty query kept", in: "https://example.com/?", want: "https://example.com/?"},
		{name: "fragment", in: "https://example.com/docs#install", want: "https://example.com/docs#install"},
		{name: "query and fragment", in: "https://example.com/?q=1#top", want: "https://example.com/?q=1#top"},
		{name: "empty fragment dropped", in: "https://example.com/#", want: "https://example.com/"},
		{name: "percent-encoding preserved", in: "https://example.com/a%2Fb%20c?x=%26y%3D&z=%E2%82%AC#f%20g", want: "https://example.com/a%2Fb%20c?x=%26y%3D&z=%E2%82%AC#f%20g"},
		{name: "encoded unreserved kept", in: "https://example.com/%7Euser", want: "https://example.com/%7Euser"},
		{name: "lowercase hex kept", in: "https://example.com/%c3%a4", want: "https://example.com/%c3%a4"},
		{name: "plus kept", in: "https://example.com/a+b?q=a+b", want: "https://example.com/a+b?q=a+b"},
		{name: "dot segments kept", in: "https://example.com/a/../b", want: "https://example.com/a/../b"},
		{name: "unicode path encoded", in: "https://example.com/bücher", want: "https://example.com/b%C3%BCcher"},
		{name: "unicode query encoded", in: "https://example.com/?q=é", want: "https://example.com/?q=%C3%A9"},
		{name: "unicode fragment encoded", in: "https://example.com/#ß", want: "https://example.com/#%C3%9F"},
		{name: "invalid UTF-8 path encoded", in: "https://example.com/\xff", want: "https://example.com/%FF"},
		{name: "invalid UTF-8 query encoded", in: "https://example.com/?q=\xff", want: "https://example.com/?q=%FF"},
		{name: "bad escape in path", in: "https://example.com/%zz", wantErr: "invalid URL escape"},
		{name: "truncated escape in path", in: "https://example.com/%4", wantErr: "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reroute.NormalizeTarget(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("NormalizeTarget(%q) = %q, want an error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("NormalizeTarget(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if got != "" {
					t.Errorf("NormalizeTarget(%q) = %q with an error, want \"\"", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeTarget(%q) error = %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Fatalf("NormalizeTarget(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again, err := reroute.NormalizeTarget(got); err != nil || again != got {
				t.Errorf("NormalizeTarget(%q) = %q, %v: not idempotent", got, again, err)
			}
		})
	}
}
