package dnscheck_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// zone is a small DNS server's data and behaviour: it answers from its records
// like a recursive resolver would, chasing a CNAME only within the same
// two-label zone, so that the client has to follow the rest itself.
type zone struct {
	rrs      map[string][]dns.RR // by lowercase owner, fully qualified
	servfail map[string]bool     // names answered SERVFAIL
	rcode    int                 // when set, every answer has this rcode

	mu      sync.Mutex
	queries []query
}

type query struct {
	name     string
	qtype    uint16
	tcp      bool
	rd       bool
	ednsSize uint16
}

func newZone(t *testing.T, records ...string) *zone {
	t.Helper()
	z := &zone{rrs: map[string][]dns.RR{}, servfail: map[string]bool{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		owner := strings.ToLower(rr.Header().Name)
		z.rrs[owner] = append(z.rrs[owner], rr)
	}
	return z
}

func (z *zone) log() []query {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]query(nil), z.queries...)
}

func (z *zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	opt := req.IsEdns0()
	logged := query{name: name, qtype: q.Qtype, tcp: tcp, rd: req.RecursionDesired}
	if opt != nil {
		logged.ednsSize = opt.UDPSize()
	}
	z.mu.Lock()
	z.queries = append(z.queries, logged)
	z.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	switch {
	case z.rcode != 0:
		m.Rcode = z.rcode
	case z.servfail[name]:
		m.Rcode = dns.RcodeServerFailure
	default:
		z.answer(m, name, q.Qtype)
	}
	size := dns.MinMsgSize
	if opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
		size = int(opt.UDPSize())
	}
	if !tcp {
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

func (z *zone) answer(m *dns.Msg, name string, qtype uint16) {
	for range 20 {
		rrs, ok := z.lookup(name)
		if !ok {
			m.Rcode = dns.RcodeNameError
			return
		}
		var next string
		for _, rr := range rrs {
			if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
				next = strings.ToLower(c.Target)
			}
		}
		if next == "" {
			for _, rr := range rrs {
				if rr.Header().Rrtype == qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
			return
		}
		if zoneOf(next) != zoneOf(name) {
			return // out of zone: left to the client
		}
		name = next
	}
}

// lookup returns the records at name, those of a wildcard covering it renamed,
// and whether the name exists at all.
func (z *zone) lookup(name string) ([]dns.RR, bool) {
	if rrs, ok := z.rrs[name]; ok {
		return rrs, true
	}
	for owner := range z.rrs {
		if strings.HasSuffix(owner, "."+name) {
			return nil, true // an empty non-terminal
		}
	}
	_, parent, _ := strings.Cut(name, ".")
	wild, ok := z.rrs["*."+parent]
	if !ok {
		return nil, false
	}
	out := make([]dns.RR, len(wild))
	for i, rr := range wild {
		out[i] = dns.Copy(rr)
		out[i].Header().Name = name
	}
	return out, true
}

func zoneOf(name string) string {
	labels := dns.SplitDomainName(name)
	if len(labels) < 2 {
		return name
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// serve starts a DNS server for h on 127.0.0.1, UDP and TCP on one ephemeral
// port, and returns its address.
func serve(t *testing.T, h dns.Handler) string {
	t.Helper()
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("no port free for both UDP and TCP: %v", err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan error, 1)
		go func() { done <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-done:
			t.Fatalf("DNS server: %v", err)
		}
		t.Cleanup(func() {
			srv.Shutdown()
			<-done
		})
	}
	return pc.LocalAddr().String()
}

// silent returns the address of a UDP socket that never answers.
func silent(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// bigTXT is a TXT record set too large for a 1232-byte UDP answer.
func bigTXT(name string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s 300 IN TXT \"%03d-%s\"", name, i, strings.Repeat("x", 120))
	}
	return out
}
