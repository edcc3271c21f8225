package dnscheck_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const target = "edge.dnsreroute.test"

var targetAddrs = []string{"192.0.2.10", "192.0.2.11", "2001:db8::10"}

// testZone serves every case the checks tell apart.
func testZone(t *testing.T) *zone {
	t.Helper()
	records := []string{
		"edge.dnsreroute.test. 60 IN A 192.0.2.10",
		"edge.dnsreroute.test. 60 IN A 192.0.2.11",
		"edge.dnsreroute.test. 60 IN AAAA 2001:db8::10",
		// right: a CNAME to the target, in another zone
		"www.right.example. 300 IN CNAME edge.dnsreroute.test.",
		// a chain of two CNAMEs, the first chased by the server
		"www.chain.example. 300 IN CNAME alias.chain.example.",
		"alias.chain.example. 300 IN CNAME EDGE.dnsreroute.test.",
		// wrong target, and an old host's address
		"www.wrong.example. 300 IN CNAME old.host.test.",
		"old.host.test. 300 IN A 198.51.100.7",
		"www.oldhost.example. 300 IN A 198.51.100.7",
		// a CNAME to a name that does not exist
		"www.dangling.example. 300 IN CNAME gone.nowhere.test.",
		// a CNAME loop
		"www.loop.example. 300 IN CNAME a.loop.test.",
		"a.loop.test. 300 IN CNAME www.loop.example.",
		// CAA forbidding Amazon at the parent
		`caa-forbid.example. 300 IN CAA 0 issue "letsencrypt.org"`,
		"www.caa-forbid.example. 300 IN CNAME edge.dnsreroute.test.",
		// CAA allowing Amazon at the parent, and one at the name itself
		`caa-amazon.example. 300 IN CAA 0 issue "amazon.com"`,
		`caa-amazon.example. 300 IN CAA 0 iodef "mailto:security@caa-amazon.example"`,
		"www.caa-amazon.example. 300 IN CNAME edge.dnsreroute.test.",
		`deep.caa-amazon.example. 300 IN CAA 0 issue "letsencrypt.org"`,
		"a.b.deep.caa-amazon.example. 300 IN CNAME edge.dnsreroute.test.",
		// a flattened apex
		"flat.example. 300 IN A 192.0.2.10",
		"flat.example. 300 IN A 192.0.2.11",
		"flat.example. 300 IN AAAA 2001:db8::10",
		// a wildcard, whose CAA lets Amazon issue only exact names
		"*.wild.example. 300 IN CNAME edge.dnsreroute.test.",
		`wild.example. 300 IN CAA 0 issue "amazon.com"`,
		`wild.example. 300 IN CAA 0 issuewild "letsencrypt.org"`,
		// TXT
		`_dnsreroute.txt.example. 300 IN TXT "part one, " "part two"`,
		`_dnsreroute.txt.example. 300 IN TXT "second"`,
		"_dnsreroute.alias.example. 300 IN CNAME _dnsreroute.txt.example.",
		"www.txt.example. 300 IN A 198.51.100.7",
	}
	records = append(records, bigTXT("big.txt.example.", 20)...)
	z := newZone(t, records...)
	z.servfail["www.broken.example."] = true
	z.servfail["broken.example."] = true
	return z
}

func newResolver(t *testing.T, z *zone) *dnscheck.Resolver {
	t.Helper()
	return dnscheck.New(dnscheck.Config{Servers: []string{serve(t, z)}, Timeout: time.Second})
}

func sorted(xs []string) []string {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs
}

func TestLookupDomain(t *testing.T) {
	t.Parallel()
	r := newResolver(t, testZone(t))
	amazonCAA := []reroute.CAARecord{{Tag: "issue", Value: "amazon.com"}, {Tag: "iodef", Value: "mailto:security@caa-amazon.example"}}
	tests := []struct {
		name  string
		query string
		want  reroute.DNSLookup // TargetAddresses are always targetAddrs
	}{
		{"right", "www.right.example", reroute.DNSLookup{CNAMEs: []string{target}, Addresses: targetAddrs}},
		{"upper case and trailing dot", "WWW.Right.Example.", reroute.DNSLookup{Name: "WWW.Right.Example", CNAMEs: []string{target}, Addresses: targetAddrs}},
		{"chain of two", "www.chain.example", reroute.DNSLookup{CNAMEs: []string{"alias.chain.example", target}, Addresses: targetAddrs}},
		{"missing", "www.missing.example", reroute.DNSLookup{NXDomain: true}},
		{"wrong target", "www.wrong.example", reroute.DNSLookup{CNAMEs: []string{"old.host.test"}, Addresses: []string{"198.51.100.7"}}},
		{"old host", "www.oldhost.example", reroute.DNSLookup{Addresses: []string{"198.51.100.7"}}},
		{"dangling", "www.dangling.example", reroute.DNSLookup{CNAMEs: []string{"gone.nowhere.test"}}},
		{"loop", "www.loop.example", reroute.DNSLookup{CNAMEs: []string{"a.loop.test", "www.loop.example"}}},
		{"caa forbids at the parent", "www.caa-forbid.example", reroute.DNSLookup{CNAMEs: []string{target}, Addresses: targetAddrs,
			CAA: []reroute.CAARecord{{Tag: "issue", Value: "letsencrypt.org"}}, CAAName: "caa-forbid.example"}},
		{"caa allows", "www.caa-amazon.example", reroute.DNSLookup{CNAMEs: []string{target}, Addresses: targetAddrs,
			CAA: amazonCAA, CAAName: "caa-amazon.example"}},
		{"caa at the apex itself", "caa-amazon.example", reroute.DNSLookup{CAA: amazonCAA, CAAName: "caa-amazon.example"}},
		{"closest caa wins", "a.b.deep.caa-amazon.example", reroute.DNSLookup{CNAMEs: []string{target}, Addresses: targetAddrs,
			CAA: []reroute.CAARecord{{Tag: "issue", Value: "letsencrypt.org"}}, CAAName: "deep.caa-amazon.example"}},
		{"flattened", "flat.example", reroute.DNSLookup{Addresses: targetAddrs}},
		{"wildcard", reroute.DNSProbeName("*.wild.example", "k3j2"), reroute.DNSLookup{CNAMEs: []string{target}, Addresses: targetAddrs,
			CAA: []reroute.CAARecord{{Tag: "issue", Value: "amazon.com"}, {Tag: "issuewild", Value: "letsencrypt.org"}}, CAAName: "wild.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.LookupDomain(t.Context(), tt.query, target+".")
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.Name == "" {
				want.Name = tt.query
			}
			if got.Name != want.Name || got.NXDomain != want.NXDomain || !slices.Equal(got.CNAMEs, want.CNAMEs) ||
				!slices.Equal(sorted(got.Addresses), sorted(want.Addresses)) {
				t.Errorf("got name %q nx %v cnames %q addresses %q\nwant name %q nx %v cnames %q addresses %q",
					got.Name, got.NXDomain, got.CNAMEs, got.Addresses, want.Name, want.NXDomain, want.CNAMEs, want.Addresses)
			}
			if !slices.Equal(sorted(got.TargetAddresses), sorted(targetAddrs)) {
				t.Errorf("target addresses = %q", got.TargetAddresses)
			}
			if got.CAAName != want.CAAName || !slices.Equal(got.CAA, want.CAA) {
				t.Errorf("CAA at %q = %+v, want at %q %+v", got.CAAName, got.CAA, want.CAAName, want.CAA)
			}
		})
	}
}

func TestQueriesAreRecursiveWithEDNS(t *testing.T) {
	t.Parallel()
	z := testZone(t)
	if _, err := newResolver(t, z).LookupDomain(t.Context(), "www.right.example", target); err != nil {
		t.Fatal(err)
	}
	log := z.log()
	if len(log) == 0 {
		t.Fatal("no query reached the server")
	}
	for _, q := range log {
		if !q.rd || q.ednsSize != 1232 || q.tcp {
			t.Errorf("query %s %s: rd %v, EDNS0 size %d, tcp %v", q.name, dns.TypeToString[q.qtype], q.rd, q.ednsSize, q.tcp)
		}
	}
}

func TestLookupTXT(t *testing.T) {
	t.Parallel()
	r := newResolver(t, testZone(t))
	tests := []struct {
		name string
		want []string
	}{
		{"_dnsreroute.txt.example", []string{"part one, part two", "second"}},
		{"_dnsreroute.alias.example.", []string{"part one, part two", "second"}},
		{"_dnsreroute.missing.example", nil},
		{"www.txt.example", nil},
	}
	for _, tt := range tests {
		got, err := r.LookupTXT(t.Context(), tt.name)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(sorted(got), tt.want) {
			t.Errorf("LookupTXT(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTruncatedAnswerIsAskedOverTCP(t *testing.T) {
	t.Parallel()
	z := testZone(t)
	got, err := newResolver(t, z).LookupTXT(t.Context(), "big.txt.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 || !strings.HasPrefix(sorted(got)[19], "019-xxx") {
		t.Errorf("got %d strings, want 20", len(got))
	}
	var udp, tcp int
	for _, q := range z.log() {
		if q.tcp {
			tcp++
		} else {
			udp++
		}
	}
	if udp != 1 || tcp != 1 {
		t.Errorf("asked %d times over UDP and %d over TCP, want once each", udp, tcp)
	}
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	good := serve(t, testZone(t))
	refused := newZone(t)
	refused.rcode = dns.RcodeRefused
	refusing := serve(t, refused)
	failing := newZone(t)
	failing.rcode = dns.RcodeServerFailure
	failingAll := serve(t, failing)
	dead := silent(t)

	// Ceilings, not speeds: each case would take at least patience (the
	// per-query timeout, unless the case sets a short one) if the resolver waited
	// where it should move on, and a loaded machine answers well within ceiling.
	const patience, ceiling = 2 * time.Minute, time.Minute
	tests := []struct {
		name    string
		servers []string
		timeout time.Duration
		ctx     time.Duration // a deadline on the call, when set
		query   string
		wantErr string // empty: no error
		within  time.Duration
	}{
		{name: "servfail", servers: []string{good}, query: "www.broken.example", wantErr: "SERVFAIL", within: ceiling},
		{name: "refused", servers: []string{refusing}, query: "www.right.example", wantErr: "REFUSED", within: ceiling},
		{name: "servfail everywhere", servers: []string{failingAll, refusing}, query: "www.right.example", wantErr: "SERVFAIL", within: ceiling},
		{name: "never answers", servers: []string{dead}, timeout: 150 * time.Millisecond, query: "www.right.example",
			wantErr: "no answer within 150ms", within: ceiling},
		{name: "the call's deadline comes first", servers: []string{dead}, timeout: patience, ctx: 150 * time.Millisecond,
			query: "www.right.example", wantErr: "deadline exceeded", within: ceiling},
		{name: "next server after a silent one", servers: []string{dead, good}, timeout: 100 * time.Millisecond,
			query: "www.right.example", within: ceiling},
		{name: "next server after a refusal", servers: []string{refusing, good}, query: "www.right.example", within: ceiling},
		{name: "next server after a failure", servers: []string{failingAll, good}, query: "www.right.example", within: ceiling},
		{name: "no server at all", servers: []string{"127.0.0.1:1"}, query: "www.right.example", wantErr: "www.right.example", within: ceiling},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			timeout := tt.timeout
			if timeout == 0 {
				timeout = patience
			}
			r := dnscheck.New(dnscheck.Config{Servers: tt.servers, Timeout: timeout})
			ctx := t.Context()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			start := time.Now()
			l, err := r.LookupDomain(ctx, tt.query, target)
			took := time.Since(start)
			if took > tt.within {
				t.Errorf("took %v, want at most %v", took, tt.within)
			}
			if tt.wantErr == "" {
				if err != nil || len(l.CNAMEs) != 1 {
					t.Fatalf("got %+v, %v", l, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, got %+v", l)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.query) {
				t.Errorf("error %q lacks %q or the name", err, tt.wantErr)
			}
			if tt.ctx > 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %q is not the deadline's", err)
			}
			if _, err := r.LookupTXT(ctx, tt.query); err == nil {
				t.Error("LookupTXT: no error")
			}
		})
	}
}

func TestLookupStopsWhenCanceled(t *testing.T) {
	t.Parallel()
	// A ceiling, not a speed: a lookup that ignored the cancel would wait out
	// the silent server's 2-minute timeout.
	r := dnscheck.New(dnscheck.Config{Servers: []string{silent(t)}, Timeout: 2 * time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := r.LookupDomain(ctx, "www.right.example", target)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want one wrapping context.Canceled", err)
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("took %v after the context was canceled", took)
	}
}

// TestCheckEndToEnd looks each zone up and judges it as the service would.
func TestCheckEndToEnd(t *testing.T) {
	t.Parallel()
	r := newResolver(t, testZone(t))
	tests := []struct {
		host   string
		codes  []string
		points bool
		caa    bool
	}{
		{"www.right.example", []string{"cname_ok"}, true, true},
		{"www.chain.example", []string{"cname_ok"}, true, true},
		{"www.missing.example", []string{"name_not_found"}, false, true},
		{"www.wrong.example", []string{"cname_wrong_target"}, false, true},
		{"www.oldhost.example", []string{"cname_missing"}, false, true},
		{"www.dangling.example", []string{"cname_dangling"}, false, true},
		{"www.loop.example", []string{"cname_dangling"}, false, true},
		{"www.caa-forbid.example", []string{"caa_forbids_amazon", "cname_ok"}, true, false},
		{"www.caa-amazon.example", []string{"cname_ok", "caa_ok"}, true, true},
		{"a.b.deep.caa-amazon.example", []string{"caa_forbids_amazon", "cname_ok"}, true, false},
		{"flat.example", []string{"flattened_ok"}, true, true},
		{"*.wild.example", []string{"caa_forbids_amazon", "cname_ok"}, true, false},
		{"*.missing.example", []string{"name_not_found"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			l, err := r.LookupDomain(t.Context(), reroute.DNSProbeName(tt.host, "k3j2"), target)
			if err != nil {
				t.Fatal(err)
			}
			check := reroute.CheckDNS(tt.host, target, l)
			var codes, messages []string
			for _, f := range check.Findings {
				codes = append(codes, f.Code)
				messages = append(messages, f.Level+" "+f.Code+": "+f.Message)
			}
			if !slices.Equal(codes, tt.codes) || check.PointsAtUs != tt.points || check.CAAAllowsAmazon != tt.caa {
				t.Errorf("codes %q, points %v, caa %v; want %q, %v, %v\n%s",
					codes, check.PointsAtUs, check.CAAAllowsAmazon, tt.codes, tt.points, tt.caa, strings.Join(messages, "\n"))
			}
		})
	}
}
