// Package dnscheck looks hostnames up in public DNS for the reroute package's
// checks: a reroute.DNSResolver speaking DNS directly to recursive resolvers with
// github.com/miekg/dns, so that it sees what Go's resolver hides (the CNAME chain,
// NXDOMAIN apart from an empty answer, CAA records).
package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const (
	// defaultTimeout bounds one query to one server.
	defaultTimeout = 2 * time.Second
	// ednsSize is the UDP payload size advertised with EDNS0, the size DNS Flag
	// Day 2020 settled on to avoid fragmentation.
	ednsSize = 1232
	// maxCNAMEs bounds a CNAME chain, against loops.
	maxCNAMEs = 10
	// resolvConf is where the system's resolvers are read from when none are given.
	resolvConf = "/etc/resolv.conf"
)

// fallbackServers are asked when none are configured and resolv.conf names none.
var fallbackServers = []string{"1.1.1.1:53", "8.8.8.8:53"}

// Config configures a Resolver.
type Config struct {
	// Servers are the recursive resolvers to ask, as "host:port", in order; empty
	// reads /etc/resolv.conf, falling back to 1.1.1.1:53 and 8.8.8.8:53.
	Servers []string
	// Timeout bounds each query to each server; zero means 2s.
	Timeout time.Duration
}

// Resolver is a reroute.DNSResolver asking recursive resolvers directly.
type Resolver struct {
	servers []string
	timeout time.Duration
	udp     *dns.Client
	tcp     *dns.Client
}

var _ reroute.DNSResolver = (*Resolver)(nil)

// New returns a Resolver for cfg.
func New(cfg Config) *Resolver {
	r := &Resolver{
		servers: cfg.Servers,
		timeout: cfg.Timeout,
		udp:     &dns.Client{Net: "udp", UDPSize: ednsSize},
		tcp:     &dns.Client{Net: "tcp"},
	}
	if r.timeout <= 0 {
		r.timeout = defaultTimeout
	}
	if len(r.servers) == 0 {
		r.servers = systemServers()
	}
	return r
}

// systemServers reads the resolvers in resolv.conf.
func systemServers() []string {
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil || len(cc.Servers) == 0 {
		return fallbackServers
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out
}

// LookupDomain looks name up: its CNAME chain and the addresses at its end, the
// CAA set governing it, and cnameTarget's addresses. The three are asked at once.
func (r *Resolver) LookupDomain(ctx context.Context, name, cnameTarget string) (reroute.DNSLookup, error) {
	l := reroute.DNSLookup{Name: strings.TrimSuffix(name, ".")}
	var (
		wg                         sync.WaitGroup
		nameErr, targetErr, caaErr error
	)
	wg.Go(func() {
		var a addresses
		a, nameErr = r.addresses(ctx, name)
		l.CNAMEs, l.Addresses = a.chain, a.addrs
		l.NXDomain = a.nx && len(a.chain) == 0
	})
	wg.Go(func() {
		var a addresses
		a, targetErr = r.addresses(ctx, cnameTarget)
		l.TargetAddresses = a.addrs
	})
	wg.Go(func() {
		l.CAA, l.CAAName, caaErr = r.caa(ctx, name)
	})
	wg.Wait()
	for _, err := range []error{nameErr, targetErr, caaErr} {
		if err != nil {
			return reroute.DNSLookup{}, fmt.Errorf("dnscheck: looking up %s: %w", l.Name, err)
		}
	}
	return l, nil
}

// LookupTXT returns the TXT strings at name, following a CNAME; each record's
// character-strings are joined. A name that does not exist or has no TXT records
// gives none and no error.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	res, err := r.follow(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, fmt.Errorf("dnscheck: looking up %s: %w", strings.TrimSuffix(name, "."), err)
	}
	var out []string
	for _, rr := range res.rrs {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// addresses is a name's CNAME chain and the A and AAAA addresses at its end.
type addresses struct {
	chain []string
	addrs []string
	nx    bool // the chain's last name does not exist
}

// addresses follows name's CNAME chain asking for A, then asks the chain's end
// for AAAA.
func (r *Resolver) addresses(ctx context.Context, name string) (addresses, error) {
	v4, err := r.follow(ctx, name, dns.TypeA)
	if err != nil {
		return addresses{}, err
	}
	a := addresses{chain: v4.chain, nx: v4.nx}
	for _, rr := range v4.rrs {
		if x, ok := rr.(*dns.A); ok {
			a.addrs = append(a.addrs, x.A.String())
		}
	}
	if v4.nx || v4.looped {
		return a, nil
	}
	v6, err := r.follow(ctx, v4.end, dns.TypeAAAA)
	if err != nil {
		return addresses{}, err
	}
	for _, rr := range v6.rrs {
		if x, ok := rr.(*dns.AAAA); ok {
			a.addrs = append(a.addrs, x.AAAA.String())
		}
	}
	return a, nil
}

// caa finds the CAA set governing name (RFC 8659): the first name, climbing from
// name toward the root and stopping before the top-level domain, with CAA records
// (following a CNAME at each name).
func (r *Resolver) caa(ctx context.Context, name string) ([]reroute.CAARecord, string, error) {
	labels := dns.SplitDomainName(strings.ToLower(name))
	for i := 0; i < len(labels)-1; i++ {
		at := strings.Join(labels[i:], ".")
		res, err := r.follow(ctx, at, dns.TypeCAA)
		if err != nil {
			return nil, "", err
		}
		var set []reroute.CAARecord
		for _, rr := range res.rrs {
			if c, ok := rr.(*dns.CAA); ok {
				set = append(set, reroute.CAARecord{Flag: c.Flag, Tag: c.Tag, Value: c.Value})
			}
		}
		if len(set) > 0 {
			return set, at, nil
		}
	}
	return nil, "", nil
}

// followed is what following a name's CNAME chain for one type found.
type followed struct {
	chain  []string // CNAME targets from the name, in order, without trailing dots
	end    string   // the name at the chain's end (fully qualified)
	rrs    []dns.RR // the records of the asked type at end
	nx     bool     // end does not exist
	looped bool     // the chain is longer than maxCNAMEs or loops
}

// follow asks for qtype at name and follows the CNAME chain in the answers: when
// an answer ends in a CNAME without records of qtype (a resolver that does not
// chase it), it asks again at the CNAME's target.
func (r *Resolver) follow(ctx context.Context, name string, qtype uint16) (followed, error) {
	f := followed{end: dns.Fqdn(strings.ToLower(name))}
	seen := map[string]bool{f.end: true}
	for {
		m, err := r.exchange(ctx, f.end, qtype)
		if err != nil {
			return followed{}, err
		}
		cnames := map[string]string{}
		for _, rr := range m.Answer {
			if c, ok := rr.(*dns.CNAME); ok {
				cnames[strings.ToLower(c.Hdr.Name)] = strings.ToLower(c.Target)
			}
		}
		asked := f.end
		for {
			next, ok := cnames[f.end]
			if !ok {
				break
			}
			if len(f.chain) >= maxCNAMEs {
				f.looped = true
				return f, nil
			}
			f.chain = append(f.chain, strings.TrimSuffix(next, "."))
			f.end = next
			if seen[next] {
				f.looped = true
				return f, nil
			}
			seen[next] = true
		}
		for _, rr := range m.Answer {
			if rr.Header().Rrtype == qtype && strings.EqualFold(rr.Header().Name, f.end) {
				f.rrs = append(f.rrs, rr)
			}
		}
		// RFC 6604: the rcode is about the last name of the chain.
		f.nx = m.Rcode == dns.RcodeNameError
		if f.end == asked || len(f.rrs) > 0 || f.nx {
			return f, nil
		}
	}
}

// exchange asks the servers in turn for qtype at name, until one answers with
// NOERROR or NXDOMAIN. A truncated answer over UDP is asked again over TCP.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = true
	q.SetEdns0(ednsSize, false)
	var errs []error
	for _, server := range r.servers {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		m, err := r.exchangeOne(ctx, r.udp, q, server)
		if err == nil && m.Truncated {
			m, err = r.exchangeOne(ctx, r.tcp, q, server)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", server, err))
			continue
		}
		switch m.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return m, nil
		}
		errs = append(errs, fmt.Errorf("%s answered %s", server, dns.RcodeToString[m.Rcode]))
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no DNS server is configured"))
	}
	return nil, fmt.Errorf("asking for %s at %s: %w", dns.TypeToString[qtype], strings.TrimSuffix(name, "."), errors.Join(errs...))
}

// exchangeOne asks one server once, within the timeout and ctx: the connection
// is closed when ctx ends, which the client's deadlines alone would not notice.
func (r *Resolver) exchangeOne(ctx context.Context, c *dns.Client, q *dns.Msg, server string) (*dns.Msg, error) {
	qctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	conn, err := c.DialContext(qctx, server)
	if err == nil {
		defer conn.Close()
		stop := context.AfterFunc(qctx, func() { conn.Close() })
		defer stop()
		var m *dns.Msg
		if m, _, err = c.ExchangeWithConnContext(qctx, q, conn); err == nil {
			return m, nil
		}
	}
	// The connection's deadline and the context's timer end at the same moment:
	// say which ended the query, whichever noticed first.
	if cerr := ended(ctx); cerr != nil {
		return nil, fmt.Errorf("%w (%w)", cerr, err)
	}
	if ended(qctx) != nil {
		return nil, fmt.Errorf("no answer within %v (%w)", r.timeout, err)
	}
	return nil, err
}

// ended is ctx's error, or DeadlineExceeded once its deadline has passed even if
// its timer has not fired yet.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}
