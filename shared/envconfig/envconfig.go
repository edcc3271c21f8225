// Package envconfig reads a program's configuration from its environment once, at
// start, collecting every problem so that one run reports all of them.
package envconfig

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// Reader reads variables through getenv (os.Getenv, or a map in tests).
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New returns a Reader over getenv.
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// String returns the variable's value, or def when it is unset or empty.
func (r *Reader) String(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// Required returns the variable's value and records an error when it is empty.
func (r *Reader) Required(name string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		r.errs = append(r.errs, fmt.Errorf("%s is required", name))
	}
	return v
}

// Int returns the variable as an integer at least min, or def when unset.
func (r *Reader) Int(name string, def, min int) int {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a whole number of at least %d", name, v, min))
		return def
	}
	return n
}

// Duration returns the variable as a duration ("90s", "5m"; a bare number is
// seconds), or def when unset. Negative durations are errors.
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a duration such as 30s or 5m", name, v))
		return def
	}
	return d
}

// Bool returns the variable as a boolean (true/false/1/0), or def when unset.
func (r *Reader) Bool(name string, def bool) bool {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want true or false", name, v))
		return def
	}
	return b
}

// List returns the variable split on commas, blanks dropped; nil when unset.
func (r *Reader) List(name string) []string {
	var out []string
	for _, v := range strings.Split(r.getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Err returns every problem met so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// ARN returns the variable when it is the ARN of a resource of service whose
// resource part starts with resourcePrefix ("key-value-store/"), "" when unset,
// and records an error for anything else, so that a mistyped ARN stops the
// program at start rather than at its first call.
func (r *Reader) ARN(name, service, resourcePrefix string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return ""
	}
	a, err := arn.Parse(v)
	if err != nil || a.Service != service || !strings.HasPrefix(a.Resource, resourcePrefix) || len(a.Resource) == len(resourcePrefix) {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want the ARN of a %s %s", name, v, service, strings.TrimSuffix(resourcePrefix, "/")))
		return ""
	}
	return v
}
