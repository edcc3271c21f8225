package reroute_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestNormalizeSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "/", want: "/"},
		{in: "/contact", want: "/contact"},
		{in: "/Docs/", want: "/Docs/"},
		{in: "/café", want: "/caf%C3%A9"},
		{in: "/caf%c3%a9", want: "/caf%C3%A9"},
		{in: "/%7Euser/%41", want: "/~user/A"},
		{in: "/a%2fb", want: "/a%2Fb"},
		{in: "/100%", want: "/100%25"},
		{in: "/%zz", want: "/%25zz"},
		{in: "/a%23b", want: "/a%23b"},
		{in: `/x"y|z`, want: "/x%22y%7Cz"},
		{in: "/a//b", want: "/a//b"},
		{in: "", wantErr: "required"},
		{in: "contact", wantErr: `starts with "/"`},
		{in: "https://example.com/a", wantErr: `starts with "/"`},
		{in: "//example.com/a", wantErr: `cannot start with "//"`},
		{in: "/a?b=1", wantErr: "query"},
		{in: "/a#top", wantErr: "fragment"},
		{in: "/a b", wantErr: "spaces"},
		{in: "/a\tb", wantErr: "control"},
		{in: "/" + strings.Repeat("a", reroute.MaxSourceLen), wantErr: "at most"},
		{in: "/" + strings.Repeat("é", reroute.MaxSourceLen/3), wantErr: "once encoded"},
	}
	for _, tt := range tests {
		got, err := reroute.NormalizeSource(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NormalizeSource(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("NormalizeSource(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		default:
			if again, err := reroute.NormalizeSource(got); err != nil || again != got {
				t.Errorf("NormalizeSource is not idempotent on %q: %q, %v", got, again, err)
			}
			if !reroute.CanonicalPath(got, false) {
				t.Errorf("CanonicalPath(%q) = false for a normalized source", got)
			}
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		fold bool
		want string
	}{
		{"/", false, "/"},
		{"/Abc/DEF", false, "/Abc/DEF"},
		{"/Abc/DEF", true, "/abc/def"},
		{"/%41%2f%e2%9c%93", false, "/A%2F%E2%9C%93"},
		{"/%41%2f%e2%9c%93", true, "/a%2F%E2%9C%93"},
		{"/caf\xc3\xa9 x", false, "/caf%C3%A9%20x"},
		{"/a#b", false, "/a%23b"},
		{"/50%", false, "/50%25"},
		{"/%2", false, "/%252"},
		{"", false, ""},
	}
	for _, tt := range tests {
		if got := string(reroute.AppendCanonicalPath(nil, tt.in, tt.fold)); got != tt.want {
			t.Errorf("AppendCanonicalPath(%q, %v) = %q, want %q", tt.in, tt.fold, got, tt.want)
		}
		if got, want := reroute.CanonicalPath(tt.in, tt.fold), tt.in == tt.want; got != want {
			t.Errorf("CanonicalPath(%q, %v) = %v, want %v", tt.in, tt.fold, got, want)
		}
		if !reroute.CanonicalPath(tt.want, tt.fold) {
			t.Errorf("CanonicalPath(%q, %v) = false on a canonical path", tt.want, tt.fold)
		}
	}
}

func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/", "/Abc", "/%41%2f", "/caf\xc3\xa9", "/a#b", "/50%", "/%2", "/%7e%7E"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, p string, fold bool) {
		c := string(reroute.AppendCanonicalPath(nil, p, fold))
		if !reroute.CanonicalPath(c, fold) {
			t.Fatalf("AppendCanonicalPath(%q, %v) = %q, which CanonicalPath refuses", p, fold, c)
		}
		if again := string(reroute.AppendCanonicalPath(nil, c, fold)); again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q", p, c, again)
		}
		if reroute.CanonicalPath(p, fold) != (c == p) {
			t.Fatalf("CanonicalPath(%q, %v) disagrees with AppendCanonicalPath's %q", p, fold, c)
		}
	})
}

func TestPathOptionsKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts reroute.PathOptions
		in   string
		want string
	}{
		{reroute.PathOptions{}, "/A/", "/A/"},
		{reroute.PathOptions{IgnoreCase: true}, "/A/%C3%A9", "/a/%C3%A9"},
		{reroute.PathOptions{IgnoreTrailingSlash: true}, "/A/", "/A"},
		{reroute.PathOptions{IgnoreTrailingSlash: true}, "/", "/"},
		{reroute.PathOptions{IgnoreCase: true, IgnoreTrailingSlash: true}, "/A//", "/a/"},
	}
	for _, tt := range tests {
		if got := tt.opts.Key(tt.in); got != tt.want {
			t.Errorf("%+v.Key(%q) = %q, want %q", tt.opts, tt.in, got, tt.want)
		}
	}
}

func TestNormalizeRoutePathRules(t *testing.T) {
	t.Parallel()
	base := func(rules ...reroute.PathRule) reroute.Route {
		return reroute.Route{Host: "old.example.com", OrgID: "org_1", PathRules: rules}
	}
	rule := func(src, target string) reroute.PathRule { return reroute.PathRule{Source: src, Target: target} }
	tests := []struct {
		name       string
		in         reroute.Route
		want       reroute.Route // when wantFields is empty
		wantFields []string
		wantText   string
	}{
		{
			name: "rules without a target, defaults applied",
			in: base(rule("/contact", "HTTPS://New.Example/contact-us"),
				reroute.PathRule{Source: "/blog", Target: "https://new.example/articles", Status: 308, Subpath: true, KeepSuffix: true, KeepQuery: true}),
			want: reroute.Route{Host: "old.example.com", OrgID: "org_1", Status: 301, PathRules: []reroute.PathRule{
				{Source: "/contact", Target: "https://new.example/contact-us", Status: 301},
				{Source: "/blog", Target: "https://new.example/articles", Status: 308, Subpath: true, KeepSuffix: true, KeepQuery: true},
			}},
		},
		{
			name: "rules beside a target",
			in: reroute.Route{Host: "old.example.com", OrgID: "org_1", Target: "https://new.example/", KeepPath: true,
				PathRules: []reroute.PathRule{rule("/", "https://new.example/home")}},
			want: reroute.Route{Host: "old.example.com", OrgID: "org_1", Target: "https://new.example/", KeepPath: true, Status: 301,
				PathRules: []reroute.PathRule{{Source: "/", Target: "https://new.example/home", Status: 301}}},
		},
		{
			name: "sources are canonical",
			in:   base(rule("/caf%c3%a9", "https://new.example/"), rule("/%7Ejo", "https://new.example/")),
			want: reroute.Route{Host: "old.example.com", OrgID: "org_1", Status: 301, PathRules: []reroute.PathRule{
				{Source: "/caf%C3%A9", Target: "https://new.example/", Status: 301}, {Source: "/~jo", Target: "https://new.example/", Status: 301}}},
		},
		{
			name: "an explicit not-configured fallback is the zero one",
			in:   reroute.Route{Host: "old.example.com", OrgID: "org_1", PathRules: []reroute.PathRule{rule("/a", "https://n.example/")}, Fallback: reroute.Fallback{Kind: reroute.FallbackNotConfigured}},
			want: reroute.Route{Host: "old.example.com", OrgID: "org_1", Status: 301, PathRules: []reroute.PathRule{{Source: "/a", Target: "https://n.example/", Status: 301}}},
		},
		{
			name: "gone and redirect fallbacks",
			in:   reroute.Route{Host: "old.example.com", OrgID: "org_1", PathRules: []reroute.PathRule{rule("/a", "https://n.example/")}, Fallback: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://N.example"}},
			want: reroute.Route{Host: "old.example.com", OrgID: "org_1", Status: 301, PathRules: []reroute.PathRule{{Source: "/a", Target: "https://n.example/", Status: 301}},
				Fallback: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://n.example", Status: 301}},
		},
		{
			name: "the same path in two cases without ignore case",
			in:   base(rule("/A", "https://n.example/1"), rule("/a", "https://n.example/2"), rule("/a/", "https://n.example/3")),
			want: reroute.Route{Host: "old.example.com", OrgID: "org_1", Status: 301, PathRules: []reroute.PathRule{
				{Source: "/A", Target: "https://n.example/1", Status: 301}, {Source: "/a", Target: "https://n.example/2", Status: 301}, {Source: "/a/", Target: "https://n.example/3", Status: 301}}},
		},

		{name: "neither target nor rules", in: reroute.Route{Host: "old.example.com", OrgID: "org_1"}, wantFields: []string{"target"}, wantText: "required"},
		{
			name: "every failing rule field at once",
			in: base(rule("/ok", "https://n.example/"),
				reroute.PathRule{Source: "nope", Target: "ftp://x", Status: 200, KeepSuffix: true},
				rule("/q?x=1", "https://n.example/")),
			wantFields: []string{"rules[1].source", "rules[1].target", "rules[1].status", "rules[1].keepSuffix", "rules[2].source"},
		},
		{name: "a rule back to its own host", in: base(rule("/a", "https://old.example.com/b")), wantFields: []string{"rules[0].target"}, wantText: "redirect forever"},
		{name: "duplicate sources", in: base(rule("/a", "https://n.example/"), rule("/b", "https://n.example/"), rule("/a", "https://n.example/x")), wantFields: []string{"rules[2].source"}, wantText: "same source as rules[0]"},
		{name: "duplicate once canonical", in: base(rule("/~a", "https://n.example/"), rule("/%7ea", "https://n.example/")), wantFields: []string{"rules[1].source"}},
		{
			name:       "ignore case collides",
			in:         reroute.Route{Host: "old.example.com", OrgID: "org_1", PathOptions: reroute.PathOptions{IgnoreCase: true}, PathRules: []reroute.PathRule{rule("/A", "https://n.example/"), rule("/a", "https://n.example/")}},
			wantFields: []string{"rules[1].source"}, wantText: "case is ignored",
		},
		{
			name:       "ignore trailing slash collides",
			in:         reroute.Route{Host: "old.example.com", OrgID: "org_1", PathOptions: reroute.PathOptions{IgnoreTrailingSlash: true}, PathRules: []reroute.PathRule{rule("/a", "https://n.example/"), rule("/a/", "https://n.example/")}},
			wantFields: []string{"rules[1].source"}, wantText: "trailing slash",
		},
		{
			name: "a subpath rule on / beside a target",
			in: reroute.Route{Host: "old.example.com", OrgID: "org_1", Target: "https://n.example/",
				PathRules: []reroute.PathRule{{Source: "/", Target: "https://n.example/x", Subpath: true}}},
			wantFields: []string{"rules[0].source"}, wantText: "subpath rule",
		},
		{
			name:       "a fallback beside a target",
			in:         reroute.Route{Host: "old.example.com", OrgID: "org_1", Target: "https://n.example/", Fallback: reroute.Fallback{Kind: reroute.FallbackGone}},
			wantFields: []string{"fallback.kind"}, wantText: "never be used",
		},
		{name: "unknown fallback", in: reroute.Route{Host: "old.example.com", OrgID: "org_1", PathRules: []reroute.PathRule{rule("/a", "https://n.example/")}, Fallback: reroute.Fallback{Kind: "teapot"}}, wantFields: []string{"fallback.kind"}},
		{name: "gone with a target", in: reroute.Route{Host: "old.example.com", OrgID: "org_1", PathRules: []reroute.PathRule{rule("/a", "https://n.example/")}, Fallback: reroute.Fallback{Kind: reroute.FallbackGone, Target: "https://n.example/"}}, wantFields: []string{"fallback.target"}},
		{
			name:       "redirect fallback without a target, bad status",
			in:         reroute.Route{Host: "old.example.com", OrgID: "org_1", PathRules: []reroute.PathRule{rule("/a", "https://n.example/")}, Fallback: reroute.Fallback{Kind: reroute.FallbackRedirect, Status: 303}},
			wantFields: []string{"fallback.target", "fallback.status"},
		},
		{
			name:       "redirect fallback back to its own host",
			in:         reroute.Route{Host: "old.example.com", OrgID: "org_1", PathRules: []reroute.PathRule{rule("/a", "https://n.example/")}, Fallback: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://old.example.com/"}},
			wantFields: []string{"fallback.target"}, wantText: "redirect forever",
		},
		{
			name:       "a wildcard's rule to a name it covers",
			in:         reroute.Route{Host: "*.old.example.com", OrgID: "org_1", PathRules: []reroute.PathRule{rule("/a", "https://www.old.example.com/")}},
			wantFields: []string{"rules[0].target"}, wantText: "covered by",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			r.PathRules = slices.Clone(tt.in.PathRules)
			err := reroute.Rules{ServiceHost: serviceHost}.Normalize(&r)
			if len(tt.wantFields) == 0 {
				if err != nil {
					t.Fatalf("Normalize = %v, want no error", err)
				}
				if !reflect.DeepEqual(r, tt.want) {
					t.Fatalf("Normalize gave\n%+v, want\n%+v", r, tt.want)
				}
				again := r
				again.PathRules = slices.Clone(r.PathRules)
				if err := (reroute.Rules{ServiceHost: serviceHost}).Normalize(&again); err != nil || !reflect.DeepEqual(again, r) {
					t.Errorf("Normalize is not idempotent: %+v, %v", again, err)
				}
				return
			}
			var e *reroute.Error
			if !errors.As(err, &e) || e.Code != reroute.CodeInvalid {
				t.Fatalf("Normalize = %v, want an invalid error on %v", err, tt.wantFields)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Errorf("fields = %v, want %v (%v)", fields, tt.wantFields, err)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestNormalizePathRule(t *testing.T) {
	t.Parallel()
	pr := reroute.PathRule{Source: "/Blog", Target: "https://n.example/a", Subpath: true, KeepSuffix: true}
	if err := (reroute.Rules{}).NormalizePathRule("old.example.com", &pr); err != nil || pr.Status != 301 {
		t.Fatalf("NormalizePathRule = %+v, %v", pr, err)
	}
	bad := reroute.PathRule{Source: "Blog", Target: "https://old.example.com/", KeepSuffix: true}
	err := reroute.Rules{}.NormalizePathRule("old.example.com", &bad)
	var e *reroute.Error
	if !errors.As(err, &e) || len(e.Fields) != 3 || e.Fields[0].Field != "source" || e.Fields[1].Field != "target" || e.Fields[2].Field != "keepSuffix" {
		t.Errorf("NormalizePathRule(bad) = %v", err)
	}
	if got := (reroute.Fallback{}).Answer(); got != reroute.FallbackNotConfigured {
		t.Errorf("zero Fallback answers %q", got)
	}
}
