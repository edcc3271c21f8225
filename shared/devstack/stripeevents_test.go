package devstack_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
)

const eventSecret = "whsec_stamp_test"

// sampleEvent is the Stripe event of events/stripe-subscription-updated.json.
func sampleEvent(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "stripe-subscription-updated.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Body string }
	if err := json.Unmarshal(raw, &env); err != nil || env.Body == "" {
		t.Fatalf("no body in the sample: %v", err)
	}
	return []byte(env.Body)
}

// received keeps what SignedEventDelivery hands on, checking its signature as the
// webhook does.
type received struct {
	mu     sync.Mutex
	events [][]byte
}

func (rc *received) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if _, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), eventSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, body)
	rc.mu.Unlock()
	_, _ = io.WriteString(w, `{"received":true}`)
}

type subEvent struct {
	ID      string `json:"id"`
	Created int64  `json:"created"`
	Data    struct {
		Object struct {
			ID                 string            `json:"id"`
			Customer           string            `json:"customer"`
			Status             string            `json:"status"`
			CurrentPeriodStart int64             `json:"current_period_start"`
			CurrentPeriodEnd   int64             `json:"current_period_end"`
			Metadata           map[string]string `json:"metadata"`
			Items              struct {
				Data []struct {
					Subscription string `json:"subscription"`
				} `json:"data"`
			} `json:"items"`
		} `json:"object"`
	} `json:"data"`
}

// The sample event, sent again and again, is each time a new event of now, with a
// current period, for the org named: what lets a developer upgrade any number of
// orgs from one file.
func TestSignedEventDeliveryStampsEvents(t *testing.T) {
	t.Parallel()
	rc := &received{}
	srv := httptest.NewServer(devstack.SignedEventDelivery(eventSecret, rc))
	t.Cleanup(srv.Close)
	sample := sampleEvent(t)
	send := func(query string, body []byte) (int, string) {
		t.Helper()
		res, err := http.Post(srv.URL+"/dev/stripe-events"+query, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	before := time.Now().Add(-time.Second).Unix()
	for _, q := range []string{"?org=org_a", "?org=org_a", "?org=org_b", ""} {
		if code, body := send(q, sample); code != http.StatusOK {
			t.Fatalf("send%s: %d %s", q, code, body)
		}
	}
	after := time.Now().Add(time.Second).Unix()
	if code, body := send("?stamp=false", sample); code != http.StatusOK {
		t.Fatalf("send as is: %d %s", code, body)
	}
	if len(rc.events) != 5 {
		t.Fatalf("%d events handed on, want 5", len(rc.events))
	}
	ids := map[string]bool{}
	for i, want := range []struct{ org, customer, sub string }{
		{"org_a", "cus_local_org_a", "sub_local_org_a"},
		{"org_a", "cus_local_org_a", "sub_local_org_a"},
		{"org_b", "cus_local_org_b", "sub_local_org_b"},
		{"org_example00000000", "cus_PQm3kWbN4xYz7A", "sub_1PQm4nKx8Yq2Lr3sTuVwXyZa"}, // no org: the sample's own
	} {
		var ev subEvent
		if err := json.Unmarshal(rc.events[i], &ev); err != nil {
			t.Fatal(err)
		}
		obj := ev.Data.Object
		if ids[ev.ID] || !strings.HasPrefix(ev.ID, "evt_local_") {
			t.Errorf("event %d: id %q, want a new evt_local_ id", i, ev.ID)
		}
		ids[ev.ID] = true
		if ev.Created < before || ev.Created > after {
			t.Errorf("event %d: created %d, want now (%d..%d)", i, ev.Created, before, after)
		}
		if obj.CurrentPeriodStart < before || obj.CurrentPeriodStart > after ||
			obj.CurrentPeriodEnd < before+27*24*3600 || obj.CurrentPeriodEnd > after+32*24*3600 {
			t.Errorf("event %d: period %d..%d, want a month from now (%d)", i, obj.CurrentPeriodStart, obj.CurrentPeriodEnd, before)
		}
		if obj.Metadata["org_id"] != want.org || obj.Customer != want.customer || obj.ID != want.sub ||
			len(obj.Items.Data) != 1 || obj.Items.Data[0].Subscription != want.sub {
			t.Errorf("event %d: org %q, customer %q, subscription %q (item's %v); want %s, %s, %s",
				i, obj.Metadata["org_id"], obj.Customer, obj.ID, obj.Items.Data, want.org, want.customer, want.sub)
		}
		if obj.Status != "active" || obj.Metadata["plan"] != "developer" {
			t.Errorf("event %d: status %q, metadata %v: the rest of the event should be kept", i, obj.Status, obj.Metadata)
		}
	}
	if !bytes.Equal(rc.events[4], sample) {
		t.Errorf("stamp=false changed the event:\n%s", rc.events[4])
	}

	for _, tt := range []struct {
		name, query, body, want string
	}{
		{"not JSON", "", "evt", "as JSON"},
		{"not an event", "", `{"object":"customer","id":"cus_1"}`, "a type and data.object"},
		{"an event without an object", "", `{"object":"event","type":"x","data":{}}`, "data.object"},
		{"a bad org id", "?org=org%20a", string(sample), "not an org id"},
		{"a long org id", "?org=" + strings.Repeat("o", 101), string(sample), "at most"},
		{"org but not stamped", "?org=org_a&stamp=false", string(sample), "leave out stamp=false"},
		{"org of an event without one", "?org=org_a", `{"object":"event","type":"customer.created","data":{"object":{"object":"customer","id":"cus_1"}}}`, "names no org"},
	} {
		if code, body := send(tt.query, []byte(tt.body)); code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want 400 saying %q", tt.name, code, body, tt.want)
		}
	}
	if len(rc.events) != 5 {
		t.Errorf("%d events handed on, want no more than the 5 good ones", len(rc.events))
	}
}

// A Checkout session and an invoice are made the org's too, each in the field the
// webhook reads the org from.
func TestStampEventOtherObjects(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name, in string
		want     []string
	}{
		{"checkout", `{"id":"evt_1","object":"event","type":"checkout.session.completed","created":1,"data":{"object":{"object":"checkout.session","customer":null,"subscription":"sub_9","client_reference_id":"org_old"}}}`,
			[]string{`"client_reference_id":"org_x"`, `"customer":"cus_local_org_x"`, `"subscription":"sub_local_org_x"`, `"metadata":{"org_id":"org_x"}`}},
		{"invoice", `{"id":"evt_2","object":"event","type":"invoice.paid","created":1,"data":{"object":{"object":"invoice","customer":"cus_9","subscription":"sub_9","amount_paid":8000}}}`,
			[]string{`"customer":"cus_local_org_x"`, `"subscription":"sub_local_org_x"`, `"subscription_details":{"metadata":{"org_id":"org_x"}}`, `"amount_paid":8000`}},
		{"yearly subscription", `{"id":"evt_3","object":"event","type":"customer.subscription.created","created":1,"data":{"object":{"object":"subscription","id":"sub_9","customer":"cus_9","cancel_at":5,"plan":{"interval":"year","interval_count":1}}}}`,
			[]string{`"current_period_end":1804136767`, `"cancel_at":1804136767`, `"current_period_start":1772600767`, `"id":"sub_local_org_x"`}},
	}
	for _, tt := range tests {
		out, err := devstack.StampEvent([]byte(tt.in), "org_x", now)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: %s lacks %s", tt.name, out, w)
			}
		}
		if !strings.Contains(string(out), `"created":1772600767`) || strings.Contains(string(out), `"evt_`+tt.name) {
			t.Errorf("%s: %s is not created now", tt.name, out)
		}
	}
}
