# Targets for developing the SODP Go SDK. `make test` is what CI runs.
GO            ?= go
FUZZTIME      ?= 30s
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
SOAKTIME      ?= 10m
CLUSTERTIME   ?= 2m
PKGS          := ./...
# The modules of the repository: the client, and its OpenTelemetry
# instrumentation, a module of its own so that the client depends on none
# of OpenTelemetry. test and lint cover both.
MODULES       := . sodp/sodpotel

.PHONY: all test short lint vet fmt staticcheck vuln fuzz bench gobench demo devserver soak cluster-soak

all: lint test

## test: every benchmark once (so they keep compiling and running), then
## the full test suite with the race detector (includes example smoke tests)
test:
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; \
		(cd $$m && $(GO) test -run=NONE -bench=. -benchtime=1x $(PKGS) && \
			$(GO) test -race -count=1 -timeout 10m $(PKGS)); \
	done

## short: a quick test run without the race detector
short:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -count=1 -short $(PKGS)); done

## lint: gofmt check, go vet, staticcheck and govulncheck
lint: fmt vet staticcheck vuln

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet $(PKGS)); done

staticcheck:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) run $(STATICCHECK) $(PKGS)); done

## vuln: govulncheck against an offline snapshot of the Go vulnerability database
vuln:
	./.ci/vulncheck

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run=NONE -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

## gobench: Go micro-benchmarks
gobench:
	$(GO) test -run=NONE -bench=. -benchmem $(PKGS)

## bench: the end-to-end benchmark table (examples/bench)
bench:
	$(GO) run ./examples/bench

## demo: the quick start against the embedded test server
demo:
	$(GO) run ./examples/quickstart

## devserver: a standalone development server on 127.0.0.1:7777
devserver:
	$(GO) run ./examples/devserver -addr 127.0.0.1:7777

## soak: the chaos test in mixed mode (cuts and blackholed links, a 2 s
## client heartbeat, the four dialects in parallel) for SOAKTIME; SODP_SEED
## repeats a run
soak:
	SODP_SOAK=$(SOAKTIME) $(GO) test -race -count=1 -parallel 4 -run '^TestChaos$$' -timeout 0 -v ./sodp/

## cluster-soak: the two-node cluster failover test (writers on both nodes,
## nodes killed and restarted) for CLUSTERTIME per dialect
cluster-soak:
	SODP_CLUSTER_SOAK=$(CLUSTERTIME) $(GO) test -race -count=1 -run 'TestClusterFailoverUnderWriters' -timeout 0 -v ./sodp/
