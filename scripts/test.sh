#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs when missing
# (redis-server, PostgreSQL, openssl; promtool, docker-compose and haproxy to validate
# deploy/ offline, from Debian packages; kubernetes-validate, botocore and PyYAML from
# PyPI), then runs the format check, clippy and every test. Tests start their own
# throwaway redis-server / PostgreSQL processes on free loopback ports; nothing here
# starts a system service.
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

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast
fi
echo "== all green"
