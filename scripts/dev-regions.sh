#!/usr/bin/env bash
# A local three-region SyncKairos cluster for developers and tests, no Docker needed.
#
#   scripts/dev-regions.sh up                # build, start everything, wait for /health
#   scripts/dev-regions.sh status            # processes, health, partitioned links
#                                            # (exit 0 all running, 1 some dead, 3 not up)
#   scripts/dev-regions.sh partition REGION  # cut every link to and from REGION
#   scripts/dev-regions.sh heal REGION       # restore them (blackholed connections reset)
#   scripts/dev-regions.sh down              # stop everything `up` started
#
# Per region (iad, lhr, nrt): one redis-server and two `synckairos` instances sharing
# it. Regions talk to each other only through `synckairos-delay-proxy`, one per ordered
# pair X→Y, forwarding to Y's instances' internal ports with a one-way delay close to
# the real one (iad–lhr 40 ms, iad–nrt 80 ms, lhr–nrt 120 ms). Everything lives under
# target/dev-regions/: regions.json (what tests read: per region `instances` = public
# base URLs, `internal` = internal API URLs (direct, no delay), `redis`,
# `link_delay_ms`; and the cluster `secret`), regions/ (generated configuration),
# logs/<name>.log, pids. DEV_REGIONS_PROFILE=debug uses a debug build (default: release).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
STATE="target/dev-regions"
PIDS="$STATE/pids"
PARTS="$STATE/partitioned"
LOGS="$STATE/logs"
REGIONS=(iad lhr nrt)
PROFILE="${DEV_REGIONS_PROFILE:-release}"
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE"
T0=$(date +%s%N)

say() {
  local ms=$((($(date +%s%N) - T0) / 1000000))
  printf '[dev-regions %3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"
}
die() { echo "dev-regions: $*" >&2; exit 1; }

# One-way delay in ms between two regions (either order).
delay_ms() {
  case "$(printf '%s\n' "$1" "$2" | sort | tr '\n' ' ')" in
    "iad lhr ") echo 40 ;;
    "iad nrt ") echo 80 ;;
    "lhr nrt ") echo 120 ;;
    *) die "no delay for $1-$2" ;;
  esac
}

is_region() { local r; for r in "${REGIONS[@]}"; do [ "$r" = "$1" ] && return 0; done; return 1; }

# N free loopback ports outside the kernel's ephemeral range (so an outgoing
# connection cannot take one between picking and binding), each checked by binding it.
free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
pool = [p for p in range(10000, 32768) if not lo <= p <= hi] or list(range(20000, 30000))
random.shuffle(pool)
picked = []
for p in pool:
    if len(picked) == n:
        break
    try:
        for host in ("127.0.0.1", "0.0.0.0"):
            s = socket.socket()
            s.bind((host, p))
            s.close()
    except OSError:
        continue
    picked.append(p)
if len(picked) < n:
    sys.exit("not enough free ports")
print(" ".join(map(str, picked)))
EOF
}

redis_ping() {
  python3 - "$1" <<'EOF'
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
EOF
}

port_is_free() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# Whether PID is alive and still runs the program named in the pids file (or is
# this script's child just before it execs that program). A zombie has no cmdline.
ours() {
  local cmd
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
  [[ "$cmd" == *"$2"* || "$cmd" == *dev-regions.sh* ]]
}

prog_of() {
  case "$1" in
    redis) echo redis-server ;;
    proxy) echo synckairos-delay-proxy ;;
    instance) echo "$BIN_DIR/synckairos" ;;
  esac
}

# Starts "$@" in the background, logging to logs/NAME.log, and records it.
spawn() {
  local kind="$1" name="$2"
  shift 2
  "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
  echo "$kind $name $! $(prog_of "$kind")" >>"$PIDS"
}

any_alive() {
  [ -f "$PIDS" ] || return 1
  local kind name pid prog
  while read -r kind name pid prog; do
    ours "$pid" "$prog" && return 0
  done <"$PIDS"
  return 1
}

# Stops what the pids file lists: the links first (their connections drop, so no
# instance waits out its shutdown grace for a relay stream from another region),
# then the instances, then Redis.
do_down() {
  [ -f "$PIDS" ] || { echo "dev-regions: nothing running"; return 0; }
  local kind name pid prog k left
  for k in proxy instance redis; do
    while read -r kind name pid prog; do
      [ "$kind" = "$k" ] && ours "$pid" "$prog" && kill -TERM "$pid" 2>/dev/null || true
    done <"$PIDS"
    for _ in $(seq 150); do
      left=0
      while read -r kind name pid prog; do
        [ "$kind" = "$k" ] && ours "$pid" "$prog" && left=1
      done <"$PIDS"
      [ "$left" = 0 ] && break
      sleep 0.1
    done
    while read -r kind name pid prog; do
      if [ "$kind" = "$k" ] && ours "$pid" "$prog"; then
        echo "dev-regions: $name ($pid) ignored SIGTERM; killing" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done <"$PIDS"
  done
  rm -f "$PIDS" "$PARTS" "$STATE/regions.json" "$STATE"/*.addr
  say "down (logs kept in $LOGS)"
}

wait_until() { # SECONDS DESCRIPTION PID PROG CMD...
  local secs="$1" what="$2" pid="$3" prog="$4"
  shift 4
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ours "$pid" "$prog" || die "$what exited; see its log in $LOGS"
    [ "$SECONDS" -lt "$deadline" ] || die "$what not up after ${secs}s; see $LOGS"
    sleep 0.05
  done
}

do_up() {
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  command -v python3 >/dev/null || die "python3 not found"
  command -v curl >/dev/null || die "curl not found"
  if any_alive; then die "already up (scripts/dev-regions.sh down first)"; fi
  rm -f "$PIDS" "$PARTS"
  mkdir -p "$STATE/regions" "$LOGS"

  say "building synckairos + synckairos-delay-proxy ($PROFILE)"
  local build=(cargo build --bin synckairos --bin synckairos-delay-proxy)
  [ "$PROFILE" = release ] && build+=(--release)
  [ "$PROFILE" = release ] || [ "$PROFILE" = debug ] || die "DEV_REGIONS_PROFILE must be release or debug"
  "${build[@]}"
  say "built"

  trap 'rc=$?; trap - EXIT; if [ $rc -ne 0 ]; then echo "dev-regions: up failed; stopping what it started" >&2; do_down; fi; exit $rc' EXIT
  trap 'exit 130' INT TERM

  : >"$PIDS"
  rm -f "$LOGS"/*.log "$STATE"/*.addr "$STATE/regions.json"
  local secret
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  (umask 077 && echo "$secret" >"$STATE/secret")

  # Per region: Redis, 2 public and 2 internal ports; proxies bind port 0 themselves.
  local ports
  read -r -a ports <<<"$(free_ports $((${#REGIONS[@]} * 5)))"
  declare -A REDIS PUB1 PUB2 INT1 INT2 LINK
  local i=0 r y
  for r in "${REGIONS[@]}"; do
    REDIS[$r]=${ports[i]}; PUB1[$r]=${ports[i+1]}; PUB2[$r]=${ports[i+2]}
    INT1[$r]=${ports[i+3]}; INT2[$r]=${ports[i+4]}
    i=$((i + 5))
  done

  for r in "${REGIONS[@]}"; do
    port_is_free "${REDIS[$r]}" || die "port ${REDIS[$r]} taken"
    mkdir -p "$STATE/$r"
    spawn redis "redis-$r" redis-server --save "" --appendonly no --port "${REDIS[$r]}" \
      --bind 127.0.0.1 --dir "$STATE/$r"
  done
  for r in "${REGIONS[@]}"; do
    wait_until 10 "redis-$r" "$(awk -v n="redis-$r" '$2==n{print $3}' "$PIDS")" redis-server \
      redis_ping "${REDIS[$r]}"
  done
  say "redis up: $(for r in "${REGIONS[@]}"; do printf '%s=%s ' "$r" "${REDIS[$r]}"; done)"

  local x addr pid
  for x in "${REGIONS[@]}"; do
    for y in "${REGIONS[@]}"; do
      [ "$x" = "$y" ] && continue
      "$BIN_DIR/synckairos-delay-proxy" --listen 127.0.0.1:0 --to "127.0.0.1:${INT1[$y]}" \
        --to "127.0.0.1:${INT2[$y]}" --delay-ms "$(delay_ms "$x" "$y")" \
        </dev/null >"$STATE/$x-$y.addr" 2>>"$LOGS/proxy-$x-$y.log" 9>&- &
      pid=$!
      echo "proxy $x-$y $pid synckairos-delay-proxy" >>"$PIDS"
      wait_until 10 "proxy-$x-$y" "$pid" synckairos-delay-proxy test -s "$STATE/$x-$y.addr"
      addr=$(head -n1 "$STATE/$x-$y.addr")
      LINK[$x-$y]=${addr##*:}
    done
  done
  say "proxies up: $(for k in "${!LINK[@]}"; do printf '%s=%s ' "$k" "${LINK[$k]}"; done)"

  local quoted
  quoted=$(printf '"%s", ' "${REGIONS[@]}")
  cat >"$STATE/regions/default.toml" <<EOF
# Generated by scripts/dev-regions.sh up; rewritten each time.
[cluster]
regions = [${quoted%, }]
discovery = "static"
fly_replay = false
forward_timeout_ms = 3000

[relay]
log_max = 100000
heartbeat_ms = 500
link_timeout_ms = 2000
check_interval_ms = 2000
full_check_every = 6
EOF
  for x in "${REGIONS[@]}"; do
    {
      echo "# Generated by scripts/dev-regions.sh up: region $x. Peers are reached through"
      echo "# the delaying proxies (one-way delay in the comment)."
      echo "[redis]"
      echo "url = \"redis://127.0.0.1:${REDIS[$x]}\""
      echo
      echo "[cluster.peers]"
      for y in "${REGIONS[@]}"; do
        [ "$x" = "$y" ] && continue
        echo "$y = [\"http://127.0.0.1:${LINK[$x-$y]}\"]  # $(delay_ms "$x" "$y") ms"
      done
    } >"$STATE/regions/$x.toml"
  done

  local n pub int
  for r in "${REGIONS[@]}"; do
    for n in 1 2; do
      if [ "$n" = 1 ]; then pub=${PUB1[$r]}; int=${INT1[$r]}; else pub=${PUB2[$r]}; int=${INT2[$r]}; fi
      port_is_free "$pub" || die "port $pub taken"
      port_is_free "$int" || die "port $int taken"
      spawn instance "$r-$n" env -u FLY_REGION -u PRIMARY_REGION -u FLY_APP_NAME \
        SYNCKAIROS_REGION="$r" PORT="$pub" REDIS_URL="redis://127.0.0.1:${REDIS[$r]}" \
        SYNCKAIROS_CLUSTER__INTERNAL_PORT="$int" SYNCKAIROS_CLUSTER__SECRET="$secret" \
        SYNCKAIROS_REGIONS_DIR="$STATE/regions" SYNCKAIROS_SERVER__BIND=127.0.0.1 \
        SYNCKAIROS_CLUSTER__INTERNAL_BIND=127.0.0.1 SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE=0 \
        "$BIN_DIR/synckairos"
    done
  done
  for r in "${REGIONS[@]}"; do
    for n in 1 2; do
      if [ "$n" = 1 ]; then pub=${PUB1[$r]}; else pub=${PUB2[$r]}; fi
      wait_until 60 "$r-$n" "$(awk -v n="$r-$n" '$2==n{print $3}' "$PIDS")" "$BIN_DIR/synckairos" \
        curl -fsS --max-time 1 "http://127.0.0.1:$pub/health"
    done
  done
  say "instances healthy"

  {
    echo '{'
    echo "  \"secret\": \"$secret\","
    echo '  "regions": {'
    local first=1 links
    for r in "${REGIONS[@]}"; do
      links=""
      for y in "${REGIONS[@]}"; do
        [ "$r" = "$y" ] || links+="\"$y\": $(delay_ms "$r" "$y"), "
      done
      [ "$first" = 1 ] || echo ','
      first=0
      printf '    "%s": {\n' "$r"
      printf '      "instances": ["http://127.0.0.1:%s", "http://127.0.0.1:%s"],\n' "${PUB1[$r]}" "${PUB2[$r]}"
      printf '      "internal": ["http://127.0.0.1:%s", "http://127.0.0.1:%s"],\n' "${INT1[$r]}" "${INT2[$r]}"
      printf '      "redis": "redis://127.0.0.1:%s",\n' "${REDIS[$r]}"
      printf '      "link_delay_ms": {%s}\n' "${links%, }"
      printf '    }'
    done
    echo
    echo '  }'
    echo '}'
  } >"$STATE/regions.json.tmp"
  mv "$STATE/regions.json.tmp" "$STATE/regions.json"
  python3 -m json.tool "$STATE/regions.json" >/dev/null || die "wrote invalid regions.json"

  trap - EXIT INT TERM
  say "up: $STATE/regions.json"
  for r in "${REGIONS[@]}"; do
    echo "  $r  http://127.0.0.1:${PUB1[$r]}  http://127.0.0.1:${PUB2[$r]}  redis://127.0.0.1:${REDIS[$r]}"
  done
  echo "  logs: $LOGS/   stop: scripts/dev-regions.sh down"
}

partitioned() { [ -f "$PARTS" ] && grep -qx "$1" "$PARTS"; }

# Signals every proxy to or from REGION (heal: only links whose other end is not
# partitioned itself).
signal_links() {
  local sig="$1" region="$2" kind name pid prog x y count=0
  while read -r kind name pid prog; do
    [ "$kind" = proxy ] || continue
    x=${name%-*}; y=${name#*-}
    [ "$x" = "$region" ] || [ "$y" = "$region" ] || continue
    if [ "$sig" = USR2 ]; then
      { [ "$x" != "$region" ] && partitioned "$x"; } && continue
      { [ "$y" != "$region" ] && partitioned "$y"; } && continue
    fi
    ours "$pid" "$prog" || { echo "dev-regions: proxy $name ($pid) is not running" >&2; continue; }
    kill "-$sig" "$pid"
    count=$((count + 1))
    echo "  $name: SIG$sig"
  done <"$PIDS"
  say "$count link(s) signalled"
}

do_partition() {
  is_region "${1:-}" || die "usage: $0 partition REGION (one of ${REGIONS[*]})"
  any_alive || die "not running (scripts/dev-regions.sh up)"
  partitioned "$1" || echo "$1" >>"$PARTS"
  signal_links USR1 "$1"
}

do_heal() {
  is_region "${1:-}" || die "usage: $0 heal REGION (one of ${REGIONS[*]})"
  any_alive || die "not running (scripts/dev-regions.sh up)"
  if [ -f "$PARTS" ]; then
    grep -vx "$1" "$PARTS" >"$PARTS.tmp" || true
    mv "$PARTS.tmp" "$PARTS"
  fi
  signal_links USR2 "$1"
}

do_status() {
  [ -f "$PIDS" ] || { echo "dev-regions: not running"; return 3; }
  local kind name pid prog state extra port down=0
  while read -r kind name pid prog; do
    state=running extra=""
    ours "$pid" "$prog" || { state=DEAD; down=1; }
    case "$kind" in
      instance)
        port=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^PORT=//p' || true)
        if [ "$state" = running ] && [ -n "$port" ]; then
          extra="http://127.0.0.1:$port health=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/health" || true)"
        fi
        ;;
      proxy)
        extra="$(head -n1 "$STATE/$name.addr" 2>/dev/null) delay=$(delay_ms "${name%-*}" "${name#*-}")ms"
        if partitioned "${name%-*}" || partitioned "${name#*-}"; then extra+=" PARTITIONED"; fi
        ;;
    esac
    printf '%-9s %-14s pid %-7s %-8s %s\n' "$kind" "$name" "$pid" "$state" "$extra"
  done <"$PIDS"
  [ -f "$PARTS" ] && [ -s "$PARTS" ] && echo "partitioned regions: $(tr '\n' ' ' <"$PARTS")"
  echo "regions.json: $STATE/regions.json   logs: $LOGS/"
  return "$down"
}

# One command at a time (an `up` from a test harness racing a developer's `down`...).
# Children get fd 9 closed so the lock ends with the command, not the cluster.
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock "$@" 9 || die "another scripts/dev-regions.sh command is running ($STATE/.lock)"
}

case "${1:-}" in
  up) lock -n; do_up ;;
  down) lock -w 60; do_down ;;
  partition) lock -w 30; do_partition "${2:-}" ;;
  heal) lock -w 30; do_heal "${2:-}" ;;
  status) do_status ;;
  *) echo "usage: $0 up|down|status|partition REGION|heal REGION" >&2; exit 2 ;;
esac
