package main

import (
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

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
)

// TestDevNotifications: in `dnsreroute dev`, a route created through the API
// reaches a webhook receiver on 127.0.0.1, signed as the specification's
// library verifies, and a member who asked for route emails finds one in the
// mail folder, with its unsubscribe link.
func TestDevNotifications(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	dir := t.TempDir()
	mailDir := filepath.Join(dir, "mail")
	dnsServer := dnstest.Start(t)
	getenv := func(k string) string {
		return map[string]string{"DNS_SERVERS": dnsServer.Addr, "LOG_LEVEL": "error"}[k]
	}
	dev := startDev(t, table, dir, getenv, "-mail", mailDir)
	st := dev.devState
	api := st.API

	var mu sync.Mutex
	var secret string
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err == nil && wh.Verify(body, r.Header) == nil {
			got = append(got, string(body))
		}
	}))
	defer recv.Close()

	token := signIn(t, api, "you@example.com")
	org := createOrgAPI(t, api, token, "Notified")
	var hook struct{ Secret string }
	mu.Lock()
	if err := json.Unmarshal([]byte(call(t, http.MethodPost, api+"/v1/orgs/"+org+"/webhooks", token,
		`{"url":"`+recv.URL+`/hook","events":["route.created"]}`, 201, `"secret":"whsec_`)), &hook); err != nil {
		t.Fatal(err)
	}
	secret = hook.Secret
	mu.Unlock()
	call(t, http.MethodPut, api+"/v1/orgs/"+org+"/members/me/notifications", token, `{"events":["route.created"]}`, 200)
	call(t, http.MethodPost, api+"/v1/orgs/"+org+"/routes", token, `{"host":"told.example.com","target":"https://new.example.org/"}`, 201)

	deadline := time.Now().Add(readmeWait)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		mails, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
		if n >= 1 && len(mails) >= 1 {
			mu.Lock()
			if !strings.Contains(got[0], `"type":"route.created"`) || !strings.Contains(got[0], "told.example.com") {
				t.Errorf("webhook body %s", got[0])
			}
			mu.Unlock()
			raw, _ := os.ReadFile(mails[0])
			if !strings.Contains(string(raw), "List-Unsubscribe: <"+api+"/v1/unsubscribe?") || !strings.Contains(string(raw), "told.example.com") {
				t.Errorf("email:\n%s", raw)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d verified webhooks, %d emails\n%s", readmeWait, n, len(mails), dev.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
