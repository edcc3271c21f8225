package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 64 << 10

// encodeJSON writes v as the JSON body of a response with status.
func encodeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a JSON request body into a T: the body must be JSON, at most 64 KiB,
// exactly one object, and what the OpenAPI document accepts: member names match
// exactly (case included) and at most once, unknown members and null (no request
// schema is nullable) are refused, and so is invalid UTF-8, which a lenient decoder
// would quietly replace. Every failure is a problem naming the member at fault.
func decode[T any](r *http.Request) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return v, &httpError{status: http.StatusUnsupportedMediaType, reason: "unsupported_media_type", msg: "send the body as application/json"}
		}
	} else if r.ContentLength != 0 {
		return v, &httpError{status: http.StatusUnsupportedMediaType, reason: "unsupported_media_type", msg: "send the body as application/json (Content-Type is missing)"}
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return v, &httpError{status: http.StatusRequestEntityTooLarge, reason: "body_too_large", msg: fmt.Sprintf("the body is larger than %d KiB", maxBodyBytes>>10)}
	case err != nil:
		return v, errorf(reroute.CodeInvalid, "malformed_json", "the body could not be read in full")
	}
	if err := checkBody(data); err != nil {
		return v, err
	}
	if err := jsonv2.Unmarshal(data, &v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return v, unmarshalProblem(err, reflect.TypeFor[T]())
	}
	return v, nil
}

// checkBody reads data as one JSON object, token by token: jsontext refuses
// duplicate names and invalid UTF-8 by default, and this walk refuses null
// anywhere and anything after the object.
func checkBody(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errorf(reroute.CodeInvalid, "malformed_json", "the body is empty: send a JSON object")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for first := true; first || dec.StackDepth() > 0; first = false {
		tok, err := dec.ReadToken()
		if err != nil {
			return syntaxProblem(err)
		}
		switch {
		case first && tok.Kind() != '{':
			return errorf(reroute.CodeInvalid, "malformed_json", "the body must be a JSON object")
		case tok.Kind() == 'n':
			return fieldProblem(dec.StackPointer(), "must not be null: leave the field out instead")
		}
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return errorf(reroute.CodeInvalid, "malformed_json", "the body has data after the JSON object")
	}
	return nil
}

// syntaxProblem explains a syntax error: the member for a duplicate name or
// invalid UTF-8 within a string, the byte offset otherwise.
func syntaxProblem(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(reroute.CodeInvalid, "malformed_json", "the body is not valid JSON: it ends before the object does")
	case !errors.As(err, &se):
		return errorf(reroute.CodeInvalid, "malformed_json", "the body is not valid JSON")
	case errors.Is(se.Err, jsontext.ErrDuplicateName):
		return fieldProblem(se.JSONPointer, "appears more than once")
	// jsontext's invalid-UTF-8 error is not exported; its text is stable.
	case se.Err != nil && strings.Contains(se.Err.Error(), "invalid UTF-8") && se.JSONPointer != "":
		return fieldProblem(se.JSONPointer, "is not valid UTF-8")
	case se.Err != nil && strings.Contains(se.Err.Error(), "invalid UTF-8"):
		return errorf(reroute.CodeInvalid, "malformed_json", "the body is not valid UTF-8")
	}
	return errorf(reroute.CodeInvalid, "malformed_json", fmt.Sprintf("the body is not valid JSON (at byte %d)", se.ByteOffset))
}

// unmarshalProblem explains a value the request type cannot hold: an unknown
// member (with the known one it differs from only in case, if any) or a wrong type.
func unmarshalProblem(err error, t reflect.Type) error {
	var se *jsonv2.SemanticError
	if !errors.As(err, &se) {
		return errorf(reroute.CodeInvalid, "malformed_json", "the body is not valid JSON")
	}
	if se.JSONPointer == "" {
		return errorf(reroute.CodeInvalid, "malformed_json", "the body must be a JSON object")
	}
	if errors.Is(se.Err, jsonv2.ErrUnknownName) {
		name := se.JSONPointer.LastToken()
		for _, known := range memberNames(t) {
			if strings.EqualFold(known, name) {
				return fieldProblem(se.JSONPointer, fmt.Sprintf("unknown field: names are case-sensitive, did you mean %q?", known))
			}
		}
		return fieldProblem(se.JSONPointer, "unknown field")
	}
	return fieldProblem(se.JSONPointer, "must be "+goKind(se.GoType))
}

// fieldProblem is a validation problem about the member at ptr: named as the
// field for a top-level member (as every other validation error names it), as
// its JSON pointer deeper down.
func fieldProblem(ptr jsontext.Pointer, msg string) error {
	field := string(ptr)
	if ptr.Parent() == "" {
		field = ptr.LastToken()
	}
	return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
		Fields: []reroute.FieldError{{Field: field, Message: msg}}}
}

// memberNames lists the JSON names of a request struct's fields.
func memberNames(t reflect.Type) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func goKind(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return `an RFC 3339 date-time, as in "2030-01-02T15:04:05Z"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
