// Package safehttp makes HTTP requests to URLs that customers give (webhook
// endpoints, route targets) without letting them reach what only the service
// can: loopback, private networks, link-local addresses (the instance metadata
// service among them) and the like. The check is made twice: on the URL when it
// is saved (a clear error for the customer), and on every connection, at dial
// time, on the address actually dialled, so that a name that resolves to a
// public address when saved and to a private one later (DNS rebinding) is still
// refused.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Guard decides which URLs and addresses may be reached.
type Guard struct {
	// AllowLoopback lets http:// and https:// URLs reach 127.0.0.1 and ::1. Only
	// the local development stack sets it (DNSREROUTE_DEV_ALLOW_LOOPBACK, set by
	// `dnsreroute dev` and never by the stack's template): a deployed function
	// must never reach its own host.
	AllowLoopback bool
	// Resolver resolves host names (net.DefaultResolver when nil).
	Resolver *net.Resolver
}

// ErrRefused is wrapped by every refusal, so callers can tell a refused
// destination (the customer's to fix) from a network failure.
var ErrRefused = errors.New("destination refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// blocked are the ranges no request may reach besides those netip classifies
// (loopback, private, link-local, multicast, unspecified).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may translate to any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("100::/64"),        // discard-only
}

// Public reports whether a may be reached: an address on the public internet.
// The instance metadata service (169.254.169.254, fd00:ec2::254) is link-local
// or private, and so refused.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func (g Guard) allowed(a netip.Addr) bool {
	return Public(a) || g.AllowLoopback && a.Unmap().IsLoopback()
}

// CheckURL refuses a URL a request may not be sent to: not absolute https (http
// too for loopback when AllowLoopback), with credentials, or naming a host that
// does not resolve or resolves to any address that is not public.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return refused("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return refused("the URL may not carry a user name or password")
	}
	host := u.Hostname()
	addr, perr := netip.ParseAddr(strings.Trim(host, "[]"))
	isIP := perr == nil
	loopback := g.AllowLoopback && (isIP && addr.Unmap().IsLoopback() || host == "localhost")
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback:
	default:
		return refused("the URL must start with https://")
	}
	if isIP {
		if !g.allowed(addr) {
			return refused("%s is not a public address", addr)
		}
		return nil
	}
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return refused("the name %s does not resolve", host)
	}
	for _, a := range addrs {
		if !g.allowed(a) {
			return refused("%s resolves to %s, which is not a public address", host, a.Unmap())
		}
	}
	return nil
}

func (g Guard) resolver() *net.Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// control refuses, at dial time, a connection to an address that may not be
// reached: the address dialled is the one resolved for this connection.
func (g Guard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return refused("network %s", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused("address %q", address)
	}
	if !g.allowed(ap.Addr()) {
		return refused("%s is not a public address", ap.Addr().Unmap())
	}
	return nil
}

// Dialer is a net.Dialer that refuses every address that may not be reached.
func (g Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: g.control, Resolver: g.Resolver}
}

// ClientOptions shape a Client.
type ClientOptions struct {
	Timeout time.Duration // the whole exchange, body included
	// MaxRedirects is how many redirects are followed (each to a URL CheckURL
	// allows, and dialled through the guard); 0 follows none and returns the
	// redirect itself.
	MaxRedirects int
}

// Client is an HTTP client whose every connection passes the guard. It uses no
// proxy from the environment (a proxy would dial for it, unguarded).
func (g Guard) Client(o ClientOptions) *http.Client {
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer(5 * time.Second).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          50,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return http.ErrUseLastResponse
			}
			return g.CheckURL(req.Context(), req.URL.String())
		},
	}
}
