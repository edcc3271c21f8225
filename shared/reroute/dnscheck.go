package reroute

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// amazonCAAs are the identifiers Amazon's certificate authority looks for in
// CAA records.
var amazonCAAs = []string{"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"}

// DNSProbeName is the name to look up to check host: host itself, or for a
// wildcard ("*.example.com") a name under it ("<nonce>.example.com"), since a
// wildcard label cannot be looked up. nonce is a DNS label the caller makes random,
// so that no record of the customer's own can stand for the wildcard's.
func DNSProbeName(host, nonce string) string {
	if base, ok := strings.CutPrefix(host, "*."); ok {
		return nonce + "." + base
	}
	return host
}

// CheckDNS judges what DNS answered for host (l, looked up at l.Name; for a
// wildcard host a name under it) against what the service needs: host must reach
// cnameTarget, through a CNAME chain or a flattened record, and its CAA records
// must let Amazon's certificate authority issue its certificate. Each finding
// says, in words a customer can act on, what is right or what to change; errors
// come first.
func CheckDNS(host, cnameTarget string, l DNSLookup) DNSCheck {
	c := dnsChecker{
		host:     trimDot(host),
		name:     trimDot(l.Name),
		target:   trimDot(cnameTarget),
		wildcard: IsWildcard(host),
		l:        l,
	}
	if c.name == "" {
		c.name = c.host
	}
	var check DNSCheck
	check.PointsAtUs = c.routing()
	check.CAAAllowsAmazon = c.caa()
	check.Findings = c.findings
	slices.SortStableFunc(check.Findings, func(a, b Finding) int {
		return cmp.Compare(findingRank(a.Level), findingRank(b.Level))
	})
	return check
}

func findingRank(level string) int {
	switch level {
	case FindingError:
		return 0
	case FindingWarning:
		return 1
	}
	return 2
}

type dnsChecker struct {
	host, name, target string
	wildcard           bool
	l                  DNSLookup
	findings           []Finding
}

func (c *dnsChecker) add(level, code, format string, args ...any) {
	c.findings = append(c.findings, Finding{Level: level, Code: code, Message: fmt.Sprintf(format, args...)})
}

// subject names what was checked: the host, and for a wildcard the name that
// stood for it.
func (c *dnsChecker) subject() string {
	if c.wildcard && c.name != c.host {
		return fmt.Sprintf("%s (checked as %s)", c.host, c.name)
	}
	return c.host
}

// apex reports whether host is a registered domain itself ("example.com"), the
// top of its DNS zone, where DNS allows no CNAME.
func (c *dnsChecker) apex() bool {
	if c.wildcard {
		return false
	}
	etld1, err := publicsuffix.EffectiveTLDPlusOne(c.host)
	return err == nil && strings.EqualFold(etld1, c.host)
}

// createAdvice says which record to create for host; with replace, in place of
// its address records.
func (c *dnsChecker) createAdvice(replace bool) string {
	create, with := "create", "Create"
	if replace {
		create, with = "replace its A/AAAA records with", "Replace its A/AAAA records with"
	}
	if c.apex() {
		return fmt.Sprintf("%s is a bare domain (the top of its DNS zone), where DNS does not allow a CNAME record: "+
			"%s your DNS provider's ALIAS, ANAME or CNAME-flattening record for %s pointing to %s.",
			c.host, create, c.host, c.target)
	}
	return fmt.Sprintf("%s a CNAME record named %s pointing to %s. "+
		"If your DNS provider does not allow a CNAME on that name, use its ALIAS, ANAME or CNAME-flattening record pointing to %s instead.",
		with, c.host, c.target, c.target)
}

// routing judges whether the name reaches the target, and says so.
func (c *dnsChecker) routing() bool {
	l := c.l
	// The chain reaches the target: the customer's part is done, whatever the
	// target itself resolves to.
	for i, n := range l.CNAMEs {
		if sameName(n, c.target) {
			c.add(FindingOK, "cname_ok", "%s points to the service through %s.", c.subject(), c.chain(i+1))
			return true
		}
	}
	ours, others := splitAddresses(l.Addresses, l.TargetAddresses)
	switch {
	case len(ours) > 0:
		if len(l.CNAMEs) == 0 {
			c.add(FindingOK, "flattened_ok", "%s points to the service: it has no CNAME record, but its addresses (%s) are those of %s, "+
				"so a flattened record (ALIAS, ANAME or CNAME flattening) is in place.", c.subject(), strings.Join(ours, ", "), c.target)
		} else {
			c.add(FindingOK, "flattened_ok", "%s points to the service: %s ends at addresses (%s) that are those of %s.",
				c.subject(), c.chain(len(l.CNAMEs)), strings.Join(ours, ", "), c.target)
		}
		if len(others) > 0 {
			c.add(FindingWarning, "addresses_extra", "%s also resolves to %s, which %s of %s. "+
				"If %s left over from a previous host, remove %s, or some visitors will not reach the service.",
				c.subject(), strings.Join(others, ", "), plural(others, "is not an address", "are not addresses"), c.target,
				plural(others, "it is", "they are"), plural(others, "that A/AAAA record", "those A/AAAA records"))
		}
		return true
	case len(l.CNAMEs) > 0:
		last := trimDot(l.CNAMEs[len(l.CNAMEs)-1])
		via := ""
		if len(l.CNAMEs) > 1 {
			via = fmt.Sprintf(" (through %s)", c.chain(len(l.CNAMEs)))
		}
		if l.NXDomain || len(l.Addresses) == 0 {
			c.add(FindingError, "cname_dangling", "%s is a CNAME to %s%s, which does not resolve to any address (check it for a typo). "+
				"Change the CNAME record named %s to point to %s.", c.subject(), last, via, c.host, c.target)
			return false
		}
		c.add(FindingError, "cname_wrong_target", "%s is a CNAME to %s%s, which resolves to %s, not to the service. "+
			"Change the CNAME record named %s to point to %s.", c.subject(), last, via, strings.Join(l.Addresses, ", "), c.host, c.target)
		return false
	case l.NXDomain:
		if c.wildcard {
			c.add(FindingError, "name_not_found", "No DNS record covers %s: %s does not exist in DNS. %s",
				c.host, c.name, c.createAdvice(false))
		} else {
			c.add(FindingError, "name_not_found", "%s does not exist in DNS. %s", c.host, c.createAdvice(false))
		}
		return false
	case len(l.Addresses) == 0:
		c.add(FindingError, "cname_missing", "%s exists in DNS but has no CNAME and no address record, so it does not point to the service. %s",
			c.subject(), c.createAdvice(false))
		return false
	default:
		c.add(FindingError, "cname_missing", "%s does not point to the service: it has no CNAME record and resolves to %s (perhaps a previous host). "+
			"%s", c.subject(), strings.Join(l.Addresses, ", "), c.createAdvice(true))
		return false
	}
}

// chain writes the first n names of the CNAME chain from the looked-up name.
func (c *dnsChecker) chain(n int) string {
	if n == 1 {
		return "a CNAME record to " + trimDot(c.l.CNAMEs[0])
	}
	names := []string{c.name}
	for _, cn := range c.l.CNAMEs[:n] {
		names = append(names, trimDot(cn))
	}
	return "the CNAME chain " + strings.Join(names, " -> ")
}

// caa judges whether the governing CAA set lets Amazon issue host's certificate
// (RFC 8659), and says so when there is a set to judge.
func (c *dnsChecker) caa() bool {
	at := trimDot(c.l.CAAName)
	if at == "" {
		at = strings.TrimPrefix(c.host, "*.")
	}
	allowed := true
	for _, r := range c.l.CAA {
		tag := strings.ToLower(r.Tag)
		if r.Flag&128 != 0 && tag != "issue" && tag != "issuewild" && tag != "iodef" {
			allowed = false
			c.add(FindingError, "caa_forbids_amazon", "The CAA records at %s include a record marked critical (flag %d) with the tag %q, "+
				"which Amazon's certificate authority does not know, so it will not issue the HTTPS certificate for %s. "+
				"Remove that record or set its flag to 0.", at, r.Flag, r.Tag, c.host)
		}
	}
	tag := "issue"
	set := caaValues(c.l.CAA, "issue")
	if c.wildcard {
		tag = "issuewild"
		if wild := caaValues(c.l.CAA, "issuewild"); len(wild) > 0 {
			set = wild
		}
	}
	if len(set) == 0 {
		return allowed // no issue property: every CA may issue
	}
	var issuers []string
	for _, v := range set {
		d, _, _ := strings.Cut(v, ";")
		d = strings.ToLower(trimDot(strings.TrimSpace(d)))
		if slices.Contains(amazonCAAs, d) {
			if allowed {
				c.add(FindingOK, "caa_ok", "The CAA records at %s allow Amazon (%s) to issue the HTTPS certificate for %s.", at, d, c.host)
			}
			return allowed
		}
		if d != "" && !slices.Contains(issuers, d) {
			issuers = append(issuers, d)
		}
	}
	kind := "certificates"
	if c.wildcard {
		kind = "wildcard certificates"
	}
	who := "forbid every certificate authority from issuing " + kind + " for " + c.host
	if len(issuers) > 0 {
		who = fmt.Sprintf("allow only %s to issue %s for %s", strings.Join(issuers, ", "), kind, c.host)
	}
	c.add(FindingError, "caa_forbids_amazon", "The CAA records at %s %s, so Amazon cannot issue the HTTPS certificate. "+
		"At your DNS provider, add this record (the others can stay): %s CAA 0 %s \"amazon.com\"", at, who, at, tag)
	return false
}

// caaValues returns the values of the records with tag.
func caaValues(rs []CAARecord, tag string) []string {
	var out []string
	for _, r := range rs {
		if strings.EqualFold(r.Tag, tag) {
			out = append(out, r.Value)
		}
	}
	return out
}

// splitAddresses sorts addrs into those that are among target's and the others,
// comparing parsed addresses.
func splitAddresses(addrs, target []string) (ours, others []string) {
	set := make(map[netip.Addr]bool, len(target))
	for _, t := range target {
		if a, err := netip.ParseAddr(t); err == nil {
			set[a.Unmap()] = true
		}
	}
	for _, s := range addrs {
		if a, err := netip.ParseAddr(s); err == nil && set[a.Unmap()] {
			ours = append(ours, s)
		} else {
			others = append(others, s)
		}
	}
	return ours, others
}

func sameName(a, b string) bool { return strings.EqualFold(trimDot(a), trimDot(b)) }

func trimDot(s string) string { return strings.TrimSuffix(strings.TrimSpace(s), ".") }

func plural(xs []string, one, many string) string {
	if len(xs) == 1 {
		return one
	}
	return many
}
