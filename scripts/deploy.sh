#!/usr/bin/env bash
# Deploys SyncKairos to one platform: what an operator runs.
#
#   PLATFORM=fly|railway|apprunner|docker|k8s scripts/deploy.sh [--dry-run] [OPTIONS]
#   scripts/deploy.sh --platform NAME [--dry-run] [OPTIONS]
#
#   --dry-run        print the commands without running anything (no platform tool,
#                    account or secret needed)
#   --platform NAME  same as PLATFORM=NAME (default: fly)
#
# Each platform's steps, options and variables are in scripts/deploy/<platform>.sh
# and deploy/README.md. Secrets (Redis and PostgreSQL URLs with their passwords, the
# cluster secret) are read from the environment or generated, and handed to the
# platform's secret store; they are never written to a file of the repository and
# never printed (dry runs show <redacted>).
set -euo pipefail
cd "$(dirname "$0")/.."

PLATFORM="${PLATFORM:-fly}"
DRY=0
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --platform) PLATFORM="${2:?--platform needs a name}"; shift ;;
    --platform=*) PLATFORM="${1#*=}" ;;
    -h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done

die() { echo "deploy: $*" >&2; exit 1; }

# Prints a command, and runs it unless this is a dry run.
run() {
  echo "+ $*"
  [ "$DRY" = 1 ] || "$@"
}

# Prints a command whose arguments hold secrets with them masked, and runs the real
# one unless this is a dry run. Usage: run_secret "<printed form>" cmd args...
run_secret() {
  local shown="$1"
  shift
  echo "+ $shown"
  [ "$DRY" = 1 ] || "$@"
}

# Fails unless TOOL is installed (dry runs only say what would be checked).
need() {
  local tool="$1" hint="$2"
  if [ "$DRY" = 1 ]; then
    echo "+ command -v $tool"
  else
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed: $hint"
  fi
}

# The value of variable NAME, or a placeholder in a dry run, or an error.
required() {
  local name="$1" why="$2"
  if [ -n "${!name:-}" ]; then
    echo "${!name}"
  elif [ "$DRY" = 1 ]; then
    echo "<$name>"
  else
    die "$name is not set: $why"
  fi
}

case "$PLATFORM" in
  fly|railway|apprunner|docker|k8s) ;;
  *) die "unknown PLATFORM '$PLATFORM' (fly, railway, apprunner, docker or k8s)" ;;
esac
[ "$DRY" = 1 ] && echo "# dry run ($PLATFORM): nothing is executed"
# shellcheck source=/dev/null
source "scripts/deploy/$PLATFORM.sh"
deploy_main ${ARGS[@]+"${ARGS[@]}"}
