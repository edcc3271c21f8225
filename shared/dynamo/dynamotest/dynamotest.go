// Package dynamotest gives each test its own table in DynamoDB Local, made from the
// deployed template, so that tests run in parallel against the real thing.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dnsreroute/dnsreroute"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
)

// EndpointEnv names the variable holding DynamoDB Local's URL (set by cmd/testenv).
const EndpointEnv = "DYNAMODB_ENDPOINT"

// requestCeiling bounds one request to DynamoDB Local, which answers in
// milliseconds, in seconds on a loaded machine: a test whose context has no
// deadline fails with the request's error instead of waiting for its -timeout.
const requestCeiling = 2 * time.Minute

// NewClient returns a client for a local endpoint, with static credentials and a
// fixed region so that nothing is read from the machine's AWS configuration, and
// each request bounded.
func NewClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(devstack.NewDynamoDBClient(endpoint).Options(), func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(requestCeiling)
	})
}

// NewTable creates a table of its own for t from template.yaml and deletes it when t
// ends. It fails, rather than skips, without DynamoDB Local: a skipped store test
// looks like a passing one.
func NewTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	endpoint := os.Getenv(EndpointEnv)
	if endpoint == "" {
		t.Fatal("DynamoDB Local is not running: use `make test`, or set " + EndpointEnv)
	}
	client := NewClient(endpoint)
	name := tableName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.EnsureTable(ctx, client, dnsreroute.Template(), name); err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t's own context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("deleting table %s: %v", name, err)
		}
	})
	return client, name
}

// tableName is unique (random suffix) yet says which test made it (a table name
// is 3 to 255 characters of [a-zA-Z0-9_.-]).
func tableName(test string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, test)
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	return "test-" + prefix + "-" + hex.EncodeToString(b)
}
