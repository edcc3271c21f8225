// Package dnstest serves DNS records from memory on loopback, for tests of code
// that looks hostnames up: a real DNS server that the real resolver asks.
package dnstest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server answers from the records it was given, like a recursive resolver that
// sees only them: a name with no records at all is NXDOMAIN, a CNAME is answered
// on its own (the resolver follows it), anything else by type.
type Server struct {
	// Addr is the server's "host:port", UDP and TCP.
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
}

// Start serves until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}}
	pc, ln := listen(t)
	s.Addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	failed := make(chan error, 2)
	notify := func() { started <- struct{}{} }
	udp := &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: notify}
	tcp := &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: notify}
	for _, srv := range []*dns.Server{udp, tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil {
				failed <- err
			}
		}()
	}
	t.Cleanup(func() {
		// Shutdown waits for the servers' loops to end, without a bound of its own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, srv := range []*dns.Server{udp, tcp} {
			if err := srv.ShutdownContext(ctx); ctx.Err() != nil {
				t.Errorf("DNS server still serving after %s: %v", 30*time.Second, err)
			}
		}
	})
	// Serving before returning: a server shut down before it started would
	// start afterwards and serve on, past the test.
	timeout := time.After(30 * time.Second)
	for range 2 {
		select {
		case <-started:
		case err := <-failed:
			t.Fatalf("DNS server: %v", err)
		case <-timeout:
			t.Fatal("DNS server not serving after 30s")
		}
	}
	return s
}

// listen opens UDP and TCP on one loopback port: the UDP port is chosen by the
// system, and another program may hold its TCP twin, so it tries a few.
func listen(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		_ = pc.Close()
		if attempt == 20 {
			t.Fatal(err)
		}
	}
}

// Set replaces the records of each name and type given, in zone-file syntax
// ("www.example.com. 60 IN CNAME d1.cloudfront.net.").
func (s *Server) Set(t testing.TB, records ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	replaced := map[string]bool{}
	for _, text := range records {
		rr, err := dns.NewRR(text)
		if err != nil {
			t.Fatalf("record %q: %v", text, err)
		}
		name := strings.ToLower(rr.Header().Name)
		key := name + "/" + dns.TypeToString[rr.Header().Rrtype]
		if !replaced[key] {
			replaced[key] = true
			s.records[name] = dropType(s.records[name], rr.Header().Rrtype)
		}
		s.records[name] = append(s.records[name], rr)
	}
}

// Remove deletes every record of name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, strings.ToLower(dns.Fqdn(name)))
}

func dropType(rrs []dns.RR, t uint16) []dns.RR {
	out := rrs[:0:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype != t {
			out = append(out, rr)
		}
	}
	return out
}

// lookup finds name's records, or a wildcard's above it, copied under name.
func (s *Server) lookup(name string) ([]dns.RR, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rrs, ok := s.records[name]; ok {
		return rrs, true
	}
	for parent := name; ; {
		_, rest, found := strings.Cut(parent, ".")
		if !found || rest == "" {
			return nil, false
		}
		if rrs, ok := s.records["*."+rest]; ok {
			out := make([]dns.RR, len(rrs))
			for i, rr := range rrs {
				out[i] = dns.Copy(rr)
				out[i].Header().Name = name
			}
			return out, true
		}
		parent = rest
	}
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		rrs, ok := s.lookup(strings.ToLower(q.Name))
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		default:
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME && q.Qtype != dns.TypeCNAME {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
	}
	_ = w.WriteMsg(m)
}
