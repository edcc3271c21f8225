package reroute

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// DefaultEmailEvents are what a member is emailed about until they choose:
// what needs a person's attention, not every route edit.
var DefaultEmailEvents = []EventType{
	EventDomainActive, EventDomainFailed, EventDomainReleaseScheduled, EventDomainReleased,
	EventBillingPlanChanged, EventBillingPaymentFailed, EventRoutesPaused, EventRoutesResumed,
	EventDestinationBroken, EventDestinationRecovered, EventImportCompleted,
}

// EmailPrefs are the events a member of an org is emailed about. Events empty
// is none: the member unsubscribed.
type EmailPrefs struct {
	OrgID  string
	Email  string
	Events []EventType
	// Set is false while the member has not chosen (Events are the defaults).
	Set bool
}

// NotifyPrefStore keeps members' email preferences.
type NotifyPrefStore interface {
	// GetEmailPrefs returns a member's preferences, the defaults when unset.
	GetEmailPrefs(ctx context.Context, orgID, email string) (EmailPrefs, error)
	// SetEmailPrefs stores them, for a member of the org (CodeNotFound otherwise).
	SetEmailPrefs(ctx context.Context, p EmailPrefs) error
}

// UnsubscribeSig signs a member's one-click unsubscribe link: the HMAC-SHA256,
// keyed with the deployment's secret key, of the org and the email. The link
// needs no sign-in (mail clients follow it as is) and unsubscribes no one else.
func UnsubscribeSig(key []byte, orgID, email string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("unsubscribe\x00" + orgID + "\x00" + email))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ValidUnsubscribeSig reports whether sig is UnsubscribeSig's for them.
func ValidUnsubscribeSig(key []byte, orgID, email, sig string) bool {
	return len(key) > 0 && hmac.Equal([]byte(sig), []byte(UnsubscribeSig(key, orgID, email)))
}
