package reroute_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const checkTarget = "abc123.routing.cloudfront.test"

var targetAddrs = []string{"192.0.2.10", "192.0.2.11", "2001:db8::10"}

func TestCheckDNS(t *testing.T) {
	t.Parallel()
	ok := func(name string, caa ...reroute.CAARecord) reroute.DNSLookup {
		return reroute.DNSLookup{Name: name, CNAMEs: []string{checkTarget}, Addresses: targetAddrs[:2],
			TargetAddresses: targetAddrs, CAA: caa, CAAName: "example.com"}
	}
	issue := func(v string) reroute.CAARecord { return reroute.CAARecord{Tag: "issue", Value: v} }
	issuewild := func(v string) reroute.CAARecord { return reroute.CAARecord{Tag: "issuewild", Value: v} }
	tests := []struct {
		name    string
		host    string
		target  string // checkTarget when empty
		lookup  reroute.DNSLookup
		points  bool
		caa     bool
		codes   []string
		levels  []string
		message []string // substrings of the findings' messages, joined
	}{
		{
			name:   "cname to the target",
			host:   "www.example.com",
			lookup: ok("www.example.com"),
			points: true, caa: true,
			codes:   []string{"cname_ok"},
			levels:  []string{reroute.FindingOK},
			message: []string{"www.example.com points to the service through a CNAME record to " + checkTarget},
		},
		{
			name:   "case and trailing dots are ignored",
			host:   "www.example.com",
			target: strings.ToUpper(checkTarget) + ".",
			lookup: reroute.DNSLookup{Name: "WWW.Example.COM.", CNAMEs: []string{"AbC123.Routing.CloudFront.Test."},
				Addresses: targetAddrs, TargetAddresses: targetAddrs},
			points: true, caa: true,
			codes: []string{"cname_ok"},
		},
		{
			name: "chain of two cnames reaching the target",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", CNAMEs: []string{"edge.example.net.", checkTarget + "."},
				Addresses: targetAddrs[:1], TargetAddresses: targetAddrs},
			points: true, caa: true,
			codes:   []string{"cname_ok"},
			message: []string{"the CNAME chain www.example.com -> edge.example.net -> " + checkTarget},
		},
		{
			name:   "target reached although it does not resolve",
			host:   "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", CNAMEs: []string{checkTarget}, NXDomain: true},
			points: true, caa: true,
			codes: []string{"cname_ok"},
		},
		{
			name: "flattened apex",
			host: "example.com",
			lookup: reroute.DNSLookup{Name: "example.com", Addresses: []string{"192.0.2.11", "192.0.2.10"},
				TargetAddresses: targetAddrs},
			points: true, caa: true,
			codes:   []string{"flattened_ok"},
			message: []string{"192.0.2.11, 192.0.2.10", "flattened record"},
		},
		{
			name: "flattened, written differently",
			host: "example.com",
			lookup: reroute.DNSLookup{Name: "example.com", Addresses: []string{"2001:0db8:0:0::10"},
				TargetAddresses: targetAddrs},
			points: true, caa: true,
			codes: []string{"flattened_ok"},
		},
		{
			name: "flattened, with a left-over address",
			host: "example.com",
			lookup: reroute.DNSLookup{Name: "example.com", Addresses: []string{"192.0.2.10", "198.51.100.7"},
				TargetAddresses: targetAddrs},
			points: true, caa: true,
			codes:   []string{"addresses_extra", "flattened_ok"},
			levels:  []string{reroute.FindingWarning, reroute.FindingOK},
			message: []string{"also resolves to 198.51.100.7, which is not an address of " + checkTarget, "remove that A/AAAA record"},
		},
		{
			name: "cname to a name of the customer's that is flattened to the target",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", CNAMEs: []string{"example.com"},
				Addresses: targetAddrs[:2], TargetAddresses: targetAddrs},
			points: true, caa: true,
			codes:   []string{"flattened_ok"},
			message: []string{"a CNAME record to example.com ends at addresses (192.0.2.10, 192.0.2.11)"},
		},
		{
			name:   "name not found",
			host:   "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", NXDomain: true, TargetAddresses: targetAddrs},
			codes:  []string{"name_not_found"},
			levels: []string{reroute.FindingError},
			caa:    true,
			message: []string{"www.example.com does not exist in DNS",
				"Create a CNAME record named www.example.com pointing to " + checkTarget},
		},
		{
			name:   "wildcard not found",
			host:   "*.example.com",
			lookup: reroute.DNSLookup{Name: "k3j2.example.com", NXDomain: true, TargetAddresses: targetAddrs},
			codes:  []string{"name_not_found"},
			caa:    true,
			message: []string{"No DNS record covers *.example.com: k3j2.example.com does not exist",
				"Create a CNAME record named *.example.com pointing to " + checkTarget},
		},
		{
			name:   "apex not found",
			host:   "example.com",
			lookup: reroute.DNSLookup{Name: "example.com", NXDomain: true},
			codes:  []string{"name_not_found"},
			caa:    true,
			message: []string{"example.com does not exist in DNS", "bare domain",
				"ALIAS, ANAME or CNAME-flattening record for example.com pointing to " + checkTarget},
		},
		{
			name: "a records of the old host",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", Addresses: []string{"198.51.100.7", "2001:db8::7"},
				TargetAddresses: targetAddrs},
			codes: []string{"cname_missing"},
			caa:   true,
			message: []string{"no CNAME record and resolves to 198.51.100.7, 2001:db8::7 (perhaps a previous host)",
				"Replace its A/AAAA records with a CNAME record named www.example.com pointing to " + checkTarget,
				"ALIAS, ANAME or CNAME-flattening"},
		},
		{
			name:   "a records of the old host at the apex",
			host:   "example.co.uk",
			lookup: reroute.DNSLookup{Name: "example.co.uk", Addresses: []string{"198.51.100.7"}, TargetAddresses: targetAddrs},
			codes:  []string{"cname_missing"},
			caa:    true,
			message: []string{"resolves to 198.51.100.7", "example.co.uk is a bare domain", "does not allow a CNAME", "replace its A/AAAA records with your DNS provider's",
				"ALIAS, ANAME or CNAME-flattening record for example.co.uk pointing to " + checkTarget},
		},
		{
			name:    "no address and no cname",
			host:    "www.example.com",
			lookup:  reroute.DNSLookup{Name: "www.example.com", TargetAddresses: targetAddrs},
			codes:   []string{"cname_missing"},
			caa:     true,
			message: []string{"exists in DNS but has no CNAME and no address record", "Create a CNAME record named www.example.com"},
		},
		{
			name: "cname to somewhere else",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", CNAMEs: []string{"old-host.example.net."},
				Addresses: []string{"198.51.100.7"}, TargetAddresses: targetAddrs},
			codes: []string{"cname_wrong_target"},
			caa:   true,
			message: []string{"www.example.com is a CNAME to old-host.example.net, which resolves to 198.51.100.7",
				"Change the CNAME record named www.example.com to point to " + checkTarget},
		},
		{
			name: "chain of two cnames to somewhere else",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", CNAMEs: []string{"a.example.net", "b.example.org"},
				Addresses: []string{"198.51.100.7"}, TargetAddresses: targetAddrs},
			codes:   []string{"cname_wrong_target"},
			caa:     true,
			message: []string{"CNAME to b.example.org (through the CNAME chain www.example.com -> a.example.net -> b.example.org)"},
		},
		{
			name: "cname to a name that does not exist",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", CNAMEs: []string{"abc123.routing.cloudfrnt.test"},
				TargetAddresses: targetAddrs},
			codes: []string{"cname_dangling"},
			caa:   true,
			message: []string{"CNAME to abc123.routing.cloudfrnt.test, which does not resolve to any address (check it for a typo)",
				"Change the CNAME record named www.example.com to point to " + checkTarget},
		},
		{
			name: "cname to a name that does not exist, reported as nxdomain",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", NXDomain: true, CNAMEs: []string{"gone.example.net"},
				TargetAddresses: targetAddrs},
			codes: []string{"cname_dangling"},
			caa:   true,
		},
		{
			name:   "wildcard pointing at the target",
			host:   "*.example.com",
			lookup: ok("k3j2.example.com"),
			points: true, caa: true,
			codes:   []string{"cname_ok"},
			message: []string{"*.example.com (checked as k3j2.example.com) points to the service"},
		},
		{
			name:   "wildcard pointing elsewhere",
			host:   "*.example.com",
			lookup: reroute.DNSLookup{Name: "k3j2.example.com", Addresses: []string{"198.51.100.7"}, TargetAddresses: targetAddrs},
			codes:  []string{"cname_missing"},
			caa:    true,
			message: []string{"*.example.com (checked as k3j2.example.com) does not point",
				"Replace its A/AAAA records with a CNAME record named *.example.com pointing to " + checkTarget},
		},
		{
			name:   "caa allows amazon",
			host:   "www.example.com",
			lookup: ok("www.example.com", issue("letsencrypt.org"), issue("amazon.com"), reroute.CAARecord{Tag: "iodef", Value: "mailto:x@example.com"}),
			points: true, caa: true,
			codes:   []string{"cname_ok", "caa_ok"},
			message: []string{"The CAA records at example.com allow Amazon (amazon.com)"},
		},
		{
			name:   "caa allows amazon, whatever the case, parameters and spaces",
			host:   "www.example.com",
			lookup: ok("www.example.com", issue(" AmazonTrust.COM. ; accounturi=https://x")),
			points: true, caa: true,
			codes: []string{"cname_ok", "caa_ok"},
		},
		{
			name:   "caa of other amazon identifiers",
			host:   "www.example.com",
			lookup: ok("www.example.com", issue("awstrust.com"), issue("amazonaws.com")),
			points: true, caa: true,
			codes: []string{"cname_ok", "caa_ok"},
		},
		{
			name:   "caa forbids amazon",
			host:   "www.example.com",
			lookup: ok("www.example.com", issue("letsencrypt.org"), issue("pki.goog; cansignhttpexchanges=yes"), issue("letsencrypt.org")),
			points: true,
			codes:  []string{"caa_forbids_amazon", "cname_ok"},
			levels: []string{reroute.FindingError, reroute.FindingOK},
			message: []string{"The CAA records at example.com allow only letsencrypt.org, pki.goog to issue certificates for www.example.com",
				`example.com CAA 0 issue "amazon.com"`},
		},
		{
			name:    "caa forbids everyone",
			host:    "www.example.com",
			lookup:  ok("www.example.com", issue(";")),
			points:  true,
			codes:   []string{"caa_forbids_amazon", "cname_ok"},
			message: []string{"forbid every certificate authority from issuing certificates", `example.com CAA 0 issue "amazon.com"`},
		},
		{
			name:   "caa: an empty value beside amazon's",
			host:   "www.example.com",
			lookup: ok("www.example.com", issue(";"), issue("amazon.com")),
			points: true, caa: true,
			codes: []string{"cname_ok", "caa_ok"},
		},
		{
			name:   "caa with only iodef",
			host:   "www.example.com",
			lookup: ok("www.example.com", reroute.CAARecord{Tag: "iodef", Value: "mailto:x@example.com"}),
			points: true, caa: true,
			codes: []string{"cname_ok"},
		},
		{
			name:   "caa: issuewild does not govern an exact host",
			host:   "www.example.com",
			lookup: ok("www.example.com", issuewild(";")),
			points: true, caa: true,
			codes: []string{"cname_ok"},
		},
		{
			name:   "caa: issuewild takes precedence for a wildcard",
			host:   "*.example.com",
			lookup: ok("k3j2.example.com", issue("amazon.com"), issuewild("letsencrypt.org")),
			points: true,
			codes:  []string{"caa_forbids_amazon", "cname_ok"},
			message: []string{"allow only letsencrypt.org to issue wildcard certificates for *.example.com",
				`example.com CAA 0 issuewild "amazon.com"`},
		},
		{
			name:   "caa: issuewild allowing amazon for a wildcard",
			host:   "*.example.com",
			lookup: ok("k3j2.example.com", issue("letsencrypt.org"), issuewild("amazon.com")),
			points: true, caa: true,
			codes: []string{"cname_ok", "caa_ok"},
		},
		{
			name:    "caa: issue governs a wildcard without issuewild",
			host:    "*.example.com",
			lookup:  ok("k3j2.example.com", issue("letsencrypt.org")),
			points:  true,
			codes:   []string{"caa_forbids_amazon", "cname_ok"},
			message: []string{`example.com CAA 0 issuewild "amazon.com"`},
		},
		{
			name:   "caa: issue allowing amazon governs a wildcard without issuewild",
			host:   "*.example.com",
			lookup: ok("k3j2.example.com", issue("amazon.com")),
			points: true, caa: true,
			codes: []string{"cname_ok", "caa_ok"},
		},
		{
			name:    "caa: unknown critical tag",
			host:    "www.example.com",
			lookup:  ok("www.example.com", issue("amazon.com"), reroute.CAARecord{Flag: 128, Tag: "tbs", Value: "x"}),
			points:  true,
			codes:   []string{"caa_forbids_amazon", "cname_ok"},
			message: []string{`marked critical (flag 128) with the tag "tbs"`, "Remove that record or set its flag to 0"},
		},
		{
			name:   "caa: known critical tag",
			host:   "www.example.com",
			lookup: ok("www.example.com", reroute.CAARecord{Flag: 128, Tag: "ISSUE", Value: "amazon.com"}),
			points: true, caa: true,
			codes: []string{"cname_ok", "caa_ok"},
		},
		{
			name:   "caa: unknown tag that is not critical",
			host:   "www.example.com",
			lookup: ok("www.example.com", reroute.CAARecord{Tag: "tbs", Value: "x"}),
			points: true, caa: true,
			codes: []string{"cname_ok"},
		},
		{
			name: "everything wrong, errors first",
			host: "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", Addresses: []string{"192.0.2.10", "198.51.100.7"},
				TargetAddresses: targetAddrs, CAA: []reroute.CAARecord{issue("letsencrypt.org")}, CAAName: "example.com."},
			points:  true,
			codes:   []string{"caa_forbids_amazon", "addresses_extra", "flattened_ok"},
			levels:  []string{reroute.FindingError, reroute.FindingWarning, reroute.FindingOK},
			message: []string{`example.com CAA 0 issue "amazon.com"`},
		},
		{
			name:   "not pointing and caa forbidding",
			host:   "www.example.com",
			lookup: reroute.DNSLookup{Name: "www.example.com", NXDomain: true, CAA: []reroute.CAARecord{issue(";")}, CAAName: "example.com"},
			codes:  []string{"name_not_found", "caa_forbids_amazon"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := tt.target
			if target == "" {
				target = checkTarget
			}
			got := reroute.CheckDNS(tt.host, target, tt.lookup)
			if got.PointsAtUs != tt.points || got.CAAAllowsAmazon != tt.caa {
				t.Errorf("PointsAtUs, CAAAllowsAmazon = %v, %v; want %v, %v", got.PointsAtUs, got.CAAAllowsAmazon, tt.points, tt.caa)
			}
			if got.OK() != (tt.points && tt.caa) {
				t.Errorf("OK() = %v", got.OK())
			}
			var codes, levels, messages []string
			for _, f := range got.Findings {
				codes = append(codes, f.Code)
				levels = append(levels, f.Level)
				messages = append(messages, f.Message)
				if f.Message == "" {
					t.Errorf("finding %s has no message", f.Code)
				}
			}
			if !slices.Equal(codes, tt.codes) {
				t.Errorf("codes = %q, want %q\n%s", codes, tt.codes, strings.Join(messages, "\n"))
			}
			if tt.levels != nil && !slices.Equal(levels, tt.levels) {
				t.Errorf("levels = %q, want %q", levels, tt.levels)
			}
			all := strings.Join(messages, "\n")
			for _, want := range tt.message {
				if !strings.Contains(all, want) {
					t.Errorf("messages lack %q:\n%s", want, all)
				}
			}
		})
	}
}

func TestCheckDNSLevels(t *testing.T) {
	t.Parallel()
	// Every finding's level follows from its code.
	want := map[string]string{
		"cname_ok": reroute.FindingOK, "flattened_ok": reroute.FindingOK, "caa_ok": reroute.FindingOK,
		"addresses_extra": reroute.FindingWarning,
	}
	lookups := []reroute.DNSLookup{
		{NXDomain: true},
		{Addresses: []string{"198.51.100.7"}},
		{CNAMEs: []string{"x.example.net"}},
		{CNAMEs: []string{"x.example.net"}, Addresses: []string{"198.51.100.7"}},
		{CNAMEs: []string{checkTarget}, CAA: []reroute.CAARecord{{Tag: "issue", Value: "amazon.com"}}},
		{Addresses: []string{"192.0.2.10", "198.51.100.7"}, TargetAddresses: targetAddrs,
			CAA: []reroute.CAARecord{{Tag: "issue", Value: "x"}}},
	}
	for _, l := range lookups {
		l.Name = "www.example.com"
		for _, f := range reroute.CheckDNS("www.example.com", checkTarget, l).Findings {
			level, ok := want[f.Code]
			if !ok {
				level = reroute.FindingError
			}
			if f.Level != level {
				t.Errorf("%s has level %s, want %s", f.Code, f.Level, level)
			}
		}
	}
}

func TestDNSProbeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ host, nonce, want string }{
		{"*.example.com", "k3j2", "k3j2.example.com"},
		{"*.a.example.co.uk", "n0nce", "n0nce.a.example.co.uk"},
		{"www.example.com", "k3j2", "www.example.com"},
		{"example.com", "k3j2", "example.com"},
	}
	for _, tt := range tests {
		if got := reroute.DNSProbeName(tt.host, tt.nonce); got != tt.want {
			t.Errorf("DNSProbeName(%q, %q) = %q, want %q", tt.host, tt.nonce, got, tt.want)
		}
	}
}
