package dynamo_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// hashOf is the hash of a made-up secret for key id.
func hashOf(id string) string {
	sum := sha256.Sum256([]byte(reroute.APIKeyPrefix + "secret-of-" + id))
	return hex.EncodeToString(sum[:])
}

func apiKey(org, id string) reroute.APIKey {
	return reroute.APIKey{
		ID: id, OrgID: org, Name: "key " + id, Scope: reroute.ScopeWrite, Hash: hashOf(id),
		Hint: "ab12", CreatedBy: "boss@example.com",
	}
}

func mustKey(t testing.TB, s *dynamo.Store, keys ...reroute.APIKey) {
	t.Helper()
	for _, k := range keys {
		if err := s.CreateAPIKey(context.Background(), k); err != nil {
			t.Fatalf("CreateAPIKey(%s): %v", k.ID, err)
		}
	}
}

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b")
	ctx := t.Context()
	k := apiKey("org-a", "key-1")
	k.Scope = reroute.ScopeRead
	k.CreatedAt = time.Date(2025, 2, 3, 4, 5, 6, 700000000, time.UTC)
	k.ExpiresAt = k.CreatedAt.AddDate(0, 3, 0)
	mustKey(t, s, k)

	got, err := s.GetAPIKeyByHash(ctx, k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got != k {
		t.Errorf("GetAPIKeyByHash = %+v, want %+v", got, k)
	}

	bad := apiKey("org-a", "key-2")
	bad.Hash = "not-a-hash"
	noScope := apiKey("org-a", "key-2")
	noScope.Scope = ""
	tests := []struct {
		name   string
		k      reroute.APIKey
		code   reroute.Code
		reason string
	}{
		{name: "same secret", k: k, code: reroute.CodeConflict, reason: "api_key_exists"},
		{name: "same secret, other org", k: func() reroute.APIKey { o := k; o.OrgID, o.ID = "org-b", "other"; return o }(),
			code: reroute.CodeConflict, reason: "api_key_exists"},
		{name: "missing org", k: apiKey("org-z", "key-2"), code: reroute.CodeNotFound, reason: "org_not_found"},
		{name: "not a hash", k: bad, code: reroute.CodeInvalid},
		{name: "no scope", k: noScope, code: reroute.CodeInvalid},
		{name: "no id", k: apiKey("org-a", ""), code: reroute.CodeInvalid},
		{name: "no org", k: apiKey("", "key-2"), code: reroute.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, s.CreateAPIKey(t.Context(), tt.k), tt.code, tt.reason)
		})
	}
	for _, h := range []string{hashOf("nope"), "", "XYZ", k.Hash[:63], "A" + k.Hash[1:]} {
		_, err := s.GetAPIKeyByHash(ctx, h)
		wantErr(t, err, reroute.CodeNotFound, "api_key_not_found")
	}

	// Another org cannot revoke the key, nor tell it from a missing one.
	wantErr(t, s.DeleteAPIKey(ctx, "org-b", "key-1"), reroute.CodeNotFound, "api_key_not_found")
	wantErr(t, s.DeleteAPIKey(ctx, "org-b", "nope"), reroute.CodeNotFound, "api_key_not_found")
	wantErr(t, s.DeleteAPIKey(ctx, "", "key-1"), reroute.CodeNotFound, "api_key_not_found")
	if _, err := s.GetAPIKeyByHash(ctx, k.Hash); err != nil {
		t.Fatalf("after another org's DeleteAPIKey: %v", err)
	}
	if err := s.DeleteAPIKey(ctx, "org-a", "key-1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAPIKeyByHash(ctx, k.Hash)
	wantErr(t, err, reroute.CodeNotFound, "api_key_not_found")
	wantErr(t, s.DeleteAPIKey(ctx, "org-a", "key-1"), reroute.CodeNotFound, "api_key_not_found")
}

// listKeys pages through org's keys and returns the ids of each page.
func listKeys(t *testing.T, s *dynamo.Store, org string, limit int) [][]string {
	t.Helper()
	var pages [][]string
	cursor := ""
	for len(pages) <= 100 {
		p, err := s.ListAPIKeys(t.Context(), org, reroute.PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("ListAPIKeys(%s, %d, %q): %v", org, limit, cursor, err)
		}
		var ids []string
		for _, k := range p.Items {
			if k.OrgID != org || k.Hash != hashOf(k.ID) {
				t.Fatalf("org %s's list holds %+v", org, k)
			}
			ids = append(ids, k.ID)
		}
		pages = append(pages, ids)
		if p.NextCursor == "" {
			return pages
		}
		cursor = p.NextCursor
	}
	t.Fatal("too many pages")
	return nil
}

func TestListAPIKeys(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a", "org-b")
	var want []string
	var wg sync.WaitGroup
	for i := range 23 {
		id := fmt.Sprintf("k%02d", i)
		want = append(want, id)
		wg.Go(func() { mustKey(t, s, apiKey("org-a", id)) })
	}
	// org-b's ids sort among org-a's; org-a's routes share its GSI1 partition.
	for _, id := range []string{"k00b", "k10b", "zz"} {
		wg.Go(func() { mustKey(t, s, apiKey("org-b", id)) })
	}
	wg.Go(func() { create(t, s, route("org-a", "a.example.com")) })
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
		{name: "default page size", org: "org-a", limit: 0, wantSizes: []int{23}},
		{name: "limit 1", org: "org-a", limit: 1, wantSizes: slices.Repeat([]int{1}, 23)},
		{name: "limit 5", org: "org-a", limit: 5, wantSizes: []int{5, 5, 5, 5, 3}},
		{name: "limit that divides", org: "org-a", limit: 23, wantSizes: []int{23}},
		{name: "other org", org: "org-b", limit: 2, wantSizes: []int{2, 1}},
		{name: "org without keys", org: "org-c", limit: 0, wantSizes: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sizes []int
			var all []string
			for _, p := range listKeys(t, s, tt.org, tt.limit) {
				sizes = append(sizes, len(p))
				all = append(all, p...)
			}
			if !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("page sizes = %v, want %v", sizes, tt.wantSizes)
			}
			if tt.org == "org-a" && !slices.Equal(all, want) {
				t.Errorf("ids = %v, want %v", all, want)
			}
		})
	}

	t.Run("cursor of a revoked key", func(t *testing.T) {
		s := newStore(t, "org-a")
		mustKey(t, s, apiKey("org-a", "k1"), apiKey("org-a", "k2"), apiKey("org-a", "k3"))
		p, err := s.ListAPIKeys(t.Context(), "org-a", reroute.PageRequest{Limit: 1})
		if err != nil || p.NextCursor == "" {
			t.Fatalf("first page = %+v, %v", p, err)
		}
		if err := s.DeleteAPIKey(t.Context(), "org-a", "k1"); err != nil {
			t.Fatal(err)
		}
		p, err = s.ListAPIKeys(t.Context(), "org-a", reroute.PageRequest{Cursor: p.NextCursor, Limit: 1})
		if err != nil || len(p.Items) != 1 || p.Items[0].ID != "k2" || p.NextCursor == "" {
			t.Fatalf("second page = %+v, %v; want k2 and a cursor", p, err)
		}
	})
	t.Run("foreign cursor", func(t *testing.T) {
		t.Parallel()
		forged := base64.RawURLEncoding.EncodeToString([]byte("1:k10"))
		p, err := s.ListAPIKeys(t.Context(), "org-b", reroute.PageRequest{Cursor: forged})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range p.Items {
			ids = append(ids, k.OrgID+"/"+k.ID)
		}
		if want := []string{"org-b/k10b", "org-b/zz"}; !slices.Equal(ids, want) {
			t.Errorf("org-b's keys after k10 = %v, want %v", ids, want)
		}
	})
	for name, c := range map[string]string{
		"not base64": "not a cursor!",
		"no version": base64.RawURLEncoding.EncodeToString([]byte("k01")),
		"empty id":   base64.RawURLEncoding.EncodeToString([]byte("1:")),
		"space":      base64.RawURLEncoding.EncodeToString([]byte("1:k 01")),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := s.ListAPIKeys(t.Context(), "org-a", reroute.PageRequest{Cursor: c})
			wantErr(t, err, reroute.CodeInvalid, "invalid_cursor")
		})
	}
}

// TestTouchAPIKey checks that a key's last use is recorded at most once a minute,
// never moves back, and that times compare right whatever their fraction.
func TestTouchAPIKey(t *testing.T) {
	t.Parallel()
	s := newStore(t, "org-a")
	ctx := t.Context()
	k := apiKey("org-a", "key-1")
	mustKey(t, s, k)
	t0 := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC) // a whole second: "…09Z" in RFC 3339
	steps := []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{name: "first use", at: t0, want: t0},
		{name: "30s later", at: t0.Add(30 * time.Second), want: t0},
		{name: "a minute later", at: t0.Add(time.Minute), want: t0},
		{name: "just over a minute later", at: t0.Add(time.Minute + 500*time.Millisecond), want: t0.Add(time.Minute + 500*time.Millisecond)},
		{name: "earlier", at: t0, want: t0.Add(time.Minute + 500*time.Millisecond)},
		{name: "a minute and a fraction later", at: t0.Add(2*time.Minute + 600*time.Millisecond), want: t0.Add(2*time.Minute + 600*time.Millisecond)},
		{name: "an hour later", at: t0.Add(time.Hour), want: t0.Add(time.Hour)},
	}
	for _, st := range steps {
		if err := s.TouchAPIKey(ctx, k.Hash, st.at); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.GetAPIKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastUsedAt.Equal(st.want) {
			t.Fatalf("%s: LastUsedAt = %v, want %v", st.name, got.LastUsedAt, st.want)
		}
	}
	for _, h := range []string{hashOf("missing"), "bad"} {
		if err := s.TouchAPIKey(ctx, h, t0); err != nil {
			t.Errorf("touching a missing key: %v", err)
		}
		if _, err := s.GetAPIKeyByHash(ctx, h); !reroute.IsNotFound(err) {
			t.Errorf("touching made a key: %v", err)
		}
	}
	// Many requests in the same minute: one records its time, none fails.
	t1 := t0.Add(2 * time.Hour)
	errs := race(20, func(i int) error {
		return s.TouchAPIKey(context.Background(), k.Hash, t1.Add(time.Duration(i)*time.Second))
	})
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent touch: %v", err)
		}
	}
	got, err := s.GetAPIKeyByHash(ctx, k.Hash)
	if err != nil || got.LastUsedAt.Before(t1) || got.LastUsedAt.After(t1.Add(19*time.Second)) {
		t.Errorf("after concurrent touches LastUsedAt = %v, %v", got.LastUsedAt, err)
	}
}

func BenchmarkGetAPIKeyByHash(b *testing.B) {
	s := newStore(b, "org-a")
	k := apiKey("org-a", "key-1")
	mustKey(b, s, k)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetAPIKeyByHash(ctx, k.Hash); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateRoute(b *testing.B) {
	s := newStore(b)
	org := newOrg("org-a", reroute.PlanEnterprise)
	org.RouteLimit = 1 << 30
	mustCreateOrg(b, s, org, reroute.Member{})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.CreateRoute(ctx, route("org-a", fmt.Sprintf("h%d.example.com", i))); err != nil {
			b.Fatal(err)
		}
	}
}
