package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// The OpenAPI document (openapi.json) is checked three ways: its operations are
// exactly those routes.go serves, it is a well-formed OpenAPI 3.1 document whose
// schemas compile as JSON Schema 2020-12, and every answer a test gets through an
// openAPIChecker (or a checkingClient) is one the document describes.

const (
	openAPIDocURL    = "https://dnsreroute.test/v1/openapi.json"
	mediaJSON        = "application/json"
	mediaProblemJSON = "application/problem+json"
	mediaCSV         = "text/csv"
	mediaHTML        = "text/html" // the unsubscribe page only: a person's, not a program's
)

// isStringSchema reports whether a media type object's schema is a string.
func isStringSchema(media any) bool {
	m, _ := media.(map[string]any)
	s, _ := m["schema"].(map[string]any)
	return s["type"] == "string"
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// ---------------------------------------------------------------------------
// The document, loaded once: every response schema compiled ahead, so that
// checkers can be used from parallel tests.

type openAPISpec struct {
	doc     map[string]any
	ops     []*specOp
	problem *jsonschema.Schema
}

// specOp is one documented operation.
type specOp struct {
	method, path, id string
	segs             []string
	responses        map[int]*specResponse
}

// specResponse is one documented answer of an operation: its schema per media type
// (none for an answer without a body) and the headers it always carries.
type specResponse struct {
	content map[string]*jsonschema.Schema
	headers []string
}

func (o *specOp) String() string { return o.method + " " + o.path }

var loadOpenAPISpec = sync.OnceValues(func() (*openAPISpec, error) {
	doc, err := parseOpenAPIDocument(httpapi.OpenAPIDocument())
	if err != nil {
		return nil, err
	}
	c := newSchemaCompiler(doc)
	compile := func(ptr string) (*jsonschema.Schema, error) {
		s, err := c.Compile(openAPIDocURL + "#" + url.PathEscape(ptr))
		if err != nil {
			return nil, fmt.Errorf("schema at %s: %w", ptr, err)
		}
		return s, nil
	}
	spec := &openAPISpec{doc: doc}
	if spec.problem, err = compile("/components/schemas/Problem"); err != nil {
		return nil, err
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[path].(map[string]any)
		for _, m := range httpMethods {
			raw, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			op := &specOp{method: strings.ToUpper(m), path: path, segs: splitPath(path), responses: map[int]*specResponse{}}
			op.id, _ = raw["operationId"].(string)
			base := "/paths/" + pointerToken(path) + "/" + m + "/responses/"
			responses, _ := raw["responses"].(map[string]any)
			for code, r := range responses {
				status, err := strconv.Atoi(code)
				if err != nil {
					return nil, fmt.Errorf("%s: response %q is not a status", op, code)
				}
				resp, ptr, err := resolveRef(doc, r, base+pointerToken(code))
				if err != nil {
					return nil, fmt.Errorf("%s %d: %w", op, status, err)
				}
				sr := &specResponse{content: map[string]*jsonschema.Schema{}}
				content, _ := resp["content"].(map[string]any)
				for mt := range content {
					if sr.content[mt], err = compile(ptr + "/content/" + pointerToken(mt) + "/schema"); err != nil {
						return nil, fmt.Errorf("%s %d: %w", op, status, err)
					}
				}
				headers, _ := resp["headers"].(map[string]any)
				for name, h := range headers {
					hdr, _, err := resolveRef(doc, h, ptr+"/headers/"+pointerToken(name))
					if err != nil {
						return nil, fmt.Errorf("%s %d: header %s: %w", op, status, name, err)
					}
					if req, _ := hdr["required"].(bool); req {
						sr.headers = append(sr.headers, name)
					}
				}
				slices.Sort(sr.headers)
				op.responses[status] = sr
			}
			spec.ops = append(spec.ops, op)
		}
	}
	return spec, nil
})

// parseOpenAPIDocument decodes the document as JSON Schema values (numbers as
// json.Number), refusing a key written twice, which plain decoding would hide.
func parseOpenAPIDocument(raw []byte) (map[string]any, error) {
	if err := noDuplicateKeys(raw); err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("openapi.json is not JSON: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("openapi.json is not a JSON object")
	}
	return doc, nil
}

func noDuplicateKeys(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var walk func(at string) error
	walk = func(at string) error {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("openapi.json is not JSON (at %q): %w", at, err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return fmt.Errorf("openapi.json is not JSON (at %q): %w", at, err)
				}
				key, _ := kt.(string)
				if seen[key] {
					return fmt.Errorf("openapi.json: key %q appears twice in %q", key, at)
				}
				seen[key] = true
				if err := walk(at + "/" + pointerToken(key)); err != nil {
					return err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(at + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	if err := walk(""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("openapi.json: data after the document")
	}
	return nil
}

// newSchemaCompiler compiles schemas of doc as JSON Schema 2020-12 (the dialect of
// OpenAPI 3.1), asserting formats such as date-time, uri and email.
func newSchemaCompiler(doc map[string]any) *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(openAPIDocURL, doc); err != nil {
		panic(err) // only a bad URL fails here
	}
	return c
}

func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// lookupPointer finds the value at a JSON pointer (RFC 6901) in doc.
func lookupPointer(doc any, ptr string) (any, error) {
	if ptr == "" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("%q is not a JSON pointer", ptr)
	}
	v := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := v.(type) {
		case map[string]any:
			next, ok := n[tok]
			if !ok {
				return nil, fmt.Errorf("%s: no %q", ptr, tok)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, fmt.Errorf("%s: no item %q", ptr, tok)
			}
			v = n[i]
		default:
			return nil, fmt.Errorf("%s: %q is inside a scalar", ptr, tok)
		}
	}
	return v, nil
}

// resolveRef follows node's $ref (if any, and any further ones) within doc, and
// returns the object it names with that object's pointer.
func resolveRef(doc map[string]any, node any, ptr string) (map[string]any, string, error) {
	for range 10 {
		obj, ok := node.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("%s is not an object", ptr)
		}
		ref, ok := obj["$ref"].(string)
		if !ok {
			return obj, ptr, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, "", fmt.Errorf("%s: $ref %q is not within the document", ptr, ref)
		}
		var err error
		if ptr, err = url.PathUnescape(ref[1:]); err != nil {
			return nil, "", fmt.Errorf("%s: $ref %q: %w", ptr, ref, err)
		}
		if node, err = lookupPointer(doc, ptr); err != nil {
			return nil, "", fmt.Errorf("$ref %q does not resolve: %w", ref, err)
		}
	}
	return nil, "", fmt.Errorf("%s: $ref chain too long", ptr)
}

func splitPath(p string) []string { return strings.Split(strings.TrimPrefix(p, "/"), "/") }

// match finds the documented path template a concrete path belongs to (the one
// with the most literal segments), and the operation of method on it, if any.
func (s *openAPISpec) match(method, path string) (template string, op *specOp) {
	segs := splitPath(path)
	best := -1
	for _, o := range s.ops {
		if n := literalMatch(o.segs, segs); n > best {
			best, template = n, o.path
		}
	}
	if best < 0 {
		return "", nil
	}
	for _, o := range s.ops {
		if o.path == template && o.method == method {
			return template, o
		}
	}
	return template, nil
}

// literalMatch returns how many literal segments of a template match a path's, or
// -1 if the path is not one of the template's: a parameter matches any non-empty segment.
func literalMatch(template, segs []string) int {
	if len(template) != len(segs) {
		return -1
	}
	n := 0
	for i, ts := range template {
		switch {
		case strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}"):
			if segs[i] == "" {
				return -1
			}
		case ts == segs[i]:
			n++
		default:
			return -1
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// openAPIChecker: checks answers against the document and records which
// (operation, status) pairs the tests exercised.

type openAPIChecker struct {
	spec *openAPISpec
	mu   sync.Mutex
	seen map[string]bool
}

func newOpenAPIChecker(t testing.TB) *openAPIChecker {
	t.Helper()
	spec, err := loadOpenAPISpec()
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	return &openAPIChecker{spec: spec, seen: map[string]bool{}}
}

func coverageKey(op *specOp, status int) string { return op.String() + " " + strconv.Itoa(status) }

// covered returns the (operation, status) pairs checked so far, as
// "POST /v1/orgs/{orgId}/routes 201".
func (c *openAPIChecker) covered() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.seen)
}

// documented returns every (operation, status) pair of the document, keyed like covered.
func (c *openAPIChecker) documented() map[string]bool {
	out := map[string]bool{}
	for _, op := range c.spec.ops {
		for status := range op.responses {
			out[coverageKey(op, status)] = true
		}
	}
	return out
}

// check fails t (with Errorf, so a test goes on) unless an answer of status with
// contentType and body to method on path (a concrete path such as
// /v1/orgs/org_abc/routes/www.example.com; a query is ignored) is one the document
// describes: a documented status of the operation, the documented media type, no
// body where none is documented, and a body valid against the documented schema.
// An unknown path must answer a 404 problem, an unknown method a 405 problem.
func (c *openAPIChecker) check(t testing.TB, method, path string, status int, contentType string, body []byte) {
	t.Helper()
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	lookup := method
	if method == http.MethodHead {
		lookup = http.MethodGet // served by the GET handler
	}
	template, op := c.spec.match(lookup, path)
	if op == nil {
		what := fmt.Sprintf("%s %s", method, path)
		switch {
		case method == http.MethodOptions && status == http.StatusNoContent && len(body) == 0:
			return // a CORS preflight, answered by the middleware
		case method == http.MethodOptions && status == http.StatusForbidden:
			// a preflight from an origin that is not allowed
		case template == "" && status != http.StatusNotFound:
			t.Errorf("%s: no documented path matches, so the answer must be 404, got %d", what, status)
		case template != "" && status != http.StatusMethodNotAllowed:
			t.Errorf("%s: %s is not documented on %s, so the answer must be 405, got %d", what, method, template, status)
		}
		c.checkBody(t, what+" "+strconv.Itoa(status), mediaProblemJSON, c.spec.problem, status, contentType, body)
		return
	}
	what := fmt.Sprintf("%s %s (%s %s)", method, path, op.id, template)
	resp, ok := op.responses[status]
	if !ok {
		t.Errorf("%s: status %d is not documented (documented: %v); body: %s", what, status,
			slices.Sorted(maps.Keys(op.responses)), clip(body))
		return
	}
	c.mu.Lock()
	c.seen[coverageKey(op, status)] = true
	c.mu.Unlock()
	what += " " + strconv.Itoa(status)
	if len(resp.content) == 0 {
		if len(body) != 0 {
			t.Errorf("%s: documented without a body, got %q", what, clip(body))
		}
		return
	}
	if method == http.MethodHead && len(body) == 0 {
		return
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Errorf("%s: Content-Type %q: %v (documented: %v)", what, contentType, err, slices.Sorted(maps.Keys(resp.content)))
		return
	}
	schema, ok := resp.content[mt]
	if !ok {
		t.Errorf("%s: Content-Type %s is not documented (documented: %v); body: %s", what, mt,
			slices.Sorted(maps.Keys(resp.content)), clip(body))
		return
	}
	c.checkBody(t, what, mt, schema, status, contentType, body)
}

// checkBody checks a body of media type want against schema; a problem's own
// status must be the answer's.
func (c *openAPIChecker) checkBody(t testing.TB, what, want string, schema *jsonschema.Schema, status int, contentType string, body []byte) {
	t.Helper()
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != want {
		t.Errorf("%s: Content-Type %q, want %s; body: %s", what, contentType, want, clip(body))
		return
	}
	if !strings.HasSuffix(want, "json") {
		// Text (a CSV export): its schema is a string's.
		if err := schema.Validate(string(body)); err != nil {
			t.Errorf("%s: the body does not match the documented schema: %v", what, err)
		}
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s: the body is not JSON (%v): %s", what, err, clip(body))
		return
	}
	if err := schema.Validate(v); err != nil {
		t.Errorf("%s: the body does not match the documented schema: %v\nbody: %s", what, err, clip(body))
		return
	}
	if want == mediaProblemJSON {
		if obj, ok := v.(map[string]any); ok && fmt.Sprint(obj["status"]) != strconv.Itoa(status) {
			t.Errorf("%s: the problem's status is %v, not the answer's", what, obj["status"])
		}
	}
}

// checkHeaders fails t unless the answer carries the headers the document says it
// always does (X-Request-Id, Location of a creation, WWW-Authenticate of a 401,
// Retry-After of a 503), and a 405 its Allow.
func (c *openAPIChecker) checkHeaders(t testing.TB, method, path string, status int, h http.Header) {
	t.Helper()
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if method == http.MethodHead {
		method = http.MethodGet
	}
	template, op := c.spec.match(method, path)
	if op == nil {
		if template != "" && status == http.StatusMethodNotAllowed && h.Get("Allow") == "" {
			t.Errorf("%s %s 405: no Allow header", method, path)
		}
		return
	}
	resp, ok := op.responses[status]
	if !ok {
		return // check reports it
	}
	for _, name := range resp.headers {
		if h.Get(name) == "" {
			t.Errorf("%s %s (%s) %d: no %s header, which the document promises", method, path, op.id, status, name)
		}
	}
}

// do serves req with h and checks the answer, body and headers.
func (c *openAPIChecker) do(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	c.check(t, req.Method, req.URL.Path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
	c.checkHeaders(t, req.Method, req.URL.Path, rec.Code, rec.Header())
	return rec
}

// client returns an http.Client whose requests (to any host, say http://api.test)
// are served in process by h and checked.
func (c *openAPIChecker) client(t testing.TB, h http.Handler) *http.Client {
	return &http.Client{Transport: checkingClient{T: t, Checker: c, Handler: h}}
}

// checkingClient is an http.RoundTripper that serves each request with Handler,
// or, if Handler is nil, sends it on with Next (http.DefaultTransport if nil), and
// checks every answer against the document before returning it.
type checkingClient struct {
	T       testing.TB
	Checker *openAPIChecker
	Handler http.Handler
	Next    http.RoundTripper
}

func (cc checkingClient) RoundTrip(req *http.Request) (*http.Response, error) {
	cc.T.Helper()
	var resp *http.Response
	if cc.Handler != nil {
		in := req.Clone(req.Context())
		if in.Body == nil {
			in.Body = http.NoBody // as a server request always has one
		}
		in.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		cc.Handler.ServeHTTP(rec, in)
		resp = rec.Result()
		resp.Request = req
	} else {
		next := cc.Next
		if next == nil {
			next = http.DefaultTransport
		}
		var err error
		if resp, err = next.RoundTrip(req); err != nil {
			return nil, err
		}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	cc.Checker.check(cc.T, req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	cc.Checker.checkHeaders(cc.T, req.Method, req.URL.Path, resp.StatusCode, resp.Header)
	return resp, nil
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// The document against the server's operations.

func TestOpenAPIMatchesServedOperations(t *testing.T) {
	doc, err := parseOpenAPIDocument(httpapi.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if _, ok := item[m]; ok {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	for _, op := range httpapi.Operations() {
		if served[op.String()] {
			t.Errorf("served twice: %s", op)
		}
		served[op.String()] = true
	}
	for _, op := range slices.Sorted(maps.Keys(served)) {
		if !documented[op] {
			t.Errorf("served but not documented: %s", op)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(documented)) {
		if !served[op] {
			t.Errorf("documented but not served: %s", op)
		}
	}
	t.Logf("%d operations served, %d documented", len(served), len(documented))
}

// ---------------------------------------------------------------------------
// The document on its own.

// openAPIShape is the part of the OpenAPI 3.1 structure this document uses, as
// JSON Schema, stricter than the specification where this API has a rule: every
// operation has an operationId, a summary and tags; statuses are explicit codes;
// path parameters are required.
const openAPIShape = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["openapi", "info", "servers", "security", "tags", "paths", "components"],
  "additionalProperties": false,
  "properties": {
    "openapi": {"type": "string", "pattern": "^3\\.1\\.[0-9]+$"},
    "info": {"type": "object", "required": ["title", "version"], "additionalProperties": false,
      "properties": {"title": {"type": "string", "minLength": 1}, "version": {"type": "string", "minLength": 1},
        "description": {"type": "string"}, "summary": {"type": "string"}}},
    "jsonSchemaDialect": {"type": "string"},
    "servers": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["url"],
      "properties": {"url": {"type": "string"}, "description": {"type": "string"}}}},
    "security": {"$ref": "#/$defs/security"},
    "tags": {"type": "array", "items": {"type": "object", "required": ["name"], "additionalProperties": false,
      "properties": {"name": {"type": "string"}, "description": {"type": "string"}}}},
    "paths": {"type": "object", "propertyNames": {"pattern": "^/"}, "additionalProperties": {"$ref": "#/$defs/pathItem"}},
    "components": {"type": "object", "additionalProperties": false, "properties": {
      "schemas": {"type": "object", "additionalProperties": {"type": ["object", "boolean"]}},
      "responses": {"type": "object", "additionalProperties": {"$ref": "#/$defs/response"}},
      "parameters": {"type": "object", "additionalProperties": {"$ref": "#/$defs/parameter"}},
      "headers": {"type": "object", "additionalProperties": {"$ref": "#/$defs/header"}},
      "requestBodies": {"type": "object", "additionalProperties": {"$ref": "#/$defs/requestBody"}},
      "securitySchemes": {"type": "object", "additionalProperties": {"type": "object", "required": ["type"]}}}}
  },
  "$defs": {
    "ref": {"type": "object", "required": ["$ref"], "additionalProperties": false,
      "properties": {"$ref": {"type": "string"}, "summary": {"type": "string"}, "description": {"type": "string"}}},
    "security": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
    "pathItem": {"type": "object", "additionalProperties": false, "properties": {
      "summary": {"type": "string"}, "description": {"type": "string"}, "parameters": {"$ref": "#/$defs/parameters"},
      "get": {"$ref": "#/$defs/operation"}, "put": {"$ref": "#/$defs/operation"}, "post": {"$ref": "#/$defs/operation"},
      "delete": {"$ref": "#/$defs/operation"}, "options": {"$ref": "#/$defs/operation"}, "head": {"$ref": "#/$defs/operation"},
      "patch": {"$ref": "#/$defs/operation"}, "trace": {"$ref": "#/$defs/operation"}}},
    "parameters": {"type": "array", "items": {"oneOf": [{"$ref": "#/$defs/ref"}, {"$ref": "#/$defs/parameter"}]}},
    "parameter": {"type": "object", "required": ["name", "in", "schema"], "additionalProperties": false,
      "properties": {"name": {"type": "string", "minLength": 1}, "in": {"enum": ["path", "query", "header", "cookie"]},
        "required": {"type": "boolean"}, "description": {"type": "string"}, "deprecated": {"type": "boolean"}, "schema": true},
      "if": {"properties": {"in": {"const": "path"}}},
      "then": {"required": ["required"], "properties": {"required": {"const": true}}}},
    "operation": {"type": "object", "required": ["operationId", "summary", "tags", "responses"], "additionalProperties": false,
      "properties": {
        "operationId": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*$"},
        "summary": {"type": "string", "minLength": 1}, "description": {"type": "string"},
        "tags": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "parameters": {"$ref": "#/$defs/parameters"},
        "requestBody": {"oneOf": [{"$ref": "#/$defs/ref"}, {"$ref": "#/$defs/requestBody"}]},
        "responses": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": "^[1-5][0-9][0-9]$"},
          "additionalProperties": {"oneOf": [{"$ref": "#/$defs/ref"}, {"$ref": "#/$defs/response"}]}},
        "security": {"$ref": "#/$defs/security"}, "deprecated": {"type": "boolean"}}},
    "requestBody": {"type": "object", "required": ["content"], "additionalProperties": false,
      "properties": {"description": {"type": "string"}, "required": {"type": "boolean"}, "content": {"$ref": "#/$defs/content"}}},
    "content": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "object", "required": ["schema"],
      "additionalProperties": false, "properties": {"schema": true, "example": true, "examples": {"type": "object"}}}},
    "response": {"type": "object", "required": ["description"], "additionalProperties": false,
      "properties": {"description": {"type": "string", "minLength": 1}, "content": {"$ref": "#/$defs/content"},
        "headers": {"type": "object", "additionalProperties": {"oneOf": [{"$ref": "#/$defs/ref"}, {"$ref": "#/$defs/header"}]}}}},
    "header": {"type": "object", "required": ["schema"], "additionalProperties": false,
      "properties": {"description": {"type": "string"}, "required": {"type": "boolean"}, "deprecated": {"type": "boolean"}, "schema": true}}
  }
}`

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := parseOpenAPIDocument(httpapi.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.[0-9]+$`).MatchString(v) {
		t.Fatalf("openapi is %q, want 3.1.x", v)
	}

	t.Run("shape", func(t *testing.T) {
		shape, err := jsonschema.UnmarshalJSON(strings.NewReader(openAPIShape))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("https://dnsreroute.test/openapi-shape.json", shape); err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile("https://dnsreroute.test/openapi-shape.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(any(doc)); err != nil {
			t.Errorf("the document's structure: %v", err)
		}
	})

	t.Run("refs resolve", func(t *testing.T) {
		n := 0
		walkJSON(doc, "", func(ptr string, v any) {
			obj, ok := v.(map[string]any)
			if !ok {
				return
			}
			if _, ok := obj["$ref"].(string); !ok {
				return
			}
			n++
			if _, _, err := resolveRef(doc, obj, ptr); err != nil {
				t.Errorf("%s: %v", ptr, err)
			}
		})
		if n == 0 {
			t.Error("no $ref at all: schemas are meant to be shared through components")
		}
	})

	t.Run("schemas compile", func(t *testing.T) {
		c := newSchemaCompiler(doc)
		ptrs := schemaPointers(doc)
		if len(ptrs) < 10 {
			t.Fatalf("only %d schemas found", len(ptrs))
		}
		for _, ptr := range ptrs {
			if _, err := c.Compile(openAPIDocURL + "#" + url.PathEscape(ptr)); err != nil {
				t.Errorf("%s: %v", ptr, err)
			}
		}
		// Examples and defaults are values of their schema.
		for _, ptr := range ptrs {
			v, _ := lookupPointer(doc, ptr)
			walkJSON(v, ptr, func(p string, n any) {
				obj, ok := n.(map[string]any)
				if !ok {
					return
				}
				examples, hasExamples := obj["examples"].([]any)
				def, hasDefault := obj["default"]
				if !hasExamples && !hasDefault {
					return
				}
				s, err := c.Compile(openAPIDocURL + "#" + url.PathEscape(p))
				if err != nil {
					t.Errorf("%s: %v", p, err)
					return
				}
				for i, ex := range examples {
					if err := s.Validate(ex); err != nil {
						t.Errorf("%s: example %d is not valid: %v", p, i, err)
					}
				}
				if hasDefault {
					if err := s.Validate(def); err != nil {
						t.Errorf("%s: the default is not valid: %v", p, err)
					}
				}
			})
		}
	})

	tags := map[string]bool{}
	for _, tg := range doc["tags"].([]any) {
		tags[tg.(map[string]any)["name"].(string)] = false
	}
	if want := []string{"analytics", "api-keys", "billing", "me", "members", "notifications", "oauth", "oauth-apps", "orgs", "plans", "routes", "webhooks"}; !slices.Equal(slices.Sorted(maps.Keys(tags)), want) {
		t.Errorf("tags %v, want %v", slices.Sorted(maps.Keys(tags)), want)
	}
	schemes, _ := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if b, _ := schemes["bearerAuth"].(map[string]any); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("securitySchemes.bearerAuth is %v, want an HTTP bearer scheme", b)
	}
	if sec, _ := json.Marshal(doc["security"]); string(sec) != `[{"bearerAuth":[]}]` {
		t.Errorf("global security is %s, want bearerAuth", sec)
	}

	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^{}]+)\}`)
	paths, _ := doc["paths"].(map[string]any)
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[path].(map[string]any)
		inTemplate := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			if inTemplate[m[1]] {
				t.Errorf("%s: {%s} twice", path, m[1])
			}
			inTemplate[m[1]] = true
		}
		itemParams := params(t, doc, item["parameters"], "/paths/"+pointerToken(path)+"/parameters")
		for _, m := range httpMethods {
			raw, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			name := strings.ToUpper(m) + " " + path
			base := "/paths/" + pointerToken(path) + "/" + m
			id, _ := raw["operationId"].(string)
			if other, dup := ids[id]; dup {
				t.Errorf("%s: operationId %q is also %s's", name, id, other)
			}
			ids[id] = name
			for _, tg := range raw["tags"].([]any) {
				if _, ok := tags[tg.(string)]; !ok {
					t.Errorf("%s: tag %q is not declared", name, tg)
				}
				tags[tg.(string)] = true
			}

			// Path parameters: each of the template declared, and only those.
			all := maps.Clone(itemParams)
			maps.Copy(all, params(t, doc, raw["parameters"], base+"/parameters"))
			declared := map[string]bool{}
			for key := range all {
				if in, pname, _ := strings.Cut(key, " "); in == "path" {
					declared[pname] = true
					if !inTemplate[pname] {
						t.Errorf("%s: path parameter %q is not in the template", name, pname)
					}
				}
			}
			for pname := range inTemplate {
				if !declared[pname] {
					t.Errorf("%s: path parameter {%s} is not declared", name, pname)
				}
			}

			responses, _ := raw["responses"].(map[string]any)
			// Public operations, and only they, are served without credentials.
			sec, hasSec := raw["security"].([]any)
			public := hasSec && len(sec) == 0
			// (the authorization server's endpoints are public, and answer 401 for a failed client authentication)
			if _, has401 := responses["401"]; public == has401 && !oauthProtocol(path) {
				t.Errorf("%s: public=%v (security: []) but 401 documented=%v", name, public, has401)
			}
			// The authorization server's own endpoints speak OAuth: form-encoded
			// requests, RFC 6749 section 5.2 errors in JSON.
			if oauthProtocol(path) {
				for status, r := range responses {
					resp, _, _ := resolveRef(doc, r, base+"/responses/"+status)
					content, _ := resp["content"].(map[string]any)
					if media := slices.Sorted(maps.Keys(content)); len(media) > 0 && !slices.Equal(media, []string{mediaJSON}) {
						t.Errorf("%s %s: media types %v, want [%s]", name, status, media, mediaJSON)
					}
				}
				if rb, ok := raw["requestBody"].(map[string]any); ok {
					if content, _ := rb["content"].(map[string]any); content["application/x-www-form-urlencoded"] == nil || len(content) != 1 {
						t.Errorf("%s: the request body must be form-encoded", name)
					}
				}
				continue
			}
			// Request bodies: JSON objects refusing unknown fields; their failures documented.
			if rb, ok := raw["requestBody"]; ok {
				body, ptr, err := resolveRef(doc, rb, base+"/requestBody")
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				content, _ := body["content"].(map[string]any)
				// A file (an import) may come as CSV too, as a string.
				csvOK := content[mediaCSV] == nil || len(content) == 2 && isStringSchema(content[mediaCSV])
				if content[mediaJSON] == nil || !csvOK || len(content) > 2 || len(content) == 2 && content[mediaCSV] == nil {
					t.Errorf("%s: the request body must be %s (or it and a %s string), is %v", name, mediaJSON, mediaCSV, slices.Sorted(maps.Keys(content)))
				} else if s, _, err := resolveRef(doc, content[mediaJSON].(map[string]any)["schema"], ptr+"/content/application~1json/schema"); err != nil {
					t.Errorf("%s: %v", name, err)
				} else if s["type"] != "object" || s["additionalProperties"] != false {
					t.Errorf("%s: the request schema must be an object with additionalProperties: false", name)
				}
				for _, status := range []string{"400", "413", "415"} {
					if _, ok := responses[status]; !ok {
						t.Errorf("%s: takes a body but does not document %s", name, status)
					}
				}
			}
			// Answers: JSON for successes, problems for errors, no body for 204.
			isList := false
			for status, r := range responses {
				resp, ptr, err := resolveRef(doc, r, base+"/responses/"+status)
				if err != nil {
					t.Errorf("%s %s: %v", name, status, err)
					continue
				}
				content, _ := resp["content"].(map[string]any)
				media := slices.Sorted(maps.Keys(content))
				switch {
				case status == "204":
					if len(media) != 0 {
						t.Errorf("%s 204: documented with a body %v", name, media)
					}
				case slices.Equal(media, []string{mediaHTML}) && isStringSchema(content[mediaHTML]):
					// A page for people (the unsubscribe link), answered in HTML, errors too.
				case status < "300":
					if slices.Equal(media, []string{mediaJSON, mediaCSV}) && isStringSchema(content[mediaCSV]) {
						media = media[:1] // an export: JSON, or CSV text
					}
					if !slices.Equal(media, []string{mediaJSON}) {
						t.Errorf("%s %s: media types %v, want [%s]", name, status, media, mediaJSON)
						continue
					}
					s, _, err := resolveRef(doc, content[mediaJSON].(map[string]any)["schema"], ptr+"/content/application~1json/schema")
					if err != nil {
						t.Errorf("%s %s: %v", name, status, err)
						continue
					}
					props, _ := s["properties"].(map[string]any)
					isList = isList || props["items"] != nil && props["nextCursor"] != nil
				default:
					if !slices.Equal(media, []string{mediaProblemJSON}) {
						t.Errorf("%s %s: media types %v, want [%s]", name, status, media, mediaProblemJSON)
						continue
					}
					if _, sp, err := resolveRef(doc, content[mediaProblemJSON].(map[string]any)["schema"], ""); err != nil || sp != "/components/schemas/Problem" {
						t.Errorf("%s %s: the problem schema must be #/components/schemas/Problem (%v)", name, status, err)
					}
				}
			}
			// Lists take limit and cursor; nothing else does.
			_, hasLimit := all["query limit"]
			_, hasCursor := all["query cursor"]
			if isList != hasLimit || isList != hasCursor {
				t.Errorf("%s: a list=%v, but limit=%v and cursor=%v", name, isList, hasLimit, hasCursor)
			}
			if isList {
				if _, ok := responses["400"]; !ok {
					t.Errorf("%s: a list must document 400 for a bad limit or cursor", name)
				}
			}
		}
	}
	for tg, used := range tags {
		if !used {
			t.Errorf("tag %q is declared but no operation uses it", tg)
		}
	}
}

// oauthProtocol reports whether path is one of the authorization server's own
// endpoints (RFC 6749, 7009, 7662, 8414), which answer OAuth errors, not problems.
func oauthProtocol(path string) bool {
	return strings.HasPrefix(path, "/oauth/") || strings.HasPrefix(path, "/.well-known/")
}

// params returns the parameters of a list, keyed "in name", each resolved.
func params(t *testing.T, doc map[string]any, list any, ptr string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	items, _ := list.([]any)
	for i, p := range items {
		obj, _, err := resolveRef(doc, p, ptr+"/"+strconv.Itoa(i))
		if err != nil {
			t.Errorf("%s/%d: %v", ptr, i, err)
			continue
		}
		key := fmt.Sprint(obj["in"], " ", obj["name"])
		if _, dup := out[key]; dup {
			t.Errorf("%s: parameter %s twice", ptr, key)
		}
		out[key] = obj
	}
	return out
}

// walkJSON calls f on v and everything inside it, with its pointer.
func walkJSON(v any, ptr string, f func(ptr string, v any)) {
	f(ptr, v)
	switch n := v.(type) {
	case map[string]any:
		for k, c := range n {
			walkJSON(c, ptr+"/"+pointerToken(k), f)
		}
	case []any:
		for i, c := range n {
			walkJSON(c, ptr+"/"+strconv.Itoa(i), f)
		}
	}
}

// schemaPointers lists every schema of the document: the components' and each
// "schema" of a parameter, header or media type (not the schemas inside those).
func schemaPointers(doc map[string]any) []string {
	var out []string
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch n := v.(type) {
		case map[string]any:
			for k, c := range n {
				p := ptr + "/" + pointerToken(k)
				if k == "schema" || ptr == "/components/schemas" {
					out = append(out, p)
					continue
				}
				walk(c, p)
			}
		case []any:
			for i, c := range n {
				walk(c, ptr+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "")
	slices.Sort(out)
	return out
}

// ---------------------------------------------------------------------------
// The checker itself.

// refusingAuth refuses every caller, as with no Authorization header.
type refusingAuth struct{}

func (refusingAuth) Authenticate(context.Context, string) (reroute.Caller, error) {
	return reroute.Caller{}, &reroute.Error{Code: reroute.CodeUnauthenticated, Reason: "missing_token",
		Message: `an "Authorization: Bearer <token>" header is required`}
}

func TestOpenAPIChecker(t *testing.T) {
	h := httpapi.NewServer(httpapi.Deps{
		Auth:  refusingAuth{},
		Plans: reroute.DefaultCatalog(),
		Log:   slog.New(slog.DiscardHandler),
		Now:   time.Now,
		Rand:  rand.Reader,
	})
	c := newOpenAPIChecker(t)
	for _, tc := range []struct {
		method, path string
		status       int
		header       string // a header the answer must carry
	}{
		{"GET", "/v1/plans", 200, "Cache-Control"},
		{"HEAD", "/v1/plans", 200, ""},
		{"GET", "/v1/openapi.json", 200, ""},
		{"GET", "/v1/me", 401, "WWW-Authenticate"},
		{"GET", "/v1/orgs/org_abc/routes/www.example.com?x=1", 401, "WWW-Authenticate"},
		{"GET", "/v1/nope", 404, ""},
		{"GET", "/v1/orgs/", 404, ""},
		{"DELETE", "/v1/plans", 405, "Allow"},
		{"PUT", "/v1/orgs/org_abc/routes/www.example.com", 405, "Allow"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := c.do(t, h, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.header != "" && rec.Header().Get(tc.header) == "" {
				t.Errorf("no %s header", tc.header)
			}
		})
	}
	rec := c.do(t, h, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if !bytes.Equal(rec.Body.Bytes(), httpapi.OpenAPIDocument()) {
		t.Error("GET /v1/openapi.json does not serve the embedded document")
	}

	// The same through an http.Client.
	client := c.client(t, h)
	resp, err := client.Post("http://api.test/v1/orgs", mediaJSON, strings.NewReader(`{"name":"Acme"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 401 {
		t.Errorf("POST /v1/orgs without a token: %d", resp.StatusCode)
	}
	resp, err = client.Get("http://api.test/v1/plans")
	if err != nil {
		t.Fatal(err)
	}
	var plans struct{ Plans []reroute.Plan }
	if err := json.NewDecoder(resp.Body).Decode(&plans); err != nil || len(plans.Plans) != len(reroute.DefaultCatalog()) {
		t.Errorf("GET /v1/plans through the client: %v %+v", err, plans)
	}

	covered := c.covered()
	for _, want := range []string{"GET /v1/plans 200", "GET /v1/openapi.json 200", "GET /v1/me 401",
		"GET /v1/orgs/{orgId}/routes/{host} 401", "POST /v1/orgs 401"} {
		if !covered[want] {
			t.Errorf("covered() lacks %q: %v", want, slices.Sorted(maps.Keys(covered)))
		}
	}
	documented := c.documented()
	for k := range covered {
		if !documented[k] {
			t.Errorf("covered %q is not documented", k)
		}
	}
	t.Logf("%d of %d documented (operation, status) pairs exercised", len(covered), len(documented))
}

// recordingTB records the failures a check reports instead of failing the test.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func TestOpenAPICheckerRejects(t *testing.T) {
	c := newOpenAPIChecker(t)
	const (
		route    = `{"host":"www.example.com","target":"https://example.com/","status":301,"keepPath":false,"keepQuery":false,"enabled":true,"paused":false,"state":"pending_dns","httpsRedirect":true,"hsts":false,"ruleCount":0,"pathOptions":{"ignoreCase":false,"ignoreTrailingSlash":false},"fallback":{"kind":"not_configured"},"domain":{"state":"pending_dns","reason":"Create a CNAME record.","verified":false,"releaseAt":"2025-01-09T03:04:05Z"},"edge":{"servedFrom":"edge","records":1,"bytes":64,"syncedAt":"2025-01-02T03:04:06Z"},"cnameTarget":"r.example.net","dnsRecords":[{"type":"CNAME","name":"www.example.com","value":"r.example.net","purpose":"routing"}],"ownershipRecord":{"type":"TXT","name":"_dnsreroute.www.example.com","value":"dnsreroute-verification=abc","purpose":"ownership"},"createdAt":"2025-01-02T03:04:05Z","updatedAt":"2025-01-02T03:04:05.123456789Z"}`
		notFound = `{"type":"https://dnsreroute.dev/problems/not_found","title":"Not Found","status":404,"detail":"no such endpoint","code":"not_found","requestId":"abc"}`
	)
	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		contentType  string
		body         string
		want         string // in the failure; "" for none
	}{
		{"a valid route", "GET", "/v1/orgs/org_abc/routes/www.example.com", 200, mediaJSON, route, ""},
		{"a valid wildcard route path", "GET", "/v1/orgs/org_abc/routes/*.example.com", 200, "application/json; charset=utf-8", route, ""},
		{"a valid problem", "GET", "/v1/nope", 404, mediaProblemJSON, notFound, ""},
		{"a valid 204", "DELETE", "/v1/orgs/org_abc/routes/www.example.com", 204, "", "", ""},
		{"a CORS preflight", "OPTIONS", "/v1/me", 204, "", "", ""},
		{"a wrong type", "GET", "/v1/plans", 200, mediaJSON, `{"plans":1}`, "does not match"},
		{"an undocumented field", "GET", "/v1/plans", 200, mediaJSON, `{"plans":[],"extra":1}`, "does not match"},
		{"a missing field", "GET", "/v1/orgs/org_abc/routes/www.example.com", 200, mediaJSON, strings.Replace(route, `"enabled":true,`, "", 1), "does not match"},
		{"an unknown domain state", "GET", "/v1/orgs/org_abc/routes/www.example.com", 200, mediaJSON, strings.Replace(route, `"pending_dns"`, `"pending"`, 1), "does not match"},
		{"an unknown edge", "GET", "/v1/orgs/org_abc/routes/www.example.com", 200, mediaJSON, strings.Replace(route, `"servedFrom":"edge"`, `"servedFrom":"cdn"`, 1), "does not match"},
		{"an unknown edge reason", "GET", "/v1/orgs/org_abc/routes/www.example.com", 200, mediaJSON, strings.Replace(route, `"servedFrom":"edge"`, `"servedFrom":"origin","reason":"slow"`, 1), "does not match"},
		{"a DNS record without its purpose", "GET", "/v1/orgs/org_abc/routes/www.example.com", 200, mediaJSON, strings.Replace(route, `,"purpose":"routing"`, "", 1), "does not match"},
		{"a bad date-time", "GET", "/v1/orgs/org_abc/routes/www.example.com", 200, mediaJSON, strings.Replace(route, "2025-01-02T03:04:05Z", "yesterday", 1), "does not match"},
		{"an undocumented status", "GET", "/v1/plans", 418, mediaProblemJSON, notFound, "not documented"},
		{"the wrong media type", "GET", "/v1/plans", 200, mediaProblemJSON, `{"plans":[]}`, "not documented"},
		{"a problem as JSON", "GET", "/v1/me", 401, mediaJSON, notFound, "not documented"},
		{"a body on a 204", "DELETE", "/v1/orgs/org_abc/routes/www.example.com", 204, mediaJSON, `{}`, "without a body"},
		{"not JSON", "GET", "/v1/plans", 200, mediaJSON, `plans`, "not JSON"},
		{"a problem's status unlike the answer's", "GET", "/v1/me", 401, mediaProblemJSON, notFound, "status is 404"},
		{"an unknown path answering 200", "GET", "/v1/nope", 200, mediaJSON, `{}`, "must be 404"},
		{"an unknown method answering 404", "PUT", "/v1/plans", 404, mediaProblemJSON, notFound, "must be 405"},
		{"an unknown path answering plain text", "GET", "/v1/nope", 404, "text/plain", "404 page not found", "want application/problem+json"},
		{"an empty path segment", "GET", "/v1/orgs//routes", 200, mediaJSON, `{"items":[]}`, "must be 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			c.check(rec, tc.method, tc.path, tc.status, tc.contentType, []byte(tc.body))
			got := strings.Join(rec.errors, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("a valid answer was refused: %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("want a failure containing %q, got %q", tc.want, got)
			}
		})
	}

	t.Run("headers", func(t *testing.T) {
		rec := &recordingTB{TB: t}
		c.checkHeaders(rec, "POST", "/v1/orgs", 201, http.Header{"X-Request-Id": {"abc"}})
		c.checkHeaders(rec, "DELETE", "/v1/plans", 405, http.Header{})
		c.checkHeaders(rec, "GET", "/v1/plans", 200, http.Header{})
		got := strings.Join(rec.errors, "\n")
		for _, want := range []string{"no Location", "no Allow", "no X-Request-Id"} {
			if !strings.Contains(got, want) {
				t.Errorf("want a failure containing %q, got %q", want, got)
			}
		}
	})
}
