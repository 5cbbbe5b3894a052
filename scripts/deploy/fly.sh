# PLATFORM=fly (the default): deploys SyncKairos to Fly.io and scales it in every
# region. Sourced by scripts/deploy.sh, which provides DRY, run, die, need, required.
#
#   scripts/deploy.sh [--dry-run] [--app NAME] [--count N] [REGION=N ...]
#
#   --app NAME  Fly app (default: FLY_APP, else `app` in fly.toml)
#   --count N   machines per region (default: DEPLOY_COUNT, else 2)
#   REGION=N    machines in one region (also DEPLOY_COUNT_<REGION>, e.g. DEPLOY_COUNT_SYD=1)
#
# Steps: check `fly` (and `jq`) is installed and logged in; create the app if it does
# not exist; set the cluster secret SYNCKAIROS_CLUSTER__SECRET if missing (generated,
# staged for the deploy); check each region's Redis (a `REDIS_URL_<REGION>` secret
# for a managed Redis such as Upstash over TLS, else the Redis app named in
# regions/<region>.toml); `fly deploy --remote-only` (Fly's builders build the
# Dockerfile); `fly scale count N --region R` for each region with a regions/R.toml
# (the most machines autostart may run there); keep one machine per region always
# running (`fly machine update --autostop=off`: min_machines_running only covers the
# primary region, and every region needs a live instance for its deadlines, relay and
# WebSockets); print `fly status`.

APP="${FLY_APP:-}"
DEFAULT_COUNT="${DEPLOY_COUNT:-2}"
declare -A COUNT
REGIONS=()

is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }

count_for() {
  local r="$1" env_name
  env_name="DEPLOY_COUNT_$(echo "$r" | tr 'a-z-' 'A-Z_')"
  local n="${COUNT[$r]:-${!env_name:-$DEFAULT_COUNT}}"
  is_count "$n" || die "count for $r must be a number (got $n)"
  echo "$n"
}

fly_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --app) APP="${2:?--app needs a name}"; shift ;;
      --count) DEFAULT_COUNT="${2:?--count needs a number}"; shift ;;
      *=*) COUNT["${1%%=*}"]="${1#*=}" ;;
      *) die "fly: unknown argument $1 (see scripts/deploy/fly.sh)" ;;
    esac
    shift
  done
  is_count "$DEFAULT_COUNT" || die "--count / DEPLOY_COUNT must be a number"
}

# Regions: one file per region next to default.toml; each must be in cluster.regions.
fly_regions() {
  for f in regions/*.toml; do
    local r
    r=$(basename "$f" .toml)
    [ "$r" = default ] || REGIONS+=("$r")
  done
  [ ${#REGIONS[@]} -gt 0 ] || die "no regions/<region>.toml"
  local declared
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
  for r in "${REGIONS[@]}"; do
    count_for "$r" >/dev/null # exits on a bad count
  done
}

deploy_main() {
  fly_args "$@"
  [ -f fly.toml ] || die "fly.toml not found"
  [ -n "$APP" ] || APP=$(sed -n 's/^app *= *"\(.*\)"/\1/p' fly.toml | head -n1)
  [ -n "$APP" ] || die "no app name (fly.toml has no app; use --app)"
  fly_regions

  local FLY=fly
  if ! command -v fly >/dev/null 2>&1 && command -v flyctl >/dev/null 2>&1; then FLY=flyctl; fi
  echo "# app $APP, regions: $(for r in "${REGIONS[@]}"; do printf '%s=%s ' "$r" "$(count_for "$r")"; done)"

  # 1. fly installed and logged in; jq reads machine lists.
  need "$FLY" "curl -L https://fly.io/install.sh | sh"
  need jq "apt-get install jq"
  if [ "$DRY" = 1 ]; then
    echo "+ $FLY auth whoami"
  else
    "$FLY" auth whoami >/dev/null 2>&1 || die "not logged in to Fly: $FLY auth login"
  fi

  # 2. The app exists.
  if [ "$DRY" = 1 ]; then
    echo "+ $FLY status --app $APP || $FLY apps create $APP"
  elif ! "$FLY" status --app "$APP" >/dev/null 2>&1; then
    run "$FLY" apps create "$APP"
  fi

  # 3. The cluster secret (never in a file); generated once, kept across deploys.
  local secrets=""
  if [ "$DRY" = 1 ]; then
    echo "+ $FLY secrets list --app $APP --json   # has SYNCKAIROS_CLUSTER__SECRET? if not:"
    echo "+ $FLY secrets set --app $APP --stage SYNCKAIROS_CLUSTER__SECRET=<32 random hex characters>"
    echo "+ $FLY secrets set --app $APP --stage SYNCKAIROS_AUTH__KEYS__K1__SECRET=<64 random hex characters>   # if missing"
  else
    secrets=$("$FLY" secrets list --app "$APP" --json)
    if ! grep -q '"SYNCKAIROS_CLUSTER__SECRET"' <<<"$secrets"; then
      local secret
      secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
      run_secret "$FLY secrets set --app $APP --stage SYNCKAIROS_CLUSTER__SECRET=<generated>" \
        "$FLY" secrets set --app "$APP" --stage "SYNCKAIROS_CLUSTER__SECRET=$secret"
    fi
    # The HMAC key that signs and verifies tokens (auth.mode = "on" in regions/*.toml).
    if ! grep -q '"SYNCKAIROS_AUTH__KEYS__K1__SECRET"' <<<"$secrets"; then
      local key
      key=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
      run_secret "$FLY secrets set --app $APP --stage SYNCKAIROS_AUTH__KEYS__K1__SECRET=<generated>" \
        "$FLY" secrets set --app "$APP" --stage "SYNCKAIROS_AUTH__KEYS__K1__SECRET=$key"
    fi
  fi

  # 4. Each region's Redis: a REDIS_URL_<REGION> secret (managed Redis, password or
  #    ACL user in the URL, rediss:// for TLS), else the Redis app of regions/<r>.toml.
  for r in "${REGIONS[@]}"; do
    local var host
    var="REDIS_URL_$(echo "$r" | tr 'a-z-' 'A-Z_')"
    host=$(sed -n 's#^url *= *"redis://\([^:/"]*\).*#\1#p' "regions/$r.toml" | head -n1)
    if [ "$DRY" = 1 ]; then
      echo "+ $FLY secrets list --app $APP --json   # has $var? if not: $FLY status --app ${host%.internal}"
    elif grep -q "\"$var\"" <<<"$secrets"; then
      echo "# $r: Redis from the secret $var"
    elif [[ "$host" == *.internal ]] && ! "$FLY" status --app "${host%.internal}" >/dev/null 2>&1; then
      echo "deploy: warning: no secret $var and Redis app ${host%.internal} (region $r) not found; $r instances will not be ready" >&2
    fi
  done

  # 5. Build remotely and roll out to the existing machines.
  run "$FLY" deploy --remote-only --app "$APP" --config fly.toml

  # 6. Machines per region: the ceiling autostart works within.
  for r in "${REGIONS[@]}"; do
    run "$FLY" scale count "$(count_for "$r")" --region "$r" --app "$APP" --yes
  done

  # 7. One machine per region never autostops (deploys reset it, so every deploy pins).
  for r in "${REGIONS[@]}"; do
    if [ "$DRY" = 1 ]; then
      echo "+ $FLY machine update <first machine in $r> --autostop=off --app $APP --yes"
    else
      local id
      id=$("$FLY" machines list --app "$APP" --json |
        jq -r --arg r "$r" '[.[] | select(.region == $r)] | sort_by(.id) | .[0].id // empty')
      [ -n "$id" ] || die "no machine in $r after scaling"
      run "$FLY" machine update "$id" --autostop=off --app "$APP" --yes
    fi
  done

  # 8. Where things stand.
  run "$FLY" status --app "$APP"
  echo "# logs: $FLY logs --app $APP   (one region: --region R)"
}
