#!/usr/bin/env bash
# Benchmark: throughput and latency of the SimpleJWT routes on polyauth (memory
# and Redis stores), and, given a running baseline (the real Django/SimpleJWT
# reference server), the same load against it and the ratios.
#
#   scripts/bench.sh [--baseline URL] [--seconds N] [--concurrency N] [--cost N]
#
# URL is the SimpleJWT API root of the baseline, e.g. http://127.0.0.1:18001/simplejwt
# (start it with bcrypt at the same cost for a fair login comparison). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
BASELINE=""; SECONDS_PER=5; CONC=16; COST=12
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) BASELINE="$2"; shift 2 ;;
    --seconds) SECONDS_PER="$2"; shift 2 ;;
    --concurrency) CONC="$2"; shift 2 ;;
    --cost) COST="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

cargo build --release --quiet --bin polyauth --example loadgen
BIN=target/release/polyauth; LOAD=target/release/examples/loadgen
WORK=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; return 1; }
json_field() { python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"; }

start_polyauth() {  # store_url -> prints port
  local port; port=$(free_port)
  cat > "$WORK/gw-$port.toml" <<TOML
dialects_dir = "$PWD/dialects"
[store]
url = "$1"
[jwt]
signing_key = "bench-signing-key-0123456789abcdefghijkl"
[passwords]
bcrypt_cost = $COST
[[mount]]
dialect = "simplejwt"
listen = "127.0.0.1:$port"
TOML
  POLYAUTH_LOG=warn "$BIN" serve --config "$WORK/gw-$port.toml" >"$WORK/gw-$port.log" 2>&1 &
  PIDS+=($!); wait_port "$port"; echo "$port"
}

# name url -> one JSON line per scenario: {"target","scenario",...loadgen figures}
run_target() {
  local name="$1" base="$2" user="bench$RANDOM$RANDOM" tokens access refresh
  tokens=$(curl -sf "$base/auth/register" -H 'Content-Type: application/json' -d "{\"username\":\"$user\",\"password\":\"bench-pass-1\"}")
  access=$(echo "$tokens" | json_field access); refresh=$(echo "$tokens" | json_field refresh)
  for scenario in verify getuser login; do
    case $scenario in
      verify) args=("$base/auth/token/verify" POST "{\"token\":\"$access\"}" -) ;;
      getuser) args=("$base/auth/getuser" GET - "Authorization: Bearer $access") ;;
      login) args=("$base/auth/token" POST "{\"username\":\"$user\",\"password\":\"bench-pass-1\"}" -) ;;
    esac
    local out; out=$("$LOAD" "${args[@]}" "$CONC" "$SECONDS_PER")
    echo "{\"target\":\"$name\",\"scenario\":\"$scenario\",${out#\{}"
  done
  : "$refresh"
}

RESULTS="$WORK/results.jsonl"
mem_port=$(start_polyauth "memory://")
run_target "polyauth-memory" "http://127.0.0.1:$mem_port" >>"$RESULTS"

if command -v redis-server >/dev/null; then
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
  PIDS+=($!); wait_port "$rport"
  redis_port=$(start_polyauth "redis://127.0.0.1:$rport/0")
  run_target "polyauth-redis" "http://127.0.0.1:$redis_port" >>"$RESULTS"
fi
[ -n "$BASELINE" ] && run_target "baseline" "$BASELINE" >>"$RESULTS"

python3 - "$RESULTS" "$CONC" "$SECONDS_PER" "$COST" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
conc, secs, cost = sys.argv[2:5]
print(f"SimpleJWT routes, {conc} concurrent keep-alive clients, {secs} s each, bcrypt cost {cost}")
print(f"{'target':16} {'scenario':9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
for r in rows:
    print(f"{r['target']:16} {r['scenario']:9} {r['rps']:9.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:6}")
base = {r['scenario']: r for r in rows if r['target'] == 'baseline'}
if base:
    print("\nratio against the baseline (throughput x, p99 latency /):")
    for r in rows:
        if r['target'] != 'baseline' and r['scenario'] in base and base[r['scenario']]['rps'] > 0:
            b = base[r['scenario']]
            print(f"{r['target']:16} {r['scenario']:9} {r['rps'] / b['rps']:8.1f}x  p99 {b['p99_ms'] / max(r['p99_ms'], 0.001):8.1f}x lower")
PY
