package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every operation in routes.go; a test keeps the two equal.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the API's OpenAPI 3.1 document.
func OpenAPIDocument() []byte { return openAPIDocument }

func (s *server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(openAPIDocument)
	return err
}
