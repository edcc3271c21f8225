package reroute

// PathRule redirects the requests for some paths of a route's hostname. Its
// options mean what Cloudflare Bulk Redirects' options of the same names mean, so
// lists exported from there import unchanged.
type PathRule struct {
	// Source is the path the rule matches: it starts with "/" and carries no query
	// or fragment.
	Source string
	Target string
	Status int
	// Subpath (SUBPATH_MATCHING) also matches every path below Source, on a
	// segment boundary: "/docs" matches "/docs" and "/docs/a", never "/docsxyz".
	Subpath bool
	// KeepSuffix (PRESERVE_PATH_SUFFIX, only with Subpath) appends the part of the
	// request path below Source to the target's path.
	KeepSuffix bool
	// KeepQuery (PRESERVE_QUERY_STRING) merges the request's query into the target's.
	KeepQuery bool
}

// FallbackKind is what a route answers for a path no rule matches.
type FallbackKind string

const (
	// FallbackNotConfigured answers the service's "not configured" page (404).
	FallbackNotConfigured FallbackKind = "not_configured"
	// FallbackGone answers 410 Gone.
	FallbackGone FallbackKind = "gone"
	// FallbackRedirect redirects to Fallback.Target with Fallback.Status.
	FallbackRedirect FallbackKind = "redirect"
)

// Fallback is a route's answer when no rule matches; requests that reach it are
// "lost traffic".
type Fallback struct {
	Kind   FallbackKind
	Target string // with FallbackRedirect
	Status int    // with FallbackRedirect; zero means DefaultStatus
}

// PathOptions are a route's matching options, applying to all its rules.
type PathOptions struct {
	// IgnoreCase matches paths case-insensitively (ASCII case folding).
	IgnoreCase bool
	// IgnoreTrailingSlash makes "/a" and "/a/" the same path.
	IgnoreTrailingSlash bool
}
