#!/usr/bin/env bash
# Deploys SyncKairos to Fly.io and scales it in every region: what an operator runs.
#
#   scripts/deploy.sh [--dry-run] [--app NAME] [--count N] [REGION=N ...]
#
#   --dry-run   print the commands without running anything (no fly needed)
#   --app NAME  Fly app (default: FLY_APP, else `app` in fly.toml)
#   --count N   machines per region (default: DEPLOY_COUNT, else 2)
#   REGION=N    machines in one region (also DEPLOY_COUNT_<REGION>, e.g. DEPLOY_COUNT_SYD=1)
#
# Steps: check `fly` is installed and logged in; create the app if it does not exist;
# set the cluster secret SYNCKAIROS_CLUSTER__SECRET if missing (generated, staged for
# the deploy); warn about regions whose Redis app is missing; `fly deploy
# --remote-only` (Fly's builders build the Dockerfile); `fly scale count N --region R`
# for each region with a regions/R.toml; print `fly status`.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0
APP="${FLY_APP:-}"
DEFAULT_COUNT="${DEPLOY_COUNT:-2}"
declare -A COUNT

die() { echo "deploy: $*" >&2; exit 1; }
usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }
is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --app) APP="${2:?--app needs a name}"; shift ;;
    --count) DEFAULT_COUNT="${2:?--count needs a number}"; shift ;;
    -h|--help) usage 0 ;;
    *=*) COUNT["${1%%=*}"]="${1#*=}" ;;
    *) echo "deploy: unknown argument $1" >&2; usage 2 ;;
  esac
  shift
done
is_count "$DEFAULT_COUNT" || die "--count / DEPLOY_COUNT must be a number"

[ -f fly.toml ] || die "fly.toml not found"
[ -n "$APP" ] || APP=$(sed -n 's/^app *= *"\(.*\)"/\1/p' fly.toml | head -n1)
[ -n "$APP" ] || die "no app name (fly.toml has no app; use --app)"

# Regions: one file per region next to default.toml; each must be in cluster.regions.
REGIONS=()
for f in regions/*.toml; do
  r=$(basename "$f" .toml)
  [ "$r" = default ] || REGIONS+=("$r")
done
[ ${#REGIONS[@]} -gt 0 ] || die "no regions/<region>.toml"
declared=$(sed -n 's/^regions *= *\[\(.*\)\]/\1/p' regions/default.toml | tr -d '" ' | tr ',' ' ')
for r in "${REGIONS[@]}"; do
  [[ " $declared " == *" $r "* ]] || die "regions/$r.toml exists but $r is not in cluster.regions of regions/default.toml"
done
for r in $declared; do
  [ -f "regions/$r.toml" ] || die "cluster.regions lists $r but regions/$r.toml is missing"
done
for r in "${!COUNT[@]}"; do
  [ -f "regions/$r.toml" ] || die "$r=${COUNT[$r]}: no regions/$r.toml"
done

count_for() {
  local r="$1" env_name
  env_name="DEPLOY_COUNT_$(echo "$r" | tr 'a-z-' 'A-Z_')"
  local n="${COUNT[$r]:-${!env_name:-$DEFAULT_COUNT}}"
  is_count "$n" || die "count for $r must be a number (got $n)"
  echo "$n"
}

for r in "${REGIONS[@]}"; do
  n=$(count_for "$r") # exits on a bad count
done

FLY=fly
if ! command -v fly >/dev/null 2>&1 && command -v flyctl >/dev/null 2>&1; then FLY=flyctl; fi

run() {
  echo "+ $*"
  [ "$DRY" = 1 ] || "$@"
}

[ "$DRY" = 1 ] && echo "# dry run: nothing is executed"
echo "# app $APP, regions: $(for r in "${REGIONS[@]}"; do printf '%s=%s ' "$r" "$(count_for "$r")"; done)"

# 1. fly installed and logged in.
if [ "$DRY" = 1 ]; then
  echo "+ $FLY auth whoami"
else
  command -v "$FLY" >/dev/null 2>&1 ||
    die "flyctl not installed: curl -L https://fly.io/install.sh | sh"
  "$FLY" auth whoami >/dev/null 2>&1 || die "not logged in to Fly: $FLY auth login"
fi

# 2. The app exists.
if [ "$DRY" = 1 ]; then
  echo "+ $FLY status --app $APP || $FLY apps create $APP"
elif ! "$FLY" status --app "$APP" >/dev/null 2>&1; then
  run "$FLY" apps create "$APP"
fi

# 3. The cluster secret (never in a file); generated once, kept across deploys.
if [ "$DRY" = 1 ]; then
  echo "+ $FLY secrets list --app $APP --json   # has SYNCKAIROS_CLUSTER__SECRET? if not:"
  echo "+ $FLY secrets set --app $APP --stage SYNCKAIROS_CLUSTER__SECRET=<32 random hex characters>"
elif ! "$FLY" secrets list --app "$APP" --json | grep -q '"SYNCKAIROS_CLUSTER__SECRET"'; then
  secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  echo "+ $FLY secrets set --app $APP --stage SYNCKAIROS_CLUSTER__SECRET=<generated>"
  "$FLY" secrets set --app "$APP" --stage "SYNCKAIROS_CLUSTER__SECRET=$secret" >/dev/null
fi

# 4. Each region's Redis app (named in regions/<region>.toml) should exist.
for r in "${REGIONS[@]}"; do
  host=$(sed -n 's#^url *= *"redis://\([^:/"]*\).*#\1#p' "regions/$r.toml" | head -n1)
  [[ "$host" == *.internal ]] || continue
  redis_app=${host%.internal}
  if [ "$DRY" = 1 ]; then
    echo "+ $FLY status --app $redis_app   # Redis of $r; warns if missing"
  elif ! "$FLY" status --app "$redis_app" >/dev/null 2>&1; then
    echo "deploy: warning: Redis app $redis_app (region $r) not found; $r instances will not be ready" >&2
  fi
done

# 5. Build remotely and roll out to the existing machines.
run "$FLY" deploy --remote-only --app "$APP" --config fly.toml

# 6. Machines per region.
for r in "${REGIONS[@]}"; do
  run "$FLY" scale count "$(count_for "$r")" --region "$r" --app "$APP" --yes
done

# 7. Where things stand.
run "$FLY" status --app "$APP"
echo "# logs: $FLY logs --app $APP   (one region: --region R)"
