// Package sqsqueue carries notification jobs through Amazon SQS: the dispatcher
// sends them, the delivery function receives them (an SQS event source
// mapping) and, for a job to try again later, moves the message's visibility
// timeout to the delay it wants, rather than letting Lambda's retries pick it.
package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/dnsreroute/dnsreroute/shared/notify"
)

// API is the part of *sqs.Client the queue calls.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queue is one SQS queue.
type Queue struct {
	api API
	url string
}

// New returns the queue at url.
func New(api API, url string) *Queue { return &Queue{api: api, url: url} }

// maxBatch is SendMessageBatch's limit of entries
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
const maxBatch = 10

// SendJobs sends jobs, ten to a request; entries SQS refuses are sent again
// once, then reported.
func (q *Queue) SendJobs(ctx context.Context, jobs []notify.Job) error {
	for start := 0; start < len(jobs); start += maxBatch {
		batch := jobs[start:min(start+maxBatch, len(jobs))]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, j := range batch {
			body, err := json.Marshal(j)
			if err != nil {
				return fmt.Errorf("encoding a job: %w", err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		for attempt := 1; len(entries) > 0; attempt++ {
			out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
			if err != nil {
				return fmt.Errorf("sending jobs: %w", err)
			}
			if len(out.Failed) == 0 {
				break
			}
			if attempt == 2 {
				f := out.Failed[0]
				return fmt.Errorf("sending jobs: %d refused, first %s: %s", len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
			}
			failed := map[string]bool{}
			for _, f := range out.Failed {
				failed[aws.ToString(f.Id)] = true
			}
			var again []types.SendMessageBatchRequestEntry
			for _, e := range entries {
				if failed[aws.ToString(e.Id)] {
					again = append(again, e)
				}
			}
			entries = again
		}
	}
	return nil
}

// MaxVisibility is the longest an SQS message can be hidden: 12 hours
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
const MaxVisibility = 12 * time.Hour

// RetryIn hides the received message with receipt handle receipt for d (at
// most MaxVisibility): SQS delivers it again then, with its receive count up
// by one.
func (q *Queue) RetryIn(ctx context.Context, receipt string, d time.Duration) error {
	secs := int32(min(max(d, time.Second), MaxVisibility) / time.Second)
	_, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receipt), VisibilityTimeout: secs,
	})
	if err != nil {
		return fmt.Errorf("delaying a job: %w", err)
	}
	return nil
}
