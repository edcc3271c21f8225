// Package webhook signs and sends events to customers' endpoints as the
// Standard Webhooks specification says (https://www.standardwebhooks.com/):
// headers webhook-id (the event's id, the same on every attempt, so that a
// receiver can drop repeats), webhook-timestamp (Unix seconds of the attempt) and
// webhook-signature ("v1," and the base64 HMAC-SHA256 of "id.timestamp.body",
// keyed with the secret's decoded bytes).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/safehttp"
)

// SecretPrefix starts every signing secret, as the specification suggests.
const SecretPrefix = "whsec_"

// secretBytes is the length of a new secret's key: 256 bits, the HMAC's block.
const secretBytes = 32

// NewSecret returns a new signing secret read from rand: "whsec_" and base64.
func NewSecret(rand io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// key decodes a secret into its HMAC key.
func key(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhook: a secret is whsec_ followed by base64")
	}
	return k, nil
}

// Sign returns the webhook-signature header of body sent as msgID at ts: one
// "v1,<base64>" per secret, space-separated (while a rotated secret is still
// honoured, both sign, and a receiver with either verifies).
func Sign(msgID string, ts time.Time, body []byte, secrets ...string) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("webhook: no secret to sign with")
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		k, err := key(s)
		if err != nil {
			return "", err
		}
		m := hmac.New(sha256.New, k)
		m.Write([]byte(msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}

// UserAgent names the service on every request it makes to a customer's server.
const UserAgent = "DNSReRoute-Webhooks/1 (+https://github.com/dnsreroute/dnsreroute#webhooks)"

// Request is one delivery attempt.
type Request struct {
	URL     string
	MsgID   string // the event's id
	Body    []byte // the event's payload
	Secrets []string
	Time    time.Time // of the attempt: webhook-timestamp
}

// Result is how an attempt went. Status is the response's status code, 0 when
// there was none (Err says why).
type Result struct {
	Status int
	Err    error
}

// OK reports whether the endpoint took the event: any 2xx.
func (r Result) OK() bool { return r.Err == nil && r.Status >= 200 && r.Status < 300 }

// Retry reports whether trying again may help: every failure but a refused
// destination, and 4xx other than 408, 409, 425 and 429.
func (r Result) Retry() bool {
	switch {
	case r.OK():
		return false
	case errors.Is(r.Err, safehttp.ErrRefused):
		return false // the customer must change the URL first
	case r.Err != nil:
		return true
	case r.Status >= 400 && r.Status < 500:
		return r.Status == 408 || r.Status == 409 || r.Status == 425 || r.Status == 429
	}
	return true
}

// Send makes one attempt through client (whose transport must refuse private
// addresses and follow no redirect: safehttp.Guard.Client). The response body is
// read up to 4 KiB and dropped: receivers answer fast and small.
func Send(ctx context.Context, client *http.Client, r Request) Result {
	sig, err := Sign(r.MsgID, r.Time, r.Body, r.Secrets...)
	if err != nil {
		return Result{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Result{Err: fmt.Errorf("webhook: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("webhook-id", r.MsgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(r.Time.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	res, err := client.Do(req)
	if err != nil {
		return Result{Err: err}
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	return Result{Status: res.StatusCode}
}
