package httpapi

import (
	"encoding/base32"
	"fmt"
	"io"
	"strconv"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix and 80 random bits, lowercase: short, URL-safe, unguessable.
func (s *server) newID(prefix string) (string, error) {
	var b [10]byte
	if _, err := io.ReadFull(s.Rand, b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}

// pageRequest reads ?limit= and ?cursor=.
func pageRequest(q map[string][]string) (reroute.PageRequest, error) {
	var p reroute.PageRequest
	if v := first(q["limit"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
				Fields: []reroute.FieldError{{Field: "limit", Message: "limit must be a whole number between 1 and 200"}}}
		}
		if n < 1 {
			n = -1 // an explicit limit must be 1..200; only an absent one means the default
		}
		p.Limit = n
	}
	p.Cursor = first(q["cursor"])
	if _, err := p.Size(); err != nil {
		return p, err
	}
	return p, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// list is the shape of every paginated answer.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}
