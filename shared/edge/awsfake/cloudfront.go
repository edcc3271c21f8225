package awsfake

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ns is CloudFront's XML namespace.
const ns = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

const prefix = "/2020-05-31/"

// ---- request shapes (member names as the SDK writes them; list items are
// read whatever their element name: the SDK writes <member>, the API
// reference shows <DomainItem>)

type tenantRequest struct {
	DistributionId    *string
	Name              *string
	ConnectionGroupId *string
	Enabled           *bool
	Domains           *struct {
		Items []domainItem `xml:",any"`
	}
	Customizations            *customizations
	ManagedCertificateRequest *managedCertificateRequest
	Parameters                *struct {
		Items []parameter `xml:",any"`
	}
	Tags *struct {
		Items *struct {
			Items []tag `xml:",any"`
		}
	}
}

type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type domainItem struct {
	Domain string `xml:"Domain"`
}

type customizations struct {
	Certificate *struct {
		Arn string `xml:"Arn"`
	} `xml:"Certificate"`
}

type managedCertificateRequest struct {
	ValidationTokenHost                      string
	PrimaryDomainName                        string
	CertificateTransparencyLoggingPreference string
}

type parameter struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type verifyRequest struct {
	Domain     string
	Identifier string
}

// ---- response shapes

type xmlTenant struct {
	XMLName           xml.Name          `xml:"DistributionTenant"`
	Xmlns             string            `xml:"xmlns,attr,omitempty"`
	Id                string            `xml:"Id"`
	DistributionId    string            `xml:"DistributionId"`
	Name              string            `xml:"Name"`
	Arn               string            `xml:"Arn"`
	Domains           []xmlDomainResult `xml:"Domains>member"`
	Parameters        []parameter       `xml:"Parameters>member,omitempty"`
	Customizations    *xmlCustom        `xml:"Customizations,omitempty"`
	ConnectionGroupId string            `xml:"ConnectionGroupId,omitempty"`
	CreatedTime       string            `xml:"CreatedTime"`
	LastModifiedTime  string            `xml:"LastModifiedTime"`
	Enabled           bool              `xml:"Enabled"`
	Status            string            `xml:"Status"`
}

type xmlDomainResult struct {
	Domain string `xml:"Domain"`
	Status string `xml:"Status"`
}

type xmlCustom struct {
	CertificateArn string `xml:"Certificate>Arn"`
}

type xmlManagedCertificate struct {
	XMLName                xml.Name       `xml:"ManagedCertificateDetails"`
	Xmlns                  string         `xml:"xmlns,attr"`
	CertificateArn         string         `xml:"CertificateArn"`
	CertificateStatus      string         `xml:"CertificateStatus"`
	ValidationTokenHost    string         `xml:"ValidationTokenHost"`
	ValidationTokenDetails []xmlTokenItem `xml:"ValidationTokenDetails>member"`
}

type xmlTokenItem struct {
	Domain       string `xml:"Domain"`
	RedirectTo   string `xml:"RedirectTo"`
	RedirectFrom string `xml:"RedirectFrom"`
}

type xmlVerifyResult struct {
	XMLName xml.Name       `xml:"VerifyDnsConfigurationResult"`
	Xmlns   string         `xml:"xmlns,attr"`
	List    []xmlDNSConfig `xml:"DnsConfigurationList>DnsConfiguration"`
}

type xmlDNSConfig struct {
	Domain string `xml:"Domain"`
	Status string `xml:"Status"`
	Reason string `xml:"Reason,omitempty"`
}

type xmlError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestId string   `xml:"RequestId"`
}

// cfError is a CloudFront error answer.
type cfError struct {
	status        int
	code, message string
}

func cfErr(status int, code, format string, args ...any) *cfError {
	return &cfError{status, code, fmt.Sprintf(format, args...)}
}

// ---- routing

func (f *Fake) serveCloudFront(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	op, ident := "", ""
	switch {
	case path == prefix+"distribution-tenant" && r.Method == http.MethodPost:
		op = "CreateDistributionTenant"
	case path == prefix+"distribution-tenant" && r.Method == http.MethodGet:
		op = "GetDistributionTenantByDomain"
	case strings.HasPrefix(path, prefix+"distribution-tenant/"):
		ident = strings.TrimPrefix(path, prefix+"distribution-tenant/")
		op = map[string]string{http.MethodGet: "GetDistributionTenant", http.MethodPut: "UpdateDistributionTenant",
			http.MethodDelete: "DeleteDistributionTenant"}[r.Method]
	case strings.HasPrefix(path, prefix+"managed-certificate/") && r.Method == http.MethodGet:
		ident = strings.TrimPrefix(path, prefix+"managed-certificate/")
		op = "GetManagedCertificateDetails"
	case path == prefix+"verify-dns-configuration" && r.Method == http.MethodPost:
		op = "VerifyDnsConfiguration"
	}
	if op == "" {
		writeCFError(w, cfErr(http.StatusNotFound, "InvalidAction", "no such operation: %s %s", r.Method, path))
		return
	}
	if id, err := url.PathUnescape(ident); err == nil {
		ident = id
	}
	switch throttled, down := f.admit(r, op); {
	case throttled:
		writeCFError(w, cfErr(http.StatusBadRequest, "Throttling", "Rate exceeded"))
		return
	case down:
		writeCFError(w, cfErr(http.StatusServiceUnavailable, "ServiceUnavailable", "CloudFront is unavailable"))
		return
	}

	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	defer f.mu.Unlock()
	var (
		status = http.StatusOK
		out    any
		t      *tenant
		e      *cfError
	)
	switch op {
	case "CreateDistributionTenant":
		t, e = f.createTenant(body)
		status = http.StatusCreated
		if t != nil {
			w.Header().Set("Location", "https://cloudfront.amazonaws.com"+prefix+"distribution-tenant/"+t.id)
		}
	case "GetDistributionTenantByDomain":
		domain := r.URL.Query().Get("domain")
		if t = f.byDomain(domain); t == nil {
			e = cfErr(http.StatusNotFound, "EntityNotFound", "no distribution tenant has the domain %s", domain)
		}
		f.read(t)
	case "GetDistributionTenant":
		if t = f.lookup(ident); t == nil {
			e = notFound(ident)
		}
		f.read(t)
	case "UpdateDistributionTenant":
		t, e = f.updateTenant(ident, r.Header.Get("If-Match"), body)
	case "DeleteDistributionTenant":
		e = f.deleteTenant(ident, r.Header.Get("If-Match"))
		status = http.StatusNoContent
	case "GetManagedCertificateDetails":
		out, e = f.managedCertificate(ident)
		if mt := f.lookup(ident); mt != nil && e == nil && f.certReadChanges {
			mt.touch()
		}
	case "VerifyDnsConfiguration":
		out, e = f.verifyDNS(body)
	}
	switch {
	case e != nil:
		writeCFError(w, e)
	case t != nil:
		w.Header().Set("ETag", t.etag())
		writeXML(w, status, f.tenantXML(t))
	case out != nil:
		writeXML(w, status, out)
	default:
		w.WriteHeader(status)
	}
}

// read deploys t if AutoDeploy is on.
func (f *Fake) read(t *tenant) {
	if t != nil && f.autoDeploy {
		t.status = "Deployed"
	}
}

func notFound(ident string) *cfError {
	return cfErr(http.StatusNotFound, "EntityNotFound", "The specified distribution tenant %s does not exist.", ident)
}

// ---- operations (f.mu held)

var tenantName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]{1,126}[a-zA-Z0-9]$`)

func (f *Fake) createTenant(body []byte) (*tenant, *cfError) {
	var in tenantRequest
	if err := decodeRoot(body, "CreateDistributionTenantRequest", &in); err != nil {
		return nil, err
	}
	switch {
	case in.DistributionId == nil || *in.DistributionId == "":
		return nil, cfErr(400, "InvalidArgument", "DistributionId is required.")
	case in.Name == nil || !tenantName.MatchString(*in.Name):
		return nil, cfErr(400, "InvalidArgument", "The name must match [a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9].")
	}
	for _, t := range f.tenants {
		if t.name == *in.Name {
			return nil, cfErr(409, "EntityAlreadyExists", "A distribution tenant named %s already exists.", *in.Name)
		}
	}
	domains, e := f.checkDomains(in, nil)
	if e != nil {
		return nil, e
	}
	tags, e := checkTags(in)
	if e != nil {
		return nil, e
	}
	group := ""
	if in.ConnectionGroupId != nil {
		group = *in.ConnectionGroupId
	}
	t := f.newTenant(*in.Name, *in.DistributionId, group, domains)
	if in.Enabled != nil {
		t.enabled = *in.Enabled
	}
	t.tags = tags
	f.apply(t, in)
	return t, nil
}

// ownershipMessage is CloudFront's refusal of a managed certificate it would
// validate for a domain whose DNS does not point at it, word for word.
const ownershipMessage = "The provided Domain Name is not valid. Could not verify Domain Name ownership. It may not be pointing to a valid CloudFront resource."

// checkTags validates a create's tags as CloudFront's Tag type documents them
// (key 1-128 characters of letters, digits, spaces and _.:/=+-@; value up to
// 256): https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_Tag.html
func checkTags(in tenantRequest) (map[string]string, *cfError) {
	if in.Tags == nil || in.Tags.Items == nil {
		return nil, nil
	}
	tags := map[string]string{}
	for _, tg := range in.Tags.Items.Items {
		if len(tg.Key) < 1 || len(tg.Key) > 128 || !tagChars.MatchString(tg.Key) || len(tg.Value) > 256 || !tagChars.MatchString(tg.Value) {
			return nil, cfErr(400, "InvalidTagging", "The tag %q=%q is not valid.", tg.Key, tg.Value)
		}
		tags[tg.Key] = tg.Value
	}
	return tags, nil
}

var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

func (f *Fake) updateTenant(ident, ifMatch string, body []byte) (*tenant, *cfError) {
	t := f.lookup(ident)
	if t == nil {
		return nil, notFound(ident)
	}
	if e := checkIfMatch(t, ifMatch); e != nil {
		return nil, e
	}
	var in tenantRequest
	if err := decodeRoot(body, "UpdateDistributionTenantRequest", &in); err != nil {
		return nil, err
	}
	if in.DistributionId != nil && *in.DistributionId != t.dist {
		return nil, cfErr(400, "InvalidArgument", "A distribution tenant cannot move to another distribution.")
	}
	domains, e := f.checkDomains(in, t)
	if e != nil {
		return nil, e
	}
	t.domains = domains
	t.group = "cg_default"
	if in.ConnectionGroupId != nil && *in.ConnectionGroupId != "" {
		t.group = *in.ConnectionGroupId
	}
	if in.Enabled != nil {
		t.enabled = *in.Enabled
	}
	t.certARN, t.params = "", nil
	f.apply(t, in)
	t.change()
	return t, nil
}

// checkDomains validates the request's domains and certificate against
// CloudFront's rules; self is the tenant being updated (nil on create).
func (f *Fake) checkDomains(in tenantRequest, self *tenant) ([]string, *cfError) {
	if in.Domains == nil || len(in.Domains.Items) == 0 {
		return nil, cfErr(400, "InvalidArgument", "You must specify at least one domain.")
	}
	var domains []string
	for _, d := range in.Domains.Items {
		if msg, ok := f.refused[d.Domain]; ok {
			return nil, cfErr(400, "InvalidArgument", "%s", msg)
		}
		if d.Domain == "" || strings.ContainsAny(d.Domain, " /:") {
			return nil, cfErr(400, "InvalidArgument", "The domain %q is not valid.", d.Domain)
		}
		if other := f.byDomain(d.Domain); f.elsewhere[d.Domain] || (other != nil && other != self) {
			return nil, cfErr(409, "CNAMEAlreadyExists",
				"One or more of the CNAMEs you provided are already associated with a different resource.")
		}
		domains = append(domains, d.Domain)
	}
	arn := ""
	if in.Customizations != nil && in.Customizations.Certificate != nil {
		arn = in.Customizations.Certificate.Arn
		c := f.certs[arn]
		switch {
		case c == nil:
			return nil, cfErr(400, "InvalidArgument", "The specified SSL certificate doesn't exist, isn't in us-east-1 region, isn't valid, or doesn't include a valid certificate chain.")
		case c.status != "ISSUED":
			return nil, cfErr(400, "InvalidArgument", "The certificate %s is not issued.", arn)
		}
		for _, d := range domains {
			if !covers(c.domain, d) {
				return nil, cfErr(400, "InvalidArgument", "The certificate that is attached does not cover the domain %s.", d)
			}
		}
	}
	if m := in.ManagedCertificateRequest; m != nil {
		if m.ValidationTokenHost != "cloudfront" && m.ValidationTokenHost != "self-hosted" {
			return nil, cfErr(400, "InvalidArgument", "ValidationTokenHost must be cloudfront or self-hosted.")
		}
		if arn != "" {
			return nil, cfErr(400, "InvalidArgument", "A tenant takes either a certificate or a managed certificate request, not both.")
		}
		for _, d := range domains {
			if strings.HasPrefix(d, "*.") {
				return nil, cfErr(400, "InvalidArgument", "CloudFront managed certificates do not support wildcard domains such as %s.", d)
			}
		}
		// With "cloudfront" CloudFront serves the HTTP validation token itself,
		// "if you can point the domain's DNS to CloudFront immediately"
		// (API_ManagedCertificateRequest); before the domain points there it
		// cannot verify ownership and refuses. A tenant with an issued
		// certificate of its own needs no such check: the certificate proves
		// control (CNAMEs.html, "covered by a valid TLS certificate").
		if m.ValidationTokenHost == "cloudfront" {
			for _, d := range domains {
				if !f.pointsAtCloudFront(d) {
					return nil, cfErr(400, "InvalidArgument", "%s", ownershipMessage)
				}
			}
		}
	} else if arn == "" && self == nil {
		for _, d := range domains {
			if strings.HasPrefix(d, "*.") {
				return nil, cfErr(400, "InvalidArgument", "The wildcard domain %s needs a certificate that covers it.", d)
			}
		}
	}
	return domains, nil
}

// apply sets what a create or update carries besides domains and state.
func (f *Fake) apply(t *tenant, in tenantRequest) {
	if in.Customizations != nil && in.Customizations.Certificate != nil {
		t.certARN = in.Customizations.Certificate.Arn
		t.managed, t.managedARN = "", ""
	}
	if in.ManagedCertificateRequest != nil {
		t.managed, t.managedARN = "pending-validation", f.newARN("certificate/managed-")
	}
	if in.Parameters != nil {
		for _, p := range in.Parameters.Items {
			t.params = append(t.params, [2]string{p.Name, p.Value})
		}
	}
}

func (f *Fake) deleteTenant(ident, ifMatch string) *cfError {
	t := f.lookup(ident)
	if t == nil {
		return notFound(ident)
	}
	if e := checkIfMatch(t, ifMatch); e != nil {
		return e
	}
	// "If you use this API operation to delete a distribution tenant that is
	// currently enabled, the request will fail" (409 ResourceNotDisabled):
	// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DeleteDistributionTenant.html
	if t.enabled || t.status != "Deployed" {
		return cfErr(409, "ResourceNotDisabled", "The specified CloudFront resource hasn't been disabled yet.")
	}
	delete(f.tenants, t.id)
	return nil
}

// checkIfMatch holds an update or delete to the tenant's latest ETag: 400
// InvalidIfMatchVersion without one, 412 PreconditionFailed for another.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistributionTenant.html
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DeleteDistributionTenant.html
func checkIfMatch(t *tenant, ifMatch string) *cfError {
	switch ifMatch {
	case "":
		return cfErr(400, "InvalidIfMatchVersion", "The If-Match version is missing or not valid.")
	case t.etag():
		return nil
	}
	return cfErr(412, "PreconditionFailed", "The precondition in one or more of the request fields evaluated to false.")
}

func (f *Fake) managedCertificate(ident string) (any, *cfError) {
	t := f.lookup(ident)
	if t == nil {
		return nil, notFound(ident)
	}
	if t.managed == "" {
		return nil, cfErr(404, "EntityNotFound", "The distribution tenant %s has no CloudFront managed certificate.", t.id)
	}
	out := xmlManagedCertificate{Xmlns: ns, CertificateArn: t.managedARN, CertificateStatus: t.managed, ValidationTokenHost: "cloudfront"}
	if t.managed == "pending-validation" {
		for _, d := range t.domains {
			out.ValidationTokenDetails = append(out.ValidationTokenDetails, xmlTokenItem{Domain: d,
				RedirectFrom: "http://" + d + "/.well-known/pki-validation/" + t.id + ".txt",
				RedirectTo:   "validation.us-east-1.acm-validations.aws/" + Account + "/.well-known/pki-validation/" + t.id + ".txt"})
		}
	}
	return out, nil
}

func (f *Fake) verifyDNS(body []byte) (any, *cfError) {
	var in verifyRequest
	if err := decodeRoot(body, "VerifyDnsConfigurationRequest", &in); err != nil {
		return nil, err
	}
	t := f.lookup(in.Identifier)
	if t == nil {
		return nil, notFound(in.Identifier)
	}
	domains := t.domains
	if in.Domain != "" {
		if !contains(t.domains, in.Domain) {
			return nil, cfErr(400, "InvalidArgument", "The domain %s is not associated with the distribution tenant %s.", in.Domain, t.id)
		}
		domains = []string{in.Domain}
	}
	out := xmlVerifyResult{Xmlns: ns}
	for _, d := range domains {
		a, ok := f.dns[d]
		if !ok {
			a = [2]string{"valid-configuration", ""}
		}
		out.List = append(out.List, xmlDNSConfig{Domain: d, Status: a[0], Reason: a[1]})
	}
	return out, nil
}

func (f *Fake) tenantXML(t *tenant) xmlTenant {
	x := xmlTenant{Xmlns: ns, Id: t.id, DistributionId: t.dist, Name: t.name, Arn: t.arn,
		ConnectionGroupId: t.group, Enabled: t.enabled, Status: t.status,
		CreatedTime: t.created.Format(time.RFC3339), LastModifiedTime: t.modified.Format(time.RFC3339)}
	state := "inactive"
	if t.enabled && f.certIssued(t) {
		state = "active"
	}
	for _, d := range t.domains {
		x.Domains = append(x.Domains, xmlDomainResult{Domain: d, Status: state})
	}
	for _, p := range t.params {
		x.Parameters = append(x.Parameters, parameter{Name: p[0], Value: p[1]})
	}
	if t.certARN != "" {
		x.Customizations = &xmlCustom{CertificateArn: t.certARN}
	}
	return x
}

// ---- encoding

func decodeRoot(body []byte, root string, v any) *cfError {
	d := xml.NewDecoder(strings.NewReader(string(body)))
	for {
		tok, err := d.Token()
		if err != nil {
			return cfErr(400, "MalformedInput", "the request body is not valid XML")
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != root || se.Name.Space != ns {
				return cfErr(400, "MalformedInput", "expected <%s xmlns=%q>, got <%s xmlns=%q>", root, ns, se.Name.Local, se.Name.Space)
			}
			if err := d.DecodeElement(v, &se); err != nil {
				return cfErr(400, "MalformedInput", "the request body is not valid: %v", err)
			}
			return nil
		}
	}
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amz-request-id", "fake-request")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(b)
}

func writeCFError(w http.ResponseWriter, e *cfError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.status, xmlError{Xmlns: ns, Type: typ, Code: e.code, Message: e.message, RequestId: "fake-request"})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// covers reports whether a certificate for name covers domain.
func covers(name, domain string) bool {
	if strings.EqualFold(name, domain) {
		return true
	}
	if base, ok := strings.CutPrefix(name, "*."); ok {
		label, rest, found := strings.Cut(domain, ".")
		return found && label != "" && strings.EqualFold(rest, base)
	}
	return false
}
