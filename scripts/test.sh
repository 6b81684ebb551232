#!/usr/bin/env bash
# The test command: installs the pinned toolchain (rust-toolchain.toml) and
# redis-server when they are missing (the Redis-store tests start their own on
# a free port), then runs the whole suite with the dependencies of Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
rustc --version >/dev/null 2>&1 || rustup toolchain install
if ! command -v redis-server >/dev/null 2>&1; then
  echo "test.sh: installing redis-server (apt-get)" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq redis-server >/dev/null
fi
exec cargo test --locked "$@"
