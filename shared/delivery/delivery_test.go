package delivery_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dnsreroute/dnsreroute/shared/delivery"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/s3test"
	"github.com/dnsreroute/dnsreroute/shared/safehttp"
	"github.com/dnsreroute/dnsreroute/shared/sesmail"
	"github.com/dnsreroute/dnsreroute/shared/sqsqueue"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
)

const sender = "notify@dnsreroute.test"

// receiver is a customer's webhook endpoint that verifies every request with
// the Standard Webhooks library and answers fail times 503 before 204.
type receiver struct {
	mu       sync.Mutex
	secret   string
	fail     int
	ids      []string
	verified int
	types    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	wh, _ := standardwebhooks.NewWebhook(rc.secret)
	if err := wh.Verify(body, r.Header); err == nil {
		rc.verified++
	}
	var p struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(body, &p)
	rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
	rc.types = append(rc.types, p.Type)
	if len(rc.ids) <= rc.fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type env struct {
	store *dynamo.Store
	moto  string
	sqs   *sqs.Client
	url   string
	queue *sqsqueue.Queue
	disp  *notify.Dispatcher
	deliv *delivery.Deliverer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	moto := s3test.Start(t)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	sq := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint), Credentials: creds})
	ses := sesv2.New(sesv2.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint), Credentials: creds})
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	// SES sends only from a verified identity
	// (https://docs.aws.amazon.com/ses/latest/dg/verify-addresses-and-domains.html); moto too.
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	queue := sqsqueue.New(sq, aws.ToString(q.QueueUrl))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mailer := &delivery.Mailer{Sender: sesmail.New(ses), From: sender, APIBase: "https://api.dnsreroute.test",
		Dashboard: "https://app.dnsreroute.test", UnsubscribeKey: []byte("k"), Now: time.Now}
	return &env{store: store, moto: moto.Endpoint, sqs: sq, url: aws.ToString(q.QueueUrl), queue: queue,
		disp: &notify.Dispatcher{Webhooks: store, Members: store, Prefs: store, Queue: queue, Log: log},
		deliv: &delivery.Deliverer{Webhooks: store, Members: store, Prefs: store, Mail: mailer, Queue: queue, Now: time.Now, Log: log,
			Client:  safehttp.Guard{AllowLoopback: true}.Client(safehttp.ClientOptions{Timeout: 10 * time.Second}),
			Backoff: func(int) time.Duration { return time.Second }}}
}

// drain receives and runs jobs until the queue has been empty for a while, as
// the delivery function does: a job to retry is hidden for its delay.
func (e *env) drain(t *testing.T) (runs int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	empty := 0
	for empty < 4 {
		if time.Now().After(deadline) {
			t.Fatal("the queue did not drain within 2 minutes")
		}
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"ApproximateReceiveCount"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		for _, m := range out.Messages {
			var job notify.Job
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &job); err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
			o, err := e.deliv.Run(ctx, job, n)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			runs++
			if o.Done {
				if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			} else if err := e.queue.RetryIn(ctx, aws.ToString(m.ReceiptHandle), o.RetryIn); err != nil {
				t.Fatal(err)
			}
		}
	}
	return runs
}

// sentMail is what moto's SES sent: the raw messages, by recipient.
func (e *env) sentMail(t *testing.T) map[string][]string {
	t.Helper()
	res, err := http.Get(e.moto + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var data struct {
		SES struct {
			RawMessage []struct {
				Destinations []string `json:"destinations"`
				RawData      string   `json:"raw_data"`
			} `json:"RawMessage"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(res.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, m := range data.SES.RawMessage {
		raw, err := base64.StdEncoding.DecodeString(m.RawData)
		if err != nil {
			raw = []byte(m.RawData)
		}
		// moto lists the envelope's recipients and the To header's: once each.
		slices.Sort(m.Destinations)
		for _, d := range slices.Compact(m.Destinations) {
			out[d] = append(out[d], string(raw))
		}
	}
	return out
}

// TestDeliveryEndToEnd: an event is fanned out to the endpoint that wants it
// and to the members whose preferences name it; the endpoint fails twice and
// gets it the third time, every attempt signed and verified with one
// webhook-id; each member gets one email with its unsubscribe headers.
func TestDeliveryEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	now := time.Now().UTC()
	org := reroute.Org{ID: "org_1", Name: "Acme", Plan: reroute.PlanEnterprise, RouteLimit: 100, MemberLimit: 10, RuleLimit: 100, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateOrg(ctx, org, reroute.Member{OrgID: "org_1", Email: "alice@example.com", Role: reroute.RoleOwner, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"bob@example.com", "carol@example.com"} {
		if err := e.store.AddMember(ctx, reroute.Member{OrgID: "org_1", Email: m, Role: reroute.RoleMember, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	// Carol wants no email; Bob only route deletions.
	if err := e.store.SetEmailPrefs(ctx, reroute.EmailPrefs{OrgID: "org_1", Email: "carol@example.com", Events: nil}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetEmailPrefs(ctx, reroute.EmailPrefs{OrgID: "org_1", Email: "bob@example.com", Events: []reroute.EventType{reroute.EventRouteDeleted}}); err != nil {
		t.Fatal(err)
	}

	secret, _ := webhook.NewSecret(strings.NewReader(strings.Repeat("s", 64)))
	rc := &receiver{secret: secret, fail: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	other := &receiver{secret: secret}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	for _, ep := range []reroute.WebhookEndpoint{
		{ID: "wh_a", OrgID: "org_1", URL: srv.URL + "/hook", Events: []reroute.EventType{reroute.EventDomainFailed}, Enabled: true, Secret: secret},
		{ID: "wh_b", OrgID: "org_1", URL: otherSrv.URL, Events: []reroute.EventType{reroute.EventRouteCreated}, Enabled: true, Secret: secret},
	} {
		if err := e.store.CreateWebhook(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}

	ev, err := reroute.NewEvent(reroute.EventDomainFailed, "org_1", now, reroute.DomainEventData{Host: "shop.example.com", State: "failed", Reason: "the CNAME record points elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.disp.Dispatch(ctx, ev); err != nil {
		t.Fatal(err)
	}
	e.drain(t)

	rc.mu.Lock()
	if len(rc.ids) != 3 || rc.verified != 3 {
		t.Errorf("receiver: %d requests, %d verified; want 3 and 3", len(rc.ids), rc.verified)
	}
	for _, id := range rc.ids {
		if id != ev.ID {
			t.Errorf("webhook-id %q, want the event's id %q on every attempt", id, ev.ID)
		}
	}
	if len(rc.types) > 0 && rc.types[0] != "domain.failed" {
		t.Errorf("payload type %q", rc.types[0])
	}
	rc.mu.Unlock()
	if len(other.ids) != 0 {
		t.Errorf("the endpoint that does not want domain.failed got %d requests", len(other.ids))
	}
	page, err := e.store.ListDeliveries(ctx, "org_1", "wh_a", reroute.PageRequest{})
	if err != nil || len(page.Items) != 3 || !page.Items[0].OK || page.Items[1].OK || page.Items[1].Status != 503 {
		t.Fatalf("deliveries: %+v, %v", page.Items, err)
	}

	mail := e.sentMail(t)
	if len(mail["alice@example.com"]) != 1 || len(mail["bob@example.com"]) != 0 || len(mail["carol@example.com"]) != 0 {
		t.Fatalf("emails by recipient: alice %d, bob %d, carol %d; want 1, 0, 0",
			len(mail["alice@example.com"]), len(mail["bob@example.com"]), len(mail["carol@example.com"]))
	}
	m := mail["alice@example.com"][0]
	for _, want := range []string{"List-Unsubscribe: <https://api.dnsreroute.test/v1/unsubscribe?", "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
		"text/plain", "text/html", "shop.example.com", "the CNAME record points elsewhere"} {
		if !strings.Contains(m, want) {
			t.Errorf("the email lacks %q:\n%s", want, m)
		}
	}
}

// TestDisabledEndpointEmailsAdmins: an endpoint that fails for a day is
// disabled by the attempt that finds it so, and the org's owners and admins are
// emailed, once.
func TestDisabledEndpointEmailsAdmins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	now := time.Now().UTC()
	if err := e.store.CreateOrg(ctx, reroute.Org{ID: "org_2", Name: "Acme", Plan: reroute.PlanEnterprise, RouteLimit: 10, MemberLimit: 10, RuleLimit: 10, CreatedAt: now, UpdatedAt: now},
		reroute.Member{OrgID: "org_2", Email: "owner@example.com", Role: reroute.RoleOwner, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddMember(ctx, reroute.Member{OrgID: "org_2", Email: "dev@example.com", Role: reroute.RoleMember, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	secret, _ := webhook.NewSecret(strings.NewReader(strings.Repeat("s", 64)))
	ep := reroute.WebhookEndpoint{ID: "wh_x", OrgID: "org_2", URL: srv.URL, Events: []reroute.EventType{reroute.EventRouteCreated},
		Enabled: true, Secret: secret, Failures: 0}
	if err := e.store.CreateWebhook(ctx, ep); err != nil {
		t.Fatal(err)
	}
	// It has been failing since 25 hours ago.
	if _, err := e.store.RecordDelivery(ctx, reroute.WebhookDelivery{OrgID: "org_2", EndpointID: "wh_x", EventID: "evt_old", Type: reroute.EventRouteCreated,
		Attempt: 1, At: now.Add(-25 * time.Hour), Status: 500}); err != nil {
		t.Fatal(err)
	}
	ev, _ := reroute.RouteEvent(reroute.EventRouteCreated, reroute.Route{Host: "a.example.com", OrgID: "org_2", Target: "https://t.example.net/"}, now)
	// Nobody wants route.created by email (not in the defaults): only the webhook.
	if err := e.disp.Dispatch(ctx, ev); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	got, err := e.store.GetWebhook(ctx, "org_2", "wh_x")
	if err != nil || got.Enabled || got.DisabledReason == "" {
		t.Fatalf("endpoint after a day of failures: %+v, %v", got, err)
	}
	mail := e.sentMail(t)
	if len(mail["owner@example.com"]) != 1 || len(mail["dev@example.com"]) != 0 {
		t.Fatalf("emails: owner %d, member %d; want 1 and 0", len(mail["owner@example.com"]), len(mail["dev@example.com"]))
	}
	if !strings.Contains(mail["owner@example.com"][0], "disabled") {
		t.Errorf("the owner's email does not say the endpoint was disabled:\n%s", mail["owner@example.com"][0])
	}
}
