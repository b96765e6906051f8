#!/usr/bin/env bash
# `make package-test`: installs the Debian package on this machine, starts the service from its
# systemd unit (with systemd when it runs here; otherwise the unit's own user, environment and
# command line, which leaves the unit's sandboxing untested: `systemd-analyze` checks it), then
# completes the OAuth flow against it with the API test
# `process::the_installed_package_completes_the_flow`, purges the package and checks that
# nothing is left behind. Needs root or passwordless sudo (CI runs as root).
set -euo pipefail
deb="${1:?usage: packaging/test.sh PATH/TO/latchkey.deb}"
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if ! sudo -n true 2>/dev/null; then
    if [ "${CI:-}" = true ]; then
      echo "package-test: needs root or passwordless sudo" >&2; exit 1
    fi
    echo "package-test: SKIPPED: installing a package needs root or passwordless sudo" >&2
    exit 0
  fi
  SUDO="sudo -n"
fi
log="$(mktemp -t latchkey-package.XXXXXX.log)"
# Marks a package this test installed, so a run killed half-way is cleaned up by the next.
# /run is emptied at boot, so a stale marker never makes it purge a later, real install.
marker=/run/latchkey-package-test.installed
server_pid=""
with_systemd=false
if [ -d /run/systemd/system ]; then with_systemd=true; fi

fail() { echo "package-test: $*" >&2; exit 1; }

purge() {
  if dpkg -s latchkey >/dev/null 2>&1; then $SUDO dpkg --purge latchkey || return 1; fi
  $SUDO rm -f "$marker"
}

cleanup() {
  status=$?
  if [ -n "$server_pid" ]; then $SUDO kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "$status" != 0 ]; then
    echo "--- the service's log:" >&2
    if $with_systemd; then $SUDO journalctl -u latchkey -n 60 --no-pager >&2 || true; else tail -n 60 "$log" >&2 || true; fi
  fi
  if [ -e "$marker" ]; then purge || echo "package-test: the purge failed; remove latchkey by hand" >&2; fi
  rm -f "$log"
}
trap cleanup EXIT

if dpkg -s latchkey >/dev/null 2>&1; then
  [ -e "$marker" ] || fail "a latchkey package this test did not install is here; remove it first"
  echo "package-test: purging the package an interrupted run left"
  purge
fi

echo "package-test: installing $deb"
$SUDO touch "$marker"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$(realpath "$deb")"
[ "$(command -v latchkey)" = /usr/bin/latchkey ] || fail "latchkey is not on PATH"
latchkey --version >/dev/null
unit="$(dpkg -L latchkey | grep '/latchkey\.service$')" || fail "no systemd unit in the package"
[ -f /usr/share/latchkey/site/pkg/latchkey.js ] || fail "the site bundle is missing"
[ "$($SUDO stat -c '%U:%G %a' /etc/latchkey/latchkey.env)" = "root:latchkey 640" ] || fail "the settings file is not root:latchkey 0640"
[ "$($SUDO stat -c '%U %a' /var/lib/latchkey)" = "latchkey 700" ] || fail "/var/lib/latchkey is not the service user's, 0700"
for setting in ProtectSystem=strict NoNewPrivileges=yes User=latchkey StateDirectory=latchkey; do
  grep -qx "$setting" "$unit" || fail "the unit lacks $setting"
done
if command -v systemd-analyze >/dev/null; then
  timeout 60 systemd-analyze verify "$unit" || fail "systemd-analyze verify refuses the unit"
fi
# `security --offline` needs systemd 250 or later.
if command -v systemd-analyze >/dev/null && systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
  report="$(timeout 60 systemd-analyze security --offline=yes "$unit" 2>&1 || true)"
  exposure="$(sed -n 's/.*Overall exposure level for latchkey\.service: \([0-9.]*\).*/\1/p' <<<"$report")"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }' \
    || fail "systemd-analyze security rates the unit's exposure ${exposure:-unknown} (at most 2.0 expected)"
  echo "package-test: systemd-analyze security: exposure $exposure"
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="package-test-setup-token-$(date +%s)-0123456789"
$SUDO sed -i "s/^LATCHKEY_ADDR=.*/LATCHKEY_ADDR=127.0.0.1:$port/" /etc/latchkey/latchkey.env
echo "LATCHKEY_SETUP_TOKEN=$token" | $SUDO tee -a /etc/latchkey/latchkey.env >/dev/null

if $with_systemd; then
  echo "package-test: starting latchkey.service with systemd"
  $SUDO systemctl restart latchkey
else
  # No systemd here (a container): run what the unit runs, as the unit's user, from /, with
  # its Environment= lines overridden by its EnvironmentFile (systemd's precedence).
  user="$(sed -n 's/^User=//p' "$unit")"
  envfile="$(sed -n 's/^EnvironmentFile=//p' "$unit")"
  command="$(sed -n 's/^ExecStart=//p' "$unit")"
  set -f
  # shellcheck disable=SC2207
  environment=($(sed -n 's/^Environment=//p' "$unit"))
  settings=()
  envtext="$($SUDO cat "$envfile")"
  while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    case "$line" in ''|'#'*) continue ;; esac
    value="${line#*=}"
    case "$value" in \"*\") value="${value:1:${#value}-2}" ;; \'*\') value="${value:1:${#value}-2}" ;; esac
    settings+=("${line%%=*}=$value")
  done <<<"$envtext"
  echo "package-test: no systemd here; running the unit's command line as $user: $command"
  # shellcheck disable=SC2086
  (cd / && exec $SUDO runuser -u "$user" -- env -i PATH=/usr/bin:/bin \
    "${environment[@]}" "${settings[@]}" $command) >"$log" 2>&1 &
  server_pid=$!
  set +f
fi

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "the service did not answer on port $port"
[ "$($SUDO stat -c '%U %a' /var/lib/latchkey/latchkey.key 2>/dev/null)" = "latchkey 600" ] \
  || fail "the master key is not in /var/lib/latchkey, the service user's, 0600"

echo "package-test: the OAuth flow against the installed service"
output="$(LATCHKEY_PACKAGE_URL="http://127.0.0.1:$port" LATCHKEY_PACKAGE_SETUP_TOKEN="$token" \
  cargo test -p server --test api -- --ignored --exact process::the_installed_package_completes_the_flow 2>&1)" \
  || { echo "$output" >&2; fail "the OAuth flow against the installed service failed"; }
grep -q "test result: ok. 1 passed" <<<"$output" || { echo "$output" >&2; fail "the flow test did not run"; }
echo "package-test: the flow passed"

if $with_systemd; then
  $SUDO systemctl stop latchkey
else
  $SUDO kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
fi

echo "package-test: purging the package"
purge
! dpkg -s latchkey >/dev/null 2>&1 || fail "the package is still installed"
for path in /usr/bin/latchkey /usr/share/latchkey /etc/latchkey /var/lib/latchkey /var/log/latchkey "$unit" \
  /etc/systemd/system/multi-user.target.wants/latchkey.service; do
  [ ! -e "$path" ] || fail "$path is left behind"
done
! getent passwd latchkey >/dev/null || fail "the latchkey user is left behind"
! getent group latchkey >/dev/null || fail "the latchkey group is left behind"
echo "package-test: passed (installed, served the flow, purged cleanly)"
