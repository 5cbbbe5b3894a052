# PLATFORM=railway: SyncKairos as one Railway service (deploy/railway.toml) with a
# Railway Redis and PostgreSQL in the same project, one region. Sourced by
# scripts/deploy.sh.
#
#   PLATFORM=railway scripts/deploy.sh [--dry-run] [--service NAME]
#
#   --service NAME  the Railway service (default: RAILWAY_SERVICE, else synckairos)
#
# Needs the Railway CLI, logged in and linked to the project (`railway link`). Once, in
# the service's settings: config-as-code path `/deploy/railway.toml` (Railway looks
# for railway.toml at the root otherwise). REDIS_URL and DATABASE_URL are references
# to the Redis and Postgres services' variables, resolved by Railway: no password
# passes through this script.

deploy_main() {
  local service="${RAILWAY_SERVICE:-synckairos}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --service) service="${2:?--service needs a name}"; shift ;;
      *) die "railway: unknown argument $1 (see scripts/deploy/railway.sh)" ;;
    esac
    shift
  done
  [ -f deploy/railway.toml ] || die "deploy/railway.toml not found"
  need railway "npm install -g @railway/cli (or see railway.com/docs/cli)"
  run railway whoami
  run railway status

  # The stores, once per project (Railway's Redis and PostgreSQL templates).
  if [ "$DRY" = 1 ]; then
    echo "+ railway add --database redis      # if the project has no Redis service"
    echo "+ railway add --database postgres   # if the project has no Postgres service"
  else
    local status
    status=$(railway status --json 2>/dev/null || true)
    grep -qi '"name": *"redis"' <<<"$status" || run railway add --database redis
    grep -qi '"name": *"postgres"' <<<"$status" || run railway add --database postgres
  fi

  # Durability: every write fsynced, nothing evicted (Railway's Redis defaults differ).
  # `railway run` runs here with the Redis service's variables: its public URL. To keep
  # these across a Redis restart, also put them in the Redis service's start command
  # (deploy/README.md).
  need redis-cli "apt-get install redis-tools"
  local redis_cli='redis-cli -u "$REDIS_PUBLIC_URL"'
  for setting in "appendonly yes" "appendfsync always" "maxmemory-policy noeviction"; do
    echo "+ railway run --service Redis -- sh -c '$redis_cli CONFIG SET $setting'"
    [ "$DRY" = 1 ] || railway run --service Redis -- sh -c "$redis_cli CONFIG SET $setting"
  done
  echo "+ railway run --service Redis -- sh -c '$redis_cli CONFIG REWRITE'"
  [ "$DRY" = 1 ] || railway run --service Redis -- sh -c "$redis_cli CONFIG REWRITE" || true

  run railway variables --service "$service" \
    --set 'REDIS_URL=${{Redis.REDIS_URL}}' \
    --set 'DATABASE_URL=${{Postgres.DATABASE_URL}}' \
    --set "SYNCKAIROS_REGION=${SYNCKAIROS_REGION:-railway}" \
    --set SYNCKAIROS_LOG__FORMAT=json
  run railway up --service "$service" --detach
  run railway logs --service "$service" --deployment
}
