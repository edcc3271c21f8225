package reroute

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a member may do in an org.
type Role string

const (
	RoleOwner  Role = "owner"  // everything, including billing and making owners
	RoleAdmin  Role = "admin"  // members (but not owners), API keys, routes
	RoleMember Role = "member" // routes
)

// ValidRole reports whether r is a role.
func ValidRole(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// ManagesMembers reports whether the role may add, change and remove members and keys.
func (r Role) ManagesMembers() bool { return r == RoleOwner || r == RoleAdmin }

// Org is a customer: it holds routes, members and API keys, and has a plan. The
// counters and limits live on the org so that DynamoDB can enforce the limits in
// the same transaction as the write they bound.
type Org struct {
	ID          string
	Name        string
	Plan        string
	RouteLimit  int
	MemberLimit int
	// RuleLimit bounds each route's path rules; the store checks it in the write
	// that sets them, as it checks RouteLimit.
	RuleLimit   int
	RouteCount  int
	MemberCount int
	OwnerCount  int
	Billing     Billing
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Member is a user's membership of an org, by email.
type Member struct {
	OrgID     string
	Email     string
	Role      Role
	OrgName   string // the org's name when the membership was made, for "my orgs" lists
	CreatedAt time.Time
}

// Limits of free-text fields.
const (
	MaxOrgNameLen = 100
	MaxKeyNameLen = 100
	MaxEmailLen   = 254
)

// NormalizeOrgName trims an org's name and checks it is 1 to 100 printable characters.
func NormalizeOrgName(name string) (string, error) { return normalizeName(name, MaxOrgNameLen) }

// NormalizeKeyName does the same for an API key's name.
func NormalizeKeyName(name string) (string, error) { return normalizeName(name, MaxKeyNameLen) }

func normalizeName(name string, max int) (string, error) {
	n := strings.TrimSpace(name)
	var v invalid
	switch {
	case n == "":
		v.add("name", "a name is required")
	case utf8.RuneCountInString(n) > max:
		v.add("name", "a name is at most %d characters", max)
	case strings.ContainsFunc(n, func(r rune) bool { return r < ' ' || r == 0x7f || r >= 0x80 && r <= 0x9f }):
		v.add("name", "a name cannot contain control characters")
	}
	return n, v.err()
}

// NormalizeEmail returns an address in the form members are stored under: a bare
// address, lowercased (providers treat addresses case-insensitively in practice,
// and one person must not become two members).
func NormalizeEmail(email string) (string, error) {
	e := strings.TrimSpace(email)
	addr, err := mail.ParseAddress(e)
	at := strings.LastIndexByte(e, '@')
	if err != nil || addr.Address != e || at < 1 || at > 64 || !strings.Contains(e[at:], ".") || len(e) > MaxEmailLen {
		return "", &Error{Code: CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []FieldError{{Field: "email", Message: "an email address such as name@example.com is required"}}}
	}
	return strings.ToLower(e), nil
}

// OrgStore keeps orgs and their members. Limits and the last-owner rule are enforced
// by the store, in the database, in the same write as the change they guard.
type OrgStore interface {
	// CreateOrg stores a new org with owner as its first member; the org's counters
	// are set from owner, not taken from org. A zero owner (no email) makes an org
	// without members, for operator tools. An existing id is CodeConflict "org_exists".
	CreateOrg(ctx context.Context, org Org, owner Member) error
	// GetOrg returns an org, or CodeNotFound (also while it is being deleted).
	GetOrg(ctx context.Context, id string) (Org, error)
	// RenameOrg changes an org's name.
	RenameOrg(ctx context.Context, id, name string, at time.Time) error
	// DeleteOrg removes an org with its routes, members and API keys. A partial
	// failure leaves the org marked as being deleted; calling it again finishes.
	DeleteOrg(ctx context.Context, id string) error

	// GetMember returns a membership, or CodeNotFound.
	GetMember(ctx context.Context, orgID, email string) (Member, error)
	// ListMembers pages through an org's members in email order.
	ListMembers(ctx context.Context, orgID string, page PageRequest) (Page[Member], error)
	// ListMemberships returns the orgs a user belongs to (at most 1000).
	ListMemberships(ctx context.Context, email string) ([]Member, error)
	// AddMember adds a member: CodeConflict "member_exists" if already one,
	// CodeLimit "plan_limit_reached" when the org is at its member limit.
	AddMember(ctx context.Context, m Member) error
	// SetMemberRole changes a role: CodeConflict "last_owner" when it would leave
	// the org without an owner.
	SetMemberRole(ctx context.Context, orgID, email string, role Role) error
	// RemoveMember removes a member: CodeConflict "last_owner" for the last owner.
	RemoveMember(ctx context.Context, orgID, email string) error
}
