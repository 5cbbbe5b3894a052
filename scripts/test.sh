#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs when missing
# (redis-server, PostgreSQL, openssl, Chromium and libfaketime (`faketime`);
# cargo-nextest; promtool, docker-compose and haproxy to validate deploy/ offline,
# from Debian packages; kubernetes-validate, botocore and
# PyYAML from PyPI), then builds and tests the JS client (clients/js: npm ci, tsc +
# bundle, unit tests), runs the format check, clippy and every Rust test, and the JS
# client's headless-Chromium test against the server binary. Tests start their own
# throwaway redis-server / PostgreSQL / synckairos processes on free loopback ports;
# nothing here starts a system service.
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
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# libfaketime: the clock-skew tests run instances off this machine's clock.
ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || need+=(faketime)
# Node.js >= 20 and npm come with the machine; Debian's are a fallback.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
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

if ! python3 -c 'import kubernetes_validate, botocore, yaml' >/dev/null 2>&1; then
  echo "installing: kubernetes-validate botocore pyyaml (PyPI)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    kubernetes-validate botocore pyyaml
fi

# First, so that the server binary embeds the freshly built client (/demo/synckairos.js).
echo "== clients/js: npm ci, build, unit tests"
(
  cd clients/js
  npm ci --no-audit --no-fund --loglevel=error
  npm run build --silent
  node --test test/unit/
)

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

echo "== clients/js: headless Chromium against the server (E2E_DURATION_S=${E2E_DURATION_S:-10})"
cargo build --bin synckairos
(cd clients/js && E2E_DURATION_S="${E2E_DURATION_S:-10}" node --test test/e2e/)

# The server serves the committed build (include_str!): it must match the sources.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
  [ -n "$(git status --porcelain -- clients/js/dist)" ]; then
  git status --short -- clients/js/dist
  echo "clients/js/dist differs from the committed build: commit the output of 'npm run build'" >&2
  exit 1
fi
echo "== all green"
