#!/usr/bin/env bash
# Load benchmarks (`make bench`): release build, then for each database a fresh Latchkey on
# 127.0.0.1 with seeded data (a site, 100 API users, 10,000 clients, 1,000,000 audit events)
# and credentials minted through the real code path, loaded by wrk from a second process.
# Prints one table; BENCH.md explains the workloads and keeps the latest results.
#
# Usage: bench/run.sh [sqlite] [postgres]        (default: both)
# Knobs: BENCH_DURATION (seconds per workload, default 5), BENCH_AUDIT_EVENTS (1000000),
#        BENCH_CLIENTS (10000), BENCH_CODES (codes minted for W1, default 60000),
#        BENCH_JWT_ALGORITHM (W9's signing key: ES256 by default, or EdDSA).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/end2end/node_modules/.bin:$PATH"
target_dir=${CARGO_TARGET_DIR:-$root/target}
binary="$target_dir/release/latchkey"
backends=("${@:-sqlite}")
if [ $# -eq 0 ]; then backends=(sqlite postgres); fi
duration=${BENCH_DURATION:-5}
audit_events=${BENCH_AUDIT_EVENTS:-1000000}
clients=${BENCH_CLIENTS:-10000}
codes=${BENCH_CODES:-60000}
postgres_admin_url=${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
results=$(mktemp /tmp/latchkey-bench-results.XXXXXX)
export BENCH_LUA="$root/bench/lua"

if ! command -v wrk >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi

started_all=$(date +%s)
cargo leptos build --release

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# run_wrk LABEL BACKEND CONCURRENCY SCRIPT PATH: one workload; appends a result line.
run_wrk() {
  local label=$1 backend=$2 concurrency=$3 script=$4 path=$5
  echo 5 > "/proc/$server_pid/clear_refs" 2>/dev/null || true # reset the peak-RSS mark
  local out
  out=$(BENCH_THREADS=1 wrk -t1 -c"$concurrency" -d"${duration}s" --timeout 10s \
    -s "$BENCH_LUA/$script" "http://127.0.0.1:$port$path")
  local line
  line=$(grep '^BENCH ' <<<"$out" | sed 's/^BENCH //')
  local rss_kb
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  echo "$label|$backend|$concurrency|$line|$rss_kb" >>"$results"
  echo "   $label: $line, peak RSS ${rss_kb} kB"
}

# Registers 8 client credentials clients on site $1 (named after workload $2) and prints each
# one's HTTP Basic header, a line each.
machine_clients() {
  local site=$1 workload=$2
  for n in 1 2 3 4 5 6 7 8; do
    "$binary" client create --site "$site" --name "Bench $workload machine $n" \
      --description "$workload" --redirect-uri "https://${workload,,}-machine-$n.example.com/unused" \
      --grant-type client_credentials --accept-terms | python3 -c '
import base64, json, sys, urllib.parse
client = json.load(sys.stdin)
pair = urllib.parse.quote(client["client_id"], safe="") + ":" + urllib.parse.quote(client["client_secret"], safe="")
print("Basic " + base64.b64encode(pair.encode()).decode())'
  done
}

bench_backend() {
  local backend=$1
  local work
  work=$(mktemp -d /tmp/latchkey-bench.XXXXXX)
  local pg_name=""
  export LATCHKEY_DATA_DIR="$work"
  export LATCHKEY_SECRET_KEY
  LATCHKEY_SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export LATCHKEY_LOG=warn
  if [ "$backend" = postgres ]; then
    pg_name="latchkey_bench_$(date +%s)_$$"
    psql "$postgres_admin_url" -qc "CREATE DATABASE $pg_name"
    export DATABASE_URL="${postgres_admin_url%/*}/$pg_name"
  else
    unset DATABASE_URL
  fi
  echo "== $backend: seeding $clients clients and $audit_events audit events"
  local seed_started
  seed_started=$(date +%s)
  "$binary" migrate
  "$binary" seed --site Bench --api-users 100 --clients "$clients" --audit-events "$audit_events" \
    --password-stdin <<<"bench users passphrase" >"$work/seed.json"
  "$binary" admin create --username bench-admin --email bench-admin@example.com --site Bench \
    --password-stdin <<<"bench admin passphrase" >/dev/null
  # W7's sign-ins rotate over these: the throttle counts each password check before it runs,
  # so one account signing in 8 times at once would be throttled (as a guessing burst is).
  for n in 1 2 3 4 5 6 7 8; do
    "$binary" admin create --username "bench-signin-$n" --email "bench-signin-$n@example.com" \
      --site Bench --password-stdin <<<"bench admin passphrase" >/dev/null
  done
  echo "   seeded in $(($(date +%s) - seed_started)) s"

  port=$(free_port)
  LEPTOS_SITE_ROOT="$root/target/site" "$binary" serve --addr "127.0.0.1:$port" --code-ttl 600 \
    >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; return 1; }
    sleep 0.5
  done

  # Codes and tokens for 20 fresh clients, minted through the authorization code path.
  "$binary" seed --site Bench --api-users 100 --clients 20 --codes "$codes" --token-pairs 2000 \
    --fixtures-dir "$work/fixtures" --password-stdin <<<"bench users passphrase" >/dev/null
  export BENCH_FIXTURES="$work/fixtures"
  # W8's machine clients: registered for the client credentials grant alone, no owner. W9's
  # are the same on a site that issues JWT access tokens (RFC 9068), each token signed.
  machine_clients Bench W8 >"$work/fixtures/machines.tsv"
  "$binary" site create --name BenchJwt >/dev/null
  "$binary" site update --name BenchJwt --access-token-format jwt >/dev/null
  # BENCH_JWT_ALGORITHM=EdDSA measures W9 with an Ed25519 key instead of the default ES256.
  if [ -n "${BENCH_JWT_ALGORITHM:-}" ]; then
    "$binary" keys rotate --algorithm "$BENCH_JWT_ALGORITHM" >/dev/null
  fi
  machine_clients BenchJwt W9 >"$work/fixtures/jwt-machines.tsv"

  # A signed-in console session for the page workloads.
  export BENCH_ORIGIN="http://127.0.0.1:$port" BENCH_ADMIN=bench-admin BENCH_PASSWORD="bench admin passphrase"
  curl -fsS -c "$work/cookies" -H "Origin: $BENCH_ORIGIN" -H 'Accept: application/json' \
    --data-urlencode "username=$BENCH_ADMIN" --data-urlencode "password=$BENCH_PASSWORD" \
    "http://127.0.0.1:$port/api/sign_in" >/dev/null
  export BENCH_COOKIE
  BENCH_COOKIE=$(awk '$6 ~ /latchkey_session/ {print $6 "=" $7}' "$work/cookies")

  run_wrk "W1 code exchange" "$backend" 32 code_exchange.lua /oauth/token
  run_wrk "W3 introspection" "$backend" 32 introspect.lua /oauth/introspect
  run_wrk "W4 GET /api/v1/me" "$backend" 32 bearer.lua /api/v1/me
  # W7: a sign-in flood, and W4 again while it runs.
  (BENCH_THREADS=1 wrk -t1 -c8 -d"$((duration + 2))s" --timeout 10s -s "$BENCH_LUA/sign_in.lua" \
    "http://127.0.0.1:$port/api/sign_in" >"$work/w7.out") &
  local flood=$!
  sleep 1
  run_wrk "W4 during W7 flood" "$backend" 32 bearer.lua /api/v1/me
  wait "$flood"
  echo "W7 console sign-in|$backend|8|$(grep '^BENCH ' "$work/w7.out" | sed 's/^BENCH //')|-" >>"$results"
  run_wrk "W2 refresh + rotation" "$backend" 32 refresh.lua /oauth/token
  run_wrk "W8 client credentials" "$backend" 32 client_credentials.lua /oauth/token
  BENCH_MACHINES=jwt-machines.tsv run_wrk "W9 client credentials, JWT" "$backend" 32 \
    client_credentials.lua /oauth/token
  run_wrk "W5 API Clients page 1" "$backend" 8 page.lua "/clients"
  run_wrk "W5 API Clients page 351" "$backend" 8 page.lua "/clients?page=350"
  run_wrk "W6 Audit Log newest" "$backend" 8 page.lua "/audit"
  run_wrk "W6 Audit Log deep cursor" "$backend" 8 page.lua "/audit?before=500000"
  run_wrk "W6 Audit Log filtered" "$backend" 8 page.lua "/audit?action=client.secret_rotated&actor=seed-admin-3"

  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  if grep -q ' ERROR ' "$work/server.log"; then
    echo "   server errors:"; grep ' ERROR ' "$work/server.log" | tail -n 5
  fi
  if [ -n "$pg_name" ]; then psql "$postgres_admin_url" -qc "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)"; fi
  rm -rf "$work"
}

for backend in "${backends[@]}"; do bench_backend "$backend"; done

python3 "$root/bench/table.py" "$results" "$root/target/site/pkg" "$(($(date +%s) - started_all))"
rm -f "$results"
