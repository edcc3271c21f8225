package devstack

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/dnsreroute/dnsreroute/shared/billing"
)

// maxEventBytes bounds an event sent to SignedEventDelivery; Stripe's are a few KiB.
const maxEventBytes = 512 << 10

// SignedEventDelivery serves POST /dev/stripe-events for local runs: it takes a
// Stripe event as JSON, makes it current, signs it with secret as Stripe would
// (timestamp now), hands it to webhook, and answers what webhook answered. A
// developer without a Stripe account can so watch a plan change happen, as often
// and for as many orgs as they like, from one sample event:
//
//   - every event gets a new id and is created now (so none is a duplicate or
//     older than the last applied), and a subscription's current period runs
//     from now for one of its intervals (so it has not ended);
//   - ?org=ID makes it the event of that org: the org's id in the metadata (or
//     a Checkout session's client_reference_id) and a customer and subscription
//     of its own (cus_local_ID, sub_local_ID), the same on every send, since an
//     org keeps its Stripe customer;
//   - ?stamp=false delivers the event as sent, to watch a duplicate or a stale
//     event be answered.
func SignedEventDelivery(secret string, webhookHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
		if err != nil || !json.Valid(payload) {
			refuse(w, "send a Stripe event as JSON")
			return
		}
		now := time.Now()
		q := r.URL.Query()
		if q.Get("stamp") != "false" {
			if payload, err = StampEvent(payload, q.Get("org"), now); err != nil {
				refuse(w, err.Error())
				return
			}
		} else if q.Has("org") {
			refuse(w, "org needs the event stamped: leave out stamp=false")
			return
		}
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
			Payload: payload, Secret: secret, Timestamp: now,
		})
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(signed.Payload)).WithContext(r.Context())
		req.Header.Set("Stripe-Signature", signed.Header)
		req.Header.Set("Content-Type", "application/json")
		webhookHandler.ServeHTTP(w, req)
	})
}

func refuse(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// maxOrgIDLen bounds the org id that StampEvent puts in Stripe ids (Stripe's are
// at most 255 characters).
const maxOrgIDLen = 100

// StampEvent makes a sample Stripe event current at now, and, when org is not
// empty, that org's, as SignedEventDelivery describes. Fields it does not know
// are kept as they are.
func StampEvent(payload []byte, org string, now time.Time) ([]byte, error) {
	if err := checkOrgID(org); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber() // keep the numbers it does not change exactly as sent
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, errors.New("send a Stripe event: a JSON object")
	}
	data, _ := ev["data"].(map[string]any)
	obj, _ := data["object"].(map[string]any)
	if ev["object"] != "event" || ev["type"] == nil || obj == nil {
		return nil, errors.New(`send a Stripe event: an object with "object":"event", a type and data.object`)
	}
	ev["id"] = "evt_local_" + rand.Text()
	ev["created"] = now.Unix()
	kind, _ := obj["object"].(string)
	if kind == "subscription" {
		stampPeriod(obj, now)
	}
	if org == "" {
		return json.Marshal(ev)
	}
	customer, sub := "cus_local_"+org, "sub_local_"+org
	if _, ok := obj["customer"]; ok {
		obj["customer"] = customer
	}
	switch kind {
	case "subscription":
		obj["id"] = sub
		setMeta(obj, org)
		if items, ok := obj["items"].(map[string]any); ok {
			list, _ := items["data"].([]any)
			for _, it := range list {
				if it, ok := it.(map[string]any); ok {
					it["subscription"] = sub
				}
			}
		}
	case "checkout.session":
		obj["client_reference_id"] = org
		obj["customer"] = customer
		obj["subscription"] = sub
		setMeta(obj, org)
	case "invoice":
		obj["customer"] = customer
		obj["subscription"] = sub
		details, _ := obj["subscription_details"].(map[string]any)
		if details == nil {
			details = map[string]any{}
			obj["subscription_details"] = details
		}
		setMeta(details, org)
	default:
		return nil, fmt.Errorf("org: a %q event names no org that can be set (a subscription, Checkout session or invoice does)", kind)
	}
	return json.Marshal(ev)
}

// checkOrgID accepts an empty org or an id of letters, digits, '_' and '-', as
// the service's org ids are.
func checkOrgID(org string) error {
	if len(org) > maxOrgIDLen {
		return fmt.Errorf("org: at most %d characters", maxOrgIDLen)
	}
	for _, c := range org {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("org: %q is not an org id (letters, digits, '_' and '-')", org)
		}
	}
	return nil
}

func setMeta(obj map[string]any, org string) {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	meta[billing.MetaOrgID] = org
}

// stampPeriod makes a subscription's current period run from now for one of its
// intervals (a month unless its plan says otherwise), on the subscription and on
// its items (where newer API versions keep it), and moves a scheduled
// cancellation to that period's end.
func stampPeriod(sub map[string]any, now time.Time) {
	interval, count := "month", int64(1)
	if plan, ok := sub["plan"].(map[string]any); ok {
		if v, ok := plan["interval"].(string); ok {
			interval = v
		}
		if n, ok := plan["interval_count"].(json.Number); ok {
			if v, err := n.Int64(); err == nil && v > 0 && v < 1000 {
				count = v
			}
		}
	}
	n := int(count)
	end := now.AddDate(0, n, 0)
	switch interval {
	case "year":
		end = now.AddDate(n, 0, 0)
	case "week":
		end = now.AddDate(0, 0, 7*n)
	case "day":
		end = now.AddDate(0, 0, n)
	}
	set := func(obj map[string]any) {
		obj["current_period_start"] = now.Unix()
		obj["current_period_end"] = end.Unix()
	}
	set(sub)
	if items, ok := sub["items"].(map[string]any); ok {
		list, _ := items["data"].([]any)
		for _, it := range list {
			if it, ok := it.(map[string]any); ok {
				if _, has := it["current_period_end"]; has {
					set(it)
				}
			}
		}
	}
	if sub["cancel_at"] != nil {
		sub["cancel_at"] = end.Unix()
	}
	if sub["canceled_at"] != nil {
		sub["canceled_at"] = now.Unix()
	}
}
