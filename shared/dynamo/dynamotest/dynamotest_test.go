package dynamotest_test

import (
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
)

// A request to DynamoDB Local that is never answered ends with an error, even
// under a context without deadline, such as a test's own.
func TestClientRequestsAreBounded(t *testing.T) {
	c, ok := dynamotest.NewClient("http://127.0.0.1:8000").Options().HTTPClient.(interface{ GetTimeout() time.Duration })
	if !ok {
		t.Fatal("the client's HTTP client does not say its timeout")
	}
	if d := c.GetTimeout(); d <= 0 || d > 5*time.Minute {
		t.Fatalf("request timeout %s, want a ceiling of a few minutes", d)
	}
}
