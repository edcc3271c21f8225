// Package sesmail sends email through Amazon SES (the v2 API), as raw MIME so
// that every message carries the one-click unsubscribe headers (RFC 8058).
package sesmail

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// API is the part of *sesv2.Client the sender calls.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Sender sends raw messages.
type Sender struct{ api API }

// New returns a Sender on api.
func New(api API) *Sender { return &Sender{api: api} }

// SendRaw sends raw (a whole MIME message, its own From and To included) from
// from to to. SES sends it as it is: the From must be an identity verified in
// the account (the stack's NotificationSender parameter).
func (s *Sender) SendRaw(ctx context.Context, from, to string, raw []byte) error {
	_, err := s.api.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
	})
	if err != nil {
		return fmt.Errorf("sending email: %w", err)
	}
	return nil
}
