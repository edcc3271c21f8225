package reroute_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const serviceHost = "r.dnsreroute.net"

func TestRulesNormalize(t *testing.T) {
	t.Parallel()
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	valid := func(host, target string) reroute.Route {
		return reroute.Route{Host: host, OrgID: "org_1", Target: target}
	}
	tests := []struct {
		name       string
		rules      reroute.Rules
		in         reroute.Route
		want       reroute.Route // when wantFields is empty
		wantFields []string      // the fields reported, in order
		wantText   string        // a substring of the error, when set
	}{
		{
			name: "normalises host and target, keeps the rest",
			in: reroute.Route{Host: "WWW.Example.COM.", OrgID: "org_1", Target: "HTTPS://Dest.Example.ORG/Path?q=1",
				Status: 308, KeepPath: true, KeepQuery: true, Enabled: true, CreatedAt: created, UpdatedAt: created},
			want: reroute.Route{Host: "www.example.com", OrgID: "org_1", Target: "https://dest.example.org/Path?q=1",
				Status: 308, KeepPath: true, KeepQuery: true, Enabled: true, CreatedAt: created, UpdatedAt: created},
		},
		{
			name: "zero status becomes 301",
			in:   valid("example.com", "https://example.org/"),
			want: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://example.org/", Status: 301},
		},
		{
			name: "IDN host and target",
			in:   valid("bücher.example", "https://münchen.de/"),
			want: reroute.Route{Host: "xn--bcher-kva.example", OrgID: "org_1", Target: "https://xn--mnchen-3ya.de/", Status: 301},
		},
		{
			name: "wildcard host",
			in:   valid("*.Example.com", "https://example.org/"),
			want: reroute.Route{Host: "*.example.com", OrgID: "org_1", Target: "https://example.org/", Status: 301},
		},
		{
			name: "wildcard to its own base is no loop",
			in:   valid("*.example.com", "https://example.com/"),
			want: reroute.Route{Host: "*.example.com", OrgID: "org_1", Target: "https://example.com/", Status: 301},
		},
		{
			name: "wildcard to a look-alike domain is no loop",
			in:   valid("*.example.com", "https://badexample.com/"),
			want: reroute.Route{Host: "*.example.com", OrgID: "org_1", Target: "https://badexample.com/", Status: 301},
		},
		{
			name: "apex to www is no loop",
			in:   valid("example.com", "https://www.example.com/"),
			want: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://www.example.com/", Status: 301},
		},
		{
			name: "www to apex is no loop",
			in:   valid("www.example.com", "https://example.com/"),
			want: reroute.Route{Host: "www.example.com", OrgID: "org_1", Target: "https://example.com/", Status: 301},
		},
		{
			name:  "a name under the service host may be routed",
			rules: reroute.Rules{ServiceHost: serviceHost},
			in:    valid("x.r.dnsreroute.net", "https://example.org/"),
			want:  reroute.Route{Host: "x.r.dnsreroute.net", OrgID: "org_1", Target: "https://example.org/", Status: 301},
		},
		{
			name:  "a sibling of the service host may be a target",
			rules: reroute.Rules{ServiceHost: serviceHost},
			in:    valid("example.com", "https://www.dnsreroute.net/"),
			want:  reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://www.dnsreroute.net/", Status: 301},
		},

		// Loops.
		{name: "exact route to itself", in: valid("example.com", "https://example.com/"), wantFields: []string{"target"}, wantText: "redirect forever"},
		{name: "exact route to itself over http", in: valid("example.com", "http://example.com/other?x=1"), wantFields: []string{"target"}, wantText: "redirect forever"},
		{name: "exact route to itself, other spelling", in: valid("Example.COM.", "https://EXAMPLE.com.:443/"), wantFields: []string{"target"}, wantText: "redirect forever"},
		{name: "exact route to itself, other port", in: valid("example.com", "https://example.com:8443/"), wantFields: []string{"target"}, wantText: "redirect forever"},
		{name: "IDN route to its punycode", in: valid("bücher.example", "https://xn--bcher-kva.example/"), wantFields: []string{"target"}, wantText: "redirect forever"},
		{name: "punycode route to its IDN", in: valid("xn--bcher-kva.example", "https://BÜCHER.example/"), wantFields: []string{"target"}, wantText: "redirect forever"},
		{name: "wildcard to a name it covers", in: valid("*.example.com", "https://www.example.com/"), wantFields: []string{"target"}, wantText: "covered by *.example.com"},
		{name: "wildcard to a deeper name it covers", in: valid("*.example.com", "https://a.b.example.com/"), wantFields: []string{"target"}, wantText: "covered by"},
		{name: "wildcard to a covered name in capitals", in: valid("*.example.com", "https://WWW.EXAMPLE.COM./"), wantFields: []string{"target"}, wantText: "covered by"},

		// The service's own hostname.
		{name: "service host as route", rules: reroute.Rules{ServiceHost: serviceHost}, in: valid(serviceHost, "https://example.org/"), wantFields: []string{"host"}, wantText: "service's own hostname"},
		{name: "service host as route, other spelling", rules: reroute.Rules{ServiceHost: serviceHost}, in: valid("R.DNSReRoute.net.", "https://example.org/"), wantFields: []string{"host"}, wantText: "service's own hostname"},
		{name: "wildcard covering the service host", rules: reroute.Rules{ServiceHost: serviceHost}, in: valid("*.dnsreroute.net", "https://example.org/"), wantFields: []string{"host"}, wantText: "service's own hostname"},
		{name: "service host as target", rules: reroute.Rules{ServiceHost: serviceHost}, in: valid("example.com", "https://r.dnsreroute.net/"), wantFields: []string{"target"}, wantText: "service's own hostname"},
		{name: "service host as target, other spelling", rules: reroute.Rules{ServiceHost: serviceHost}, in: valid("example.com", "HTTP://R.DNSReRoute.NET.:80/x"), wantFields: []string{"target"}, wantText: "service's own hostname"},

		// Statuses.
		{name: "status 200", in: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://example.org/", Status: 200}, wantFields: []string{"status"}, wantText: "301, 302, 307 or 308"},
		{name: "status 300", in: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://example.org/", Status: 300}, wantFields: []string{"status"}},
		{name: "status 303", in: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://example.org/", Status: 303}, wantFields: []string{"status"}},
		{name: "status 304", in: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://example.org/", Status: 304}, wantFields: []string{"status"}},
		{name: "status 404", in: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://example.org/", Status: 404}, wantFields: []string{"status"}},
		{name: "negative status", in: reroute.Route{Host: "example.com", OrgID: "org_1", Target: "https://example.org/", Status: -301}, wantFields: []string{"status"}},

		// Other fields.
		{name: "org required", in: reroute.Route{Host: "example.com", Target: "https://example.org/"}, wantFields: []string{"orgId"}, wantText: "belongs to an org"},
		{name: "bad host", in: valid("exa_mple.com", "https://example.org/"), wantFields: []string{"host"}, wantText: "underscores"},
		{name: "bad target", in: valid("example.com", "ftp://example.org/"), wantFields: []string{"target"}, wantText: "http"},
		{name: "missing host and target", in: reroute.Route{OrgID: "org_1"}, wantFields: []string{"host", "target"}, wantText: "required"},
		{
			name:       "every field wrong at once",
			in:         reroute.Route{Host: "https://example.com", Target: "example.org", Status: 200},
			wantFields: []string{"host", "status", "orgId", "target"},
		},
		{
			name:       "bad host, status and loop together",
			rules:      reroute.Rules{ServiceHost: serviceHost},
			in:         reroute.Route{Host: serviceHost, OrgID: "org_1", Target: "https://r.dnsreroute.net/", Status: 302 + 1},
			wantFields: []string{"host", "status", "target"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			err := tt.rules.Normalize(&r)
			if len(tt.wantFields) == 0 {
				if err != nil {
					t.Fatalf("Normalize(%+v) = %v, want no error", tt.in, err)
				}
				if !reflect.DeepEqual(r, tt.want) {
					t.Fatalf("Normalize(%+v) gave\n%+v, want\n%+v", tt.in, r, tt.want)
				}
				again := r
				if err := tt.rules.Normalize(&again); err != nil || !reflect.DeepEqual(again, r) {
					t.Errorf("Normalize is not idempotent: %+v, %v", again, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Normalize(%+v) = nil, want errors on %v", tt.in, tt.wantFields)
			}
			var e *reroute.Error
			if !errors.As(err, &e) {
				t.Fatalf("Normalize error is %T, want *reroute.Error", err)
			}
			if e.Code != reroute.CodeInvalid || reroute.ErrorCode(err) != reroute.CodeInvalid || e.Reason != "validation_failed" {
				t.Errorf("error code/reason = %q/%q, want invalid/validation_failed", e.Code, e.Reason)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
				if f.Message == "" {
					t.Errorf("field %q has no message", f.Field)
				}
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Errorf("fields = %v, want %v (%v)", fields, tt.wantFields, err)
			}
			for _, f := range tt.wantFields {
				if !strings.Contains(err.Error(), "; "+f+": ") {
					t.Errorf("error text %q does not name field %q", err, f)
				}
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error text %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestValidStatus(t *testing.T) {
	t.Parallel()
	for _, s := range []int{301, 302, 307, 308} {
		if !reroute.ValidStatus(s) {
			t.Errorf("ValidStatus(%d) = false, want true", s)
		}
	}
	for _, s := range []int{0, -1, 1, 200, 300, 303, 304, 305, 306, 309, 404, 500} {
		if reroute.ValidStatus(s) {
			t.Errorf("ValidStatus(%d) = true, want false", s)
		}
	}
	if reroute.DefaultStatus != 301 || !reroute.ValidStatus(reroute.DefaultStatus) {
		t.Errorf("DefaultStatus = %d, want 301", reroute.DefaultStatus)
	}
}

func TestPageRequestSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit, want int
		wantErr     bool
	}{
		{0, reroute.DefaultPageSize, false},
		{1, 1, false},
		{50, 50, false},
		{reroute.MaxPageSize, reroute.MaxPageSize, false},
		{reroute.MaxPageSize + 1, 0, true},
		{1 << 30, 0, true},
		{-1, 0, true},
		{-1 << 31, 0, true},
	}
	for _, tt := range tests {
		got, err := reroute.PageRequest{Limit: tt.limit, Cursor: "c"}.Size()
		if tt.wantErr {
			var e *reroute.Error
			if !errors.As(err, &e) || e.Code != reroute.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "limit" {
				t.Errorf("Size(%d) error = %#v, want an invalid error on field limit", tt.limit, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Size(%d) = %d, %v, want %d", tt.limit, got, err, tt.want)
		}
	}
	if reroute.DefaultPageSize != 50 || reroute.MaxPageSize != 200 {
		t.Errorf("page sizes = %d/%d, want 50/200", reroute.DefaultPageSize, reroute.MaxPageSize)
	}
}
