package dnsreroute_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dnsreroute/dnsreroute"
	"github.com/dnsreroute/dnsreroute/shared/accesslog"
)

func TestTemplateIsTheFile(t *testing.T) {
	want, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dnsreroute.Template(), want) {
		t.Fatal("Template() differs from template.yaml")
	}
}

// functionPackages maps each function's logical id to its main package (as the
// Makefile's PKG_<id> does).
var functionPackages = map[string]string{
	"RedirectFunction":      "functions/redirect",
	"ApiFunction":           "functions/api",
	"StripeWebhookFunction": "functions/stripe-webhook",
	"DomainsFunction":       "functions/domains",
	"EdgeSyncFunction":      "functions/edge-sync",
	"AnalyticsFunction":     "functions/analytics",
	"DispatchFunction":      "functions/dispatch",
	"DeliverFunction":       "functions/deliver",
	"MonitorFunction":       "functions/monitor",
}

// notSet lists the variables a function's code reads that the template leaves
// unset on purpose, each with its reason. Everything else the code reads must be set.
var notSet = map[string]map[string]string{
	"RedirectFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
	},
	"ApiFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"STRIPE_API_BASE":   "stripe-mock in tests; on AWS Stripe's API",
		"OIDC_JWKS_URL":     "discovered from the issuer's openid-configuration",
		"STRIPE_WEBHOOK_SECRET": "read by billing.ReadSettings but used by the webhook only: " +
			"unset, the API's role needs no access to it",
		"DNS_SERVERS":   "a DNS server of the test's own in tests; on AWS the resolvers Lambda gives",
		"EDGE_ENDPOINT": "the AWS fake in tests; on AWS CloudFront's and ACM's endpoints",
		"OAUTH_ISSUER": "the API's URL in front of a custom domain; unset, the host API Gateway " +
			"was called on (the function cannot name its own HTTP API without a circular reference)",
	},
	"DomainsFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"DNS_SERVERS":       "a DNS server of the test's own in tests; on AWS the resolvers Lambda gives",
		"EDGE_ENDPOINT":     "the AWS fake in tests; on AWS CloudFront's and ACM's endpoints",
		"DOMAIN_BATCH_SIZE": "its default (50 per run) fits the function's timeout",
	},
	"EdgeSyncFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"KVS_ENDPOINT":      "the KeyValueStore fake in tests; on AWS the store's own endpoint",
		"EDGE_BUDGET_BYTES": "its default (the store's 5 MB less 256 KB of headroom) is the budget",
	},
	"AnalyticsFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"S3_ENDPOINT":       "an S3 API server in tests; on AWS the SDK's endpoint",
	},
	"DispatchFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"SQS_ENDPOINT":      "moto in tests; on AWS the SDK's endpoint",
	},
	"DeliverFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"SQS_ENDPOINT":      "moto in tests; on AWS the SDK's endpoint",
		"SES_ENDPOINT":      "moto in tests; on AWS the SDK's endpoint",
		"DNSREROUTE_DEV_ALLOW_LOOPBACK": "development only: a deployed function must never reach " +
			"loopback addresses (its own host)",
	},
	"MonitorFunction": {
		"DYNAMODB_ENDPOINT":       "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"MONITOR_BUDGET":          "its default (500 probes a run) fits the function's timeout",
		"MONITOR_RULES_PER_ROUTE": "its default (2 rules' targets sampled per route)",
		"MONITOR_TIMEOUT":         "its default (5 s a request)",
		"DNSREROUTE_DEV_ALLOW_LOOPBACK": "development only: a deployed function must never reach " +
			"loopback addresses (its own host)",
	},
	"StripeWebhookFunction": {
		"DYNAMODB_ENDPOINT": "DynamoDB Local in tests; on AWS the SDK's endpoint",
		"STRIPE_API_BASE":   "stripe-mock in tests; the webhook calls no Stripe API",
		"STRIPE_SECRET_KEY": "read by billing.ReadSettings but the webhook calls no Stripe API: " +
			"unset, its role needs no access to the key",
		"DASHBOARD_URL": "read by billing.ReadSettings for Checkout's return URLs, which the webhook never builds",
	},
}

// ---- the template, read with its short-form intrinsic tags kept as yaml tags

func templateRoot(t *testing.T) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(dnsreroute.Template(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func get(n *yaml.Node, path ...string) *yaml.Node {
	for _, k := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

func resourcesOfType(t *testing.T, typ string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	res := get(templateRoot(t), "Resources")
	for i := 0; i+1 < len(res.Content); i += 2 {
		if v := get(res.Content[i+1], "Type"); v != nil && v.Value == typ {
			out[res.Content[i].Value] = res.Content[i+1]
		}
	}
	return out
}

func keys(m *yaml.Node) []string {
	var out []string
	if m != nil {
		for i := 0; i+1 < len(m.Content); i += 2 {
			out = append(out, m.Content[i].Value)
		}
	}
	sort.Strings(out)
	return out
}

func TestTemplateFunctionsBuild(t *testing.T) {
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	if got := keys2(fns); !slices.Equal(got, keys2(functionPackages)) {
		t.Fatalf("functions in the template %v, want %v", got, keys2(functionPackages))
	}
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for id, fn := range fns {
		code := get(fn, "Properties", "CodeUri")
		if code == nil {
			t.Errorf("%s: no CodeUri", id)
			continue
		}
		if st, err := os.Stat(code.Value); err != nil || !st.IsDir() {
			t.Errorf("%s: CodeUri %q is not a directory", id, code.Value)
		}
		if m := get(fn, "Metadata", "BuildMethod"); m == nil || m.Value != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod is not makefile", id)
		}
		target := regexp.MustCompile(`(?m)^(\S+ )*build-` + id + `( \S+)*:`)
		if !target.Match(makefile) {
			t.Errorf("%s: the Makefile has no build-%s target (sam build calls it)", id, id)
		}
		pkg := regexp.MustCompile(`(?m)^PKG_` + id + ` := \./(\S+)$`).FindSubmatch(makefile)
		if pkg == nil || string(pkg[1]) != functionPackages[id] {
			t.Errorf("%s: the Makefile's PKG_%s is not ./%s", id, id, functionPackages[id])
		}
	}
	if testing.Short() {
		return
	}
	for id, dir := range functionPackages {
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(t.TempDir(), "bootstrap"), "./"+dir)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: go build ./%s: %v\n%s", id, dir, err, out)
		}
	}
}

func keys2[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- environment

var envRead = regexp.MustCompile(`env\.(?:String|Required|Int|Bool|Duration|List|ARN)\("([A-Z0-9_]+)"`)

// readsEnv returns the variables a function reads: those its main.go reads, and
// those of billing.ReadSettings when it calls that.
func readsEnv(t *testing.T, dir string) []string {
	t.Helper()
	files := []string{filepath.Join(dir, "main.go")}
	src, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(src, []byte("billing.ReadSettings(")) {
		files = append(files, "shared/billing/config.go")
	}
	set := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envRead.FindAllSubmatch(b, -1) {
			set[string(m[1])] = true
		}
	}
	return keys2(set)
}

func TestTemplateEnvironment(t *testing.T) {
	// Every reader of the environment is one of those this test scans.
	for _, dir := range []string{"shared"} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") ||
				strings.Contains(p, "devstack") || strings.Contains(p, "dynamotest") || strings.Contains(p, "lambdatest") {
				return err
			}
			b, _ := os.ReadFile(p)
			if envRead.Match(b) && p != filepath.Join("shared", "billing", "config.go") {
				t.Errorf("%s reads the environment: teach readsEnv about it", p)
			}
			return nil
		})
	}
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	for id, dir := range functionPackages {
		read := readsEnv(t, dir)
		var want []string
		for _, v := range read {
			if _, ok := notSet[id][v]; !ok {
				want = append(want, v)
			}
		}
		for v := range notSet[id] {
			if !slices.Contains(read, v) {
				t.Errorf("%s: notSet lists %s, which its code does not read", id, v)
			}
		}
		got := keys(get(fns[id], "Properties", "Environment", "Variables"))
		for _, v := range want {
			if !slices.Contains(got, v) {
				t.Errorf("%s reads %s: the template does not set it", id, v)
			}
		}
		for _, v := range got {
			if !slices.Contains(want, v) {
				t.Errorf("%s: the template sets %s, which its code does not read", id, v)
			}
		}
	}
}

// ---- IAM

// granted returns the actions a function's Policies allow (both branches of an
// !If), and fails on a wildcard action. Where "*" may stand for the resources is
// AWS's IAM data's to say (TestTemplateGrantsMatchAWSIAMData).
func granted(t *testing.T, id string, fn *yaml.Node) []string {
	set := map[string]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch k {
				case "Action":
					for _, a := range scalars(v) {
						if strings.Contains(a, "*") {
							t.Errorf("%s: wildcard action %q", id, a)
						}
						set[a] = true
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(get(fn, "Properties", "Policies"))
	if pol := get(fn, "Properties", "Policies"); pol != nil {
		for _, p := range pol.Content {
			if p.Kind == yaml.ScalarNode && p.Tag != "!Ref" {
				t.Errorf("%s: policy %q is a managed or SAM template policy: grant statements instead", id, p.Value)
			}
		}
	}
	return keys2(set)
}

func scalars(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

// storeCalls reads shared/dynamo and returns, for each Store method and package
// function, the DynamoDB actions it needs directly and the methods and functions it
// calls. A transaction needs the
// action of each item kind it holds (Put, Update, Delete, ConditionCheck).
func storeCalls(t *testing.T) (ops, calls map[string]map[string]bool) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "shared/dynamo", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	itemAction := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
	ops, calls = map[string]map[string]bool{}, map[string]map[string]bool{}
	for _, f := range pkgs["dynamo"].Files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			// Methods and package functions alike (helpers such as getItem hold
			// DynamoDB calls too); a function's store parameter is named s.
			recv := "s"
			if fd.Recv != nil {
				recv = fd.Recv.List[0].Names[0].Name
			}
			name := fd.Name.Name
			ops[name], calls[name] = map[string]bool{}, map[string]bool{}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					// s.db.Op or s.method
					// s.db.Op, or s.scanner.Op (the one Scan, see ScanStore)
					if inner, ok := n.X.(*ast.SelectorExpr); ok && (inner.Sel.Name == "db" || inner.Sel.Name == "scanner") {
						if n.Sel.Name != "TransactWriteItems" {
							ops[name]["dynamodb:"+n.Sel.Name] = true
						}
					} else if id, ok := n.X.(*ast.Ident); ok && id.Name == recv {
						calls[name][n.Sel.Name] = true
					}
				case *ast.CallExpr:
					// a call of a package function, generic ones included
					fun := n.Fun
					switch f := fun.(type) {
					case *ast.IndexExpr:
						fun = f.X
					case *ast.IndexListExpr:
						fun = f.X
					}
					if id, ok := fun.(*ast.Ident); ok {
						calls[name][id.Name] = true
					}
				case *ast.CompositeLit:
					// A TransactWriteItem, written out or with its type
					// elided in a []types.TransactWriteItem literal.
					items := []*ast.CompositeLit{n}
					if at, ok := n.Type.(*ast.ArrayType); ok {
						if sel, ok := at.Elt.(*ast.SelectorExpr); ok && sel.Sel.Name == "TransactWriteItem" {
							items = nil
							for _, e := range n.Elts {
								if c, ok := e.(*ast.CompositeLit); ok && c.Type == nil {
									items = append(items, c)
								}
							}
						}
					}
					for _, c := range items {
						if sel, ok := c.Type.(*ast.SelectorExpr); (ok && sel.Sel.Name == "TransactWriteItem") || (c != n && c.Type == nil) {
							for _, e := range c.Elts {
								if kv, ok := e.(*ast.KeyValueExpr); ok {
									if a, ok := itemAction[kv.Key.(*ast.Ident).Name]; ok {
										ops[name]["dynamodb:"+a] = true
									}
								}
							}
						}
					}
				}
				return true
			})
		}
	}
	return ops, calls
}

// sharedImports are the folders of the project's shared packages main imports.
func sharedImports(t *testing.T, main *ast.File) []string {
	t.Helper()
	const mod = "github.com/dnsreroute/dnsreroute/"
	var out []string
	for _, imp := range main.Imports {
		if p := strings.Trim(imp.Path.Value, `"`); strings.HasPrefix(p, mod+"shared/") {
			out = append(out, strings.TrimPrefix(p, mod))
		}
	}
	return out
}

// needed returns the actions a function's code calls: the Store methods its
// adapter packages (the shared packages its main imports) call, followed through
// shared/dynamo; Secrets Manager and SSM when it resolves secrets.
func needed(t *testing.T, dir string, ops, calls map[string]map[string]bool) []string {
	t.Helper()
	fset := token.NewFileSet()
	main, err := parser.ParseFile(fset, filepath.Join(dir, "main.go"), nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	var entry []string
	const mod = "github.com/dnsreroute/dnsreroute/"
	for _, imp := range main.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		if p == "github.com/aws/aws-sdk-go-v2/service/secretsmanager" {
			set["secretsmanager:GetSecretValue"] = true
		}
		if p == "github.com/aws/aws-sdk-go-v2/service/ssm" {
			set["ssm:GetParameter"] = true
		}
		if p == "github.com/aws/aws-sdk-go-v2/service/s3" {
			// main calls S3 itself: client.Op(ctx, &s3.OpInput{...}).
			src, err := os.ReadFile(filepath.Join(dir, "main.go"))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range s3Call.FindAllSubmatch(src, -1) {
				set["s3:"+string(m[1])] = true
			}
		}
		if p == mod+"shared/edge" {
			for a := range edgeCalls(t) {
				set[a] = true
			}
		}
		if p == mod+"shared/sesmail" {
			set["ses:SendEmail"] = true // its one call, SES v2 SendEmail
		}
		if p == mod+"shared/sqsqueue" {
			// The queue's methods as its users call them: SendJobs is
			// SendMessageBatch, authorized as sqs:SendMessage; RetryIn is
			// ChangeMessageVisibility.
			for _, d := range append([]string{dir}, sharedImports(t, main)...) {
				files, _ := filepath.Glob(filepath.Join(d, "*.go"))
				for _, f := range files {
					if strings.HasSuffix(f, "_test.go") {
						continue
					}
					src, _ := os.ReadFile(f)
					if bytes.Contains(src, []byte(".SendJobs(")) {
						set["sqs:SendMessage"] = true
					}
					if bytes.Contains(src, []byte(".RetryIn(")) {
						set["sqs:ChangeMessageVisibility"] = true
					}
				}
			}
		}
		if p == mod+"shared/edgesync" {
			for a := range kvsCalls(t) {
				set[a] = true
			}
			// Lambda's event source mapping reads the table's stream with the
			// function's role.
			for _, a := range []string{"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"} {
				set["dynamodb:"+a] = true
			}
		}
		if !strings.HasPrefix(p, mod+"shared/") || strings.HasSuffix(p, "/dynamo") {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(p, mod), "*.go"))

		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, _ := os.ReadFile(f)
			for m := range ops {
				if ast.IsExported(m) && bytes.Contains(src, []byte("."+m+"(")) {
					entry = append(entry, m)
				}
			}
		}
	}
	// An event source mapping reads with the function's role: the table's
	// stream, or an SQS queue. And main may call the store itself.
	if src, err := os.ReadFile(filepath.Join(dir, "main.go")); err == nil {
		for m := range ops {
			if ast.IsExported(m) && bytes.Contains(src, []byte("store."+m+"(")) {
				entry = append(entry, m)
			}
		}
		if bytes.Contains(src, []byte("events.DynamoDBEvent")) {
			for _, a := range []string{"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"} {
				set["dynamodb:"+a] = true
			}
		}
		if bytes.Contains(src, []byte("events.SQSEvent")) {
			for _, a := range []string{"ReceiveMessage", "DeleteMessage", "GetQueueAttributes"} {
				set["sqs:"+a] = true
			}
		}
	}
	seen := map[string]bool{}
	for len(entry) > 0 {
		m := entry[len(entry)-1]
		entry = entry[:len(entry)-1]
		if seen[m] {
			continue
		}
		seen[m] = true
		for a := range ops[m] {
			set[a] = true
		}
		for c := range calls[m] {
			entry = append(entry, c)
		}
	}
	return keys2(set)
}

var s3Call = regexp.MustCompile(`\.([A-Z][A-Za-z]+)\(ctx, &s3\.`)

// kvsCalls are the KeyValueStore actions shared/edgesync calls: its client is
// the field kvs, and every call is written s.kvs.Op( or, paged, through
// kvs.NewOpPaginator(s.kvs.
func kvsCalls(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("shared/edgesync/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shared/edgesync sources: %v", err)
	}
	re := regexp.MustCompile(`\.kvs\.([A-Z][A-Za-z]+)\(|kvs\.New([A-Z][A-Za-z]+)Paginator\(s\.kvs`)
	out := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			out["cloudfront-keyvaluestore:"+string(m[1])+string(m[2])] = true
		}
	}
	return out
}

// edgeCalls are the CloudFront and ACM actions shared/edge calls: its clients are
// the fields cf and acm, and every call is written e.cf.Op( or e.acm.Op(.
func edgeCalls(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("shared/edge/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shared/edge sources: %v", err)
	}
	re := regexp.MustCompile(`\.(cf|acm)\.([A-Z][A-Za-z]+)\(`)
	out := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			svc := "cloudfront"
			if string(m[1]) == "acm" {
				svc = "acm"
			}
			out[svc+":"+string(m[2])] = true
		}
	}
	// Some calls are authorized as a second action too.
	for call, also := range impliedActions {
		if out[call] {
			out[also] = true
		}
	}
	return out
}

// impliedActions: a call that IAM also authorizes as another action. ACM
// authorizes the tags of a RequestCertificate as acm:AddTagsToCertificate on
// the new certificate (callers granted RequestCertificate alone are denied once
// their requests carry tags), and shared/edge tags every certificate it requests.
var impliedActions = map[string]string{
	"acm:RequestCertificate": "acm:AddTagsToCertificate",
}

func TestTemplateGrantsWhatTheCodeCalls(t *testing.T) {
	ops, calls := storeCalls(t)
	fns := resourcesOfType(t, "AWS::Serverless::Function")
	for id, dir := range functionPackages {
		need := needed(t, dir, ops, calls)
		sort.Strings(need)
		got := granted(t, id, fns[id])
		if !slices.Equal(got, need) {
			t.Errorf("%s: the template grants\n\t%v\nthe code needs\n\t%v", id, got, need)
		}
	}
}

// ---- the table

func TestTemplateTableMatchesTheKeys(t *testing.T) {
	src, err := os.ReadFile("shared/dynamo/keys.go")
	if err != nil {
		t.Fatal(err)
	}
	konst := func(name string) string {
		m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*"([^"]+)"`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("keys.go has no constant %s", name)
		}
		return string(m[1])
	}
	pk, sk := konst("attrPK"), konst("attrSK")
	indexes := [][3]string{
		{konst("indexGSI1"), konst("attrGSI1PK"), konst("attrGSI1SK")},
		{konst("indexGSI2"), konst("attrGSI2PK"), konst("attrGSI2SK")},
	}
	tbl := get(resourcesOfType(t, "AWS::DynamoDB::Table")["Table"], "Properties")
	schema := func(n *yaml.Node) []string {
		var out []string
		for _, k := range n.Content {
			out = append(out, get(k, "AttributeName").Value+" "+get(k, "KeyType").Value)
		}
		return out
	}
	if got := schema(get(tbl, "KeySchema")); !slices.Equal(got, []string{pk + " HASH", sk + " RANGE"}) {
		t.Errorf("table KeySchema %v", got)
	}
	gsis := get(tbl, "GlobalSecondaryIndexes")
	if len(gsis.Content) != len(indexes) {
		t.Fatalf("the template has %d indexes, keys.go %d", len(gsis.Content), len(indexes))
	}
	want := []string{pk + " S", sk + " S"}
	for i, ix := range indexes {
		g := gsis.Content[i]
		if got := get(g, "IndexName").Value; got != ix[0] {
			t.Errorf("index %d is %s, want %s", i, got, ix[0])
		}
		if got := schema(get(g, "KeySchema")); !slices.Equal(got, []string{ix[1] + " HASH", ix[2] + " RANGE"}) {
			t.Errorf("index %s KeySchema %v", ix[0], got)
		}
		want = append(want, ix[1]+" S", ix[2]+" S")
	}
	var attrs []string
	for _, a := range get(tbl, "AttributeDefinitions").Content {
		attrs = append(attrs, get(a, "AttributeName").Value+" "+get(a, "AttributeType").Value)
	}
	sort.Strings(attrs)
	sort.Strings(want)
	if !slices.Equal(attrs, want) {
		t.Errorf("AttributeDefinitions %v, want %v", attrs, want)
	}
	if !strings.Contains(string(dnsreroute.Template()), `Sub "${Table.Arn}/index/`+indexes[0][0]+`"`) {
		t.Errorf("no policy names the index %s", indexes[0][0])
	}
}

// ---- CloudFront

func TestTemplateViewerRequestFunctionIsTheFile(t *testing.T) {
	want, err := os.ReadFile("cloudfront/viewer-request.js")
	if err != nil {
		t.Fatal(err)
	}
	fn := resourcesOfType(t, "AWS::CloudFront::Function")["RedirectViewerRequestFunction"]
	if got := get(fn, "Properties", "FunctionCode"); got == nil || got.Value != string(want) {
		t.Fatal("RedirectViewerRequestFunction.FunctionCode differs from cloudfront/viewer-request.js: paste the file in")
	}
	if rt := get(fn, "Properties", "FunctionConfig", "Runtime"); rt == nil || rt.Value != "cloudfront-js-2.0" {
		t.Error("runtime is not cloudfront-js-2.0")
	}
	orp := get(resourcesOfType(t, "AWS::CloudFront::OriginRequestPolicy")["RedirectOriginRequestPolicy"],
		"Properties", "OriginRequestPolicyConfig", "HeadersConfig")
	if b := get(orp, "HeaderBehavior").Value; b == "allViewer" || b == "allViewerAndWhitelistCloudFront" {
		t.Errorf("the origin request policy forwards the viewer's Host (%s)", b)
	}
	for _, h := range scalars(orEmpty(get(orp, "Headers"))) {
		if strings.EqualFold(h, "host") {
			t.Error("the origin request policy forwards Host")
		}
	}
	cp := get(resourcesOfType(t, "AWS::CloudFront::CachePolicy")["RedirectCachePolicy"],
		"Properties", "CachePolicyConfig", "ParametersInCacheKeyAndForwardedToOrigin")
	if !slices.ContainsFunc(scalars(orEmpty(get(cp, "HeadersConfig", "Headers"))), func(h string) bool { return strings.EqualFold(h, "x-forwarded-host") }) {
		t.Error("the cache key lacks X-Forwarded-Host")
	}
	if get(cp, "QueryStringsConfig", "QueryStringBehavior").Value != "all" {
		t.Error("the cache key lacks the query string")
	}
}

func orEmpty(n *yaml.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{Kind: yaml.SequenceNode}
	}
	return n
}

// ---- analytics

// TestTemplateAnalyticsPipeline: CloudFront's logs of the redirects reach the
// bucket where the function is invoked and allowed to read them, in the format
// and with every field the parser reads (the fields the local redirector logs
// too), and the log bucket keeps them private and not forever.
func TestTemplateAnalyticsPipeline(t *testing.T) {
	root := templateRoot(t)
	e := newEval(t, root, map[string]string{"ServiceHostname": "redirect.example.com"})
	e.refs = maps.Clone(sampleRefs)
	e.refs["LogBucket"] = "dnsreroute-logs-51af3dc0-da77-11e4-872e-1234567db123"
	e.refs["LogBucket.Arn"] = "arn:aws:s3:::" + e.refs["LogBucket"]
	e.refs["RedirectLogsDeliverySource"] = "dnsreroute-51af3dc0-da77-11e4-872e-1234567db123"
	e.refs["RedirectLogsDeliveryDestination.Arn"] = "arn:aws:logs:us-east-1:123456789012:delivery-destination:dnsreroute-51af3dc0-da77-11e4-872e-1234567db123"
	res := func(typ, id string) *yaml.Node {
		n := resourcesOfType(t, typ)[id]
		if n == nil {
			t.Fatalf("no %s %s", typ, id)
		}
		return n
	}
	bucket := res("AWS::S3::Bucket", "LogBucket")
	name := e.str(get(bucket, "Properties", "BucketName"))
	if name != e.refs["LogBucket"] || len(name) > 63 || strings.ToLower(name) != name {
		t.Errorf("bucket name %q: not lowercase, too long, or not derived from the stack id", name)
	}
	props := e.eval(get(bucket, "Properties")).(map[string]any)
	pab := props["PublicAccessBlockConfiguration"].(map[string]any)
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if pab[k] != "true" {
			t.Errorf("log bucket: %s is not true", k)
		}
	}
	if props["BucketEncryption"] == nil {
		t.Error("log bucket: no default encryption")
	}
	rules := props["LifecycleConfiguration"].(map[string]any)["Rules"].([]any)
	if len(rules) == 0 || rules[0].(map[string]any)["ExpirationInDays"] == nil {
		t.Error("log bucket: its objects never expire")
	}

	// Where logs land: the destination's path, which the bucket policy lets
	// log delivery write, the event filter watches and the function reads.
	dest := e.eval(get(res("AWS::Logs::DeliveryDestination", "RedirectLogsDeliveryDestination"), "Properties")).(map[string]any)
	prefix, ok := strings.CutPrefix(dest["DestinationResourceArn"].(string), e.refs["LogBucket.Arn"]+"/")
	if !ok || prefix == "" {
		t.Fatalf("destination %v is not a path of the log bucket", dest["DestinationResourceArn"])
	}
	if dest["OutputFormat"] != "json" {
		t.Errorf("output format %v: the local log and the tests use json", dest["OutputFormat"])
	}
	objects := e.refs["LogBucket.Arn"] + "/" + prefix + "/*"
	var writes []string
	for _, st := range e.eval(get(res("AWS::S3::BucketPolicy", "LogBucketPolicy"), "Properties", "PolicyDocument", "Statement")).([]any) {
		st := st.(map[string]any)
		if st["Effect"] == "Allow" && strs(st["Action"])[0] == "s3:PutObject" {
			writes = append(writes, strs(st["Resource"])...)
			if p := st["Principal"].(map[string]any)["Service"]; p != "delivery.logs.amazonaws.com" {
				t.Errorf("PutObject granted to %v", p)
			}
		}
	}
	if !slices.Equal(writes, []string{objects}) {
		t.Errorf("log delivery may write %v, want %s", writes, objects)
	}
	fn := resourcesOfType(t, "AWS::Serverless::Function")["AnalyticsFunction"]
	var reads []string
	for _, st := range e.statements(fn) {
		if slices.Contains(st.actions, "s3:GetObject") {
			reads = append(reads, st.resources...)
		}
	}
	if !slices.Equal(reads, []string{objects}) {
		t.Errorf("the function may read %v, want %s", reads, objects)
	}
	ev := e.eval(get(fn, "Properties", "Events", "AccessLogs", "Properties")).(map[string]any)
	filter := ev["Filter"].(map[string]any)["S3Key"].(map[string]any)["Rules"].([]any)[0].(map[string]any)
	if get(fn, "Properties", "Events", "AccessLogs", "Properties", "Bucket").Value != "LogBucket" ||
		filter["Name"] != "prefix" || filter["Value"] != prefix+"/" {
		t.Errorf("the function is invoked for %v of %v, want prefix %s/ of LogBucket", filter, ev["Bucket"], prefix)
	}

	// The delivery's fields: every one the issue asks for and the local
	// redirector logs, by CloudFront's names.
	delivery := e.eval(get(res("AWS::Logs::Delivery", "RedirectLogsDelivery"), "Properties")).(map[string]any)
	fields := strs(delivery["RecordFields"])
	for _, f := range accesslog.Fields {
		if !slices.Contains(fields, f) {
			t.Errorf("the delivery lacks %s", f)
		}
	}
	if slices.Contains(fields, "c-ip") || slices.Contains(fields, "x-forwarded-for") {
		t.Error("the delivery records viewers' addresses, which nothing counts")
	}
	for _, id := range []string{"RedirectLogsDeliverySource", "RedirectLogsDeliveryDestination"} {
		var n *yaml.Node
		for typ := range map[string]bool{"AWS::Logs::DeliverySource": true, "AWS::Logs::DeliveryDestination": true} {
			if r := resourcesOfType(t, typ)[id]; r != nil {
				n = r
			}
		}
		if got := e.str(get(n, "Properties", "Name")); len(got) > 60 {
			t.Errorf("%s: name %q is longer than 60", id, got)
		}
		if c := get(n, "Condition"); c == nil || c.Value != "InUsEast1" {
			t.Errorf("%s: CloudFront's delivery sources exist in us-east-1 only: Condition InUsEast1", id)
		}
	}
}
