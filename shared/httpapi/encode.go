package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

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
// one object with no unknown fields. Every failure is a problem with a clear cause.
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
	body := http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return v, nil
	}
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return v, &httpError{status: http.StatusRequestEntityTooLarge, reason: "body_too_large", msg: fmt.Sprintf("the body is larger than %d KiB", maxBodyBytes>>10)}
	case errors.Is(err, io.EOF):
		return v, errorf(reroute.CodeInvalid, "malformed_json", "the body is empty: send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return v, errorf(reroute.CodeInvalid, "malformed_json", "the body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return v, errorf(reroute.CodeInvalid, "malformed_json", "the body must be a JSON object")
		}
		return v, &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: field, Message: "must be " + jsonKind(typ.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return v, &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: name, Message: "unknown field"}}}
	}
	return v, errorf(reroute.CodeInvalid, "malformed_json", "the body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "slice":
		return "an array"
	}
	return "an object"
}
