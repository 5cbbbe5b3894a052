#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs (redis-server and
# PostgreSQL from Debian packages, cargo-nextest with cargo) when missing, then runs
# the format check, clippy and every test. Tests start their own throwaway
# redis-server / PostgreSQL processes on free loopback ports; nothing here starts a
# system service.
#
# The integration tests are one binary (tests/it/) and need nextest's process per
# test: some set process environment variables or rely on process-wide state, so a
# plain `cargo test` running them all in one process is not a supported way to run
# the suite (`cargo test --test it -- <filter>` for a few is fine).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d keeps the packages from starting system services.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing: cargo-nextest"
  cargo install cargo-nextest --locked
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo nextest"
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
echo "== all green"
