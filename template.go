// Package dnsreroute holds what belongs to the project as a whole: the SAM template
// is embedded here so that local runs and tests build their DynamoDB table from the
// same definition that is deployed, and the two cannot drift.
package dnsreroute

import _ "embed"

//go:embed template.yaml
var template []byte

// Template returns the project's SAM template (template.yaml). The slice is shared:
// callers must not modify it.
func Template() []byte { return template }
