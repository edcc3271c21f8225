package dnstest_test

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
)

// The server answers as soon as Start returns, over UDP and TCP, and is gone
// once its test ends.
func TestServesUntilTheTestEnds(t *testing.T) {
	var addr string
	t.Run("serving", func(t *testing.T) {
		s := dnstest.Start(t)
		addr = s.Addr
		s.Set(t, "www.example.com. 60 IN CNAME d1.cloudfront.net.")
		q := new(dns.Msg)
		q.SetQuestion("www.example.com.", dns.TypeA)
		for _, network := range []string{"udp", "tcp"} {
			c := &dns.Client{Net: network, Timeout: 30 * time.Second}
			m, _, err := c.Exchange(q, addr)
			if err != nil {
				t.Fatalf("%s: %v", network, err)
			}
			if len(m.Answer) != 1 || m.Answer[0].(*dns.CNAME).Target != "d1.cloudfront.net." {
				t.Errorf("%s answer %v", network, m.Answer)
			}
		}
	})
	if c, err := net.DialTimeout("tcp", addr, 30*time.Second); err == nil {
		c.Close()
		t.Fatal("the server still accepts connections after its test ended")
	}
}
