package devstack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// SignedEventDelivery serves POST /dev/stripe-events for local runs: it takes a
// Stripe event as JSON, signs it with secret as Stripe would (timestamp now), hands
// it to webhook, and answers what webhook answered. A developer without a Stripe
// account can so watch a plan change happen.
func SignedEventDelivery(secret string, webhookHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 512<<10))
		if err != nil || !json.Valid(payload) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"send a Stripe event as JSON"}`+"\n")
			return
		}
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
			Payload: payload, Secret: secret, Timestamp: time.Now(),
		})
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(signed.Payload)).WithContext(r.Context())
		req.Header.Set("Stripe-Signature", signed.Header)
		req.Header.Set("Content-Type", "application/json")
		webhookHandler.ServeHTTP(w, req)
	})
}
