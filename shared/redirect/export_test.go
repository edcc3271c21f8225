package redirect

// NotConfiguredBody is the not-configured page for reason and host, as a front
// serves it, so tests can hand it hosts no front would let through.
func NotConfiguredBody(reason Reason, host string) string {
	return (&Renderer{}).notConfigured(reason, host).Body()
}
