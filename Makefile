# Bantin. `make test` and `make run` install what is missing (Debian), build and go.
SHELL := /bin/bash
APT_PACKAGES := libssl-dev libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev pkg-config openssl iproute2
# Only the tests need these: a headless browser renders `bantin load`'s HTML report.
TEST_PACKAGES := chromium-headless-shell
SWIFT_BUILD_FLAGS ?=
PKI ?= var/pki

.PHONY: deps deploy-tools build test deploy-check test-multihost run proto bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# What deploy/validate.sh needs besides kubectl (which the Swift machine image ships with its kustomize).
deploy-tools:
	@python3 -c "import kubernetes_validate, yaml" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate pyyaml

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

# The full log goes to var/test.log; on failure the recorded issues are repeated at the end, where a
# CI log that keeps only its tail still shows them. Tests run one at a time: several suites start
# three service processes each and some measure time (rates, deadlines, stalls), and run together on
# two cores they starved one another (80 s serial against 50 s in parallel).
TEST_FLAGS ?= --no-parallel
test: EXTRA_PACKAGES = $(TEST_PACKAGES)
test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	@mkdir -p var; set -o pipefail; swift test --skip-build $(TEST_FLAGS) $(SWIFT_BUILD_FLAGS) 2>&1 | tee var/test.log || { \
		echo "== failed tests (full log: var/test.log) =="; \
		grep -E -A6 "recorded an issue|: error:|failed after" var/test.log | grep -v "^--$$" | tail -60; exit 1; }
	$(MAKE) --no-print-directory deploy-check
	Tests/multihost/run.sh .build/debug

# Each service on its own host (network namespaces), reached by name; replicas and ingest restarted under load.
# Needs root and `ip netns` (it says so and skips otherwise). Part of `make test`.
test-multihost: deps
	swift build $(SWIFT_BUILD_FLAGS)
	Tests/multihost/run.sh .build/debug

# Renders deploy/'s kustomizations and validates every object (Kubernetes schemas, then Bantin's rules).
deploy-check: deploy-tools
	deploy/validate.sh .build/debug/bantin

# Regenerates Sources/CBantinProto from proto/ (a test fails when the committed copy is stale).
proto: deps
	proto/generate.sh

# Builds (release), makes the development PKI, starts the three services (`bantin up`), ingests
# seeds/, prints what was extracted and a sample search, and keeps serving until Ctrl-C.
run: deps
	swift build -c release
	scripts/run-demo.sh

# RPC (Echo over mTLS), end to end (20,000 generated articles through the three services), and the
# query service on 100,000 generated articles under `bantin load` (highest rate within p99 < 10 ms).
bench: deps
	bench/run-echo.sh
	bench/run-extract.sh
	bench/run-pipeline.sh
	bench/run-query-load.sh

clean:
	rm -rf .build var
