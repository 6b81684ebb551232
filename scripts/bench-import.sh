#!/usr/bin/env bash
# Benchmark of `polyauth users import` (the dist binary, as the container image) into a private
# redis-server: generated dumpdata files of N users (one bcrypt hash, computed
# once and copied into every record: the import copies hashes, it never
# computes them), the rate the command reports and its peak RSS
# (/usr/bin/time -v), at two file sizes to show the RSS does not grow with
# the file. Then the login cost of a PBKDF2-SHA256 hash at 1,000,000
# iterations (Django's default) in polyauth, against Django's own
# check_password (given the Django packages: scripts/test.sh installs them
# into target/django-legacy).
#
#   scripts/bench-import.sh [--users N]      (default 100000; also runs N/10)
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --users) USERS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "bench-import: redis-server is missing (scripts/test.sh installs it)" >&2; exit 69; }
[ -x /usr/bin/time ] || { echo "bench-import: /usr/bin/time is missing (apt-get install time)" >&2; exit 69; }

cargo build --profile dist --quiet --locked --bin polyauth
BIN=target/dist/polyauth
WORK=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; return 1; }

# bcrypt("bench-password", cost 12), made once with Python's bcrypt.
HASH='$2b$12$ZsuC9Vy9IrBABYk/yO75p.3XCYjS91vOLREDvFFc.Dp93zLp9ss52'
gen() {  # n file: a dumpdata JSON array of n users
  python3 - "$1" "$2" "$HASH" <<'PY'
import json, sys
n, path, h = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "w") as f:
    f.write("[\n")
    for i in range(1, n + 1):
        rec = {"model": "auth.user", "pk": i, "fields": {"password": "bcrypt$" + h, "last_login": None,
               "is_superuser": False, "username": f"user{i}", "first_name": "", "last_name": "",
               "email": f"user{i}@bench.example", "is_staff": False, "is_active": True,
               "date_joined": "2024-01-02T03:04:05.678Z", "groups": [], "user_permissions": []}}
        f.write(("" if i == 1 else ",\n") + json.dumps(rec))
    f.write("\n]\n")
PY
}

run_import() {  # n
  local n=$1 port; port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
  PIDS+=($!); wait_port "$port"
  cat > "$WORK/gw.toml" <<TOML
dialects_dir = "$PWD/dialects"
[store]
url = "redis://127.0.0.1:$port"
[jwt]
signing_key = "bench-signing-key-0123456789abcdefghijkl"
TOML
  gen "$n" "$WORK/dump-$n.json"
  local size; size=$(du -m "$WORK/dump-$n.json" | cut -f1)
  /usr/bin/time -v "$BIN" users import "$WORK/dump-$n.json" --config "$WORK/gw.toml" >"$WORK/out-$n" 2>"$WORK/err-$n" || {
    cat "$WORK/out-$n" "$WORK/err-$n" >&2; exit 1; }
  local rate rss
  rate=$(grep -E '^[0-9]+ records in' "$WORK/out-$n")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f MiB", $2/1024}' "$WORK/err-$n")
  echo "import of $n users (${size} MB file) into Redis: $rate; peak RSS $rss"
  grep '^users:' "$WORK/out-$n"
}

echo "== users import (dist), bcrypt hashes copied"
run_import $((USERS / 10))
run_import "$USERS"

echo "== login cost, PBKDF2-SHA256 at 1,000,000 iterations"
DJ=${LEGACY_DJANGO_PYTHONPATH:-$PWD/target/django-legacy}
if ! PYTHONPATH="$DJ" python3 -c "import django" 2>/dev/null; then
  echo "(skipped: the Django packages are not in $DJ; run scripts/test.sh once)"; exit 0
fi
PYTHONPATH="$DJ" python3 - "$WORK" <<'PY'
import json, os, sys, time
from django.conf import settings
settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
import django
django.setup()
from django.contrib.auth.hashers import check_password, make_password
h = make_password("bench-password", salt="benchsalt1234567", hasher="pbkdf2_sha256")
assert h.startswith("pbkdf2_sha256$1000000$"), h
runs = []
for _ in range(5):
    t = time.perf_counter(); assert check_password("bench-password", h); runs.append(time.perf_counter() - t)
print(f"Django check_password: median {sorted(runs)[2]*1000:.0f} ms")
with open(os.path.join(sys.argv[1], "pbkdf2.json"), "w") as f:
    # Five users with the same legacy hash: each one's first login verifies it.
    json.dump([{"model": "auth.user", "pk": i, "fields": {"password": h, "username": f"pb{i}", "email": "",
                "is_active": True, "date_joined": "2024-01-01T00:00:00Z", "last_login": None}}
               for i in range(1, 6)], f)
PY
PORT=$(free_port)
cat > "$WORK/serve.toml" <<TOML
dialects_dir = "$PWD/dialects"
[store]
url = "memory://"
[jwt]
signing_key = "bench-signing-key-0123456789abcdefghijkl"
[passwords]
# The first login rewrites the legacy hash as bcrypt: at cost 4 that costs
# ~1 ms, so the time is the PBKDF2 verification's, as Django's is.
bcrypt_cost = 4
[users]
import_file = "$WORK/pbkdf2.json"
[[mount]]
dialect = "djoser"
listen = "127.0.0.1:$PORT"
prefix = "/"
TOML
"$BIN" serve --config "$WORK/serve.toml" 2>"$WORK/serve.log" &
PIDS+=($!); wait_port "$PORT"
python3 - "$PORT" <<'PY'
import json, sys, time, urllib.request
port = sys.argv[1]
def login(i):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/auth/token/login/", method="POST",
        data=json.dumps({"username": f"pb{i}", "password": "bench-password"}).encode(),
        headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        assert r.status == 200, r.status
    return time.perf_counter() - t
runs = sorted(login(i) for i in range(1, 6))
print(f"polyauth login (Djoser token/login over HTTP, each user's first, PBKDF2 verified then rehashed at bcrypt 4): median {runs[2]*1000:.0f} ms")
PY
