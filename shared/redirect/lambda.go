package redirect

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// LambdaHandler is the native front for Lambda function URL events: no HTTP
// adapter on the hot path, the event's raw path and query used as they came.
type LambdaHandler struct {
	resolver       *Resolver
	renderer       *Renderer
	trustForwarded bool
}

// NewLambdaHandler serves res to function URL events. With trustForwarded the host
// comes from x-forwarded-host (set by the CloudFront Function in front; only
// CloudFront can invoke an AWS_IAM function URL, so the header can be trusted).
func NewLambdaHandler(res *Resolver, trustForwarded bool) *LambdaHandler {
	return &LambdaHandler{resolver: res, renderer: NewRenderer(res.Config()), trustForwarded: trustForwarded}
}

// Handle answers one event. It never returns an error: every failure has an answer.
func (h *LambdaHandler) Handle(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	host := ""
	if h.trustForwarded {
		host = ev.Headers["x-forwarded-host"]
	}
	if host == "" {
		host = ev.Headers["host"]
	}
	if host == "" {
		host = ev.RequestContext.DomainName
	}
	path := ev.RawPath
	resp := h.renderer.Render(h.resolver.Resolve(ctx, host, path, ev.RawQueryString), ev.RequestContext.HTTP.Method, path)

	headers := make(map[string]string, 4)
	headers["content-type"] = resp.ContentType
	headers["cache-control"] = resp.CacheControl
	if resp.Location != "" {
		headers["location"] = resp.Location
	}
	if resp.RetryAfter != "" {
		headers["retry-after"] = resp.RetryAfter
	}
	return events.LambdaFunctionURLResponse{StatusCode: resp.Status, Headers: headers, Body: resp.Body()}, nil
}
