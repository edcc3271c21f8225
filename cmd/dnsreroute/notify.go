package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/delivery"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/monitor"
	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/safehttp"
)

// The local stack's notifications: what the dispatch and deliver functions do
// on AWS, in this process. The outbox is polled (a Scan of the local table
// every second, events since the start only) rather than read from a stream;
// jobs wait in memory rather than in SQS, retried with a shorter backoff (5 s
// doubling, at most a minute) so that a developer sees the retries; emails are
// written to a folder as .eml files rather than sent. Webhook endpoints and
// route targets on 127.0.0.1 are allowed here, and only here.
const (
	defaultMailDir   = ".dev-mail"
	devOutboxPeriod  = time.Second
	devMonitorPeriod = 5 * time.Minute
)

// devGuard lets the local stack reach a receiver or a site on loopback.
var devGuard = safehttp.Guard{AllowLoopback: true}

// memQueue runs jobs as they come, and again after their delay.
type memQueue struct {
	ctx  context.Context
	run  func(ctx context.Context, job notify.Job, attempt int) (notify.Job, time.Duration, bool)
	log  *slog.Logger
	wg   sync.WaitGroup
	jobs chan queued
}

type queued struct {
	job     notify.Job
	attempt int
}

func (q *memQueue) SendJobs(_ context.Context, jobs []notify.Job) error {
	for _, j := range jobs {
		q.push(queued{job: j, attempt: 1}, 0)
	}
	return nil
}

func (q *memQueue) push(j queued, after time.Duration) {
	q.wg.Add(1)
	time.AfterFunc(after, func() {
		defer q.wg.Done()
		select {
		case q.jobs <- j:
		case <-q.ctx.Done():
		}
	})
}

func (q *memQueue) work() {
	for {
		select {
		case <-q.ctx.Done():
			return
		case j := <-q.jobs:
			if job, delay, again := q.run(q.ctx, j.job, j.attempt); again {
				q.push(queued{job: job, attempt: j.attempt + 1}, delay)
			}
		}
	}
}

// dirSender writes each email to dir as an .eml file, and logs it.
type dirSender struct {
	dir string
	log *slog.Logger
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9@._-]+`)

func (d dirSender) SendRaw(_ context.Context, from, to string, raw []byte) error {
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return err
	}
	name := time.Now().UTC().Format("20060102T150405.000000") + "-" + unsafeName.ReplaceAllString(to, "_") + ".eml"
	path := filepath.Join(d.dir, name)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return err
	}
	d.log.Info("email written (the local stack sends none)", "to", to, "from", from, "file", path)
	return nil
}

// runNotifications dispatches new outbox items and runs their jobs until ctx
// ends; every monitorEvery it probes the monitored destinations too.
func runNotifications(ctx context.Context, client *dynamodb.Client, table string, store *dynamo.Store, apiBase, mailDir string, log *slog.Logger) error {
	key, err := store.SigningKey(ctx, "unsubscribe", rand.Reader)
	if err != nil {
		return err
	}
	d := &delivery.Deliverer{Webhooks: store, Members: store, Prefs: store, Now: time.Now, Log: log,
		Client: devGuard.Client(safehttp.ClientOptions{Timeout: 15 * time.Second}),
		Mail: &delivery.Mailer{Sender: dirSender{dir: mailDir, log: log}, From: "DNSReRoute <notify@localhost>",
			APIBase: apiBase, Dashboard: apiBase, UnsubscribeKey: key, Now: time.Now},
		Backoff: func(n int) time.Duration { return min(5*time.Second<<min(n-1, 4), time.Minute) },
	}
	q := &memQueue{ctx: ctx, log: log, jobs: make(chan queued, 100)}
	q.run = func(ctx context.Context, job notify.Job, attempt int) (notify.Job, time.Duration, bool) {
		out, err := d.Run(ctx, job, attempt)
		switch {
		case err != nil:
			log.Warn("notification job failed: retried in a minute", "event", job.Event.ID, "err", err)
			return job, time.Minute, attempt < 30
		case !out.Done:
			return job, out.RetryIn, true
		}
		return job, 0, false
	}
	d.Queue = q
	disp := &notify.Dispatcher{Webhooks: store, Members: store, Prefs: store, Queue: q, Log: log}
	go q.work()
	go runDevMonitor(ctx, client, store, log)

	start := time.Now().UTC()
	seen := map[string]bool{}
	t := time.NewTicker(devOutboxPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		evs, err := scanOutbox(ctx, client, table)
		if err != nil {
			log.Warn("reading the outbox failed", "err", err)
			continue
		}
		for _, e := range evs {
			if seen[e.ID] || e.Time.Before(start) {
				continue
			}
			seen[e.ID] = true
			if err := disp.Dispatch(ctx, e); err != nil {
				log.Warn("dispatching an event failed", "event", e.ID, "err", err)
				delete(seen, e.ID) // again at the next poll
			}
		}
	}
}

// scanOutbox reads every outbox item of the local table.
func scanOutbox(ctx context.Context, client *dynamodb.Client, table string) ([]reroute.Event, error) {
	var out []reroute.Event
	in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("begins_with(PK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: dynamo.OutboxPrefix}}}
	for {
		page, err := client.Scan(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			e, ok, err := dynamo.DecodeOutbox(item)
			if err != nil {
				return nil, fmt.Errorf("outbox: %w", err)
			}
			if ok {
				out = append(out, e)
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// runDevMonitor probes monitored destinations every devMonitorPeriod.
func runDevMonitor(ctx context.Context, client *dynamodb.Client, store *dynamo.Store, log *slog.Logger) {
	m := &monitor.Monitor{Orgs: store.WithScanner(client), Routes: store, Store: store, Plans: reroute.DefaultCatalog(),
		Probe:  monitor.Prober{Client: devGuard.Client(safehttp.ClientOptions{Timeout: 5 * time.Second, MaxRedirects: 5}), Timeout: 5 * time.Second}.Probe,
		Budget: 200, RulesPerRoute: 2, Now: time.Now, Log: log}
	t := time.NewTicker(devMonitorPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rep, err := m.Run(ctx)
			if err != nil {
				log.Warn("destination monitor run failed", "err", err)
			} else if rep.Probed > 0 {
				log.Info("destination monitor run", "probed", rep.Probed, "broken", rep.Broken, "recovered", rep.Recovered)
			}
		}
	}
}
