# Latchkey — every command a developer or CI needs. Each target installs what it uses.
#   make run    build (release) and run on the embedded SQLite default at http://127.0.0.1:3000
#   make test   unit + integration tests (SQLite and PostgreSQL) + browser tests
#   make bench  load benchmarks (see BENCH.md)
#   make deb    the Debian package (cargo-deb): binary, site bundle, systemd unit, settings file
#   make package-test  install the package here, run the OAuth flow against it, purge it

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CARGO_LEPTOS_VERSION := 0.3.10
CARGO_DEB_VERSION := 3.8.0
WASM_BINDGEN_VERSION := 0.2.129
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export CARGO_TARGET_DIR := $(TARGET_DIR)
export LATCHKEY_TEST_POSTGRES_URL ?= $(POSTGRES_URL)

.PHONY: run dev test unit-test browser-test release-browser-test deb package-test tools rust-tools npm-tools chromium postgres lint fmt bench clean

## ---- entry points -------------------------------------------------------------------------

run: tools
	cargo leptos build --release
	LEPTOS_SITE_ROOT=$(CURDIR)/target/site $(TARGET_DIR)/release/latchkey serve

dev: tools
	cargo leptos build
	LEPTOS_SITE_ROOT=$(CURDIR)/target/site $(TARGET_DIR)/debug/latchkey serve

test: tools chromium postgres lint unit-test browser-test release-browser-test package-test

unit-test: rust-tools postgres
	cargo test -p app --features ssr
	cargo test -p server
	cargo test -p migrations

browser-test: tools chromium postgres
	end2end/run.sh sqlite postgres

# The optimised bundle `make run` serves must hydrate too: the same suite on the release build.
release-browser-test: tools chromium
	E2E_RELEASE=1 end2end/run.sh sqlite

# The Debian package, from the release build (`make run`'s): target/debian/latchkey.deb in the
# target directory.
deb: tools
	cargo leptos build --release
	cargo deb -p server --no-build --output $(TARGET_DIR)/debian/latchkey.deb

# Installs the package on this machine (root or passwordless sudo), starts its service, walks
# the OAuth flow against it, and purges it (packaging/test.sh).
package-test: deb
	packaging/test.sh $(TARGET_DIR)/debian/latchkey.deb

lint: rust-tools
	cargo fmt --all -- --check
	cargo clippy -p app --features ssr --all-targets -- -D warnings
	cargo clippy -p server --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown --target-dir $(TARGET_DIR)/front -- -D warnings

fmt:
	cargo fmt --all

bench: tools postgres
	bench/run.sh

clean:
	cargo clean
	rm -rf target/site end2end/test-results

## ---- installation (idempotent) --------------------------------------------------------------

tools: rust-tools npm-tools

rust-tools:
	rustup target add wasm32-unknown-unknown
	if ! cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)"; then \
	  cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION); fi
	if ! wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)"; then \
	  cargo install wasm-bindgen-cli --locked --version $(WASM_BINDGEN_VERSION); fi
	if ! cargo deb --version 2>/dev/null | grep -q "$(CARGO_DEB_VERSION)"; then \
	  cargo install cargo-deb --locked --version $(CARGO_DEB_VERSION); fi

# wasm-opt (binaryen) and sass come from npm: Debian's binaryen produces WASM that never hydrates.
npm-tools: end2end/node_modules/.installed

end2end/node_modules/.installed: end2end/package.json end2end/package-lock.json
	cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here).
chromium:
	if [ ! -x /usr/bin/chromium ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y chromium || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }; fi

# Tests need PostgreSQL on 127.0.0.1:5432; start the local cluster if it is down, and drop
# scratch databases that crashed test runs left behind.
postgres:
	if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for _ in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; fi
	psql "$(POSTGRES_URL)" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'latchkey\_test\_%' OR datname LIKE 'latchkey\_e2e\_%'" \
	  | while read -r db; do psql "$(POSTGRES_URL)" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)" >/dev/null; done
