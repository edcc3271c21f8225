package dynamo_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestAddMember(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	mustCreateOrg(t, s, newOrg("org-a", reroute.PlanDeveloper), owner("org-a", "boss@example.com"))
	mustCreateOrg(t, s, newOrg("org-b", reroute.PlanDeveloper), owner("org-b", "boss@example.com"))
	joined := time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC)
	m := member("org-a", "ann@example.com", reroute.RoleAdmin)
	m.CreatedAt = joined
	if err := s.AddMember(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMember(ctx, "org-a", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Errorf("GetMember = %+v, want %+v", got, m)
	}
	wantCounts(t, s, "org-a", 0, 2, 1)

	tests := []struct {
		name   string
		m      reroute.Member
		code   reroute.Code
		reason string
	}{
		{name: "again", m: member("org-a", "ann@example.com", reroute.RoleMember), code: reroute.CodeConflict, reason: "member_exists"},
		{name: "owner again", m: owner("org-a", "boss@example.com"), code: reroute.CodeConflict, reason: "member_exists"},
		{name: "missing org", m: member("org-z", "ann@example.com", reroute.RoleMember), code: reroute.CodeNotFound, reason: "org_not_found"},
		{name: "no role", m: member("org-a", "bob@example.com", ""), code: reroute.CodeInvalid},
		{name: "no email", m: member("org-a", "", reroute.RoleAdmin), code: reroute.CodeInvalid},
		{name: "no org", m: member("", "bob@example.com", reroute.RoleAdmin), code: reroute.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, s.AddMember(t.Context(), tt.m), tt.code, tt.reason)
		})
	}
	wantCounts(t, s, "org-a", 0, 2, 1)
	wantCounts(t, s, "org-b", 0, 1, 1)

	// The same person may belong to another org; an owner added counts as one.
	if err := s.AddMember(ctx, owner("org-b", "ann@example.com")); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, s, "org-b", 0, 2, 2)
	_, err = s.GetMember(ctx, "org-c", "ann@example.com")
	wantErr(t, err, reroute.CodeNotFound, "member_not_found")
	_, err = s.GetMember(ctx, "org-a", "nobody@example.com")
	wantErr(t, err, reroute.CodeNotFound, "member_not_found")
}

// TestAddMemberLimitRace checks that the member limit holds in the database: of
// 25 members added at once to an org with room for one more, exactly one is.
func TestAddMemberLimitRace(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	for i, tt := range raceAPIs(client) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dynamo.New(tt.api, table)
			id := fmt.Sprintf("org-%d", i)
			org := newOrg(id, reroute.PlanFree)
			org.MemberLimit = 2
			mustCreateOrg(t, s, org, owner(id, "boss@example.com"))
			errs := race(25, func(n int) error {
				return s.AddMember(context.Background(), member(id, fmt.Sprintf("m%d@example.com", n), reroute.RoleMember))
			})
			t.Logf("%d transactions cancelled by a conflict and retried", tt.api.conflicts.Load())
			wantOneWinner(t, errs)
			wantCounts(t, s, id, 0, 2, 1)
			p, err := s.ListMembers(t.Context(), id, reroute.PageRequest{})
			if err != nil || len(p.Items) != 2 {
				t.Fatalf("ListMembers = %d members, %v; want 2", len(p.Items), err)
			}
		})
	}
}

// TestOwners walks the last-owner rules step by step, checking the counters after
// each.
func TestOwners(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	mustCreateOrg(t, s, newOrg("org-a", reroute.PlanEnterprise), owner("org-a", "boss@example.com"))
	for _, m := range []reroute.Member{member("org-a", "ann@example.com", reroute.RoleAdmin), member("org-a", "bob@example.com", reroute.RoleMember)} {
		if err := s.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name                   string
		do                     func() error
		code                   reroute.Code
		reason                 string
		wantMembers, wantOwner int
	}{
		{name: "demote the only owner", do: func() error { return s.SetMemberRole(ctx, "org-a", "boss@example.com", reroute.RoleAdmin) },
			code: reroute.CodeConflict, reason: "last_owner", wantMembers: 3, wantOwner: 1},
		{name: "remove the only owner", do: func() error { return s.RemoveMember(ctx, "org-a", "boss@example.com") },
			code: reroute.CodeConflict, reason: "last_owner", wantMembers: 3, wantOwner: 1},
		{name: "owner to owner", do: func() error { return s.SetMemberRole(ctx, "org-a", "boss@example.com", reroute.RoleOwner) },
			wantMembers: 3, wantOwner: 1},
		{name: "member to admin", do: func() error { return s.SetMemberRole(ctx, "org-a", "bob@example.com", reroute.RoleAdmin) },
			wantMembers: 3, wantOwner: 1},
		{name: "admin to admin", do: func() error { return s.SetMemberRole(ctx, "org-a", "bob@example.com", reroute.RoleAdmin) },
			wantMembers: 3, wantOwner: 1},
		{name: "promote ann", do: func() error { return s.SetMemberRole(ctx, "org-a", "ann@example.com", reroute.RoleOwner) },
			wantMembers: 3, wantOwner: 2},
		{name: "demote the first owner", do: func() error { return s.SetMemberRole(ctx, "org-a", "boss@example.com", reroute.RoleMember) },
			wantMembers: 3, wantOwner: 1},
		{name: "remove ann, now the only owner", do: func() error { return s.RemoveMember(ctx, "org-a", "ann@example.com") },
			code: reroute.CodeConflict, reason: "last_owner", wantMembers: 3, wantOwner: 1},
		{name: "remove the former owner", do: func() error { return s.RemoveMember(ctx, "org-a", "boss@example.com") },
			wantMembers: 2, wantOwner: 1},
		{name: "remove again", do: func() error { return s.RemoveMember(ctx, "org-a", "boss@example.com") },
			code: reroute.CodeNotFound, reason: "member_not_found", wantMembers: 2, wantOwner: 1},
		{name: "role of a missing member", do: func() error { return s.SetMemberRole(ctx, "org-a", "boss@example.com", reroute.RoleAdmin) },
			code: reroute.CodeNotFound, reason: "member_not_found", wantMembers: 2, wantOwner: 1},
		{name: "role of another org's member", do: func() error { return s.SetMemberRole(ctx, "org-b", "ann@example.com", reroute.RoleAdmin) },
			code: reroute.CodeNotFound, reason: "member_not_found", wantMembers: 2, wantOwner: 1},
		{name: "not a role", do: func() error { return s.SetMemberRole(ctx, "org-a", "bob@example.com", "root") },
			code: reroute.CodeInvalid, reason: "validation_failed", wantMembers: 2, wantOwner: 1},
		{name: "promote bob", do: func() error { return s.SetMemberRole(ctx, "org-a", "bob@example.com", reroute.RoleOwner) },
			wantMembers: 2, wantOwner: 2},
		{name: "remove an owner of two", do: func() error { return s.RemoveMember(ctx, "org-a", "ann@example.com") },
			wantMembers: 1, wantOwner: 1},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.code != "":
			wantErr(t, err, st.code, st.reason)
		case err != nil:
			t.Fatalf("%s: %v", st.name, err)
		}
		if t.Failed() {
			t.Fatalf("after step %q", st.name)
		}
		wantCounts(t, s, "org-a", 0, st.wantMembers, st.wantOwner)
	}
	m, err := s.GetMember(ctx, "org-a", "bob@example.com")
	if err != nil || m.Role != reroute.RoleOwner {
		t.Fatalf("bob = %+v, %v; want the owner", m, err)
	}
}

// TestLastOwnerRace checks that two owners removing or demoting each other at once
// cannot leave the org without an owner.
func TestLastOwnerRace(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ops := map[string]func(ctx context.Context, org, email string) error{
		"remove": s.RemoveMember,
		"demote": func(ctx context.Context, org, email string) error {
			return s.SetMemberRole(ctx, org, email, reroute.RoleMember)
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			org := "org-" + name
			mustCreateOrg(t, s, newOrg(org, reroute.PlanEnterprise), owner(org, "a@example.com"))
			if err := s.AddMember(t.Context(), owner(org, "b@example.com")); err != nil {
				t.Fatal(err)
			}
			emails := []string{"a@example.com", "b@example.com"}
			errs := race(2, func(i int) error { return op(context.Background(), org, emails[i]) })
			var ok, last int
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case reroute.ErrorCode(err) == reroute.CodeConflict:
					last++
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
			if ok != 1 || last != 1 {
				t.Errorf("%d succeeded and %d were refused as last owner, want 1 and 1", ok, last)
			}
			o, err := s.GetOrg(t.Context(), org)
			if err != nil || o.OwnerCount != 1 {
				t.Fatalf("org = %+v, %v; want one owner", o, err)
			}
		})
	}
}

// listMembers pages through org's members and returns the emails of each page.
func listMembers(t *testing.T, s *dynamo.Store, org string, limit int) [][]string {
	t.Helper()
	var pages [][]string
	cursor := ""
	for len(pages) <= 100 {
		p, err := s.ListMembers(t.Context(), org, reroute.PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("ListMembers(%s, %d, %q): %v", org, limit, cursor, err)
		}
		var emails []string
		for _, m := range p.Items {
			if m.OrgID != org {
				t.Fatalf("org %s's list holds %+v", org, m)
			}
			emails = append(emails, m.Email)
		}
		pages = append(pages, emails)
		if p.NextCursor == "" {
			return pages
		}
		cursor = p.NextCursor
	}
	t.Fatal("too many pages")
	return nil
}

func TestListMembers(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	mustCreateOrg(t, s, bigOrg("org-a"), owner("org-a", "boss@example.com"))
	mustCreateOrg(t, s, bigOrg("org-b"), owner("org-b", "boss@example.com"))
	want := []string{"boss@example.com"}
	var wg sync.WaitGroup
	for i := range 52 {
		email := fmt.Sprintf("m%02d@example.com", i)
		want = append(want, email)
		wg.Go(func() {
			if err := s.AddMember(context.Background(), member("org-a", email, reroute.RoleMember)); err != nil {
				t.Errorf("AddMember: %v", err)
			}
		})
	}
	for _, e := range []string{"a@example.com", "m10b@example.com"} {
		wg.Go(func() {
			if err := s.AddMember(context.Background(), member("org-b", e, reroute.RoleMember)); err != nil {
				t.Errorf("AddMember: %v", err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	slices.Sort(want)
	tests := []struct {
		name      string
		org       string
		limit     int
		wantSizes []int
	}{
		{name: "default page size", org: "org-a", limit: 0, wantSizes: []int{50, 3}},
		{name: "limit 20", org: "org-a", limit: 20, wantSizes: []int{20, 20, 13}},
		{name: "limit that divides", org: "org-a", limit: 53, wantSizes: []int{53}},
		{name: "other org", org: "org-b", limit: 1, wantSizes: []int{1, 1, 1}},
		{name: "no such org", org: "org-z", limit: 0, wantSizes: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sizes []int
			var all []string
			for _, p := range listMembers(t, s, tt.org, tt.limit) {
				sizes = append(sizes, len(p))
				all = append(all, p...)
			}
			if !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("page sizes = %v, want %v", sizes, tt.wantSizes)
			}
			if tt.org == "org-a" && !slices.Equal(all, want) {
				t.Errorf("emails = %v, want %v", all, want)
			}
		})
	}

	t.Run("foreign cursor", func(t *testing.T) {
		t.Parallel()
		pb, err := s.ListMembers(t.Context(), "org-b", reroute.PageRequest{Limit: 1})
		if err != nil || pb.NextCursor == "" {
			t.Fatalf("org-b's first page = %+v, %v", pb, err)
		}
		pa, err := s.ListMembers(t.Context(), "org-a", reroute.PageRequest{Cursor: pb.NextCursor, Limit: reroute.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range pa.Items {
			if m.OrgID != "org-a" {
				t.Errorf("org-a's page with org-b's cursor holds %+v", m)
			}
		}
	})
	cursor := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	for name, c := range map[string]string{
		"not base64":     "not a cursor!",
		"no version":     cursor("a@example.com"),
		"not an email":   cursor("1:MEMBER#a@example.com"),
		"not normalised": cursor("1:A@Example.com"),
		"too long":       strings.Repeat("A", 10000),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := s.ListMembers(t.Context(), "org-a", reroute.PageRequest{Cursor: c})
			wantErr(t, err, reroute.CodeInvalid, "invalid_cursor")
		})
	}
}

func TestListMemberships(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	mustCreateOrg(t, s, newOrg("org-c", reroute.PlanDeveloper), owner("org-c", "ann@example.com"))
	mustCreateOrg(t, s, newOrg("org-a", reroute.PlanDeveloper), owner("org-a", "bob@example.com"))
	mustCreateOrg(t, s, newOrg("org-b", reroute.PlanDeveloper), owner("org-b", "bob@example.com"))
	for _, m := range []reroute.Member{member("org-a", "ann@example.com", reroute.RoleAdmin), member("org-b", "ann@example.com", reroute.RoleMember)} {
		if err := s.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		email string
		want  []string // org:role
	}{
		{email: "ann@example.com", want: []string{"org-a:admin", "org-b:member", "org-c:owner"}},
		{email: "bob@example.com", want: []string{"org-a:owner", "org-b:owner"}},
		{email: "nobody@example.com"},
		{email: ""},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			t.Parallel()
			ms, err := s.ListMemberships(t.Context(), tt.email)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				if m.Email != tt.email || m.OrgName != "Org "+m.OrgID {
					t.Errorf("membership %+v", m)
				}
				got = append(got, m.OrgID+":"+string(m.Role))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("memberships = %v, want %v", got, tt.want)
			}
		})
	}
}
