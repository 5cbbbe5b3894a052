# PLATFORM=docker: SyncKairos on one Docker host with Docker Compose
# (deploy/docker/compose.yaml): three instances behind HAProxy, Redis (appendfsync
# always, noeviction) and PostgreSQL. Sourced by scripts/deploy.sh.
#
#   PLATFORM=docker scripts/deploy.sh [--dry-run] [--monitoring] [--replicas N]
#
#   --monitoring  also start Prometheus (:9090) and Grafana (:3300) with the alert
#                 rules and the dashboard of deploy/
#   --replicas N  SyncKairos instances (default 3)
#
# POSTGRES_PASSWORD: taken from the environment, else from deploy/docker/.env, else
# generated once into deploy/docker/.env (mode 600, ignored by git).

deploy_main() {
  local monitoring=() replicas=3
  while [ $# -gt 0 ]; do
    case "$1" in
      --monitoring) monitoring=(--profile monitoring) ;;
      --replicas) replicas="${2:?--replicas needs a number}"; shift ;;
      *) die "docker: unknown argument $1 (see scripts/deploy/docker.sh)" ;;
    esac
    shift
  done
  [[ "$replicas" =~ ^[1-9][0-9]*$ ]] || die "--replicas must be a positive number"
  local file=deploy/docker/compose.yaml env=deploy/docker/.env
  [ -f "$file" ] || die "$file not found"

  need docker "install Docker Engine with the compose plugin (v2)"
  local compose=(docker compose)
  run docker compose version
  run docker info --format '{{.ServerVersion}}'

  # The database password lives in the environment or in deploy/docker/.env only.
  if [ -z "${POSTGRES_PASSWORD:-}" ] && ! grep -q '^POSTGRES_PASSWORD=' "$env" 2>/dev/null; then
    if [ "$DRY" = 1 ]; then
      echo "+ umask 077 && echo POSTGRES_PASSWORD=<generated> >> $env"
    else
      (umask 077 && echo "POSTGRES_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >>"$env")
      echo "# generated POSTGRES_PASSWORD into $env"
    fi
  fi

  local up=("${compose[@]}" -p synckairos -f "$file" "${monitoring[@]}")
  run "${up[@]}" config --quiet
  run "${up[@]}" up -d --build --scale "synckairos=$replicas" --wait
  run "${up[@]}" ps
  run curl -fsS "http://127.0.0.1:${SYNCKAIROS_HTTP_PORT:-3000}/ready"
  echo "# API and WebSockets: http://127.0.0.1:${SYNCKAIROS_HTTP_PORT:-3000}   logs: ${compose[*]} -p synckairos -f $file logs -f synckairos"
}
