#!/usr/bin/env bash
# Benchmark: polyauth's per-request overhead against a limit server
# (examples/limit_server.rs: bare hyper 1 + jsonwebtoken + one multiplexed
# Redis connection, the same request shapes), measured with wrk in one run,
# interleaved, several rounds; the table shows medians and polyauth ÷ limit.
#
#   scripts/bench.sh [--rounds N] [--seconds N] [--connections N] [--threads N] [--pin]
#                    [--baseline URL] [--mode table|login-load|instructions|rss|ready|scale|all]
#
# Shapes (each on the memory store and on a private redis-server):
#   hello    GET, no work: the limit's /hello, polyauth's admin /healthz
#   verify   SimpleJWT POST /auth/token/verify {"token"}: HS256 (+ the blacklist GET on Redis)
#   getuser  SimpleJWT GET /auth/getuser, Authorization: Bearer: HS256 + one user read
#   opaque   Monta GET /api/auth/token/verify/, Authorization: Token: DRF's
#            TokenAuthentication (SHA-256, GET the token key, HGETALL the user)
# --baseline URL: the Django/SimpleJWT reference's API root (e.g.
# http://127.0.0.1:18001/simplejwt); its verify and getuser join each round.
#
# Other modes (README, "Benchmarks"):
#   login-load  token checks (getuser, Redis) while logins saturate the bcrypt pool
#   instructions  user-space instructions per request under callgrind, limit vs polyauth
#               (memory store): deterministic where req/s move with the machine's load
#   rss         VmRSS/VmHWM of polyauth (Redis) under 256 connections
#   ready       spawn → first 200 on the admin /readyz
#   scale       getuser on Redis with 1k and with 1M stored users
# Loopback only; client and servers share the machine's cores, so the ratios
# (same run, interleaved) are the figures to compare, not the absolute req/s.
# Each ratio is the median of the rounds' own ratios (a limit run and the
# polyauth run right after it): a shared machine drifts between speeds, and a
# pair run back to back mostly sees one of them.
# --pin: the servers on the last CPU, wrk and redis-server on the others
# (needs 2+ CPUs). The servers then saturate one core, so a ratio is the two
# servers' CPU per request; unpinned, wrk and Redis take cores from them and
# the machine's scheduling moves the figures by more than the differences.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3; SECS=5; CONN=64; THREADS=2; BASELINE=""; MODE=table; PIN=0
PROFILE=${BENCH_PROFILE:-dist}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --seconds) SECS="$2"; shift 2 ;;
    --connections) CONN="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --baseline) BASELINE="${2%/}"; shift 2 ;;
    --mode) MODE="$2"; shift 2 ;;
    --pin) PIN=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
need() { command -v "$1" >/dev/null 2>&1; }
# Command prefixes for the servers and for the load (wrk, redis-server).
ON_SERVER=(); ON_LOAD=()
if [ "$PIN" = 1 ]; then
  cpus=$(nproc)
  [ "$cpus" -ge 2 ] || { echo "--pin needs 2 or more CPUs" >&2; exit 2; }
  ON_SERVER=(taskset -c "$((cpus - 1))"); ON_LOAD=(taskset -c "0-$((cpus - 2))")
fi
if ! need wrk || ! need redis-server || ! need redis-cli; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk redis-server redis-tools >/dev/null
fi

# BENCH_POLYAUTH, BENCH_LIMIT: binaries built before (e.g. another profile's
# polyauth against the same limit server); with both given nothing is built.
OUT=target/$PROFILE; [ "$PROFILE" = dev ] && OUT=target/debug
BIN=${BENCH_POLYAUTH:-$OUT/polyauth}; LIMIT=${BENCH_LIMIT:-$OUT/examples/limit_server}
if [ -z "${BENCH_POLYAUTH:-}" ] || [ -z "${BENCH_LIMIT:-}" ]; then
  cargo build --profile "$PROFILE" --locked --quiet --bin polyauth --example limit_server
fi
KEY="bench-signing-key-0123456789abcdefghijkl"
WORK=$(mktemp -d)
# Servers are started inside $(…) subshells too: their ids go to a file, not a variable.
track() { echo "$1" >>"$WORK/pids"; }
cleanup() {
  [ -f "$WORK/pids" ] && while read -r p; do kill "$p" 2>/dev/null || true; done <"$WORK/pids"
  wait 2>/dev/null || true; rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; return 1; }
json_field() { python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"; }
jwt_user() { python3 -c "import sys,json,base64; p=sys.argv[1].split('.')[1]; print(json.loads(base64.urlsafe_b64decode(p+'='*(-len(p)%4)))['user_id'])" "$1"; }

start_redis() {  # -> port
  local port; port=$(free_port)
  "${ON_LOAD[@]}" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis-$port.log" 2>&1 &
  track $!; wait_port "$port"; echo "$port"
}

# file store_url sjwt_port monta_port admin_port [extra TOML]: a gateway with SimpleJWT and Monta
write_config() {
  cat > "$1" <<TOML
dialects_dir = "$PWD/dialects"
[store]
url = "$2"
[jwt]
signing_key = "$KEY"
# A run outlasts the default 5-minute access token: expired tokens would turn into 401s.
access_lifetime_secs = 86400
[admin]
listen = "127.0.0.1:$5"
${6:-}
[[mount]]
dialect = "simplejwt"
listen = "127.0.0.1:$3"
[[mount]]
dialect = "monta"
listen = "127.0.0.1:$4"
TOML
}

# store_url cost [extra TOML] -> "sjwt_port monta_port admin_port pid"
start_polyauth() {
  local sjwt monta admin; sjwt=$(free_port); monta=$(free_port); admin=$(free_port)
  write_config "$WORK/gw-$sjwt.toml" "$1" "$sjwt" "$monta" "$admin" "[passwords]
bcrypt_cost = $2
${3:-}"
  POLYAUTH_LOG=warn "${ON_SERVER[@]}" "$BIN" serve --config "$WORK/gw-$sjwt.toml" >"$WORK/gw-$sjwt.log" 2>&1 &
  local pid=$!; track "$pid"; wait_port "$sjwt"; wait_port "$monta"; wait_port "$admin"
  echo "$sjwt $monta $admin $pid"
}

# sjwt_port monta_port -> "user user_id access auth_token" (a new account)
make_user() {
  local user="bench$RANDOM$RANDOM" tokens access token
  tokens=$(curl -sf "http://127.0.0.1:$1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"bench-pass-1\"}")
  access=$(echo "$tokens" | json_field access)
  token=$(curl -sf "http://127.0.0.1:$2/api/auth/token/" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"bench-pass-1\"}" | json_field token)
  echo "$user $(jwt_user "$access") $access $token"
}

# name method body header -> path of a wrk Lua script
lua() {
  local f="$WORK/$1.lua"
  { echo "wrk.method = \"$2\""
    [ "$3" != - ] && { echo "wrk.body = '$3'"; echo 'wrk.headers["Content-Type"] = "application/json"'; }
    [ "$4" != - ] && echo "wrk.headers[\"Authorization\"] = \"$4\""
    true; } > "$f"
  echo "$f"
}

# target shape url lua [connections [round]] -> one JSON line
RESULTS="$WORK/results.jsonl"
wrk_run() {
  local conn=${5:-$CONN} out
  out=$("${ON_LOAD[@]}" wrk -t"$THREADS" -c"$conn" -d"${SECS}s" --latency -s "$4" "$3" 2>&1) || true
  python3 - "$1" "$2" "$out" "${6:-0}" <<'PY'
import json, re, sys
target, shape, out, rnd = sys.argv[1:5]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    return float(m[1]) * {"us": 0.001, "ms": 1, "s": 1000}[m[2]] if m else None
rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errs = re.search(r"Socket errors:.*", out)
print(json.dumps({"target": target, "shape": shape, "round": int(rnd), "rps": float(rps[1]) if rps else 0.0,
                  "p50": ms(lat.get("50", "")), "p99": ms(lat.get("99", "")),
                  "non2xx": int(bad[1]) if bad else 0, "socket_errors": errs[0] if errs else ""}))
PY
}

# ---- the table: limit vs polyauth, memory and Redis, interleaved ----
table() {
  local rport; rport=$(start_redis)
  local -A P L U
  for store in memory redis; do
    local url="memory://"; [ $store = redis ] && url="redis://127.0.0.1:$rport/0"
    read -r sj mo ad _ <<<"$(start_polyauth "$url" 4)"
    read -r user uid access token <<<"$(make_user "$sj" "$mo")"
    local lport; lport=$(free_port)
    if [ $store = redis ]; then
      "${ON_SERVER[@]}" "$LIMIT" "$lport" "$KEY" "redis://127.0.0.1:$rport/0" >"$WORK/limit-$store.log" 2>&1 &
    else
      "${ON_SERVER[@]}" "$LIMIT" "$lport" "$KEY" memory "$uid:$user:$token" >"$WORK/limit-$store.log" 2>&1 &
    fi
    track $!; wait_port "$lport"
    P[$store]="$sj $mo $ad"; L[$store]=$lport
    U[$store]="$access $token"
  done
  for round in $(seq "$ROUNDS"); do
    for shape in hello verify getuser opaque; do
      for store in memory redis; do
        read -r sj mo ad <<<"${P[$store]}"; read -r access token <<<"${U[$store]}"
        local lp=${L[$store]} s pu lu
        case $shape in
          hello) s=$(lua hello GET - -); pu="http://127.0.0.1:$ad/healthz"; lu="http://127.0.0.1:$lp/hello" ;;
          verify) s=$(lua "verify-$store" POST "{\"token\":\"$access\"}" -)
                  pu="http://127.0.0.1:$sj/auth/token/verify"; lu="http://127.0.0.1:$lp/auth/token/verify" ;;
          getuser) s=$(lua "getuser-$store" GET - "Bearer $access")
                   pu="http://127.0.0.1:$sj/auth/getuser"; lu="http://127.0.0.1:$lp/auth/getuser" ;;
          opaque) s=$(lua "opaque-$store" GET - "Token $token")
                  pu="http://127.0.0.1:$mo/api/auth/token/verify/"; lu="http://127.0.0.1:$lp/api/auth/token/verify/" ;;
        esac
        wrk_run "limit-$store" "$shape" "$lu" "$s" "$CONN" "$round" >>"$RESULTS"
        wrk_run "polyauth-$store" "$shape" "$pu" "$s" "$CONN" "$round" >>"$RESULTS"
      done
      if [ -n "$BASELINE" ] && { [ $shape = verify ] || [ $shape = getuser ]; }; then
        read -r access _ <<<"${U[memory]}"
        local bt; bt=$(curl -sf "$BASELINE/auth/register" -H 'Content-Type: application/json' \
          -d "{\"username\":\"bench$RANDOM$RANDOM\",\"password\":\"bench-pass-1\"}" | json_field access)
        if [ $shape = verify ]; then s=$(lua bverify POST "{\"token\":\"$bt\"}" -); u="$BASELINE/auth/token/verify"
        else s=$(lua bgetuser GET - "Bearer $bt"); u="$BASELINE/auth/getuser"; fi
        wrk_run baseline "$shape" "$u" "$s" >>"$RESULTS"
      fi
    done
    echo "round $round of $ROUNDS done" >&2
  done
  python3 - "$RESULTS" "$ROUNDS" "$SECS" "$CONN" "$THREADS" "$PIN" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rounds, secs, conn, threads, pin = sys.argv[2:7]
by = {}
for r in rows:
    by.setdefault((r["target"], r["shape"]), []).append(r)
def med(key, field):
    vals = [r[field] for r in by.get(key, []) if r[field] is not None]
    return statistics.median(vals) if vals else None
def paired(l, p):
    # Each round's polyauth run ÷ the limit run just before it; the median of those.
    lim = {r["round"]: r["rps"] for r in by.get(l, [])}
    ratios = [r["rps"] / lim[r["round"]] for r in by.get(p, []) if lim.get(r["round"])]
    return statistics.median(ratios) if ratios else 0.0
where = "servers pinned to one CPU, wrk and redis-server on the others" if pin == "1" else "unpinned"
print(f"wrk, {conn} connections, {threads} threads, {secs} s per run, median of {rounds} interleaved rounds; {where}")
print(f"{'shape':8} {'store':7} {'limit req/s':>11} {'p50/p99 ms':>12} {'polyauth req/s':>14} {'p50/p99 ms':>12} {'ratio':>6} {'non-2xx':>7}")
for shape in ["hello", "verify", "getuser", "opaque"]:
    for store in ["memory", "redis"]:
        l, p = (f"limit-{store}", shape), (f"polyauth-{store}", shape)
        lr, pr = med(l, "rps"), med(p, "rps")
        if lr is None or pr is None:
            continue
        lat = lambda k: f"{med(k, 'p50'):.2f}/{med(k, 'p99'):.2f}"
        bad = sum(r["non2xx"] for r in by[l] + by[p])
        print(f"{shape:8} {store:7} {lr:11.0f} {lat(l):>12} {pr:14.0f} {lat(p):>12} {paired(l, p):6.0%} {bad:7}")
for shape in ["verify", "getuser"]:
    b = ("baseline", shape)
    if b in by:
        br = med(b, "rps")
        print(f"baseline {shape}: {br:.0f} req/s, p50/p99 {med(b, 'p50'):.2f}/{med(b, 'p99'):.2f} ms;"
              f" polyauth-redis ÷ baseline {med(('polyauth-redis', shape), 'rps') / br:.1f}x")
errs = {r["socket_errors"] for r in rows if r["socket_errors"]}
if errs:
    print("socket errors seen:", "; ".join(sorted(errs)))
PY
}

# ---- under load: token checks while logins saturate the bcrypt pool ----
login_load() {
  local rport; rport=$(start_redis)
  # One account logs in over and over: no lockout (its in-flight checks would count).
  read -r sj mo _ pid <<<"$(start_polyauth "redis://127.0.0.1:$rport/0" 12 "[login_throttle]
account_failures = 0
ip_failures = 0")"
  read -r user _ access _ <<<"$(make_user "$sj" "$mo")"
  [ -n "${access:-}" ] || { echo "no user" >&2; return 1; }
  local g l; g=$(lua lgetuser GET - "Bearer $access")
  l=$(lua login POST "{\"username\":\"$user\",\"password\":\"bench-pass-1\"}" -)
  local url="http://127.0.0.1:$sj"
  echo "polyauth on Redis, bcrypt cost 12, [passwords] defaults (one hash per core at once, 32 queued)"
  echo "getuser alone, 16 connections:"
  wrk_run alone getuser "$url/auth/getuser" "$g" 16 | tee -a "$RESULTS"
  echo "getuser (16 connections) while 16 connections log in (16 = every login queued, none refused):"
  wrk -t1 -c16 -d"$((SECS + 2))s" --latency -s "$l" "$url/auth/token" >"$WORK/login.out" 2>&1 &
  local w=$!; sleep 1
  wrk_run under-logins getuser "$url/auth/getuser" "$g" 16 | tee -a "$RESULTS"
  wait "$w" || true
  grep -E "Requests/sec|Non-2xx|Latency " "$WORK/login.out" | sed 's/^/  logins: /'
  # A sidecar's token checks arrive as its clients send them, not as fast as the
  # cores allow (above, p99 is mostly the queue of 16 saturating connections): the
  # same checks paced, each connection waiting 1 ms between requests (about a third
  # of what they reach alone), alone and during the same login flood.
  local paced="$WORK/paced.lua"
  { cat "$g"; echo 'function delay() return 1 end'; } >"$paced"
  echo "getuser paced (16 connections, 1 ms between requests) alone:"
  wrk_run paced-alone getuser "$url/auth/getuser" "$paced" 16 | tee -a "$RESULTS"
  echo "getuser paced (16 connections, 1 ms between requests) while 16 connections log in:"
  wrk -t1 -c16 -d"$((SECS + 2))s" --latency -s "$l" "$url/auth/token" >"$WORK/login.out" 2>&1 &
  w=$!; sleep 1
  wrk_run paced-under-logins getuser "$url/auth/getuser" "$paced" 16 | tee -a "$RESULTS"
  wait "$w" || true
  grep -E "Requests/sec|Non-2xx" "$WORK/login.out" | sed 's/^/  logins: /'
  # The floor of the line above on this machine: the same token checks beside
  # plain busy loops, one per core, at the hashing threads' nice 10 and at
  # SCHED_IDLE (the least a CPU-bound neighbour can take from the workers).
  local n; n=$(nproc)
  for policy in "nice -n 10" "chrt -i 0"; do
    echo "getuser (16 connections) beside $n busy loops under '$policy' (no logins):"
    local loops=()
    for _ in $(seq "$n"); do $policy sh -c 'while :; do :; done' & loops+=($!); track $!; done
    wrk_run "beside-loops-${policy%% *}" getuser "$url/auth/getuser" "$g" 16 | tee -a "$RESULTS"
    echo "  and paced (1 ms between requests):"
    wrk_run "paced-beside-loops-${policy%% *}" getuser "$url/auth/getuser" "$paced" 16 | tee -a "$RESULTS"
    kill "${loops[@]}" 2>/dev/null || true
  done
  : "$pid"
}

# ---- instructions per request: the figure this machine's noise does not move ----
# Each server runs under callgrind (valgrind), on the memory store and then on
# Redis, and answers N1, then (a fresh process) N2 requests over one keep-alive
# connection; the difference over N2 - N1 is the work of one request, start-up
# and the user's registration cancelling out. User space only: the kernel's
# share (the same syscalls on both sides) and redis-server's own work (the same
# commands on both sides) are not counted.
instructions() {
  if ! need valgrind; then
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq valgrind >/dev/null
  fi
  local n1=200 n2=1200 rport; rport=$(start_redis)
  echo "callgrind, one keep-alive connection; instructions per request = (I($n2) - I($n1)) / $((n2 - n1))"
  printf '%-8s %-7s %14s %14s %6s\n' shape store "limit inst/req" "polyauth inst" ratio
  local store url
  for store in memory redis; do
    url="memory://"; [ $store = redis ] && url="redis://127.0.0.1:$rport/0"
    # A user for the limit server, made by a plain polyauth (its tokens are checked by key only;
    # on Redis the limit reads the user and token this polyauth stored).
    read -r sj mo _ pid <<<"$(start_polyauth "$url" 4)"
    read -r user uid access token <<<"$(make_user "$sj" "$mo")"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    local shape target n
    for shape in verify getuser opaque; do
      local -A per=()
      for target in limit polyauth; do
        local counts=()
        for n in $n1 $n2; do
          local out="$WORK/cg-$store-$shape-$target-$n" port a t
          if [ $target = limit ]; then
            port=$(free_port)
            local source=("memory" "$uid:$user:$token"); [ $store = redis ] && source=("$url")
            valgrind --tool=callgrind --callgrind-out-file="$out" "$LIMIT" "$port" "$KEY" "${source[@]}" \
              >"$out.log" 2>&1 &
            local vp=$!; track $vp; wait_slow "$port"; a=$access; t=$token
          else
            local sjp mop adp; sjp=$(free_port); mop=$(free_port); adp=$(free_port)
            write_config "$WORK/cg.toml" "$url" "$sjp" "$mop" "$adp" "[passwords]
bcrypt_cost = 4"
            POLYAUTH_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" serve --config "$WORK/cg.toml" \
              >"$out.log" 2>&1 &
            local vp=$!; track $vp; wait_slow "$sjp"; wait_slow "$mop"
            read -r _ _ a t <<<"$(make_user "$sjp" "$mop")"
            port=$sjp; [ $shape = opaque ] && port=$mop
          fi
          python3 - "$port" "$shape" "$a" "$t" "$n" <<'PY'
import http.client, sys
port, shape, access, token, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
path, method, headers, body = {
    "verify": ("/auth/token/verify", "POST", {"Content-Type": "application/json"}, '{"token":"%s"}' % access),
    "getuser": ("/auth/getuser", "GET", {"Authorization": "Bearer " + access}, None),
    "opaque": ("/api/auth/token/verify/", "GET", {"Authorization": "Token " + token}, None),
}[shape]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit(f"{shape}: answered {r.status}")
PY
          # polyauth ends on SIGINT (graceful), the limit server on SIGTERM; callgrind writes on either.
          kill -INT "$vp" 2>/dev/null || true; sleep 2; kill -TERM "$vp" 2>/dev/null || true
          wait "$vp" 2>/dev/null || true
          counts+=("$(awk '/^summary:/ {print $2}' "$out")")
        done
        per[$target]=$(( (counts[1] - counts[0]) / (n2 - n1) ))
      done
      printf '%-8s %-7s %14d %14d %5d%%\n' "$shape" "$store" "${per[limit]}" "${per[polyauth]}" \
        $(( 100 * per[limit] / per[polyauth] ))
    done
  done
}
# wait_port, for a server starting under valgrind (tens of times slower).
wait_slow() { for _ in $(seq 5); do wait_port "$1" 2>/dev/null && return 0; done; echo "port $1 did not open" >&2; return 1; }

# ---- resident memory under 256 connections ----
rss() {
  local rport; rport=$(start_redis)
  read -r sj mo _ pid <<<"$(start_polyauth "redis://127.0.0.1:$rport/0" 4)"
  read -r _ _ access _ <<<"$(make_user "$sj" "$mo")"
  local g; g=$(lua rgetuser GET - "Bearer $access")
  echo "polyauth on Redis, idle: $(grep -E 'VmRSS' /proc/"$pid"/status | tr -s ' \t' ' ')"
  wrk_run rss-256 getuser "http://127.0.0.1:$sj/auth/getuser" "$g" 256 | tee -a "$RESULTS"
  echo "after getuser at 256 connections: $(grep -E 'VmHWM|VmRSS' /proc/"$pid"/status | tr -s ' \t' ' ' | paste -sd' ')"
}

# ---- time from spawn to the first 200 on /readyz ----
ready() {
  local rport; rport=$(start_redis)
  for store in memory:// "redis://127.0.0.1:$rport/0"; do
    local sj mo ad; sj=$(free_port); mo=$(free_port); ad=$(free_port)
    write_config "$WORK/ready.toml" "$store" "$sj" "$mo" "$ad"
    python3 - "$BIN" "$WORK/ready.toml" "$ad" "$store" <<'PY'
import http.client, statistics, subprocess, sys, time
binary, config, port, store = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
times = []
for _ in range(7):
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env={"POLYAUTH_LOG": "warn"})
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.perf_counter() - t0 > 10:
            sys.exit("not ready in 10 s")
        time.sleep(0.0005)
    times.append((time.perf_counter() - t0) * 1000)
    p.terminate(); p.wait()
name = "memory" if store.startswith("memory") else "Redis"
print(f"ready on {name}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms (7 starts, spawn to the first 200 on /readyz)")
PY
  done
}

# ---- getuser with 1k and with 1M stored users (Redis) ----
scale() {
  local rport; rport=$(start_redis)
  read -r sj mo _ _ <<<"$(start_polyauth "redis://127.0.0.1:$rport/0" 4)"
  read -r _ _ access _ <<<"$(make_user "$sj" "$mo")"
  local g; g=$(lua sgetuser GET - "Bearer $access") have=1
  for total in 1000 1000000; do
    # User records in the store's own layout (README, "Redis key layout"), ids after the bench's user.
    python3 - "$have" "$total" <<'PY' | redis-cli -p "$rport" --pipe >/dev/null
import sys
start, end = int(sys.argv[1]) + 1, int(sys.argv[2])
out = sys.stdout.buffer
def cmd(*args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(b)
h = "$2b$04$" + "x" * 53
for i in range(start, end + 1):
    out.write(cmd("HSET", f"pa:{{u:{i}}}:user", "username", f"seed{i}", "email", f"seed{i}@example.com",
                  "password_hash", h, "is_active", "1", "email_verified", "0", "is_staff", "0",
                  "date_joined", "1700000000", "last_login", "", "tokens_revoked_at", ""))
    out.write(cmd("SET", f"pa:username:seed{i}", str(i)))
out.write(cmd("SET", "pa:next_user_id", str(end)))
PY
    have=$total
    echo "$(redis-cli -p "$rport" DBSIZE) keys in Redis" >&2
    wrk_run "users-$total" getuser "http://127.0.0.1:$sj/auth/getuser" "$g" | tee -a "$RESULTS"
  done
}

case $MODE in
  table) table ;;
  login-load) login_load ;;
  instructions) instructions ;;
  rss) rss ;;
  ready) ready ;;
  scale) scale ;;
  all) table; login_load; instructions; rss; ready; scale ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
