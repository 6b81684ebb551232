#!/usr/bin/env bash
# The test command: installs the pinned toolchain (rust-toolchain.toml) and the
# Debian packages the suite runs when they are missing — redis-server and
# redis-cli (the Redis-store tests start their own server on a free port, and
# a local Redis Cluster joined with redis-cli; Debian's redis-server brings
# redis-cli in redis-tools) and chromium (the CORS browser tests run it
# headless) — and the pinned Django packages the migration tests build a
# legacy database with (pip, into target/django-legacy, not the system; the
# tests find them through LEGACY_DJANGO_PYTHONPATH, not a POLYAUTH_ name: those
# are config overrides), then runs the whole suite with the dependencies of
# Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
rustc --version >/dev/null 2>&1 || rustup toolchain install
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]} (apt-get)" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
DJANGO_DIR=$(scripts/django-packages.sh)
export LEGACY_DJANGO_PYTHONPATH="$DJANGO_DIR"
exec cargo test --locked "$@"
