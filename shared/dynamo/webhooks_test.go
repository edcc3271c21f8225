package dynamo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func endpoint(org, id string) reroute.WebhookEndpoint {
	return reroute.WebhookEndpoint{ID: id, OrgID: org, URL: "https://hooks.example.net/" + id,
		Events: []reroute.EventType{reroute.EventRouteCreated}, Enabled: true, Secret: "whsec_c2VjcmV0"}
}

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, "o1", "o2")
	for i := range reroute.MaxWebhooks {
		if err := s.CreateWebhook(ctx, endpoint("o1", fmt.Sprintf("wh_%02d", i))); err != nil {
			t.Fatalf("CreateWebhook %d: %v", i, err)
		}
	}
	wantErr(t, s.CreateWebhook(ctx, endpoint("o1", "wh_more")), reroute.CodeLimit, "webhook_limit")
	wantErr(t, s.CreateWebhook(ctx, endpoint("o1", "wh_00")), reroute.CodeConflict, "webhook_exists")
	wantErr(t, s.CreateWebhook(ctx, endpoint("nobody", "wh_x")), reroute.CodeNotFound, "org_not_found")
	if err := s.DeleteWebhook(ctx, "o1", "wh_09"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteWebhook(ctx, "o1", "wh_09"), reroute.CodeNotFound, "webhook_not_found")
	wantErr(t, s.DeleteWebhook(ctx, "o2", "wh_00"), reroute.CodeNotFound, "webhook_not_found")
	if err := s.CreateWebhook(ctx, endpoint("o1", "wh_more")); err != nil {
		t.Fatalf("CreateWebhook after a delete made room: %v", err)
	}
	list, err := s.ListWebhooks(ctx, "o1")
	if err != nil || len(list) != reroute.MaxWebhooks {
		t.Fatalf("ListWebhooks = %d endpoints, %v", len(list), err)
	}
	if l2, _ := s.ListWebhooks(ctx, "o2"); len(l2) != 0 {
		t.Fatalf("o2 sees %d endpoints", len(l2))
	}
	wantErr(t, func() error { _, err := s.GetWebhook(ctx, "o2", "wh_00"); return err }(), reroute.CodeNotFound, "webhook_not_found")

	e := endpoint("o1", "wh_00")
	e.URL, e.Events = "https://other.example.net/", []reroute.EventType{reroute.EventDomainActive, reroute.EventDomainFailed}
	if err := s.UpdateWebhook(ctx, e); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := s.RotateWebhookSecret(ctx, "o1", "wh_00", "whsec_bmV3", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWebhook(ctx, "o1", "wh_00")
	if err != nil || got.URL != e.URL || len(got.Events) != 2 || got.Secret != "whsec_bmV3" || got.PreviousSecret != "whsec_c2VjcmV0" {
		t.Fatalf("after update and rotate: %+v, %v", got, err)
	}
	if s := got.Secrets(now); len(s) != 2 {
		t.Errorf("Secrets within the overlap = %v, want both", s)
	}
	if s := got.Secrets(now.Add(2 * time.Hour)); len(s) != 1 {
		t.Errorf("Secrets after the overlap = %v, want the new one", s)
	}
	wantErr(t, s.RotateWebhookSecret(ctx, "o2", "wh_00", "whsec_eA==", now), reroute.CodeNotFound, "webhook_not_found")
}

// TestWebhookDisabledAfterFailingADay: failures count up, a success clears them,
// and the recording that finds the endpoint failing for a day disables it, once.
func TestWebhookDisabledAfterFailingADay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, "o1")
	if err := s.CreateWebhook(ctx, endpoint("o1", "wh_1")); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	rec := func(at time.Time, ok bool, attempt int) reroute.WebhookOutcome {
		t.Helper()
		out, err := s.RecordDelivery(ctx, reroute.WebhookDelivery{OrgID: "o1", EndpointID: "wh_1", EventID: fmt.Sprintf("evt_%d", attempt),
			Type: reroute.EventRouteCreated, Attempt: attempt, At: at, OK: ok, Status: map[bool]int{true: 200, false: 503}[ok]})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	rec(t0, false, 1)
	if o := rec(t0.Add(time.Hour), false, 2); o.Endpoint.Failures != 2 || o.Disabled {
		t.Fatalf("after two failures: %+v", o)
	}
	if o := rec(t0.Add(2*time.Hour), true, 3); o.Endpoint.Failures != 0 || !o.Endpoint.FailingSince.IsZero() {
		t.Fatalf("a success did not clear the failures: %+v", o)
	}
	rec(t0.Add(3*time.Hour), false, 4)
	if o := rec(t0.Add(26*time.Hour), false, 5); o.Disabled {
		t.Fatalf("disabled after 23 hours of failing: %+v", o)
	}
	o := rec(t0.Add(27*time.Hour+time.Minute), false, 6)
	if !o.Disabled || o.Endpoint.Enabled || o.Endpoint.DisabledReason == "" {
		t.Fatalf("after a day of failing: %+v, want disabled with a reason", o)
	}
	if o := rec(t0.Add(28*time.Hour), false, 7); o.Disabled {
		t.Fatal("a second recording reported disabling it again")
	}

	page, err := s.ListDeliveries(ctx, "o1", "wh_1", reroute.PageRequest{Limit: 4})
	if err != nil || len(page.Items) != 4 || page.NextCursor == "" || page.Items[0].Attempt != 7 {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	page, err = s.ListDeliveries(ctx, "o1", "wh_1", reroute.PageRequest{Limit: 4, Cursor: page.NextCursor})
	if err != nil || len(page.Items) != 3 || page.Items[2].Attempt != 1 || page.NextCursor != "" {
		t.Fatalf("second page: %+v, %v", page, err)
	}
	wantErr(t, func() error {
		_, err := s.ListDeliveries(ctx, "o1", "wh_1", reroute.PageRequest{Cursor: "bogus"})
		return err
	}(), reroute.CodeInvalid, "invalid_cursor")

	// Enabling it again clears the failures.
	e, _ := s.GetWebhook(ctx, "o1", "wh_1")
	e.Enabled = true
	if err := s.UpdateWebhook(ctx, e); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.GetWebhook(ctx, "o1", "wh_1"); !e.Enabled || e.Failures != 0 || e.DisabledReason != "" {
		t.Fatalf("re-enabled: %+v", e)
	}
}

func TestSigningKeyMadeOnce(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	keys := make([][]byte, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = s.SigningKey(ctx, "unsubscribe", rand.Reader) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || len(keys[i]) != 32 || !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("key %d = %x, %v; want the one key of 32 bytes", i, keys[i], errs[i])
		}
	}
	other, err := s.SigningKey(ctx, "other", rand.Reader)
	if err != nil || bytes.Equal(other, keys[0]) {
		t.Fatalf("another name's key: %x, %v", other, err)
	}
	// The getter that reads it on first use agrees, and keeps it.
	get := s.SigningKeyOnce("unsubscribe", rand.Reader)
	for range 2 {
		if k, err := get(ctx); err != nil || !bytes.Equal(k, keys[0]) {
			t.Fatalf("SigningKeyOnce = %x, %v; want %x", k, err, keys[0])
		}
	}
}

// TestDeleteOrgDeletesWebhooksAndPrefs: an org's endpoints and its members'
// email preferences go with it.
func TestDeleteOrgDeletesWebhooksAndPrefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustCreateOrg(t, s, newOrg("gone", reroute.PlanEnterprise), owner("gone", "o@example.com"))
	if err := s.CreateWebhook(ctx, endpoint("gone", "wh_1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailPrefs(ctx, reroute.EmailPrefs{OrgID: "gone", Email: "o@example.com", Events: []reroute.EventType{reroute.EventDomainFailed}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrg(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if left := scanKeys(t, client, table); len(left) != 0 {
		t.Fatalf("after DeleteOrg the table holds %v", left)
	}
}

// TestRemoveMemberDeletesPrefs: a removed member's email preferences go with
// them, so one added again starts from the defaults.
func TestRemoveMemberDeletesPrefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustCreateOrg(t, s, newOrg("o", reroute.PlanEnterprise), owner("o", "o@example.com"))
	if err := s.AddMember(ctx, member("o", "m@example.com", reroute.RoleMember)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailPrefs(ctx, reroute.EmailPrefs{OrgID: "o", Email: "m@example.com", Events: []reroute.EventType{}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, "o", "m@example.com"); err != nil {
		t.Fatal(err)
	}
	p, err := s.GetEmailPrefs(ctx, "o", "m@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if p.Set {
		t.Fatalf("a removed member's preferences are still kept: %+v", p)
	}
}
