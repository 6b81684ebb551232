#!/usr/bin/env bash
# The flood experiment: genuine-login and token-check latency while A
# attackers send wrong-password logins as fast as they are answered, on a
# dist build (as the container image) at bcrypt cost 12, memory store.
#
#   scripts/flood.sh [--attackers N] [--seconds N] [--cost N] [--modes "one-account distributed"]
#
# Each mode runs twice: "unprotected" (lockout off, hash queue unbounded: how
# polyauth behaved before [login_throttle] and max_queued_hashes existed) and
# "defaults" (the shipped defaults). Prints one JSON line per run (see
# examples/flood.rs). Loopback only; figures depend on the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ATTACKERS=300; SECONDS_PER=30; COST=12; MODES="one-account distributed"
while [ $# -gt 0 ]; do
  case "$1" in
    --attackers) ATTACKERS="$2"; shift 2 ;;
    --seconds) SECONDS_PER="$2"; shift 2 ;;
    --cost) COST="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

cargo build --profile dist --locked --quiet --bin polyauth --example flood
BIN=target/dist/polyauth; FLOOD=target/dist/examples/flood
WORK=$(mktemp -d); PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
# Every attacker holds a connection, and so does the gateway.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 600); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.1; done; echo "not ready" >&2; return 1; }

cat > "$WORK/users.toml" <<TOML
[[user]]
username = "genuine"
password = "genuine-pw"
[[user]]
username = "victim"
password = "victim-pw-never-guessed"
TOML

run() {  # label, extra config -> one JSON line per mode
  local label="$1" extra="$2" mode
  for mode in $MODES; do
    local port admin; port=$(free_port); admin=$(free_port)
    cat > "$WORK/gw.toml" <<TOML
dialects_dir = "$PWD/dialects"
[server]
trusted_proxies = 1
[store]
url = "memory://"
[jwt]
signing_key = "flood-signing-key-0123456789abcdefghijkl"
[users]
seed_file = "$WORK/users.toml"
[admin]
listen = "127.0.0.1:$admin"
$extra
[[mount]]
dialect = "simplejwt"
listen = "127.0.0.1:$port"
TOML
    POLYAUTH_LOG=error POLYAUTH_PASSWORDS__BCRYPT_COST="$COST" "$BIN" serve --config "$WORK/gw.toml" >"$WORK/gw.log" 2>&1 &
    PID=$!
    wait_ready "$admin"
    local out; out=$("$FLOOD" "http://127.0.0.1:$port" "http://127.0.0.1:$admin" "$mode" "$ATTACKERS" "$SECONDS_PER")
    echo "{\"config\":\"$label\",${out#\{}"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  done
}

run unprotected "[login_throttle]
account_failures = 0
ip_failures = 0
[passwords]
max_queued_hashes = 1000000"
run defaults ""
