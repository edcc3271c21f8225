// Command analytics is the Lambda function S3 invokes for every access log
// object CloudFront delivers to the stack's log bucket: it streams the object
// and counts its requests into the table. Counting is exactly once per object
// (the object's s3:// address is its source id), so Lambda's retries and S3's
// duplicate notifications count nothing twice. It reads its configuration
// once, at cold start.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "analytics:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	s3Endpoint := env.String("S3_ENDPOINT", "")     // an S3 API server in tests; unset on AWS
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	objects := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// Delivered log objects carry no checksum to validate: the SDK would
		// log that for every one.
		o.DisableLogOutputChecksumValidationSkipped = true
		if s3Endpoint != "" {
			o.BaseEndpoint = aws.String(s3Endpoint)
			o.UsePathStyle = true
		}
	})
	store := dynamo.New(dynamo.NewClient(awsCfg, endpoint), table)
	ingest := func(ctx context.Context, source string, r io.Reader) (analytics.Stats, error) {
		return analytics.Ingest(ctx, store, source, r)
	}
	log.Info("analytics function ready", "table", table)
	lambda.StartWithOptions(handler(objects, ingest, log), lambda.WithContext(ctx))
	return nil
}

// objectGetter is the one S3 call the function makes.
type objectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Result is the invocation's answer: what was counted, per object.
type Result struct {
	Objects []ObjectResult `json:"objects"`
}

// ObjectResult is one log object's outcome.
type ObjectResult struct {
	Source string          `json:"source"`
	Stats  analytics.Stats `json:"stats"`
	Error  string          `json:"error,omitempty"`
}

// handler counts every object an S3 event names. An object that cannot be
// read or counted fails the invocation once the others are done, so that
// Lambda retries it (S3 invokes asynchronously); the objects already counted
// are skipped on the retry, since each counts once.
func handler(objects objectGetter, ingest func(context.Context, string, io.Reader) (analytics.Stats, error), log *slog.Logger) func(context.Context, events.S3Event) (Result, error) {
	return func(ctx context.Context, ev events.S3Event) (Result, error) {
		var res Result
		var errs []error
		for _, rec := range ev.Records {
			if !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
				log.InfoContext(ctx, "not an object creation: skipped", "event", rec.EventName)
				continue
			}
			// S3 sends keys URL-encoded (a space as "+"); events.S3Object
			// decodes them into URLDecodedKey.
			bucket, key := rec.S3.Bucket.Name, rec.S3.Object.URLDecodedKey
			source := "s3://" + bucket + "/" + key
			st, err := countObject(ctx, objects, ingest, bucket, key, source)
			or := ObjectResult{Source: source, Stats: st}
			if err != nil {
				or.Error = err.Error()
				errs = append(errs, fmt.Errorf("%s: %w", source, err))
				log.ErrorContext(ctx, "log object not counted", "source", source, "err", err)
			} else {
				log.InfoContext(ctx, "log object counted", "source", source, "stats", st)
			}
			res.Objects = append(res.Objects, or)
		}
		return res, errors.Join(errs...)
	}
}

func countObject(ctx context.Context, objects objectGetter, ingest func(context.Context, string, io.Reader) (analytics.Stats, error), bucket, key, source string) (analytics.Stats, error) {
	if bucket == "" || key == "" {
		return analytics.Stats{}, errors.New("the event names no bucket or key")
	}
	out, err := objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return analytics.Stats{}, fmt.Errorf("get object: %w", err)
	}
	defer out.Body.Close()
	// Streamed (and gunzipped by analytics as it reads): a log object is never
	// held in memory whole.
	return ingest(ctx, source, out.Body)
}
