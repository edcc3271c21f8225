package dynamo_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// A claim holds its key until its lease ends; a finished claim holds it with its
// answer until it expires; a lapsed claim taken over can neither finish nor
// release the new one.
func TestIdempotencyKeyClaims(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	ctx := context.Background()
	t0 := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	lease := func(now time.Time) time.Time { return now.Add(time.Minute) }
	claim := func(now time.Time, scope, key, fp, id string) *reroute.IdempotencyRecord {
		t.Helper()
		held, err := s.ClaimIdempotencyKey(ctx, now, scope, key, fp, id, lease(now))
		if err != nil {
			t.Fatal(err)
		}
		return held
	}

	if held := claim(t0, "user:a", "k", "fp1", "c1"); held != nil {
		t.Fatalf("a new key is held: %+v", held)
	}
	if held := claim(t0.Add(time.Second), "user:a", "k", "fp1", "c2"); held == nil || held.Answer != nil || held.Fingerprint != "fp1" {
		t.Fatalf("a running claim: got %+v, want held without answer", held)
	}
	if held := claim(t0, "user:b", "k", "fp9", "c3"); held != nil {
		t.Fatalf("another scope's key is held: %+v", held)
	}

	// The lease ends (the first attempt crashed): a retry takes the key over.
	t1 := t0.Add(time.Minute)
	if held := claim(t1, "user:a", "k", "fp1", "c4"); held != nil {
		t.Fatalf("a lapsed claim still holds the key: %+v", held)
	}
	answer := reroute.IdempotentAnswer{Status: 201, Header: map[string]string{"Location": "/v1/x"}, Body: []byte(`{"id":"x"}`)}
	if err := s.FinishIdempotencyKey(ctx, "user:a", "k", "c1", answer, t1.Add(24*time.Hour)); reroute.ErrorCode(err) != reroute.CodeConflict {
		t.Fatalf("the lapsed claim finished: %v", err)
	}
	if err := s.ReleaseIdempotencyKey(ctx, "user:a", "k", "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIdempotencyKey(ctx, "user:a", "k", "c4", answer, t1.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	held := claim(t1.Add(time.Hour), "user:a", "k", "fp2", "c5")
	if held == nil || held.Fingerprint != "fp1" || held.Answer == nil || held.Answer.Status != 201 ||
		held.Answer.Header["Location"] != "/v1/x" || !bytes.Equal(held.Answer.Body, answer.Body) {
		t.Fatalf("a finished key: got %+v", held)
	}
	if held := claim(t1.Add(24*time.Hour), "user:a", "k", "fp2", "c6"); held != nil {
		t.Fatalf("an expired key is held: %+v", held)
	}

	// Released, a key is free at once.
	if err := s.ReleaseIdempotencyKey(ctx, "user:b", "k", "c3"); err != nil {
		t.Fatal(err)
	}
	if held := claim(t0.Add(2*time.Second), "user:b", "k", "fp9", "c7"); held != nil {
		t.Fatalf("a released key is held: %+v", held)
	}
}
