#!/usr/bin/env bash
# The test command: installs the pinned toolchain (rust-toolchain.toml) and
# redis-server and redis-cli when they are missing (the Redis-store tests start
# their own server on a free port, and a local Redis Cluster joined with
# redis-cli), then runs the whole suite with the dependencies of Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
rustc --version >/dev/null 2>&1 || rustup toolchain install
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  # Debian's redis-server brings redis-cli (redis-tools).
  echo "test.sh: installing redis-server and redis-cli (apt-get)" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi
exec cargo test --locked "$@"
