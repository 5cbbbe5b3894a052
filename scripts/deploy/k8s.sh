# PLATFORM=k8s: SyncKairos on a Kubernetes cluster (deploy/k8s/): a Deployment without
# session affinity, Service, PodDisruptionBudget, HPA on CPU, memory and WebSocket
# connections per pod, and the prometheus-adapter rule for the latter. Sourced by
# scripts/deploy.sh.
#
#   IMAGE=registry.example.com/synckairos:TAG REDIS_URL=rediss://... \
#     [DATABASE_URL=postgres://...] PLATFORM=k8s scripts/deploy.sh [--dry-run] [--no-build]
#
#   --no-build   IMAGE is already pushed (skip docker build/push)
#
# The current kubectl context is used. REDIS_URL and DATABASE_URL go into the Secret
# `synckairos-secrets` (created or updated here, never in a file). The adapter rule is
# applied in namespace `monitoring` and installed with helm when helm is present.

deploy_main() {
  local build=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-build) build=0 ;;
      *) die "k8s: unknown argument $1 (see scripts/deploy/k8s.sh)" ;;
    esac
    shift
  done
  local image redis
  image=$(required IMAGE "the image to run, e.g. registry.example.com/synckairos:1")
  redis=$(required REDIS_URL "the region's Redis (rediss://user:password@host:port for TLS)")
  need kubectl "https://kubernetes.io/docs/tasks/tools/"
  run kubectl version --client
  run kubectl config current-context

  if [ "$build" = 1 ]; then
    need docker "install Docker, or build elsewhere and pass --no-build"
    run docker build -t "$image" .
    run docker push "$image"
  fi

  run kubectl apply -f deploy/k8s/namespace.yaml
  local secret=(kubectl -n synckairos create secret generic synckairos-secrets
    --from-literal="REDIS_URL=$redis")
  local shown="kubectl -n synckairos create secret generic synckairos-secrets --from-literal=REDIS_URL=<redacted>"
  if [ -n "${DATABASE_URL:-}" ] || [ "$DRY" = 1 ]; then
    secret+=(--from-literal="DATABASE_URL=${DATABASE_URL:-}")
    shown+=" --from-literal=DATABASE_URL=<redacted>"
  fi
  secret+=(--dry-run=client -o yaml)
  if [ "$DRY" = 1 ]; then
    echo "+ $shown --dry-run=client -o yaml | kubectl apply -f -"
  else
    echo "+ $shown --dry-run=client -o yaml | kubectl apply -f -"
    "${secret[@]}" | kubectl apply -f -
  fi

  # The adapter serving synckairos_websocket_connections per pod to the HPA.
  if [ "$DRY" = 1 ]; then
    echo "+ kubectl create namespace monitoring --dry-run=client -o yaml | kubectl apply -f -"
  else
    echo "+ kubectl create namespace monitoring --dry-run=client -o yaml | kubectl apply -f -"
    kubectl create namespace monitoring --dry-run=client -o yaml | kubectl apply -f -
  fi
  run kubectl apply -f deploy/k8s/prometheus-adapter.yaml
  if [ "$DRY" = 1 ] || command -v helm >/dev/null 2>&1; then
    run helm upgrade --install prometheus-adapter prometheus-adapter \
      --repo https://prometheus-community.github.io/helm-charts -n monitoring \
      --set rules.existing=synckairos-adapter-rules \
      --set "prometheus.url=${PROMETHEUS_URL:-http://prometheus-server.monitoring.svc}" \
      --set "prometheus.port=${PROMETHEUS_PORT:-80}"
  else
    echo "deploy: warning: helm not found; install prometheus-adapter with rules.existing=synckairos-adapter-rules (deploy/README.md), or the HPA scales on CPU and memory only" >&2
  fi

  # deploy/k8s with the image set (a staged copy: the repository stays untouched).
  local stage name="${image%:*}" tag="${image##*:}"
  if [[ "$image" != *:* || "$tag" == */* ]]; then name="$image" tag=latest; fi
  stage=$(mktemp -d)
  cp deploy/k8s/*.yaml "$stage/"
  printf 'images:\n  - name: synckairos\n    newName: %s\n    newTag: "%s"\n' "$name" "$tag" \
    >>"$stage/kustomization.yaml"
  echo "# $stage: deploy/k8s with image $name:$tag"
  run kubectl apply -k "$stage"
  rm -rf "$stage"
  run kubectl -n synckairos rollout status deployment/synckairos --timeout=5m
  run kubectl -n synckairos get pods,svc,hpa,pdb
}
