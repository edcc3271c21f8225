package awsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

type acmError struct {
	status       int
	typ, message string
}

var tokenRE = regexp.MustCompile(`^\w{1,32}$`)

func (f *Fake) serveACM(w http.ResponseWriter, r *http.Request, op string) {
	switch throttled, down := f.admit(r, op); {
	case throttled:
		writeACMError(w, acmError{400, "ThrottlingException", "Rate exceeded"})
		return
	case down:
		writeACMError(w, acmError{503, "ServiceUnavailable", "ACM is unavailable"})
		return
	}
	var in struct {
		CertificateArn   string
		DomainName       string
		ValidationMethod string
		IdempotencyToken string
		Tags             []struct{ Key, Value *string }
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &in); err != nil {
		writeACMError(w, acmError{400, "SerializationException", "the request body is not valid JSON"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var (
		out any
		e   *acmError
	)
	switch op {
	case "RequestCertificate":
		var tags map[string]string
		if tags, e = acmTags(in.Tags); e == nil {
			out, e = f.requestCertificate(in.DomainName, in.ValidationMethod, in.IdempotencyToken, tags)
		}
	case "DescribeCertificate":
		out, e = f.describeCertificate(in.CertificateArn)
	case "DeleteCertificate":
		e = f.deleteCertificate(in.CertificateArn)
		out = struct{}{}
	default:
		e = &acmError{400, "UnknownOperationException", "unknown operation " + op}
	}
	if e != nil {
		writeACMError(w, *e)
		return
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", "fake-request")
	w.Write(b)
}

func writeACMError(w http.ResponseWriter, e acmError) {
	b, _ := json.Marshal(map[string]string{"__type": e.typ, "message": e.message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", "fake-request")
	w.WriteHeader(e.status)
	w.Write(b)
}

// ---- operations (f.mu held)

// acmTags validates a request's tags as ACM documents them: at most 50, keys of
// 1-128 characters and values of up to 256 from letters, digits, spaces and
// _.:/=+-@, and no key starting "aws:", which is reserved (InvalidTagException).
// https://docs.aws.amazon.com/acm/latest/APIReference/API_Tag.html
// https://docs.aws.amazon.com/acm/latest/userguide/tags-restrictions.html
func acmTags(in []struct{ Key, Value *string }) (map[string]string, *acmError) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > 50 {
		return nil, &acmError{400, "TooManyTagsException", "A certificate takes at most 50 tags."}
	}
	tags := map[string]string{}
	for _, t := range in {
		var k, v string
		if t.Key != nil {
			k = *t.Key
		}
		if t.Value != nil {
			v = *t.Value
		}
		switch {
		case len(k) < 1 || len(k) > 128 || !acmTagChars.MatchString(k) || len(v) > 256 || !acmTagChars.MatchString(v):
			return nil, &acmError{400, "ValidationException", "The tag " + k + " is not valid."}
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, &acmError{400, "InvalidTagException", "Tag keys starting with aws: are reserved for AWS use."}
		}
		tags[k] = v
	}
	return tags, nil
}

var acmTagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

func (f *Fake) requestCertificate(domain, method, token string, tags map[string]string) (any, *acmError) {
	switch {
	case domain == "" || len(domain) > 253 || strings.ContainsAny(domain, " /:"):
		return nil, &acmError{400, "InvalidDomainValidationOptionsException", "The domain name " + domain + " is not valid."}
	case method != "DNS" && method != "EMAIL" && method != "HTTP":
		return nil, &acmError{400, "ValidationException", "ValidationMethod must be DNS, EMAIL or HTTP."}
	case token != "" && !tokenRE.MatchString(token):
		return nil, &acmError{400, "ValidationException", "IdempotencyToken must match \\w{1,32}."}
	}
	// ACM answers the same ARN to a repeated token (for an hour, as documented;
	// the fake keeps it for good, also past a deletion).
	key := token + "\x00" + domain
	if arn, ok := f.tokens[key]; ok && token != "" {
		return map[string]string{"CertificateArn": arn}, nil
	}
	c := &cert{arn: f.newARN("certificate/"), domain: domain, status: "PENDING_VALIDATION", token: token,
		tags: tags, hidden: f.hideRecords, created: time.Now().UTC()}
	f.certs[c.arn] = c
	if token != "" {
		f.tokens[key] = c.arn
	}
	return map[string]string{"CertificateArn": c.arn}, nil
}

func (f *Fake) describeCertificate(arn string) (any, *acmError) {
	c, e := f.cert(arn)
	if e != nil {
		return nil, e
	}
	validation := map[string]any{
		"DomainName":       c.domain,
		"ValidationDomain": strings.TrimPrefix(c.domain, "*."),
		"ValidationMethod": "DNS",
	}
	switch c.status {
	case "ISSUED":
		validation["ValidationStatus"] = "SUCCESS"
	case "PENDING_VALIDATION":
		validation["ValidationStatus"] = "PENDING_VALIDATION"
	default:
		validation["ValidationStatus"] = "FAILED"
	}
	if c.hidden > 0 {
		c.hidden--
	} else {
		validation["ResourceRecord"] = validationRecord(c.domain)
	}
	detail := map[string]any{
		"CertificateArn":          c.arn,
		"DomainName":              c.domain,
		"SubjectAlternativeNames": []string{c.domain},
		"DomainValidationOptions": []any{validation},
		"Status":                  c.status,
		"Type":                    "AMAZON_ISSUED",
		"KeyAlgorithm":            "RSA_2048",
		"InUseBy":                 append([]string{}, f.inUseBy(arn)...),
		"CreatedAt":               float64(c.created.Unix()),
	}
	if c.reason != "" {
		detail["FailureReason"] = c.reason
	}
	if !c.issued.IsZero() {
		detail["IssuedAt"] = float64(c.issued.Unix())
	}
	return map[string]any{"Certificate": detail}, nil
}

// validationRecord is the CNAME ACM asks for: derived from the domain, as
// ACM's is stable for a domain in an account.
func validationRecord(domain string) map[string]string {
	sum := sha256.Sum256([]byte(strings.TrimPrefix(domain, "*.")))
	h := hex.EncodeToString(sum[:])
	return map[string]string{
		"Name":  "_" + h[:32] + "." + strings.TrimPrefix(domain, "*.") + ".",
		"Type":  "CNAME",
		"Value": "_" + h[32:] + ".xlfgrmvvlj.acm-validations.aws.",
	}
}

func (f *Fake) deleteCertificate(arn string) *acmError {
	if _, e := f.cert(arn); e != nil {
		return e
	}
	if by := f.inUseBy(arn); len(by) > 0 {
		return &acmError{400, "ResourceInUseException", "Certificate " + arn + " is in use by " + strings.Join(by, ", ")}
	}
	delete(f.certs, arn)
	return nil
}

func (f *Fake) cert(arn string) (*cert, *acmError) {
	if !strings.HasPrefix(arn, "arn:aws:acm:") {
		return nil, &acmError{400, "InvalidArnException", "The ARN " + arn + " is not valid."}
	}
	c := f.certs[arn]
	if c == nil {
		return nil, &acmError{400, "ResourceNotFoundException", "Could not find certificate " + arn + "."}
	}
	return c, nil
}
