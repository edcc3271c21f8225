package reroute

import (
	"context"
	"time"
)

// Idempotency keys let a client retry a POST safely: the first request with a key
// runs and its answer is kept; a retry with the same key and the same request gets
// that answer again and changes nothing. The semantics follow Stripe's
// (https://docs.stripe.com/api/idempotent_requests) and the IETF draft of the
// Idempotency-Key header field
// (https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-idempotency-key-header).

// IdempotentAnswer is the answer kept for a key: the status, the headers a client
// acts on, and the body.
type IdempotentAnswer struct {
	Status int
	Header map[string]string
	Body   []byte
}

// IdempotencyRecord is what is known of a key: the fingerprint of the request
// that claimed it, and its answer once the request is done (nil while it runs).
type IdempotencyRecord struct {
	Fingerprint string
	Answer      *IdempotentAnswer
	ExpiresAt   time.Time
}

// IdempotencyStore keeps idempotency keys across every instance of the service.
// A key belongs to a scope (who sent it), so that two callers' keys never meet.
type IdempotencyStore interface {
	// ClaimIdempotencyKey claims key for a request whose fingerprint is given,
	// until lease: claim is a random id of this attempt, which Finish and Release
	// must present. When the key is held (claimed or done, and not expired at
	// now) it claims nothing and returns the record holding it.
	ClaimIdempotencyKey(ctx context.Context, now time.Time, scope, key, fingerprint, claim string, lease time.Time) (*IdempotencyRecord, error)
	// FinishIdempotencyKey keeps the answer of the claim until expires. A claim
	// that has lapsed and was taken by another attempt keeps nothing.
	FinishIdempotencyKey(ctx context.Context, scope, key, claim string, answer IdempotentAnswer, expires time.Time) error
	// ReleaseIdempotencyKey forgets the claim, so that the key can be used again
	// at once (the request's answer is not to be kept).
	ReleaseIdempotencyKey(ctx context.Context, scope, key, claim string) error
}
