#!/usr/bin/env bash
# Runs the standard benchmark set and writes bench/results/<YYYY-MM-DD>/.
#
#   scripts/bench.sh [--quick | --timing | --perf [--base-bin BIN]] [--out DIR] [--skip-build]
#
# Builds release, starts what it needs (the server, or the harness's null server
# when the server binary is missing; a redis-server and two instances for the
# Redis runs; the 3-region cluster for `regions`, with `synckairos-cluster`, the
# tool behind scripts/dev-regions.sh), runs the scenarios, and stops everything it
# started (by PID, also on error or Ctrl-C).
# --quick finishes in under 3 minutes on a 2-core machine (release build cached).
# --timing runs only the timing figures (full length): the JS client in Chromium on
# loopback and across regions, the clock-skew and lag-compensation measurements;
# summary in <out>/timing.md (written by every run).
# --perf runs only issue 15's figures (scripts/bench-perf.sh), each against this build
# and BIN (default target/base/synckairos: the previous commit's release build) in the
# same run: interleaved where the harness can hold both, one after the other otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

QUICK=0
TIMING_ONLY=0
PERF_ONLY=0
BASE_BIN="target/base/synckairos"
BUILD=1
OUT="bench/results/$(date -u +%F)"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --timing) TIMING_ONLY=1 ;;
        --perf) PERF_ONLY=1 ;;
        --base-bin) BASE_BIN="$2"; shift ;;
        --skip-build) BUILD=0 ;;
        --out) OUT="$2"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

if [[ $QUICK == 1 ]]; then
    DUR=5; WARM=1; CONNS=32; SESS=1024
    FAN_S=10; FAN_W=50; FAN_DUR=5
    IDLE_N=2000; IDLE_HOLD=6
    DL_N=100; DL_GRACE=3
    REG_SAMPLES=50
else
    DUR=20; WARM=3; CONNS=64; SESS=4096
    FAN_S=20; FAN_W=100; FAN_DUR=20
    IDLE_N=10000; IDLE_HOLD=12
    DL_N=500; DL_GRACE=5
    REG_SAMPLES=200
fi

LOGS="$OUT/raw"
mkdir -p "$LOGS"
TMP="$(mktemp -d)"
# Relative paths (the script runs from the repo root), so the recorded commands are portable.
BENCH="target/release/synckairos-bench"
SERVER_BIN="target/release/synckairos"
CLUSTER="target/release/synckairos-cluster"
PIDS=()
REGIONS_UP=0
SERVER_BUILD_FAILED=0
T0=$SECONDS

log() { printf '\n[bench.sh %3ds] %s\n' "$((SECONDS - T0))" "$*"; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ $REGIONS_UP == 1 ]]; then
        "$CLUSTER" down >>"$LOGS/dev-regions.log" 2>&1 || true
    fi
    for pid in "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [[ -z "$pid" ]] && continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Many sockets (idle scenario): raise the soft open-file limit for everything started here.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    for _ in $(seq 100); do
        # Below Linux's ephemeral range (32768+): thousands of client sockets (idle)
        # must not be holding the port we hand to a server.
        p=$((15000 + RANDOM % 17000))
        if port_free "$p"; then echo "$p"; return 0; fi
    done
    echo "no free port" >&2; return 1
}

# start NAME CMD... : starts CMD in the background, logs to raw/NAME.log, records its PID.
start() {
    local name="$1"; shift
    "$@" >"$LOGS/$name.log" 2>&1 &
    PIDS+=("$!")
    LAST_PID=$!
}

# stop PID: stops one process this script started.
stop() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

server_env=(SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE=0 SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND=0 SYNCKAIROS_QUOTAS__CREATES_PER_MINUTE=0 SYNCKAIROS_QUOTAS__LIVE_SESSIONS=0 SYNCKAIROS_SERVER__MAX_CONNECTIONS_PER_ADDRESS=0 RUST_LOG=warn)

# start_bin NAME BIN PORT [ENV=VAL...]: a server binary (sets LAST_PID); fails if not healthy.
start_bin() {
    local name="$1" bin="$2" port="$3"; shift 3
    start "$name" env "${server_env[@]}" PORT="$port" "$@" "$bin"
    "$BENCH" probe --url "http://127.0.0.1:$port" --path /health --wait 15 >/dev/null 2>&1
}

# start_server NAME PORT [ENV=VAL...]: the real server (sets LAST_PID); fails if not healthy.
start_server() {
    local name="$1" port="$2"; shift 2
    start_bin "$name" "$SERVER_BIN" "$port" "$@"
}

# start_redis NAME: a throwaway redis-server (no persistence) on a free port; sets RPORT
# and REDIS_PID (empty when it would not start).
start_redis() {
    local dir="$TMP/$1"
    mkdir -p "$dir"
    REDIS_PID=""
    for _ in 1 2 3 4 5; do
        RPORT=$(free_port)
        start "$1" bash -c "cd '$dir' && exec redis-server --port $RPORT --save '' --appendonly no --daemonize no"
        REDIS_PID=$LAST_PID
        for _ in $(seq 50); do port_free "$RPORT" || break; sleep 0.1; done
        if kill -0 "$REDIS_PID" 2>/dev/null && ! port_free "$RPORT"; then return 0; fi
        stop "$REDIS_PID"; REDIS_PID=""
    done
    return 1
}

# start_null NAME PORT [--raw]: the harness's own trivial server (sets LAST_PID).
start_null() {
    local name="$1" port="$2"; shift 2
    start "$name" "$BENCH" null-server --port "$port" "$@"
    "$BENCH" probe --url "http://127.0.0.1:$port" --path /health --wait 10 >/dev/null
}

# ---------------------------------------------------------------- build
if [[ $BUILD == 1 ]]; then
    log "building the harness and synckairos-cluster (release)"
    cargo build --release -p synckairos-bench -p synckairos-cluster
    log "building the server (release)"
    if ! cargo build --release -p synckairos >"$LOGS/server-build.log" 2>&1; then
        SERVER_BUILD_FAILED=1
        echo "server build failed (see $LOGS/server-build.log)"
    fi
fi
[[ -x "$BENCH" ]] || { echo "missing $BENCH (run without --skip-build)" >&2; exit 1; }

CONTEXT="$OUT/context.md"
{
    echo "Produced by \`scripts/bench.sh$([[ $QUICK == 1 ]] && echo ' --quick')$([[ $TIMING_ONLY == 1 ]] && echo ' --timing')$([[ $PERF_ONLY == 1 ]] && echo " --perf --base-bin $BASE_BIN")\` on $(date -u '+%F %T') UTC;"
    echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) cores; anything above ~0.3 means other work competed for them)."
    echo
} >"$CONTEXT"
note() { echo "- $*" >>"$CONTEXT"; echo "note: $*"; }
if [[ $SERVER_BUILD_FAILED == 1 ]]; then
    note "server build failed (raw/server-build.log): any existing target/release/synckairos may be stale"
fi

# ---------------------------------------------------------------- servers
NULL_PORT=$(free_port)
start_null null "$NULL_PORT"
NULL_PID=$LAST_PID
NULL_URL="http://127.0.0.1:$NULL_PORT"
RAW_PORT=$(free_port)
start_null null-raw "$RAW_PORT" --raw --threads 1
RAW_PID=$LAST_PID
RAW_URL="http://127.0.0.1:$RAW_PORT"

REAL=0
if [[ -x "$SERVER_BIN" ]]; then
    SRV_PORT=$(free_port)
    if start_server server "$SRV_PORT"; then
        REAL=1
        SRV_PID=$LAST_PID
        SRV_URL="http://127.0.0.1:$SRV_PORT"
        note "server: \`target/release/synckairos\` (memory store) at $SRV_URL, rate limits off"
    else
        note "server: target/release/synckairos did not become healthy (raw/server.log); using the null server"
    fi
else
    note "server: target/release/synckairos is missing; every scenario runs against the harness's null server"
fi
if [[ $REAL == 0 ]]; then
    SRV_URL=$NULL_URL
    SRV_PID=$NULL_PID
fi

B() { log "synckairos-bench $*"; "$BENCH" "$@"; }
COMMON=(--out "$OUT")

if [[ $PERF_ONLY == 1 ]]; then
    # shellcheck source=scripts/bench-perf.sh
    source scripts/bench-perf.sh
    "$BENCH" report --out "$OUT" >/dev/null
    log "done: $OUT/summary.md"
    exit 0
fi

if [[ $TIMING_ONLY == 0 ]]; then
# ---------------------------------------------------------------- switch
B switch --mode closed --url "$SRV_URL" --pid "$SRV_PID" --connections "$CONNS" --sessions "$SESS" \
    --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
B switch --mode open --rate-of "$OUT/switch-closed.json" --rate-fraction 0.5 --url "$SRV_URL" --pid "$SRV_PID" \
    --connections "$((CONNS * 2))" --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"

# The issue's goal rate, open loop: latency at 15,000 switches/s (not what the machine can
# do flat out, but what a client population offering that rate sees).
B switch --mode open --rate "${GOAL_RATE:-15000}" --name switch-open-goal --url "$SRV_URL" --pid "$SRV_PID" \
    --connections "$((CONNS * 2))" --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"

# The cost of token checks (issue 12): the goal rate, interleaved in 1 s slices, against the
# server under test (auth off) and a second one with auth on (every switch carries a service
# token: JWT HS256 verified, then the access rules at the commit).
AUTH_PORT=$(free_port)
AUTH_ENV=(SYNCKAIROS_AUTH__MODE=on SYNCKAIROS_AUTH__KEYS__K1__ALG=HS256
    SYNCKAIROS_AUTH__KEYS__K1__SECRET=bench-secret-0123456789abcdefghijklmnop)
if [[ $REAL == 1 ]] && start_server auth "$AUTH_PORT" "${AUTH_ENV[@]}"; then
    AUTH_PID=$LAST_PID
    TOKEN=$(env "${AUTH_ENV[@]}" "$SERVER_BIN" token --role service --sub bench --ttl 3600)
    B switch --mode open --rate "${GOAL_RATE:-15000}" --name switch-open-goal-auth --url "$SRV_URL" --pid "$SRV_PID" \
        --compare "http://127.0.0.1:$AUTH_PORT" --compare-pid "$AUTH_PID" --compare-token "$TOKEN" \
        --connections "$((CONNS * 2))" --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
    stop "$AUTH_PID"
else
    note "auth cost: skipped (needs the real server)"
fi

# Harness capacity: the same closed loop, interleaved in 1 s slices, against the server under
# test (base) and the cheapest endpoint possible (compare: null-server --raw, canned bytes).
B switch --mode closed --name harness-capacity --url "$SRV_URL" --pid "$SRV_PID" \
    --compare "$RAW_URL" --compare-pid "$RAW_PID" --connections "$CONNS" --sessions "$SESS" \
    --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
note "harness capacity: see harness-capacity (compare = null-server --raw; ratio = trivial endpoint ÷ server) and its headroom note"

# ---------------------------------------------------------------- fanout, idle, deadline
B fanout --url "$SRV_URL" --sessions "$FAN_S" --watchers "$FAN_W" --duration "$FAN_DUR" "${COMMON[@]}"
B idle --url "$SRV_URL" --pid "$SRV_PID" --connections "$IDLE_N" --hold "$IDLE_HOLD" "${COMMON[@]}"
B deadline --url "$SRV_URL" --sessions "$DL_N" --grace "$DL_GRACE" "${COMMON[@]}"

# ---------------------------------------------------------------- Redis store (three instances, one redis-server)
if [[ $REAL == 0 ]]; then
    note "redis: skipped (no real server)"
elif ! command -v redis-server >/dev/null; then
    note "redis: skipped (redis-server is not installed)"
else
    start_redis redis || true
    P1=$(free_port); P2=$(free_port); P3=$(free_port)
    if start_server server-redis-1 "$P1" REDIS_URL="redis://127.0.0.1:$RPORT" &&
        "$BENCH" probe --url "http://127.0.0.1:$P1" --path /ready --wait 5 >/dev/null 2>&1; then
        R1_PID=$LAST_PID
        start_server server-redis-2 "$P2" REDIS_URL="redis://127.0.0.1:$RPORT" || true
        start_server server-redis-3 "$P3" REDIS_URL="redis://127.0.0.1:$RPORT" || true
        note "redis: three instances ($P1, $P2, $P3) on one redis-server ($RPORT)"
        B switch --mode closed --name switch-closed-redis --url "http://127.0.0.1:$P1" --pid "$R1_PID" \
            --connections "$CONNS" --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
        B switch --mode open --rate "${GOAL_RATE:-15000}" --name switch-open-goal-redis --url "http://127.0.0.1:$P1" \
            --pid "$R1_PID" --connections "$((CONNS * 2))" --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
        # 1,000 watchers (20 sessions x 50) spread over the three instances; writes via the first.
        B fanout --name fanout-redis --url "http://127.0.0.1:$P1" --ws-url "http://127.0.0.1:$P1" \
            --ws-url "http://127.0.0.1:$P2" --ws-url "http://127.0.0.1:$P3" --sessions 20 --watchers 50 \
            --duration "$FAN_DUR" "${COMMON[@]}"
    else
        note "redis: skipped (the server did not become ready with REDIS_URL; raw/server-redis-1.log)"
    fi
    stop "$REDIS_PID"
fi
fi # TIMING_ONLY

CLIENT_S=$([[ $QUICK == 1 ]] && echo 10 || echo 30)
# client_timing NAME ARGS...: the JS client's displayed time in headless Chromium
# (clients/js/test/e2e/timing.js), written to <out>/NAME.json and NAME.txt.
client_timing() {
    local name="$1"; shift
    [[ -d clients/js/node_modules ]] || (cd clients/js && npm ci --no-audit --no-fund --loglevel=error)
    local cmd="node clients/js/test/e2e/timing.js --duration $CLIENT_S $* --out $OUT --name $name"
    log "$cmd"
    if $cmd 2>&1 | tee "$OUT/$name.txt"; then
        note "$name: $name.json (\`$cmd\`)"
    else
        note "$name: FAILED, see $name.txt"
    fi
}
HAVE_BROWSER=0
command -v node >/dev/null && command -v chromium >/dev/null && HAVE_BROWSER=1

# ---------------------------------------------------------------- regions
if [[ $REAL == 0 ]]; then
    note "regions: skipped (no real server)"
elif [[ ! -x "$CLUSTER" ]]; then
    note "regions: skipped ($CLUSTER is missing; run without --skip-build)"
else
    # The cluster of scripts/dev-regions.sh (same tool, same state dir), from the
    # release binaries built above.
    log "starting the 3-region cluster ($CLUSTER up)"
    REGIONS_UP=1
    if "$CLUSTER" up >>"$LOGS/dev-regions.log" 2>&1; then
        if [[ $TIMING_ONLY == 1 ]]; then
            :
        elif B regions --samples "$REG_SAMPLES" "${COMMON[@]}"; then
            note "regions: the 3-region cluster of synckairos-cluster / scripts/dev-regions.sh (home iad, remote lhr)"
        else
            note "regions: failed (see the output above)"
        fi
        # The JS client across regions: the page connected to nrt, writes to iad (the
        # session's home), truth from iad's clock over /v1/time.
        if [[ $HAVE_BROWSER == 1 ]]; then
            region_url() { node -e "console.log(require('./target/dev-regions/regions.json').regions['$1'].instances[0])"; }
            client_timing client-timing-regions --page-url "$(region_url nrt)" --write-url "$(region_url iad)" --truth server
        else
            note "client timing across regions: skipped (needs node and chromium)"
        fi
    else
        note "regions: synckairos-cluster up failed (raw/dev-regions.log)"
    fi
    "$CLUSTER" down >>"$LOGS/dev-regions.log" 2>&1 || true
    REGIONS_UP=0
fi

# ---------------------------------------------------------------- measurement tests (full run only)
# Figures that need real components wired in a particular way live in #[ignore]d tests
# of the one integration-test binary (tests/it/): Redis memory per idle session and
# deadline lateness with three instances (redis::measure), the audit writer's
# throughput and the outbox's cost (audit::bench), the relay and forwarding costs
# (regions::measure), the relay at scale (regions::scale_measure: catch-up rate of a
# flushed region at 20,000 and 100,000 sessions, idle check cost at 100,000 sessions,
# relay latency under load), the long chaos run (regions::chaos: 280 s), what the
# dashboard's history and page refresh cost (dashboard::measure), ownership that moves
# (regions::owners::measure: re-home pause, automatic re-homing, zero-loss cost, kill -9
# of a home in each durability mode), and the long fuzz
# run (fuzz::long_run: over 1,000,000 generated HTTP requests, JSON bodies and
# WebSocket frame sequences; its counts are in fuzz_long_run.txt). One module per run,
# its tests one after the other; the output file keeps the old name.
if [[ $QUICK == 0 && $TIMING_ONLY == 0 ]]; then
    for t in redis::measure audit::bench regions::measure regions::scale_measure regions::chaos regions::owners::measure dashboard::measure fuzz::long_run; do
        file="${t//::/_}"
        cmd="cargo test --release --test it -- --ignored --nocapture --test-threads=1 $t::"
        log "$cmd"
        if $cmd >"$OUT/$file.txt" 2>&1; then
            note "$file: see $file.txt (\`$cmd\`)"
        else
            note "$file: FAILED, see $file.txt"
        fi
    done
fi

# Timing (issue 13): deadline lateness with instances at +2 s and -2 s (libfaketime,
# 200 deadlines), lag credited per move over the 120 ms link (40 moves).
if [[ $QUICK == 0 ]]; then
    cmd="cargo test --release --test it -- --ignored --nocapture --test-threads=1 measure_timing_"
    log "$cmd"
    if $cmd >"$OUT/timing_measure.txt" 2>&1; then
        note "timing_measure: see timing_measure.txt (\`$cmd\`)"
    else
        note "timing_measure: FAILED, see timing_measure.txt"
    fi
fi

# ---------------------------------------------------------------- JS client in headless Chromium
# The players' client library (clients/js) in Debian's chromium against the server: the
# displayed remaining time vs the authoritative value while another client switches,
# and the clock-sync error bound after 1/5/20 pings (client-timing.json).
if [[ $REAL == 1 && $HAVE_BROWSER == 1 ]]; then
    client_timing client-timing --server-bin "$SERVER_BIN"
else
    note "client timing: skipped (needs the real server, node and chromium)"
fi

# The timing figures in one place (<out>/timing.md).
node scripts/bench-timing-summary.mjs "$OUT" >"$OUT/timing.md" || note "timing.md: could not be written"
if [[ $TIMING_ONLY == 0 ]]; then
    "$BENCH" report --out "$OUT" >/dev/null
    log "done: $OUT/summary.md, $OUT/timing.md"
else
    log "done: $OUT/timing.md"
fi
