package reroute

// RouteState is what a visitor to a route's hostname gets now: the first thing
// said about a route, before its settings.
type RouteState string

// Route states, in the order State decides them.
const (
	// StateDisabled: turned off; the hostname answers "not configured".
	StateDisabled RouteState = "disabled"
	// StatePaused: beyond the plan's route limit; answers "not configured".
	StatePaused RouteState = "paused"
	// StatePendingDNS: the hostname's DNS does not point here yet.
	StatePendingDNS RouteState = "pending_dns"
	// StateNeedsAttention: the hostname cannot be served (its certificate failed).
	StateNeedsAttention RouteState = "needs_attention"
	// StatePendingCertificate: DNS is right; HTTPS waits for the certificate.
	StatePendingCertificate RouteState = "pending_certificate"
	// StateRedirecting: visitors are redirected.
	StateRedirecting RouteState = "redirecting"
)

// RouteStates are every state, for validating a filter.
var RouteStates = []RouteState{StateRedirecting, StatePaused, StateDisabled, StatePendingDNS, StatePendingCertificate, StateNeedsAttention}

// State is what a visitor gets now: off beats paused beats DNS beats the certificate.
func (r Route) State() RouteState {
	switch {
	case !r.Enabled:
		return StateDisabled
	case r.Paused:
		return StatePaused
	}
	switch r.Domain.State {
	case DomainPendingDNS, "":
		return StatePendingDNS
	case DomainFailed:
		return StateNeedsAttention
	case DomainPendingCertificate:
		return StatePendingCertificate
	}
	return StateRedirecting
}
