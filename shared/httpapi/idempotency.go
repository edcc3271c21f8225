package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Idempotency keys make a POST safe to retry: the first request with a key runs,
// its answer is kept for a day, and a retry with the same key and the same
// request gets that answer again (with Idempotent-Replayed: true) and changes
// nothing. This follows Stripe's idempotent requests
// (https://docs.stripe.com/api/idempotent_requests) and the IETF draft of the
// header (https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-idempotency-key-header),
// with these choices:
//   - a key is scoped to who sends it (a user, or an org's API keys), so two
//     customers' keys never meet;
//   - the same key with another request (method, path, query or body) is
//     refused with 422 idempotency_key_reused, as the draft says (Stripe answers
//     400), since the request is well formed but cannot be honoured;
//   - a retry while the first request still runs gets 409 idempotency_in_progress
//     with Retry-After, as both say;
//   - answers of 5xx and 429 are not kept (Stripe's API v1 keeps a 500): they say
//     that nothing was done, or that the caller should wait, so a retry with the
//     same key runs again, as Stripe's API v2 and the draft allow;
//   - an answer larger than maxKeptAnswer is not kept either: only an import's
//     line-by-line report gets that big, and importing is idempotent itself.
const (
	idempotencyHeader = "Idempotency-Key"
	replayedHeader    = "Idempotent-Replayed"
	// maxIdempotencyKey is Stripe's bound on a key's length.
	maxIdempotencyKey = 255
	// idempotencyTTL is how long an answer is kept: Stripe's 24 hours.
	idempotencyTTL = 24 * time.Hour
	// idempotencyLease bounds a claim whose request never finished (a crashed
	// function): longer than the API function's timeout, short enough that the
	// key is soon usable again.
	idempotencyLease = time.Minute
	// maxKeptAnswer bounds a kept body, well inside DynamoDB's 400 KB item.
	maxKeptAnswer = 256 << 10
	// maxFingerprintBody bounds what is read to fingerprint a request (bodies
	// are read in full before the handler runs); Lambda's own bound is 6 MB.
	maxFingerprintBody = 8 << 20
)

// keptHeaders are the headers of an answer a client acts on, kept and replayed
// with it.
var keptHeaders = []string{"Content-Type", "Location", "Retry-After", "Cache-Control"}

// idempotent runs next for a POST that carries an Idempotency-Key, at most once
// per key; without the header, or without a store, it just runs next.
func (s *server) idempotent(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request) error) error {
	values := r.Header.Values(idempotencyHeader)
	if s.Idempotency == nil || len(values) == 0 {
		return next(w, r)
	}
	if len(values) > 1 || !validIdempotencyKey(values[0]) {
		return errorf(reroute.CodeInvalid, "invalid_idempotency_key",
			fmt.Sprintf("the %s header must be given once, as 1 to %d printable ASCII characters", idempotencyHeader, maxIdempotencyKey))
	}
	key := values[0]
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxFingerprintBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &httpError{status: http.StatusRequestEntityTooLarge, reason: "body_too_large", msg: fmt.Sprintf("the body is larger than %d MiB", maxFingerprintBody>>20)}
	case err != nil:
		return errorf(reroute.CodeInvalid, "malformed_body", "the body could not be read in full")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	ctx := r.Context()
	scope := idempotencyScope(callerOf(ctx))
	fp := fingerprint(r, body)
	claim, err := s.newID("claim_")
	if err != nil {
		return err
	}
	now := s.Now()
	held, err := s.Idempotency.ClaimIdempotencyKey(ctx, now, scope, key, fp, claim, now.Add(idempotencyLease))
	if err != nil {
		return err
	}
	if held != nil {
		return replay(w, held, fp)
	}

	// The claim is ours: run the request, and keep its answer or let the key go.
	// A panic lets it go too, so that the key is not held until the lease ends.
	rec := &answerRecorder{ResponseWriter: w}
	done := false
	defer func() {
		if !done {
			s.releaseIdempotencyKey(ctx, scope, key, claim)
		}
	}()
	if err := next(rec, r); err != nil {
		writeError(rec, r, s.Log, err)
	}
	done = true
	status := rec.statusOr200()
	if status >= 500 || status == http.StatusTooManyRequests || rec.overflow {
		s.releaseIdempotencyKey(ctx, scope, key, claim)
		return nil
	}
	answer := reroute.IdempotentAnswer{Status: status, Header: map[string]string{}, Body: rec.body.Bytes()}
	for _, h := range keptHeaders {
		if v := rec.header.Get(h); v != "" {
			answer.Header[h] = v
		}
	}
	if err := s.Idempotency.FinishIdempotencyKey(context.WithoutCancel(ctx), scope, key, claim, answer, s.Now().Add(idempotencyTTL)); err != nil {
		// The answer is sent; a retry runs again once the lease ends.
		s.Log.WarnContext(ctx, "idempotency key not kept", "err", err)
	}
	return nil
}

func (s *server) releaseIdempotencyKey(ctx context.Context, scope, key, claim string) {
	if err := s.Idempotency.ReleaseIdempotencyKey(context.WithoutCancel(ctx), scope, key, claim); err != nil {
		s.Log.WarnContext(ctx, "idempotency key not released: usable again when its lease ends", "err", err)
	}
}

// replay answers a request whose key is held by an earlier one.
func replay(w http.ResponseWriter, held *reroute.IdempotencyRecord, fp string) error {
	switch {
	case held.Fingerprint != fp:
		return &httpError{status: http.StatusUnprocessableEntity, reason: "idempotency_key_reused",
			msg: "this Idempotency-Key was used for another request: send the same request to get its answer, or use a new key"}
	case held.Answer == nil:
		w.Header().Set("Retry-After", "1")
		return &httpError{status: http.StatusConflict, reason: "idempotency_in_progress",
			msg: "a request with this Idempotency-Key is still running: retry shortly to get its answer"}
	}
	h := w.Header()
	for k, v := range held.Answer.Header {
		h.Set(k, v)
	}
	h.Set(replayedHeader, "true")
	w.WriteHeader(held.Answer.Status)
	_, _ = w.Write(held.Answer.Body)
	return nil
}

// validIdempotencyKey: 1 to 255 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotencyScope is whose keys a key is among: an API key's org (every key of
// the org shares them), or a signed-in user.
func idempotencyScope(c reroute.Caller) string {
	if c.IsKey() {
		return "org:" + c.Key.OrgID
	}
	if c.IsApp() {
		return "app:" + c.App.ClientID + ":" + c.Email
	}
	return "user:" + c.Email
}

// fingerprint identifies a request: a retry has the same one, another request
// another.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// answerRecorder passes an answer on and keeps a copy of it, up to maxKeptAnswer
// of body.
type answerRecorder struct {
	http.ResponseWriter
	status   int
	header   http.Header // as sent
	body     bytes.Buffer
	overflow bool
}

func (a *answerRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
		a.header = a.ResponseWriter.Header().Clone()
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerRecorder) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	if !a.overflow {
		if a.body.Len()+len(p) > maxKeptAnswer {
			a.overflow = true
			a.body = bytes.Buffer{}
		} else {
			a.body.Write(p)
		}
	}
	return a.ResponseWriter.Write(p)
}

func (a *answerRecorder) statusOr200() int {
	if a.status == 0 {
		return http.StatusOK
	}
	return a.status
}
