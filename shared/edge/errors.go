package edge

import (
	"context"
	"errors"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// fail turns an AWS error into a reroute.Error a customer or the retry loop
// can act on, keeping the AWS error as the cause for logs. doing says what the
// call was for.
func (e *CloudFront) fail(host, doing string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "CNAMEAlreadyExists":
			return domainInUse(host, err)
		case "InvalidArgument", "InvalidDomainValidationOptionsException", "InvalidParameterException", "ValidationException":
			re := reroute.Errorf(reroute.CodeInvalid, "domain_refused", "CloudFront refused %s: %s", host, ae.ErrorMessage())
			re.Err = err
			return re
		case "PreconditionFailed", "InvalidIfMatchVersion":
			// Changed between our read and our write: the next attempt reads it afresh.
			re := reroute.Errorf(reroute.CodeUnavailable, "edge_unavailable", "the CDN's record of %s changed meanwhile; try again", host)
			re.Err = err
			return re
		case "EntityLimitExceeded", "LimitExceededException":
			// The operator must raise the account's quota; until then, retrying later is all there is.
			re := reroute.Errorf(reroute.CodeUnavailable, "edge_limit", "the CDN takes no more custom domains for now: the operator must raise its quota")
			re.Err = err
			return re
		}
	}
	if unavailable(err) {
		re := reroute.Errorf(reroute.CodeUnavailable, "edge_unavailable", "the CDN did not answer; try again later")
		re.Err = err
		return re
	}
	re := reroute.Errorf(reroute.CodeInternal, "edge_failed", "could not %s for %s", doing, host)
	re.Err = err
	return re
}

// transientCodes are the codes AWS answers a caller going too fast, or a
// request it failed itself, with.
var transientCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottled": true, "RequestThrottledException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "SlowDown": true, "ServiceUnavailable": true,
	"InternalError": true, "InternalFailure": true, "InternalServiceError": true,
}

// unavailable reports throttling, server faults, timeouts and failed sends:
// errors a later attempt can get past.
func unavailable(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && (transientCodes[ae.ErrorCode()] || ae.ErrorFault() == smithy.FaultServer) {
		return true
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}
