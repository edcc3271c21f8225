package dnsreroute_test

import (
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
)

// TestTemplateNotifications: the dispatcher sees outbox inserts only; the
// delivery queue outlives a day of retries, hides a message longer than the
// function runs, and sets aside what keeps failing; no SES grant without a
// sender.
func TestTemplateNotifications(t *testing.T) {
	root := templateRoot(t)
	res := get(root, "Resources")
	filters := get(res, "DispatchStream", "Properties", "FilterCriteria", "Filters")
	if filters == nil || len(filters.Content) != 1 {
		t.Fatal("DispatchStream: want one filter")
	}
	pattern := get(filters.Content[0], "Pattern").Value
	if !strings.Contains(pattern, `{"prefix":"`+dynamo.OutboxPrefix+`"}`) || !strings.Contains(pattern, `"eventName":["INSERT"]`) {
		t.Errorf("DispatchStream's filter %s: want outbox inserts only", pattern)
	}
	q := get(res, "NotificationQueue", "Properties")
	vis, _ := strconv.Atoi(get(q, "VisibilityTimeout").Value)
	timeout, _ := strconv.Atoi(get(res, "DeliverFunction", "Properties", "Timeout").Value)
	if vis < timeout {
		t.Errorf("the queue's visibility timeout %d s is shorter than the function's timeout %d s", vis, timeout)
	}
	if ret, _ := strconv.Atoi(get(q, "MessageRetentionPeriod").Value); ret < 2*86400 {
		t.Errorf("messages are kept %d s: less than a day of retries and some", ret)
	}
	if n, _ := strconv.Atoi(get(q, "RedrivePolicy", "maxReceiveCount").Value); n < 20 {
		t.Errorf("maxReceiveCount %d: a job retried for a day (about 12 attempts) must not reach the dead-letter queue", n)
	}
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	for _, sender := range []string{"", "notify@example.com"} {
		e := newEval(t, root, map[string]string{"ServiceHostname": "redirect.example.com", "NotificationSender": sender})
		var ses []string
		for _, st := range e.statements(fns["DeliverFunction"]) {
			for _, a := range st.actions {
				if strings.HasPrefix(a, "ses:") {
					ses = append(ses, st.resources...)
				}
			}
		}
		want := 0
		if sender != "" {
			want = 2 // the address's identity and its domain's
		}
		if len(ses) != want {
			t.Errorf("NotificationSender %q: SES granted on %v", sender, ses)
		}
		for _, r := range ses {
			if !strings.HasSuffix(r, ":identity/notify@example.com") && !strings.HasSuffix(r, ":identity/example.com") {
				t.Errorf("SES granted on %s", r)
			}
		}
	}
}

// TestTemplateEventWritersMayWriteTheOutbox: a function whose table grants are
// bounded by key prefix, and whose code makes changes that record events (a
// plan change, a destination's transition), may write outbox items: else its
// transactions are denied on AWS, which no local test sees.
func TestTemplateEventWritersMayWriteTheOutbox(t *testing.T) {
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	for _, id := range []string{"StripeWebhookFunction", "MonitorFunction"} {
		found := false
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n == nil {
				return
			}
			if n.Kind == yaml.ScalarNode && n.Value == dynamo.OutboxPrefix+"*" {
				found = true
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(get(fns[id], "Properties", "Policies"))
		if !found {
			t.Errorf("%s records events but its grants' dynamodb:LeadingKeys do not name %q", id, dynamo.OutboxPrefix+"*")
		}
	}
}
