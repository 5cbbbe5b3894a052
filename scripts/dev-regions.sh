#!/usr/bin/env bash
# A local three-region SyncKairos cluster for developers, no Docker needed. A thin
# wrapper: it builds, then runs `synckairos-cluster` (cluster/), the one implementation
# of the local cluster that the tests and the bench use too.
#
#   scripts/dev-regions.sh up                # build, start everything, wait for /health and the relay links
#   scripts/dev-regions.sh status            # processes, health, cut links
#                                            # (exit 0 all running, 1 some dead, 3 not up)
#   scripts/dev-regions.sh partition REGION  # cut every link to and from REGION
#   scripts/dev-regions.sh partition --from X --to Y   # cut only the connections X opens to Y
#   scripts/dev-regions.sh heal REGION       # restore them (blackholed connections reset)
#   scripts/dev-regions.sh heal --from X --to Y | heal --all
#   scripts/dev-regions.sh down              # stop everything `up` started
#
# `up` takes the options of `synckairos-cluster up` (`--instances N`, `--env K=V`,
# `--relay dev|tests`). Per region (iad, lhr, nrt): one redis-server and two
# `synckairos` instances sharing it; regions talk only through
# `synckairos-delay-proxy`, one per ordered pair X→Y, with the one-way delay of that
# link (iad–lhr 40 ms, iad–nrt 80 ms, lhr–nrt 120 ms). Everything lives under
# target/dev-regions/: regions.json (per region `instances` = public base URLs,
# `internal` = internal API URLs, `redis`, `link_delay_ms`; `links`; the cluster
# `secret`), pids, partitions.json, regions/ (generated configuration), redis/,
# logs/<name>.log. DEV_REGIONS_PROFILE=debug uses a debug build (default: release).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${DEV_REGIONS_PROFILE:-release}"
case "$PROFILE" in
  release) BUILD=(cargo build --release) OTHER=debug ;;
  debug) BUILD=(cargo build) OTHER=release ;;
  *) echo "dev-regions: DEV_REGIONS_PROFILE must be release or debug" >&2; exit 2 ;;
esac
TARGET="${CARGO_TARGET_DIR:-target}"

if [ "${1:-}" = up ]; then
  "${BUILD[@]}" -p synckairos -p synckairos-cluster
fi
# Any build of the tool can act on a running cluster (down after a debug `up`...).
BIN="$TARGET/$PROFILE/synckairos-cluster"
[ -x "$BIN" ] || [ "${1:-}" = up ] || BIN="$TARGET/$OTHER/synckairos-cluster"
[ -x "$BIN" ] || { echo "dev-regions: $BIN is missing (scripts/dev-regions.sh up builds it)" >&2; exit 1; }
exec "$BIN" --state target/dev-regions "$@"
