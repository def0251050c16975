#!/usr/bin/env bash
# Connection pool sizing (DESIGN section 9 `pool`, issue 9 item 7): Portico with one io thread
# (`threads: 1`) pinned to one core, in front of one C++ gRPC echo backend (bench.v1.Echo,
# callback API), under wrk (REST POST /v1/echo, HTTP/1.1). One Portico per pool setting,
# `connections` x `streams_per_connection`, all started at once on their own ports; the runs
# are interleaved (run 1 of every setting, then run 2, ...) so that load from other processes
# on a shared machine hits every setting alike. Prints medians and ratios to connections: 1.
#
#   bench/pool_throughput.sh                     # RUNS=3 DURATION=10 CONNS=64: about 6 minutes
#   POOLS="1x32 4x8 4x32" RUNS=3 DURATION=5 bench/pool_throughput.sh
#
# Measured per run: requests/s (wrk), Portico's CPU time per request (utime+stime from
# /proc/PID/stat over the run, in microseconds) and the connections Portico holds to the
# backend afterwards (ss). Portico runs on core PORTICO_CPU; the backend and wrk on
# LOAD_CPUS (the other cores; every core on machines of fewer than 4).
#
# Env: POOLS ("1x32 2x8 2x32 2x100 4x8 4x32 4x100 8x8 8x32 8x100") RUNS (3) DURATION (10 s)
#      CONNS (64 wrk connections) PORTICO_CPU (last core) LOAD_CPUS (see above)
#      PORTICO_BIN (build-bench/portico, else build/portico) TRANSPORT (h2; or grpc)
#      OUT (/tmp/portico-peers: echo_backend is built there from ../shared/peers if missing)
#      PEERS (../shared/peers) KEEP=1 (keep the work dir)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${PEERS:-$(cd "$ROOT/../shared/peers" && pwd)}"
OUT="${OUT:-${TMPDIR:-/tmp}/portico-peers}"
POOLS="${POOLS:-1x32 2x8 2x32 2x100 4x8 4x32 4x100 8x8 8x32 8x100}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
TRANSPORT="${TRANSPORT:-h2}"
NCPU="$(nproc)"
PORTICO_CPU="${PORTICO_CPU:-$((NCPU - 1))}"
# The backend is multi-threaded; it needs more than one core for one connection to be what
# limits it. With fewer than 4 cores, the backend and wrk get every core (Portico's too).
LOAD_CPUS="${LOAD_CPUS:-$( ((NCPU >= 4)) && echo "0-$((NCPU - 2))" || echo "0-$((NCPU - 1))")}"
POOLS="$(tr ' ' '\n' <<<"$POOLS" | awk 'NF && !seen[$0]++' | tr '\n' ' ')"
POOLS="${POOLS% }"
if [[ -z "${PORTICO_BIN:-}" ]]; then
  PORTICO_BIN="$ROOT/build-bench/portico"
  [[ -x "$PORTICO_BIN" ]] || PORTICO_BIN="$ROOT/build/portico"
fi
BACKEND_BIN="$OUT/bin/echo_backend"
TICKS="$(getconf CLK_TCK)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-pool.XXXXXX")"
RES="$WORK/results"
mkdir -p "$RES" "$WORK/logs"
log() { echo "$@" | tee -a "$WORK/pool.log"; }
die() { log "FATAL: $*"; exit 1; }

[[ -x "$PORTICO_BIN" ]] || die "no Portico binary at $PORTICO_BIN (cmake --build --preset bench --target portico)"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
ensure_echo_backend

log "# Portico pool benchmark, $(date -u +%FT%TZ), portico $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
log "# machine: $NCPU cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "# Portico: $PORTICO_BIN, threads 1, transport $TRANSPORT, on core $PORTICO_CPU; backend and wrk on cores $LOAD_CPUS"
log "# wrk -t1 -c$CONNS -d${DURATION}s POST /v1/echo; RUNS=$RUNS; pools (connections x streams_per_connection): $POOLS"

BACKEND_PORT=$(free_port 50151)
taskset -c "$LOAD_CPUS" "$BACKEND_BIN" --port="$BACKEND_PORT" >"$WORK/logs/backend.log" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
wait_port "$BACKEND_PORT" "$BACKEND_PID" || die "echo_backend did not start: $(tail -5 "$WORK/logs/backend.log")"

declare -A PORT PID
for pool in $POOLS; do
  connections="${pool%x*}"; streams="${pool#*x}"
  PORT[$pool]=$(free_port 18380)
  admin=$(free_port 19931)
  mkdir -p "$WORK/data-$pool"
  cat >"$WORK/portico-$pool.yaml" <<EOF
listen: 127.0.0.1:${PORT[$pool]}
admin: { listen: 127.0.0.1:$admin }
store: { type: file, dir: $WORK/data-$pool }
threads: 1
descriptors:
  - path: $PEERS/proto/bench/v1/bench.proto
    import_paths: [$PEERS/proto]
backends:
  - name: echo
    endpoints: [127.0.0.1:$BACKEND_PORT]
    services: [bench.v1.Echo]
    transport: $TRANSPORT
    pool: { connections: $connections, streams_per_connection: $streams }
EOF
  taskset -c "$PORTICO_CPU" "$PORTICO_BIN" --config "$WORK/portico-$pool.yaml" \
    >"$WORK/logs/portico-$pool.log" 2>&1 &
  PID[$pool]=$!; PIDS+=("${PID[$pool]}")
  wait_port "${PORT[$pool]}" "${PID[$pool]}" ||
    die "Portico ($pool) did not start: $(tail -5 "$WORK/logs/portico-$pool.log")"
  got="$(curl -s --max-time 5 -X POST -H 'Content-Type: application/json' \
           -d '{"message":"hi"}' "http://127.0.0.1:${PORT[$pool]}/v1/echo" || true)"
  [[ "$(jq -r .message <<<"$got" 2>/dev/null)" == hi ]] || die "Portico ($pool) answered [$got]"
  # Warm-up: opens the pool's connections and faults in the code paths.
  taskset -c "$LOAD_CPUS" wrk -t1 -c"$CONNS" -d1s -s "$PEERS/post.lua" \
    "http://127.0.0.1:${PORT[$pool]}/v1/echo" >/dev/null 2>&1 || true
done

for run in $(seq 1 "$RUNS"); do
  for pool in $POOLS; do
    before=$(cpu_ticks "${PID[$pool]}")
    out="$(taskset -c "$LOAD_CPUS" wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$PEERS/post.lua" \
             "http://127.0.0.1:${PORT[$pool]}/v1/echo" 2>&1)"
    after=$(cpu_ticks "${PID[$pool]}")
    rps="$(sed -n 's/^SUMMARY rps=\([0-9.]*\) requests=\([0-9]*\).*/\1/p' <<<"$out")"
    requests="$(sed -n 's/^SUMMARY rps=[0-9.]* requests=\([0-9]*\).*/\1/p' <<<"$out")"
    errors="$(sed -n 's/^SUMMARY .*errors(\(.*\))/\1/p' <<<"$out")"
    [[ -n "$rps" && "$requests" -gt 0 ]] || die "wrk failed for $pool: $out"
    us_per_req="$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')"
    conns="$(ss -tnpH state established "( dport = :$BACKEND_PORT )" 2>/dev/null |
             grep -c "pid=${PID[$pool]}," || true)"
    echo "$rps $us_per_req $conns" >>"$RES/$pool"
    log "run $run $pool: rps=$rps cpu_us_per_req=$us_per_req backend_connections=$conns ($errors)"
  done
done

base="${POOLS%% *}"
base_rps="$(awk '{print $1}' "$RES/$base" | median)"
base_cpu="$(awk '{print $2}' "$RES/$base" | median)"
log ""
log "| pool (connections x streams) | backend conns | RPS (median) | vs $base | Portico CPU us/req (median) | vs $base |"
log "|---|---|---|---|---|---|"
for pool in $POOLS; do
  rps="$(awk '{print $1}' "$RES/$pool" | median)"
  cpu="$(awk '{print $2}' "$RES/$pool" | median)"
  conns="$(awk '{print $3}' "$RES/$pool" | median)"
  log "$(awk -v p="$pool" -v c="$conns" -v r="$rps" -v br="$base_rps" -v u="$cpu" -v bu="$base_cpu" \
    'BEGIN {printf "| %s | %s | %.0f | %.2f | %.1f | %.2f |", p, c, r, r / br, u, u / bu}')"
done
