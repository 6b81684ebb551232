#!/usr/bin/env bash
# Scale-out benchmark: getuser and login throughput of 1 and 2 polyauth
# replicas on one Redis and on a local 3-master Redis Cluster (SimpleJWT
# routes, wrk), and the store round trips each request costs (the commands
# clients send, as the servers' MONITOR sees them: independent of the machine).
#
#   scripts/bench-scale.sh [--seconds N] [--connections N] [--cost N] [--round-trips-only]
#
# Everything runs on loopback: the Redis servers, the Cluster (nodes on free
# ports, each also binding port + 10000), polyauth, and wrk. On a small
# machine the replicas, the Redis nodes and wrk share the same cores: the
# figures are bounded by them, not by polyauth or Redis. Login runs bcrypt at
# --cost (default 4, the store path; 12 would measure bcrypt alone).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=10; CONN=32; COST=4; LOAD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --round-trips-only) LOAD=0; shift ;;
    --seconds) SECS="$2"; shift 2 ;;
    --connections) CONN="$2"; shift 2 ;;
    --cost) COST="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need redis-server || ! need redis-cli; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk redis-server >/dev/null
fi

cargo build --profile dist --locked --quiet --bin polyauth
BIN=target/dist/polyauth
WORK=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# A free port whose bus port (+10000) is free too.
free_port() { python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p > 55000: continue
    b = socket.socket()
    try: b.bind(("127.0.0.1", p + 10000))
    except OSError: continue
    print(p); break'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; return 1; }
json_field() { python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"; }

redis_node() {  # port [extra args] -> starts a redis-server
  local port=$1; shift
  mkdir -p "$WORK/r$port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/r$port" "$@" >/dev/null 2>&1 &
  PIDS+=($!); wait_port "$port"
}

# --- the stores ---
SINGLE_PORT=$(free_port); redis_node "$SINGLE_PORT"
CLUSTER_PORTS=()
for _ in 1 2 3; do p=$(free_port); redis_node "$p" --cluster-enabled yes --cluster-config-file nodes.conf; CLUSTER_PORTS+=("$p"); done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${CLUSTER_PORTS[@]}") --cluster-yes >/dev/null
for _ in $(seq 100); do
  ok=1; for p in "${CLUSTER_PORTS[@]}"; do redis-cli -p "$p" cluster info | grep -q cluster_state:ok || ok=0; done
  [ $ok = 1 ] && break; sleep 0.1
done
declare -A URL=(
  [single]="redis://127.0.0.1:$SINGLE_PORT/0"
  [cluster]="redis+cluster://$(printf '127.0.0.1:%s,' "${CLUSTER_PORTS[@]}" | sed 's/,$//')"
)
declare -A NODES=([single]="$SINGLE_PORT" [cluster]="${CLUSTER_PORTS[*]}")

# Round trips: every command a client sent to the store's servers while $2
# requests ran, as MONITOR shows them (commands a Lua script runs inside the
# server are marked "lua" and are not round trips).
round_trips() {  # store requests command... -> commands per request
  local store=$1 n=$2 p mons=(); shift 2
  for p in ${NODES[$store]}; do
    redis-cli -p "$p" monitor >"$WORK/monitor-$p.txt" & mons+=($!)
  done
  sleep 0.3
  for _ in $(seq "$n"); do "$@"; done
  sleep 0.3
  kill "${mons[@]}" 2>/dev/null; wait "${mons[@]}" 2>/dev/null || true
  local total=0
  for p in ${NODES[$store]}; do
    total=$((total + $(grep -E '^[0-9.]+ \[[0-9]+ [0-9.]+:[0-9]+\] ' "$WORK/monitor-$p.txt" | wc -l)))
  done
  python3 -c "print(f'{$total / $n:.2f}')"
}

start_replica() {  # store prefix -> prints port
  local port; port=$(free_port)
  cat > "$WORK/gw-$port.toml" <<TOML
dialects_dir = "$PWD/dialects"
[store]
url = "${URL[$1]}"
key_prefix = "$2"
[jwt]
signing_key = "bench-signing-key-0123456789abcdefghijkl"
[passwords]
bcrypt_cost = $COST
max_concurrent_hashes = 2
[[mount]]
dialect = "simplejwt"
listen = "127.0.0.1:$port"
TOML
  POLYAUTH_LOG=warn "$BIN" serve --config "$WORK/gw-$port.toml" >"$WORK/gw-$port.log" 2>&1 &
  PIDS+=($!); wait_port "$port"; echo "$port"
}

cat > "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"bench-pass-1"}'
LUA

# wrk against each replica at once (the connections split between them); total req/s.
load() {  # scenario access ports...
  local scenario=$1 access=$2; shift 2
  # Two load threads in all, whatever the number of replicas (one would bound one replica's figure).
  local per=$(( CONN / $# )) threads=$(( 2 / $# > 0 ? 2 / $# : 1 )) outs=() port
  for port in "$@"; do
    local out="$WORK/wrk-$scenario-$port.txt"; outs+=("$out")
    case $scenario in
      getuser) wrk -t"$threads" -c"$per" -d"${SECS}s" -H "Authorization: Bearer $access" "http://127.0.0.1:$port/auth/getuser" >"$out" & ;;
      login) wrk -t"$threads" -c"$per" -d"${SECS}s" -s "$WORK/login.lua" "http://127.0.0.1:$port/auth/token" >"$out" & ;;
    esac
  done
  wait $(jobs -p | tail -n $#) 2>/dev/null || true
  awk '/^Requests\/sec/ {s += $2} /Non-2xx/ {e += $4} END {printf "%.0f %d\n", s, e}' "${outs[@]}"
}

printf '%-8s %-8s %-8s %10s %8s\n' store replicas route "req/s" non-2xx
ROWS="$WORK/rows.txt"
for store in single cluster; do
  for replicas in 1 2; do
    prefix="b$store$replicas"; ports=()
    for _ in $(seq "$replicas"); do ports+=("$(start_replica "$store" "$prefix")"); done
    access=$(curl -sf "http://127.0.0.1:${ports[0]}/auth/register" -H 'Content-Type: application/json' \
      -d '{"username":"bench","password":"bench-pass-1"}' | json_field access)
    for route in getuser login; do
      [ "$LOAD" = 1 ] || continue
      read -r rps errors < <(load "$route" "$access" "${ports[@]}")
      printf '%-8s %-8s %-8s %10s %8s\n' "$store" "$replicas" "$route" "$rps" "$errors" | tee -a "$ROWS"
    done
    # Round trips per request, over 200 requests.
    if [ "$replicas" = 1 ]; then
      base="http://127.0.0.1:${ports[0]}"
      echo "$store getuser $(round_trips "$store" 200 curl -sf -o /dev/null -H "Authorization: Bearer $access" "$base/auth/getuser")" >>"$WORK/rtt.txt"
      echo "$store login $(round_trips "$store" 200 curl -sf -o /dev/null -H 'Content-Type: application/json' \
        -d '{"username":"bench","password":"bench-pass-1"}' "$base/auth/token")" >>"$WORK/rtt.txt"
      # A new user each time, without an email (an email claim adds 3 round trips on a Cluster).
      echo "$store register $(round_trips "$store" 200 sh -c "curl -sf -o /dev/null -H 'Content-Type: application/json' \
        -d '{\"username\":\"r'\$(date +%s%N)'\",\"password\":\"bench-pass-1\"}' $base/auth/register")" >>"$WORK/rtt.txt"
    fi
  done
done
echo
echo "Store round trips per request (commands clients sent, seen by MONITOR on every server, over 200 requests):"
awk '{printf "  %-8s %-8s %s\n", $1, $2, $3}' "$WORK/rtt.txt"
echo
echo "cores: $(nproc); the replicas, $((${#CLUSTER_PORTS[@]} + 1)) redis-servers and wrk share them."
