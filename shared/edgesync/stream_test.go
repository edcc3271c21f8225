package edgesync_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// poller reads the table's stream from DynamoDB Local as Lambda's event source
// mapping does: every shard, in order, batches of up to 100 records, the
// mapping's filter (template.yaml, EdgeSyncStream) applied, each batch handed
// to the handler; a batch item failure is read again from that record.
type poller struct {
	t      *testing.T
	client *dynamodbstreams.Client
	arn    string
	handle func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

	mu      sync.Mutex
	batches int
}

func startPoller(t *testing.T, e *env) *poller {
	t.Helper()
	endpoint := os.Getenv(dynamotest.EndpointEnv)
	db := dynamotest.NewClient(endpoint)
	out, err := db.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(e.table)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Table.LatestStreamArn)
	if arn == "" {
		t.Fatal("the table has no stream: template.yaml's StreamSpecification is missing")
	}
	p := &poller{t: t, arn: arn, handle: e.sync.HandleStream, client: dynamodbstreams.New(dynamodbstreams.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		p.run(ctx)
	}()
	return p
}

// run polls the shards it finds (a new shard is looked for every few reads).
func (p *poller) run(ctx context.Context) {
	iters := map[string]*string{}
	for round := 0; ctx.Err() == nil; round++ {
		if round%20 == 0 {
			d, err := p.client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.arn)})
			if err != nil {
				if ctx.Err() == nil {
					p.t.Errorf("DescribeStream: %v", err)
				}
				return
			}
			for _, sh := range d.StreamDescription.Shards {
				id := aws.ToString(sh.ShardId)
				if _, ok := iters[id]; ok {
					continue
				}
				it, err := p.client.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
					StreamArn: aws.String(p.arn), ShardId: sh.ShardId, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon,
				})
				if err != nil {
					p.t.Errorf("GetShardIterator: %v", err)
					return
				}
				iters[id] = it.ShardIterator
			}
		}
		idle := true
		for id, it := range iters {
			if it == nil {
				continue // closed
			}
			out, err := p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(100)})
			if err != nil {
				if ctx.Err() == nil {
					p.t.Errorf("GetRecords: %v", err)
				}
				return
			}
			iters[id] = out.NextShardIterator
			if len(out.Records) == 0 {
				continue
			}
			idle = false
			ev := events.DynamoDBEvent{}
			for _, r := range out.Records {
				if rec, ok := toEvent(r); ok && passesFilter(rec) {
					ev.Records = append(ev.Records, rec)
				}
			}
			if len(ev.Records) == 0 {
				continue
			}
			resp, err := p.handle(ctx, ev)
			if err != nil || len(resp.BatchItemFailures) > 0 {
				if ctx.Err() == nil {
					p.t.Errorf("the handler failed a batch: %v %v", resp.BatchItemFailures, err)
				}
				return
			}
			p.mu.Lock()
			p.batches++
			p.mu.Unlock()
		}
		if idle {
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// passesFilter is the event source mapping's FilterCriteria.
func passesFilter(r events.DynamoDBEventRecord) bool {
	pk, sk := r.Change.Keys["PK"].String(), r.Change.Keys["SK"].String()
	return strings.HasPrefix(pk, "HOST#") && sk != "ROUTE#EDGE" || strings.HasPrefix(pk, "ORG#") && sk == "ORG"
}

func toEvent(r stypes.Record) (events.DynamoDBEventRecord, bool) {
	if r.Dynamodb == nil {
		return events.DynamoDBEventRecord{}, false
	}
	return events.DynamoDBEventRecord{
		EventName: string(r.EventName), EventID: aws.ToString(r.EventID), EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{
			Keys: toAttrs(r.Dynamodb.Keys), NewImage: toAttrs(r.Dynamodb.NewImage), OldImage: toAttrs(r.Dynamodb.OldImage),
			SequenceNumber: aws.ToString(r.Dynamodb.SequenceNumber), StreamViewType: string(r.Dynamodb.StreamViewType),
		},
	}, true
}

func toAttrs(m map[string]stypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = toAttr(v)
	}
	return out
}

func toAttr(v stypes.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *stypes.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *stypes.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *stypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *stypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *stypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *stypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *stypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *stypes.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, x := range v.Value {
			l[i] = toAttr(x)
		}
		return events.NewListAttribute(l)
	case *stypes.AttributeValueMemberM:
		return events.NewMapAttribute(toAttrs(v.Value))
	}
	return events.NewNullAttribute()
}

// waitFor waits, generously, until cond holds, and returns how long it took.
func waitFor(t *testing.T, what string, start time.Time, cond func() bool) time.Duration {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// The real stream path: writes to DynamoDB Local reach the store through its
// stream, read as Lambda reads it, and the handler. The time from the write's
// start to the store holding it is logged (never asserted: it measures the
// machine as much as the code).
func TestStreamCarriesChangesToTheEdge(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	e.org(t, "org-a", reroute.PlanDeveloper)
	p := startPoller(t, e)
	const host = "live.example.com"
	hostValue := func() string { return e.fake.Items()[host] }

	start := time.Now()
	e.route(t, "org-a", host, "https://one.example/", time.Time{})
	created := waitFor(t, "the new route at the edge", start, func() bool { v := hostValue(); return v != "" && v != "0" })

	r, err := e.store.GetRoute(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	before := hostValue()
	r.Target = "https://two.example/"
	start = time.Now()
	if err := e.store.UpdateRoute(ctx, r, reroute.KeepRules); err != nil {
		t.Fatal(err)
	}
	updated := waitFor(t, "the update at the edge", start, func() bool { v := hostValue(); return v != before && v != "" })

	r.Enabled = false
	start = time.Now()
	if err := e.store.UpdateRoute(ctx, r, reroute.KeepRules); err != nil {
		t.Fatal(err)
	}
	disabled := waitFor(t, "the disabled route's placeholder", start, func() bool { return hostValue() == edgekvs.Placeholder(host).Value })

	start = time.Now()
	if err := e.store.DeleteRoute(ctx, "org-a", host); err != nil {
		t.Fatal(err)
	}
	deleted := waitFor(t, "the deleted route gone from the edge", start, func() bool { _, ok := e.fake.Items()[host]; return !ok })

	p.mu.Lock()
	batches := p.batches
	p.mu.Unlock()
	t.Logf("write -> KeyValueStore through DynamoDB Local's stream: create %v, update %v, disable %v, delete %v (%d batches handled)",
		created.Round(time.Millisecond), updated.Round(time.Millisecond), disabled.Round(time.Millisecond), deleted.Round(time.Millisecond), batches)
	// The edge record's own writes passed no filter and made no sync.
	if got := e.hostKeys(host); len(got) != 0 {
		t.Errorf("after the delete the store holds %v", got)
	}
}
