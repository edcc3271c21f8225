package redirect

import (
	"context"
	"strings"

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
// CloudFront can invoke an AWS_IAM function URL, so the header can be trusted), and
// the viewer's scheme from cloudfront-forwarded-proto (which CloudFront adds since
// the cache policy keys on it). Without either, the request is taken as HTTPS: a
// function URL is served over HTTPS only. x-forwarded-proto is never read: it
// describes CloudFront's own connection to the function URL, always HTTPS.
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
	secure := true
	if h.trustForwarded {
		secure = !strings.EqualFold(ev.Headers["cloudfront-forwarded-proto"], "http")
	}
	path := ev.RawPath
	res := h.resolver.Resolve(ctx, Request{Host: host, Path: path, Query: ev.RawQueryString, Secure: secure})
	resp := h.renderer.Render(res, ev.RequestContext.HTTP.Method, path)

	headers := make(map[string]string, 5)
	headers["content-type"] = resp.ContentType
	headers["cache-control"] = resp.CacheControl
	if resp.Location != "" {
		headers["location"] = resp.Location
	}
	if resp.RetryAfter != "" {
		headers["retry-after"] = resp.RetryAfter
	}
	if resp.HSTS != "" {
		headers["strict-transport-security"] = resp.HSTS
	}
	return events.LambdaFunctionURLResponse{StatusCode: resp.Status, Headers: headers, Body: resp.Body()}, nil
}
