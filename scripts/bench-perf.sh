# Issue 15's figures: sourced by `scripts/bench.sh --perf` (uses its helpers: start,
# stop, start_bin, start_redis, free_port, B, note, log; its variables QUICK, DUR, WARM,
# CONNS, SESS, OUT, COMMON, SRV_URL, SRV_PID, SERVER_BIN, BASE_BIN).
#
# Every figure is taken for this build ("new") and for BASE_BIN ("base", the previous
# commit's release build) in the same run: interleaved in 1 s slices where the harness
# can hold both (switch, deadline, the 1,000-watcher fan-out), one after the other
# where it cannot (10,000 watchers and 18,000 idle sockets each need most of the
# 20,000 open files a process may have; 50,000 sessions per region).
# PERF_PARTS selects parts (default: all): earlier switch fanout idle idle100k scale memory.

PARTS=${PERF_PARTS:-"earlier switch fanout idle idle100k scale memory"}
# The one-instance Redis-backed switch: the new build's instance runs with one worker
# thread (PERF_SWITCH_NEW_ENV overrides; empty = the default, one per CPU), and the
# closed-loop harness with one thread at SCHED_BATCH (--threads 1 --sched batch). On
# these two cores Redis and the harness take about one core: a second server thread
# only trades wake-ups with the first and gets descheduled; a harness thread woken by
# a response preempted the server right after its write (18 % of the server's
# samples), which a client on another machine never does (README "At the limit").
# Base runs as it is, against the same harness. Three-instance scenarios keep the
# defaults (measured: one worker each was no better there).
read -r -a SWITCH_NEW_ENV <<<"${PERF_SWITCH_NEW_ENV-SYNCKAIROS_SERVER__WORKER_THREADS=1}"
# Extra environment for the new build's instances in `region` (set per part).
REGION_NEW_ENV=()
want() { [[ " $PARTS " == *" $1 "* ]]; }
# A failed scenario is noted, and the other parts still run.
PB() { B "$@" || note "FAILED: synckairos-bench $*"; }
HAVE_BASE=0
if [[ -x "$BASE_BIN" ]]; then
    HAVE_BASE=1
    note "base build: \`$BASE_BIN\` ($(stat -c %y "$BASE_BIN" | cut -d. -f1)); new build: \`$SERVER_BIN\` at $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + uncommitted changes')"
else
    note "base build $BASE_BIN is missing: figures of this build only"
fi

# region NAME BIN N: a redis-server and N instances of BIN on it. Sets REGION_URLS,
# REGION_PIDS and REGION_REDIS_PID; fails if an instance does not become ready.
region() {
    local name="$1" bin="$2" n="$3" p i extra=()
    [[ $bin == "$SERVER_BIN" ]] && extra=("${REGION_NEW_ENV[@]}")
    REGION_URLS=(); REGION_PIDS=(); REGION_REDIS_PID=""
    start_redis "redis-$name" || return 1
    REGION_REDIS_PID=$REDIS_PID
    for i in $(seq 1 "$n"); do
        p=$(free_port)
        start_bin "$name-$i" "$bin" "$p" REDIS_URL="redis://127.0.0.1:$RPORT" "${extra[@]}" || return 1
        REGION_PIDS+=("$LAST_PID")
        "$BENCH" probe --url "http://127.0.0.1:$p" --path /ready --wait 10 >/dev/null 2>&1 || return 1
        REGION_URLS+=("http://127.0.0.1:$p")
    done
}

# region_down: stops what the last `region` started.
region_down() {
    local p
    for p in "${REGION_PIDS[@]}"; do stop "$p"; done
    [[ -n "$REGION_REDIS_PID" ]] && stop "$REGION_REDIS_PID"
    REGION_PIDS=(); REGION_REDIS_PID=""
}

# builds: the builds to measure, base first.
builds() {
    if [[ $HAVE_BASE == 1 ]]; then echo "base new"; else echo "new"; fi
}
bin_of() { if [[ $1 == base ]]; then echo "$BASE_BIN"; else echo "$SERVER_BIN"; fi; }

# ---------------------------------------------------------------- earlier goals (memory store, 1,000 watchers)
if want earlier && [[ $HAVE_BASE == 1 ]]; then
    MPORT=$(free_port)
    if start_bin base-memory "$BASE_BIN" "$MPORT"; then
        BASE_MEM_URL="http://127.0.0.1:$MPORT"; BASE_MEM_PID=$LAST_PID
        PB switch --mode closed --name earlier-switch-closed-memory --url "$BASE_MEM_URL" --pid "$BASE_MEM_PID" \
            --compare "$SRV_URL" --compare-pid "$SRV_PID" --connections "$CONNS" --sessions "$SESS" \
            --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
        PB switch --mode open --rate 15000 --name earlier-switch-open-goal-memory --url "$BASE_MEM_URL" \
            --pid "$BASE_MEM_PID" --compare "$SRV_URL" --compare-pid "$SRV_PID" --connections "$((CONNS * 2))" \
            --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
        stop "$BASE_MEM_PID"
    fi
    # 1,000 watchers (20 sessions x 50) over three instances of each build; deadline
    # lateness on three instances of each build, sessions alternating between them.
    if region base "$BASE_BIN" 3; then
        BU=("${REGION_URLS[@]}"); BP=("${REGION_PIDS[@]}"); BR=$REGION_REDIS_PID
        if region new "$SERVER_BIN" 3; then
            NU=("${REGION_URLS[@]}")
            PB fanout --name earlier-fanout-redis --url "${BU[0]}" --ws-url "${BU[0]}" --ws-url "${BU[1]}" \
                --ws-url "${BU[2]}" --compare "${NU[0]}" --compare-ws-url "${NU[0]}" --compare-ws-url "${NU[1]}" \
                --compare-ws-url "${NU[2]}" --sessions 20 --watchers 50 --duration "$DUR" "${COMMON[@]}"
            PB deadline --name earlier-deadline-redis --url "${BU[1]}" --compare "${NU[1]}" --sessions 400 \
                --grace 5 "${COMMON[@]}"
        fi
        region_down
        REGION_PIDS=("${BP[@]}"); REGION_REDIS_PID=$BR; region_down
    fi
fi

# ---------------------------------------------------------------- one instance, Redis-backed switch
if want switch; then
    declare -A SU SP SR
    REGION_NEW_ENV=("${SWITCH_NEW_ENV[@]}")
    [[ ${#SWITCH_NEW_ENV[@]} -gt 0 ]] && note "switch: the new build's instance runs with ${SWITCH_NEW_ENV[*]}"
    note "switch: the closed-loop harness runs with --threads 1 --sched batch, for both builds"
    for b in $(builds); do
        region "$b-switch" "$(bin_of "$b")" 1 || { note "switch: $b did not start"; continue; }
        SU[$b]=${REGION_URLS[0]}; SP[$b]=${REGION_PIDS[0]}; SR[$b]=$REGION_REDIS_PID
    done
    REGION_NEW_ENV=()
    cmp=()
    [[ $HAVE_BASE == 1 ]] && cmp=(--url "${SU[base]}" --pid "${SP[base]}" --store-pid "${SR[base]}" --compare "${SU[new]}" \
        --compare-pid "${SP[new]}" --compare-store-pid "${SR[new]}")
    [[ $HAVE_BASE == 0 ]] && cmp=(--url "${SU[new]}" --pid "${SP[new]}" --store-pid "${SR[new]}")
    for conns in 32 64; do
        PB --threads 1 --sched batch switch --mode closed --name "switch-closed-redis-$conns" "${cmp[@]}" --connections "$conns" \
            --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
    done
    PB switch --mode open --rate 15000 --name switch-open-goal-redis "${cmp[@]}" --connections "$((CONNS * 2))" \
        --sessions "$SESS" --duration "$DUR" --warmup "$WARM" "${COMMON[@]}"
    for b in $(builds); do stop "${SP[$b]}"; stop "${SR[$b]}"; done
fi

# ---------------------------------------------------------------- fan-out: 10,000 watchers of one session
# Not interleaved (20,000 sockets would not fit one harness), so the builds take turns,
# two rounds each (base, new, base, new): machine noise shows as round-to-round spread.
# The floor of this machine comes last in each round: the same 10,000 sockets against the
# harness's own null server (one process, a broadcast channel, no storage, a ~270-byte frame),
# i.e. what the kernel's loopback TCP and the harness cost by themselves.
if want fanout; then
    # Two ways of running the watchers: "shared" (they take the cores as they come, like
    # every other thread) and "idle" (--watchers-idle: SCHED_IDLE threads, reading when
    # the servers leave a core free, as devices on their own machines would). Each
    # delivery is timed at the watcher's kernel receipt and at the harness's read.
    for mode in ${PERF_FANOUT_MODES:-shared idle}; do
        flag=(); sfx=""
        [[ $mode == idle ]] && { flag=(--watchers-idle); sfx="-idle"; }
        for round in 1 2; do
            for b in $(builds); do
                region "$b-fanout" "$(bin_of "$b")" 3 || { note "fanout: $b did not start"; region_down; continue; }
                U=("${REGION_URLS[@]}")
                PB fanout --name "fanout-10k$sfx-$b-$round" --url "${U[0]}" --ws-url "${U[0]}" --ws-url "${U[1]}" \
                    --ws-url "${U[2]}" --sessions 1 --watchers 10000 --interval-ms 250 --duration "$DUR" \
                    --server-pid "${REGION_PIDS[0]}" --server-pid "${REGION_PIDS[1]}" --server-pid "${REGION_PIDS[2]}" \
                    "${flag[@]}" "${COMMON[@]}"
                region_down
            done
            NPORT=$(free_port)
            if start_null fanout-null "$NPORT"; then
                NPID=$LAST_PID
                PB fanout --name "fanout-10k$sfx-null-$round" --url "http://127.0.0.1:$NPORT" \
                    --ws-url "http://127.0.0.1:$NPORT" --sessions 1 --watchers 10000 --interval-ms 250 \
                    --duration "$DUR" --server-pid "$NPID" "${flag[@]}" "${COMMON[@]}"
                stop "$NPID"
            fi
        done
    done
fi

# ---------------------------------------------------------------- idle sockets: 18,000 on one instance
if want idle; then
    for b in $(builds); do
        IPORT=$(free_port)
        # server.max_connections defaults to 16,000: 18,000 needs it raised.
        start_bin "$b-idle" "$(bin_of "$b")" "$IPORT" SYNCKAIROS_SERVER__MAX_CONNECTIONS=19000 ||
            { note "idle: $b did not start"; continue; }
        IPID=$LAST_PID
        PB idle --name "idle-18k-$b" --url "http://127.0.0.1:$IPORT" --pid "$IPID" --connections 18000 \
            --hold 12 "${COMMON[@]}"
        stop "$IPID"
    done
fi

# ---------------------------------------------------------------- idle sockets: 100,000 over six instances
# Six instances (memory store) and six harness processes at once, 16,667 sockets each (a
# process may hold 20,000 files); the sum of the instances' connection gauges, sampled
# while every harness holds, says how many were open at the same time.
if want idle100k; then
    n_inst=6; per=16667
    IU=(); IPIDS=(); HPIDS=()
    for i in $(seq 1 $n_inst); do
        p=$(free_port)
        # Pings every 5 s would drop sockets whose harness is starved of CPU (12 processes
        # on 2 cores): this figure is about holding them, so the server pings every 5 min.
        start_bin "idle100k-$i" "$SERVER_BIN" "$p" SYNCKAIROS_SERVER__MAX_CONNECTIONS=19000 \
            SYNCKAIROS_WS__PING_INTERVAL_MS=300000 ||
            { note "idle100k: instance $i did not start"; continue; }
        IU+=("http://127.0.0.1:$p"); IPIDS+=("$LAST_PID")
    done
    for i in "${!IU[@]}"; do
        start "idle100k-harness-$i" "$BENCH" idle --name "idle-100k-$((i + 1))" --url "${IU[$i]}" \
            --pid "${IPIDS[$i]}" --connections "$per" --hold 60 --parallel 64 "${COMMON[@]}"
        HPIDS+=("$LAST_PID")
    done
    log "idle100k: ${#HPIDS[@]} harness processes x $per sockets; sampling the gauges"
    best=0; best_at=""
    while :; do
        alive=0
        for h in "${HPIDS[@]}"; do kill -0 "$h" 2>/dev/null && alive=$((alive + 1)); done
        [[ $alive == 0 ]] && break
        sum=0
        for u in "${IU[@]}"; do
            # An instance busy accepting may not answer in time: that sample counts 0.
            g=$(curl -s --max-time 5 "$u/metrics" | awk '/^synckairos_websocket_connections[ {]/ {s += $NF} END {printf "%d", s}' || true)
            sum=$((sum + ${g:-0}))
        done
        if (( sum > best )); then best=$sum; best_at=$(date -u +%T); fi
        sleep 2
    done
    for h in "${HPIDS[@]}"; do wait "$h" 2>/dev/null || true; done
    {
        echo "# idle sockets over six instances"
        echo
        echo "Six instances of \`$SERVER_BIN\` (memory store, \`ws.ping_interval_ms\` 300000, \`server.max_connections\` 19000)"
        echo "and six harness processes started at once,"
        echo "each \`synckairos-bench idle --connections $per --hold 60 --parallel 64\` against one instance"
        echo "(results: idle-100k-1..6.json, with each instance's memory per connection)."
        echo
        echo "Most connections open at the same time (sum of \`synckairos_websocket_connections\` over"
        echo "the six instances, sampled every 2 s): **$best** at $best_at UTC."
    } >"$OUT/idle-100k.md"
    note "idle100k: $best connections open at once over six instances (idle-100k.md)"
    for p in "${IPIDS[@]}"; do stop "$p"; done
fi

# ---------------------------------------------------------------- sessions at scale
# 50,000 running sessions in one region (three instances on one Redis): 49,000 with
# 24 h budgets under 5,000 switches/s, and 1,000 whose deadlines fall within one second.
if want scale; then
    BG=49000; RATE=5000
    [[ $QUICK == 1 ]] && { BG=9000; RATE=2000; }
    for round in 1 2; do
        for b in $(builds); do
            region "$b-scale" "$(bin_of "$b")" 3 || { note "scale: $b did not start"; region_down; continue; }
            U=("${REGION_URLS[@]}")
            PB deadline --name "scale-$b-$round" --url "${U[0]}" --sessions 1000 --min-ms 20000 --max-ms 21000 \
                --background "$BG" --switch-rate "$RATE" --grace 5 "${COMMON[@]}"
            region_down
        done
    done
fi

# ---------------------------------------------------------------- Redis memory per idle session
# 10,000 idle 2-participant sessions created through one instance (as redis::measure):
# INFO memory used_memory before and after, per session.
if want memory; then
    for b in $(builds); do
        region "$b-memory" "$(bin_of "$b")" 1 || { note "memory: $b did not start"; region_down; continue; }
        u=${REGION_URLS[0]}
        body() {
            printf '{"session_id":"%s","sync_mode":"per_participant","total_time_ms":600000,"participants":[' "$1"
            printf '{"participant_id":"%s","participant_index":1,"total_time_ms":300000},' "$(cat /proc/sys/kernel/random/uuid)"
            printf '{"participant_id":"%s","participant_index":2,"total_time_ms":300000}]}' "$(cat /proc/sys/kernel/random/uuid)"
        }
        body "$(cat /proc/sys/kernel/random/uuid)" | curl -s -o /dev/null -H 'content-type: application/json' --data-binary @- "$u/v1/sessions"
        before=$(redis-cli -p "$RPORT" INFO memory | awk -F: '/^used_memory:/ {print $2+0}')
        for _ in $(seq 10000); do cat /proc/sys/kernel/random/uuid; done >"$TMP/ids"
        export -f body
        xargs -P 8 -I{} bash -c "body {} | curl -s -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' --data-binary @- '$u/v1/sessions'" \
            <"$TMP/ids" | sort | uniq -c >"$TMP/codes"
        after=$(redis-cli -p "$RPORT" INFO memory | awk -F: '/^used_memory:/ {print $2+0}')
        last=$(tail -1 "$TMP/ids")
        {
            echo "$b: 10000 idle 2-participant sessions: used_memory $before -> $after = $(awk -v a="$after" -v b="$before" 'BEGIN {printf "%.1f", (a - b) / 10000}') bytes per session"
            echo "  MEMORY USAGE of one key: $(redis-cli -p "$RPORT" MEMORY USAGE "s:$last" SAMPLES 0); STRLEN $(redis-cli -p "$RPORT" STRLEN "s:$last")"
            echo "  create answers: $(tr '\n' ' ' <"$TMP/codes")"
        } >>"$OUT/redis-memory.txt"
        region_down
    done
    note "redis memory per idle session: redis-memory.txt"
fi
