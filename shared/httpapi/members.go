package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

type memberJSON struct {
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
}

func toMemberJSON(m reroute.Member) memberJSON {
	return memberJSON{Email: m.Email, Role: string(m.Role), CreatedAt: m.CreatedAt}
}

type memberInput struct {
	Email string       `json:"email"`
	Role  reroute.Role `json:"role"`
}

type roleInput struct {
	Role reroute.Role `json:"role"`
}

func invalidRole() error {
	return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
		Fields: []reroute.FieldError{{Field: "role", Message: "role must be owner, admin or member"}}}
}

func (s *server) listMembers(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readMembers)
	if err != nil {
		return err
	}
	page, err := pageRequest(r.URL.Query())
	if err != nil {
		return err
	}
	p, err := s.Orgs.ListMembers(r.Context(), a.org.ID, page)
	if err != nil {
		return err
	}
	out := list[memberJSON]{Items: make([]memberJSON, len(p.Items)), NextCursor: p.NextCursor}
	for i, m := range p.Items {
		out.Items[i] = toMemberJSON(m)
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) addMember(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageMembers)
	if err != nil {
		return err
	}
	in, err := decode[memberInput](r)
	if err != nil {
		return err
	}
	email, err := reroute.NormalizeEmail(in.Email)
	if err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = reroute.RoleMember
	}
	if !reroute.ValidRole(in.Role) {
		return invalidRole()
	}
	if in.Role == reroute.RoleOwner && a.role != reroute.RoleOwner {
		return errorf(reroute.CodeForbidden, "role_not_allowed", "only owners can make owners")
	}
	if plan, ok := s.Plans.Get(a.org.Plan); ok && !plan.Paid() {
		return errorf(reroute.CodeLimit, "plan_limit_reached", fmt.Sprintf("the %s plan has one member, its owner: upgrade to a paid plan to invite members", plan.Title))
	}
	m := reroute.Member{OrgID: a.org.ID, Email: email, Role: in.Role, OrgName: a.org.Name, CreatedAt: s.Now().UTC()}
	if err := s.Orgs.AddMember(r.Context(), m); err != nil {
		return err
	}
	encodeJSON(w, http.StatusCreated, toMemberJSON(m))
	return nil
}

// memberInPath loads the member named in the path, checking the caller may change them.
func (s *server) memberInPath(r *http.Request, a access) (reroute.Member, error) {
	email, err := reroute.NormalizeEmail(r.PathValue("email"))
	if err != nil {
		return reroute.Member{}, errorf(reroute.CodeNotFound, "member_not_found", "no such member")
	}
	m, err := s.Orgs.GetMember(r.Context(), a.org.ID, email)
	if reroute.IsNotFound(err) {
		return m, errorf(reroute.CodeNotFound, "member_not_found", "no such member")
	}
	return m, err
}

func (s *server) updateMember(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageMembers)
	if err != nil {
		return err
	}
	in, err := decode[roleInput](r)
	if err != nil {
		return err
	}
	if !reroute.ValidRole(in.Role) {
		return invalidRole()
	}
	m, err := s.memberInPath(r, a)
	if err != nil {
		return err
	}
	if (in.Role == reroute.RoleOwner || m.Role == reroute.RoleOwner) && a.role != reroute.RoleOwner {
		return errorf(reroute.CodeForbidden, "role_not_allowed", "only owners can make or change owners")
	}
	if err := s.Orgs.SetMemberRole(r.Context(), a.org.ID, m.Email, in.Role); err != nil {
		return err
	}
	m.Role = in.Role
	encodeJSON(w, http.StatusOK, toMemberJSON(m))
	return nil
}

// removeMember lets owners and admins remove members, and anyone leave.
func (s *server) removeMember(w http.ResponseWriter, r *http.Request) error {
	need := readMembers // enough to leave; removing someone else is checked below
	if !callerOf(r.Context()).IsUser() {
		need = manageMembers
	}
	a, err := s.orgAccess(r, need)
	if err != nil {
		return err
	}
	m, err := s.memberInPath(r, a)
	if err != nil {
		return err
	}
	leaving := a.caller.IsUser() && m.Email == a.caller.Email
	if !leaving {
		if err := a.may(manageMembers); err != nil {
			return err
		}
		if m.Role == reroute.RoleOwner && a.role != reroute.RoleOwner {
			return errorf(reroute.CodeForbidden, "role_not_allowed", "only owners can remove owners")
		}
	}
	if err := s.Orgs.RemoveMember(r.Context(), a.org.ID, m.Email); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
