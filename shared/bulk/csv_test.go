package bulk_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func rule(source, target string, status int, subpath, keepSuffix, keepQuery bool) reroute.PathRule {
	return reroute.PathRule{Source: source, Target: target, Status: status, Subpath: subpath, KeepSuffix: keepSuffix, KeepQuery: keepQuery}
}

func parseFile(t *testing.T, name string) ([]bulk.Entry, error) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return bulk.ParseCSV(f)
}

func TestParseCSVFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []bulk.Entry
	}{
		{"cloudflare-example.csv", []bulk.Entry{
			{Line: 1, Host: "example.com", Rule: rule("/contacts", "https://example.net/contact-us", 301, false, false, false)},
			{Line: 2, Host: "example.com", IncludeSubdomains: true, Rule: rule("/about", "https://example.net/about-us", 301, false, false, false)},
			{Line: 3, Host: "example.com", IncludeSubdomains: true, Rule: rule("/docs", "https://example.com/draft-docs", 302, false, false, false)},
		}},
		{"migration.csv", []bulk.Entry{
			{Line: 1, Host: "shop.example.com", Rule: rule("/", "https://new.example/shop", 308, true, true, true)},
			{Line: 4, Host: "shop.example.com", Rule: rule("/blog", "https://new.example/articles?from=blog,old", 301, true, true, false)},
			{Line: 5, Host: "shop.example.com", Rule: rule("/caf%C3%A9", "https://new.example/cafe", 301, false, false, false)},
			{Line: 6, Host: "shop.example.com", Rule: rule("/a,b", "https://new.example/ab", 307, false, false, false)},
			{Line: 7, Host: "www.example.org", IncludeSubdomains: true, Rule: rule("/", "https://example.net/", 302, true, false, true)},
			{Line: 8, Host: "*.example.io", Rule: rule("/promo", "https://example.net/promo", 301, false, false, false)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := parseFile(t, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCSV =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseCSVErrorsFile(t *testing.T) {
	t.Parallel()
	entries, err := parseFile(t, "errors.csv")
	var pe *bulk.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("ParseCSV error = %v, want a *ParseError", err)
	}
	want := []struct {
		line  int
		field string
		has   string
	}{
		{2, "target_url", "http"},
		{3, "status_code", "301, 302, 307 or 308"},
		{4, "preserve_query_string", `not "yes"`},
		{5, "source_url", "query string"},
		{6, "source_url", "port"},
		{7, "target_url", "spaces"},
		{7, "status_code", `not "999"`},
		{8, "source_url", "line 1 already has a redirect from example.com/ok"},
		{9, "source_url", "underscores"},
		{10, "target_url", "needs a source URL and a target URL"},
		{11, "", "at most 7 fields"},
	}
	if len(pe.Errors) != len(want) {
		t.Fatalf("errors = %v, want %d", pe.Errors, len(want))
	}
	for i, w := range want {
		if e := pe.Errors[i]; e.Line != w.line || e.Field != w.field || !strings.Contains(e.Reason, w.has) {
			t.Errorf("error %d = %+v, want line %d, field %q, reason with %q", i, e, w.line, w.field, w.has)
		}
	}
	if len(entries) != 1 || entries[0].Line != 1 {
		t.Errorf("entries = %+v, want only line 1's", entries)
	}
	var re *reroute.Error
	if !errors.As(err, &re) || re.Code != reroute.CodeInvalid || len(re.Fields) != len(want) || re.Fields[0].Field != "line 2 target_url" {
		t.Errorf("error unwraps to %+v, want a CodeInvalid reroute.Error naming each line", re)
	}
}

func TestParseCSVLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []bulk.Entry
		err  string // a part of the first error, when one is expected
	}{
		{"scheme-less, no path", "example.com,https://example.net/\n",
			[]bulk.Entry{{Line: 1, Host: "example.com", Rule: rule("/", "https://example.net/", 301, false, false, false)}}, ""},
		{"uppercase scheme and host, IDN", "HTTPS://BÜCHER.example/x,https://example.net/\n",
			[]bulk.Entry{{Line: 1, Host: "xn--bcher-kva.example", Rule: rule("/x", "https://example.net/", 301, false, false, false)}}, ""},
		{"lowercase booleans, spaces around fields", " example.com/a , https://example.net/b , 302 , true , false , true , true \n",
			[]bulk.Entry{{Line: 1, Host: "example.com", Rule: rule("/a", "https://example.net/b", 302, true, true, true)}}, ""},
		{"no trailing newline", "example.com/a,https://example.net/b",
			[]bulk.Entry{{Line: 1, Host: "example.com", Rule: rule("/a", "https://example.net/b", 301, false, false, false)}}, ""},
		{"escapes made canonical", "example.com/%7euser/%c3%a9%2f,https://example.net/\n",
			[]bulk.Entry{{Line: 1, Host: "example.com", Rule: rule("/~user/%C3%A9%2F", "https://example.net/", 301, false, false, false)}}, ""},
		{"suffix without subpath is dropped, as Cloudflare ignores it", "example.com/a,https://example.net/b,,,,,TRUE\n",
			[]bulk.Entry{{Line: 1, Host: "example.com", Rule: rule("/a", "https://example.net/b", 301, false, false, false)}}, ""},
		{"quoted field across lines counts from its first line", "\"example.com/a\",\"https://example.net/b\"\n\"example.com/c\",https://example.net/d\n",
			[]bulk.Entry{
				{Line: 1, Host: "example.com", Rule: rule("/a", "https://example.net/b", 301, false, false, false)},
				{Line: 2, Host: "example.com", Rule: rule("/c", "https://example.net/d", 301, false, false, false)},
			}, ""},
		{"empty file", "", nil, ""},
		{"only a BOM and comments", "\ufeff# nothing\n\n", nil, ""},
		{"header row", "source_url,target_url,status_code\n", nil, "header row"},
		{"header row after a comment", "# export\nSOURCE URL,TARGET URL\n", nil, "header row"},
		{"scheme not http", "ftp://example.com/a,https://example.net/\n", nil, "scheme"},
		{"user info", "user@example.com/a,https://example.net/\n", nil, "user name"},
		{"fragment", "example.com/a#top,https://example.net/\n", nil, "fragment"},
		{"query without path", "example.com?a=1,https://example.net/\n", nil, "query string"},
		{"no host", "/a,https://example.net/\n", nil, "hostname"},
		{"IP address", "192.0.2.1/a,https://example.net/\n", nil, "IP address"},
		{"public suffix", "co.uk/a,https://example.net/\n", nil, "public suffix"},
		{"a '%' that starts no escape stands for itself, as in the redirector", "example.com/%zz,https://example.net/\n",
			[]bulk.Entry{{Line: 1, Host: "example.com", Rule: rule("/%25zz", "https://example.net/", 301, false, false, false)}}, ""},
		{"characters the redirector keeps raw stay raw", "example.com/a[1],https://example.net/\n",
			[]bulk.Entry{{Line: 1, Host: "example.com", Rule: rule("/a[1]", "https://example.net/", 301, false, false, false)}}, ""},
		{"space in path", "example.com/a b,https://example.net/\n", nil, "spaces"},
		{"bare quote", "example.com/a\"b,https://example.net/\n", nil, "quote"},
		{"unterminated quote", "\"example.com/a,https://example.net/\n", nil, "quote"},
		{"wildcard with include subdomains", "*.example.com/a,https://example.net/,,,TRUE\n", nil, "wildcard already"},
		{"wildcard in the middle", "a.*.example.com/a,https://example.net/\n", nil, "wildcard"},
		{"duplicate through include subdomains", "example.com/a,https://example.net/,,,TRUE\n*.example.com/a,https://example.net/x\n", nil, "line 1 already has a redirect from *.example.com/a"},
		{"same path, http and https", "http://example.com/a,https://example.net/1\nhttps://example.com/a,https://example.net/2\n", nil, "line 1 already"},
		{"long source", "example.com/" + strings.Repeat("a", bulk.MaxSourceLen) + ",https://example.net/\n", nil, "at most 2048 bytes"},
		{"long target", "example.com/a,https://example.net/" + strings.Repeat("a", reroute.MaxTargetLen) + "\n", nil, "at most 2048 bytes"},
		{"status not a number", "example.com/a,https://example.net/,permanent\n", nil, "301, 302, 307 or 308"},
		{"boolean in mixed case", "example.com/a,https://example.net/,,True\n", nil, "TRUE, true, FALSE, false or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := bulk.ParseCSV(strings.NewReader(tt.in))
			if tt.err != "" {
				var pe *bulk.ParseError
				if !errors.As(err, &pe) || len(pe.Errors) == 0 || !strings.Contains(pe.Errors[0].Reason, tt.err) {
					t.Fatalf("ParseCSV error = %v, want a ParseError with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCSV =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseCSVBounds(t *testing.T) {
	t.Parallel()
	line := "example.com/a,https://example.net/\n"
	tests := []struct {
		name string
		in   string
		err  string
	}{
		{"too many lines", strings.Repeat("# c\n", bulk.MaxLines) + line, "more than 100000 lines"},
		{"too many lines, no final newline", strings.Repeat("# c\n", bulk.MaxLines) + "x", "more than 100000 lines"},
		{"too large", strings.Repeat("#", bulk.MaxBytes+1), "larger than 10 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := bulk.ParseCSV(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ParseCSV error = %v, want %q", err, tt.err)
			}
		})
	}
	// The limit itself is accepted.
	in := strings.Repeat("# c\n", bulk.MaxLines-1) + line
	entries, err := bulk.ParseCSV(strings.NewReader(in))
	if err != nil || len(entries) != 1 || entries[0].Line != bulk.MaxLines {
		t.Fatalf("ParseCSV of %d lines = %+v, %v", bulk.MaxLines, entries, err)
	}
}

// generated is a file of n lines over a few hosts, every option used.
func generated(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		sub := i%3 == 0
		fmt.Fprintf(&b, "https://host%d.example.com/section-%d/page-%d,https://new.example.net/s%d/p%d?ref=old,%d,%t,%t,%t,%t\n",
			i%7, i/100, i, i/100, i, []int{301, 302, 307, 308}[i%4], i%2 == 0, i%5 == 0, sub, sub && i%2 == 1)
	}
	return b.Bytes()
}

func TestParseCSVGenerated(t *testing.T) {
	t.Parallel()
	const n = 10_000
	entries, err := bulk.ParseCSV(bytes.NewReader(generated(n)))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d entries, want %d", len(entries), n)
	}
	for i, e := range entries {
		sub := i%3 == 0
		want := bulk.Entry{Line: i + 1, Host: fmt.Sprintf("host%d.example.com", i%7), IncludeSubdomains: i%5 == 0,
			Rule: rule(fmt.Sprintf("/section-%d/page-%d", i/100, i), fmt.Sprintf("https://new.example.net/s%d/p%d?ref=old", i/100, i),
				[]int{301, 302, 307, 308}[i%4], sub, sub && i%2 == 1, i%2 == 0)}
		if e != want {
			t.Fatalf("entry %d = %+v, want %+v", i, e, want)
		}
	}
}

func BenchmarkParseCSV10000(b *testing.B) {
	data := generated(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bulk.ParseCSV(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
