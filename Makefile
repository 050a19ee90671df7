# Bantin. `make test` and `make run` install what is missing (Debian), build and go.
SHELL := /bin/bash
APT_PACKAGES := libssl-dev libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev pkg-config openssl
SWIFT_BUILD_FLAGS ?=
PKI ?= var/pki

.PHONY: deps build test run proto bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

# Regenerates Sources/CBantinProto from proto/ (a test fails when the committed copy is stale).
proto: deps
	proto/generate.sh

# Builds (release), makes the development PKI, starts the three services (`bantin up`), ingests
# seeds/, prints what was extracted and a sample search, and keeps serving until Ctrl-C.
run: deps
	swift build -c release
	scripts/run-demo.sh

# RPC (Echo over mTLS) and end to end (20,000 generated articles through the three services).
bench: deps
	bench/run-echo.sh
	bench/run-pipeline.sh

clean:
	rm -rf .build var
