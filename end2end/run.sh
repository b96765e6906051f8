#!/usr/bin/env bash
# Browser tests: build the console, start Latchkey on a throwaway database, wait until it
# answers, run Playwright, stop the server by PID. Usage: end2end/run.sh [sqlite|postgres]...
# E2E_RELEASE=1 tests the release build (the optimised hydrate bundle `make run` serves).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/end2end/node_modules/.bin:$PATH"
target_dir=${CARGO_TARGET_DIR:-$root/target}
databases=("${@:-sqlite}")

if [ "${E2E_RELEASE:-}" = 1 ]; then
  binary="$target_dir/release/latchkey"
  cargo leptos build --release
else
  binary="$target_dir/debug/latchkey"
  cargo leptos build
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

run_suite() {
  local backend=$1
  local work
  work=$(mktemp -d /tmp/latchkey-e2e.XXXXXX)
  local port
  port=$(free_port)
  # The mail spec runs an SMTP sink on this port; the server sends to it.
  export E2E_SMTP_PORT
  E2E_SMTP_PORT=$(free_port)
  local database_url=""
  local pg_name=""
  if [ "$backend" = postgres ]; then
    pg_name="latchkey_e2e_$(date +%s)_$$"
    psql "${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -qc "CREATE DATABASE $pg_name"
    local admin_url=${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    database_url="${admin_url%/*}/$pg_name"
  fi
  echo "== browser tests on $backend (port $port, data in $work)"
  # The server and the specs (which call the CLI, e.g. to seed 10,000 clients) share these.
  export LATCHKEY_BIN="$binary"
  export LATCHKEY_DATA_DIR="$work"
  export LATCHKEY_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  if [ -n "$database_url" ]; then export DATABASE_URL="$database_url"; else unset DATABASE_URL; fi
  (
    export LEPTOS_SITE_ROOT="$root/target/site"
    export LATCHKEY_LOG="info"
    # A short re-authentication window lets the specs reach the password prompt quickly;
    # metrics on, so the browser tests run through the metrics layers too; webhooks to private
    # addresses, so the webhook spec can deliver to a receiver of its own; e-mail to the mail
    # spec's SMTP sink.
    exec "$binary" serve --addr "127.0.0.1:$port" --reauth-window 5 --metrics --webhooks-allow-private \
      --smtp-url "smtp://127.0.0.1:$E2E_SMTP_PORT"
  ) >"$work/server.log" 2>&1 &
  local pid=$!
  local status=0
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "server exited before answering:"; cat "$work/server.log"; return 1
    fi
    sleep 0.5
  done
  # shellcheck disable=SC2086 # PLAYWRIGHT_ARGS holds extra arguments, e.g. a spec file to run alone
  (cd end2end && BASE_URL="http://127.0.0.1:$port" SERVER_LOG="$work/server.log" npx playwright test ${PLAYWRIGHT_ARGS:-}) \
    2>&1 | tee "$work/playwright.log" || status=$?
  if [ -n "${KEEP_SERVER_LOG:-}" ]; then cp "$work/server.log" "$KEEP_SERVER_LOG"; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    echo "---- server log (last 80 lines) ----"; tail -n 80 "$work/server.log"
  fi
  # Last, where a CI log's tail shows it: which specs failed or passed only on a retry.
  if [ "$status" -ne 0 ] || grep -qE '^ +[0-9]+ flaky' "$work/playwright.log"; then
    echo "---- browser tests on $backend: summary ----"
    grep -E '^ +[0-9]+ (failed|flaky|passed|skipped|did not run)|^ +\[[a-z-]+\] ›|Error:|Timeout' \
      "$work/playwright.log" | tail -n 40 || true
    # What the server warned about meanwhile (a flaky spec's hang leaves no other trace here).
    echo "---- server warnings and errors on $backend (last 30) ----"
    grep -E ' (WARN|ERROR) ' "$work/server.log" | tail -n 30 || true
  fi
  if [ -n "$pg_name" ]; then
    psql "${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -qc "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" || true
  fi
  rm -rf "$work"
  return "$status"
}

for backend in "${databases[@]}"; do
  run_suite "$backend"
done
