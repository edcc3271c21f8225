package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dnsreroute/dnsreroute/shared/safehttp"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	s, err := webhook.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if !strings.HasPrefix(s, "whsec_") || err != nil || len(k) != 32 {
		t.Fatalf("secret %q: want whsec_ and the base64 of 32 bytes (%v)", s, err)
	}
	if _, err := standardwebhooks.NewWebhook(s); err != nil {
		t.Fatalf("the specification's library refuses the secret: %v", err)
	}
}

// TestSendVerifiedBySpecLibrary: a receiver using the specification's own Go
// library verifies what Send sends, with the current secret and with a rotated
// one while both sign; a tampered body or another secret fails.
func TestSendVerifiedBySpecLibrary(t *testing.T) {
	t.Parallel()
	oldSecret, _ := webhook.NewSecret(rand.Reader)
	newSecret, _ := webhook.NewSecret(rand.Reader)
	otherSecret, _ := webhook.NewSecret(rand.Reader)

	type got struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	var received []got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, got{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	client := safehttp.Guard{AllowLoopback: true}.Client(safehttp.ClientOptions{Timeout: 10 * time.Second})

	body := []byte(`{"type":"route.created","timestamp":"2026-01-02T03:04:05Z","data":{"host":"a.example.com"}}`)
	res := webhook.Send(context.Background(), client, webhook.Request{
		URL: srv.URL + "/hook", MsgID: "evt_abc", Body: body, Secrets: []string{newSecret, oldSecret}, Time: time.Now(),
	})
	if !res.OK() {
		t.Fatalf("Send: %+v", res)
	}
	if len(received) != 1 {
		t.Fatalf("received %d requests, want 1", len(received))
	}
	r := received[0]
	if r.header.Get("webhook-id") != "evt_abc" || !bytes.Equal(r.body, body) || !strings.Contains(r.header.Get("User-Agent"), "DNSReRoute") {
		t.Fatalf("headers %v body %s", r.header, r.body)
	}
	for name, secret := range map[string]string{"new": newSecret, "old": oldSecret} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("verifying with the %s secret: %v", name, err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(otherSecret)
	if err := wh.Verify(r.body, r.header); err == nil {
		t.Error("another secret verified the signature")
	}
	wh, _ = standardwebhooks.NewWebhook(newSecret)
	if err := wh.Verify(append([]byte(" "), r.body...), r.header); err == nil {
		t.Error("a tampered body verified")
	}

	// The library's own signature of the same message is what Sign makes.
	ts := time.Unix(1700000000, 0)
	want, _ := wh.Sign("msg_1", ts, body)
	if got, _ := webhook.Sign("msg_1", ts, body, newSecret); got != want {
		t.Errorf("Sign = %q, the library signs %q", got, want)
	}
}

func TestResultRetry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r         webhook.Result
		ok, retry bool
	}{
		{webhook.Result{Status: 200}, true, false},
		{webhook.Result{Status: 204}, true, false},
		{webhook.Result{Status: 500}, false, true},
		{webhook.Result{Status: 503}, false, true},
		{webhook.Result{Status: 429}, false, true},
		{webhook.Result{Status: 410}, false, false},
		{webhook.Result{Status: 400}, false, false},
		{webhook.Result{Status: 301}, false, true}, // a redirect is not followed; the receiver may fix it
		{webhook.Result{Err: io.ErrUnexpectedEOF}, false, true},
		{webhook.Result{Err: safehttp.ErrRefused}, false, false},
	} {
		if tc.r.OK() != tc.ok || tc.r.Retry() != tc.retry {
			t.Errorf("%+v: OK %v Retry %v, want %v %v", tc.r, tc.r.OK(), tc.r.Retry(), tc.ok, tc.retry)
		}
	}
}
