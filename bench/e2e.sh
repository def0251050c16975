#!/usr/bin/env bash
# End-to-end benchmark in one command: Portico vs grpc-gateway v1 ("gwpeer") vs direct gRPC on
# the same C++ echo backend (bench.v1.Echo), plus Portico's WebSocket bridge (ws_load).
#
#   bench/e2e.sh                         # RUNS=3 DURATION=10 CONNS=32: about 5-6 minutes once built
#   RUNS=3 DURATION=5 bench/e2e.sh       # shorter
#
# Builds what it needs (the peers via ../shared/peers/build.sh into $OUT, Portico's Release build
# via the "bench" preset, bench/ws_load via its own Makefile), starts echo_backend, Portico and
# gwpeer on 127.0.0.1 (free ports), checks each gateway with curl, then runs interleaved rounds:
#   wrk POST /v1/echo (post.lua) and GET /v1/echo/hello against Portico and gwpeer,
#   h2load gRPC unary straight to the backend (-c$CONNS -m1 and -c1 -m$CONNS),
#   ws_load: unary Echo over WebSocket (one socket per call) and ServerStream over WebSocket,
# and finally ws_load holding $WS_HOLD idle WebSocket streams to measure Portico's RSS per
# stream. Prints one table (medians over the runs) with ratios. Stops everything it started by
# PID, also on error or Ctrl-C.
#
# Env: RUNS (3) DURATION (10 s per run) CONNS (32) WS_STREAMS ($CONNS) STREAM_REPEAT (100)
#      WS_HOLD (10000 streams) WS_HOLD_SECS (10 s idle hold) OUT (/tmp/portico-peers)
#      PEERS (../shared/peers) BUILD_DIR (build-bench) SKIP_BUILD=1 (use existing binaries)
#      PORTICO_THREADS (2) KEEP=1 (keep the work dir)
#      QUIET_WAIT (300 s) QUIET_BUSY (20 %): wait for other processes to quieten first
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${PEERS:-$(cd "$ROOT/../shared/peers" && pwd)}"
OUT="${OUT:-${TMPDIR:-/tmp}/portico-peers}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-32}"
WS_STREAMS="${WS_STREAMS:-$CONNS}"
STREAM_REPEAT="${STREAM_REPEAT:-100}"
WS_HOLD="${WS_HOLD:-10000}"
WS_HOLD_SECS="${WS_HOLD_SECS:-10}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
PORTICO_THREADS="${PORTICO_THREADS:-2}"
COMMAND="env RUNS=$RUNS DURATION=$DURATION CONNS=$CONNS"
for v in WS_STREAMS STREAM_REPEAT WS_HOLD WS_HOLD_SECS OUT PEERS BUILD_DIR SKIP_BUILD PORTICO_THREADS \
         QUIET_WAIT QUIET_BUSY KEEP; do
  if [[ -n "$(printenv "$v" || true)" ]]; then COMMAND+=" $v=$(printf '%q' "$(printenv "$v")")"; fi
done
COMMAND+=" $(printf '%q ' "$0" "$@")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-e2e.XXXXXX")"
LOG="$WORK/e2e.log"
RES="$WORK/results"   # one file per scenario, one line per run
mkdir -p "$RES" "$WORK/logs" "$WORK/data"
log() { echo "$@" | tee -a "$LOG"; }
die() { log "FATAL: $*"; exit 1; }

# ---------------------------------------------------------------- header ----
cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
log "# Portico end-to-end benchmark, $(date -u +%FT%TZ)"
log "# command: $COMMAND"
log "# machine: $(nproc) cores ($cpu_model), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME")"
log "# portico: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]] && echo ' (+ uncommitted changes)')"
log "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share these cores)"
log "# work dir: $WORK"

# ----------------------------------------------------------------- build ----
PORTICO_BIN="$BUILD_DIR/portico"
WS_LOAD="$BUILD_DIR/ws_load/ws_load"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log ">> building peers (OUT=$OUT)"
  JOBS=2 OUT="$OUT" "$PEERS/build.sh" >"$WORK/logs/peers-build.log" 2>&1 ||
    { tail -20 "$WORK/logs/peers-build.log"; die "peers build failed (log: $WORK/logs/peers-build.log)"; }
  log ">> building Portico (Release, preset bench)"
  if [[ "$BUILD_DIR" == "$ROOT/build-bench" ]] &&
     (cd "$ROOT" && cmake --preset bench && cmake --build --preset bench -j2 --target portico) \
       >"$WORK/logs/portico-build.log" 2>&1; then
    :
  else
    # The preset also configures bench/ (microbenchmarks); if that part does not configure,
    # build Portico alone, Release, in a directory of its own.
    [[ "$BUILD_DIR" == "$ROOT/build-bench" ]] && BUILD_DIR="$ROOT/build-bench-e2e"
    log ">> preset build failed (see $WORK/logs/portico-build.log); building Portico in $BUILD_DIR"
    PORTICO_BIN="$BUILD_DIR/portico"; WS_LOAD="$BUILD_DIR/ws_load/ws_load"
    (cd "$ROOT" && cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
       -DBUILD_TESTING=OFF -DPORTICO_BENCH=OFF && cmake --build "$BUILD_DIR" -j2 --target portico) \
       >>"$WORK/logs/portico-build.log" 2>&1 ||
      { tail -30 "$WORK/logs/portico-build.log"; die "Portico build failed"; }
  fi
  log ">> building ws_load"
  make -C "$HERE/ws_load" BUILD="$BUILD_DIR/ws_load" >"$WORK/logs/ws_load-build.log" 2>&1 ||
    { tail -30 "$WORK/logs/ws_load-build.log"; die "ws_load build failed"; }
fi
for b in "$OUT/bin/echo_backend" "$OUT/bin/gwpeer" "$PORTICO_BIN" "$WS_LOAD"; do
  [[ -x "$b" ]] || die "missing $b"
done
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD_DIR/CMakeCache.txt" ||
  log "WARNING: $BUILD_DIR is not a Release build"

# ----------------------------------------------------------------- ports ----
CLEAN_DIR="$WORK/data"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BACKEND_PORT=$(free_port 50051)
PORTICO_PORT=$(free_port 18080)
ADMIN_PORT=$(free_port 19901)
GW_PORT=$(free_port 18180)
PORTICO2_PORT=$(free_port 18280)
ADMIN2_PORT=$(free_port 19911)

# ------------------------------------------------------------- processes ----

# Room for WS_HOLD sockets in Portico and in ws_load (both inherit this).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) > WS_HOLD + 200 )) || log "WARNING: fd limit $(ulimit -n) is too low for WS_HOLD=$WS_HOLD"

"$OUT/bin/echo_backend" --port="$BACKEND_PORT" >"$WORK/logs/echo_backend.log" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
wait_port "$BACKEND_PORT" "$BACKEND_PID" || die "echo_backend did not start: $(tail -5 "$WORK/logs/echo_backend.log")"

cat >"$WORK/portico.yaml" <<EOF
listen: 127.0.0.1:$PORTICO_PORT
admin: { listen: 127.0.0.1:$ADMIN_PORT }
store: { type: file, dir: $WORK/data }
threads: $PORTICO_THREADS
drain_timeout: 2s
limits:
  max_connections: $((WS_HOLD + 5000))
  idle_timeout: 120s
descriptors:
  - path: $PEERS/proto/bench/v1/bench.proto
    import_paths: [$PEERS/proto]
backends:
  - name: echo
    endpoints: [127.0.0.1:$BACKEND_PORT]
    services: [bench.v1.Echo]
    timeout: 600s
    max_requests: $((WS_HOLD + 5000))  # the idle-stream hold keeps WS_HOLD calls open
EOF
# A second Portico, identical but for the libgrpc++ transport (transport: grpc), to show in the
# same run what the nghttp2 transport on the io threads changes. Idle while the others run.
sed -e "s/127.0.0.1:$PORTICO_PORT/127.0.0.1:$PORTICO2_PORT/" -e "s/127.0.0.1:$ADMIN_PORT/127.0.0.1:$ADMIN2_PORT/" \
    -e "s#dir: $WORK/data#dir: $WORK/data2#" -e "s/^    timeout: 600s/    timeout: 600s\n    transport: grpc/" \
    "$WORK/portico.yaml" >"$WORK/portico-grpc.yaml"
mkdir -p "$WORK/data2"
"$PORTICO_BIN" --config "$WORK/portico.yaml" >"$WORK/logs/portico.log" 2>&1 &
PORTICO_PID=$!; PIDS+=("$PORTICO_PID")
wait_port "$PORTICO_PORT" "$PORTICO_PID" || die "Portico did not start: $(tail -5 "$WORK/logs/portico.log")"
"$PORTICO_BIN" --config "$WORK/portico-grpc.yaml" >"$WORK/logs/portico-grpc.log" 2>&1 &
PORTICO2_PID=$!; PIDS+=("$PORTICO2_PID")
wait_port "$PORTICO2_PORT" "$PORTICO2_PID" || die "Portico (grpc transport) did not start: $(tail -5 "$WORK/logs/portico-grpc.log")"

"$OUT/bin/gwpeer" -port "$GW_PORT" -backend "127.0.0.1:$BACKEND_PORT" >"$WORK/logs/gwpeer.log" 2>&1 &
GW_PID=$!; PIDS+=("$GW_PID")
wait_port "$GW_PORT" "$GW_PID" || die "gwpeer did not start: $(tail -5 "$WORK/logs/gwpeer.log")"

log "# echo_backend pid $BACKEND_PID :$BACKEND_PORT | Portico pid $PORTICO_PID :$PORTICO_PORT (admin :$ADMIN_PORT, threads $PORTICO_THREADS) | gwpeer pid $GW_PID :$GW_PORT"
log "# $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(h2load --version | head -1); RUNS=$RUNS DURATION=${DURATION}s CONNS=$CONNS WS_STREAMS=$WS_STREAMS STREAM_REPEAT=$STREAM_REPEAT WS_HOLD=$WS_HOLD"

P="http://127.0.0.1:$PORTICO_PORT"
G="http://127.0.0.1:$GW_PORT"
P2="http://127.0.0.1:$PORTICO2_PORT"
B="http://127.0.0.1:$BACKEND_PORT"
WS="ws://127.0.0.1:$PORTICO_PORT"

# ------------------------------------------------------------ functional ----
check() {  # check <name> <expected JSON> <curl args...>: compares JSON values (jq -S)
  local name=$1 want=$2; shift 2
  local got; got="$(curl -s --max-time 5 "$@" || true)"
  if [[ "$(jq -cS . <<<"$got" 2>/dev/null)" == "$(jq -cS . <<<"$want")" ]]; then
    log "ok   $name: $got"
  else
    log "FAIL $name: got [$got] want [$want]"; die "functional check failed"
  fi
}
for gw in "Portico $P" "Portico-grpc-transport $P2" "gwpeer $G"; do
  set -- $gw
  check "$1 POST /v1/echo" '{"message":"hi"}' -XPOST "$2/v1/echo" -H 'Content-Type: application/json' -d '{"message":"hi"}'
  check "$1 GET /v1/echo/hello" '{"message":"hello"}' "$2/v1/echo/hello"
done
check "Portico POST /bench.v1.Echo/Echo" '{"message":"hi"}' -XPOST "$P/bench.v1.Echo/Echo" -H 'Content-Type: application/json' -d '{"message":"hi"}'
"$WS_LOAD" --url "$WS/bench.v1.Echo/Echo" --mode echo --streams 1 --messages 3 --warmup 0 --duration 5 \
  >"$WORK/logs/ws-check.txt" 2>&1 || { cat "$WORK/logs/ws-check.txt"; die "WebSocket Echo check failed"; }
log "ok   Portico WebSocket /bench.v1.Echo/Echo: $(grep -o 'calls ok: [0-9]*' "$WORK/logs/ws-check.txt")"
"$WS_LOAD" --url "$WS/bench.v1.Echo/ServerStream" --mode stream --streams 1 --messages 1 --warmup 0 --duration 5 \
  --body '{"message":"s","repeat":3}' >"$WORK/logs/ws-check2.txt" 2>&1 ||
  { cat "$WORK/logs/ws-check2.txt"; die "WebSocket ServerStream check failed"; }
grep -q 'messages received: 3 ' "$WORK/logs/ws-check2.txt" ||
  { cat "$WORK/logs/ws-check2.txt"; die "WebSocket ServerStream check: expected 3 messages"; }
log "ok   Portico WebSocket /bench.v1.Echo/ServerStream repeat=3: 3 messages, close 1000"

# ------------------------------------------------------------------ runs ----
CLK_TCK=$(getconf CLK_TCK)
us_per() { awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "nan" }'; }

cat >"$WORK/get.lua" <<'EOF'
-- GET with the same report as post.lua.
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format(
    "SUMMARY rps=%.1f requests=%d duration_s=%.2f errors(connect=%d read=%d write=%d status=%d timeout=%d)\n",
    summary.requests / s, summary.requests, s,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  io.write(string.format(
    "LATENCY_US p50=%d p90=%d p99=%d p99.9=%d max=%d mean=%.1f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
EOF

FAILURES=0
# Each result line: rps p50_us p99_us gateway_cpu_us_per_req backend_cpu_us_per_req errors
record() { echo "$2" >>"$RES/$1"; }

wrk_run() {  # wrk_run <scenario> <gateway pid> <lua> <url>
  local sc=$1 gpid=$2 lua=$3 url=$4 g0 b0 g1 b1 out n rps p50 p99 errs
  g0=$(cpu_ticks "$gpid"); b0=$(cpu_ticks "$BACKEND_PID")
  out="$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s -s "$lua" "$url" 2>&1)" || true
  g1=$(cpu_ticks "$gpid"); b1=$(cpu_ticks "$BACKEND_PID")
  printf '== %s\n%s\n' "$sc" "$out" >>"$WORK/logs/wrk-full.log"
  n=$(sed -n 's/^SUMMARY .*requests=\([0-9]*\).*/\1/p' <<<"$out")
  rps=$(sed -n 's/^SUMMARY rps=\([0-9.]*\).*/\1/p' <<<"$out")
  p50=$(sed -n 's/^LATENCY_US p50=\([0-9]*\).*/\1/p' <<<"$out")
  p99=$(sed -n 's/^LATENCY_US.* p99=\([0-9]*\).*/\1/p' <<<"$out")
  errs=$(sed -n 's/^SUMMARY .*errors(connect=\([0-9]*\) read=\([0-9]*\) write=\([0-9]*\) status=\([0-9]*\) timeout=\([0-9]*\)).*/\1 \2 \3 \4 \5/p' <<<"$out" | awk '{print $1+$2+$3+$4+$5}')
  [[ -n "$n" && -n "$errs" ]] || { log "$sc: wrk failed: $out"; FAILURES=$((FAILURES + 1)); return; }
  if ((errs > 0)); then
    FAILURES=$((FAILURES + 1))
    log "ERRORS in $sc: $(grep -E '^SUMMARY|Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ')"
  fi
  kill -0 "$gpid" 2>/dev/null || die "$sc: the gateway (pid $gpid) died; log: $(tail -20 "$WORK/logs/"*.log)"
  local gcpu bcpu
  gcpu=$(us_per $((g1 - g0)) "$n"); bcpu=$(us_per $((b1 - b0)) "$n")
  record "$sc" "$rps $p50 $p99 $gcpu $bcpu $errs"
  log "$(printf '  %-26s rps=%-8s p50=%-6s p99=%-6s gw_cpu=%-6s backend_cpu=%-6s errors=%s' "$sc" "$rps" "${p50}us" "${p99}us" "$gcpu" "$bcpu" "$errs")"
}

h2_run() {  # h2_run <scenario> <h2load args...>: gRPC unary straight to the backend
  local sc=$1; shift
  local b0 b1 out n rps p50 p99 errs lf="$WORK/h2load-requests.tsv"
  rm -f "$lf"
  b0=$(cpu_ticks "$BACKEND_PID")
  out="$(h2load -D "$DURATION" --warm-up-time=1 -t 1 --log-file="$lf" \
      -d "$OUT/data/echo_hello.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
      "$@" "$B/bench.v1.Echo/Echo" 2>&1)" || true
  b1=$(cpu_ticks "$BACKEND_PID")
  printf '== %s\n%s\n' "$sc" "$out" >>"$WORK/logs/h2load-full.log"
  n=$(sed -n 's/^requests: \([0-9]*\) total.*/\1/p' <<<"$out")
  rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  errs=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\1 \2 \3/p' <<<"$out" | awk '{print $1+$2+$3}')
  local non2xx; non2xx=$(sed -n 's/^status codes: [0-9]* 2xx, \([0-9]*\) 3xx, \([0-9]*\) 4xx, \([0-9]*\) 5xx.*/\1 \2 \3/p' <<<"$out" | awk '{print $1+$2+$3}')
  errs=$(( ${errs:-0} + ${non2xx:-0} ))
  [[ -n "$n" && -n "$rps" ]] || { log "$sc: h2load failed: $out"; FAILURES=$((FAILURES + 1)); return; }
  # Percentiles of the per-request log (3rd column: us until the end of the response).
  read -r p50 p99 < <(awk -F'\t' '{print $3}' "$lf" | sort -n |
    awk '{v[NR]=$1} END { if (NR == 0) { print "nan nan"; exit }
      i50=int(0.50*(NR-1)+1.5); i99=int(0.99*(NR-1)+1.5); if (i99>NR) i99=NR; print v[i50], v[i99] }')
  # The CPU window includes the 1 s warm-up, whose requests are not counted: an upper bound.
  local bcpu; bcpu=$(us_per $((b1 - b0)) "$n")
  record "$sc" "$rps $p50 $p99 nan $bcpu $errs"
  log "$(printf '  %-26s rps=%-8s p50=%-6s p99=%-6s backend_cpu<=%-6s errors=%s' "$sc" "$rps" "${p50}us" "${p99}us" "$bcpu" "$errs")"
  rm -f "$lf"
}

ws_run() {  # ws_run <scenario> <ws_load args...>
  local sc=$1; shift
  local out rc=0 line
  out="$("$WS_LOAD" --pid "$PORTICO_PID" --backend-pid "$BACKEND_PID" "$@" 2>&1)" || rc=$?
  printf '== %s\n%s\n' "$sc" "$out" >>"$WORK/logs/ws_load-full.log"
  line=$(grep '^WS_RESULT' <<<"$out" || true)
  [[ -n "$line" ]] || { log "$sc: ws_load failed (rc $rc): $out"; FAILURES=$((FAILURES + 1)); return; }
  kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  local errs rate; errs=$(( $(kv errors) + $(kv bad_replies) ))
  if [[ "$sc" == ws-stream* ]]; then rate=$(kv msgs_per_s); else rate=$(kv calls_per_s); fi
  if ((errs > 0 || rc != 0)); then
    FAILURES=$((FAILURES + 1))
    log "ERRORS in $sc (rc $rc):"; grep -E '^  error|errors:' <<<"$out" | tee -a "$LOG"
  fi
  kill -0 "$PORTICO_PID" 2>/dev/null || die "$sc: Portico died; log: $(tail -20 "$WORK/logs/portico.log")"
  record "$sc" "$rate $(kv p50_us) $(kv p99_us) $(kv gw_cpu_us) $(kv backend_cpu_us) $errs"
  log "$(printf '  %-26s rate=%-8s p50=%-6s p99=%-6s gw_cpu=%-6s backend_cpu=%-6s errors=%s' "$sc" "$rate" "$(kv p50_us)us" "$(kv p99_us)us" "$(kv gw_cpu_us)" "$(kv backend_cpu_us)" "$errs")"
}

# Busy share of all cores over 1 s (from /proc/stat): what other processes use while we are idle.
busy_pct() {
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 1
  b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = (y[1]-x[1]) + (y[2]-x[2]);
    printf "%.0f", (t > 0 ? 100 * (y[1]-x[1]) / t : 0) }'
}
# Other work on this host skews every figure: wait (up to QUIET_WAIT s, default 300) until the
# host is quiet (busy < QUIET_BUSY %, default 20) before measuring. QUIET_WAIT=0 skips the wait.
QUIET_WAIT="${QUIET_WAIT:-300}"; QUIET_BUSY="${QUIET_BUSY:-20}"
waited=0
while (( waited < QUIET_WAIT )); do
  b=$(busy_pct); (( b < QUIET_BUSY )) && break
  ((waited == 0)) && log "host busy ($b% of all cores used by other processes); waiting up to ${QUIET_WAIT}s"
  sleep 4; waited=$((waited + 5))
done
log "# host busy before the runs (without our load): $(busy_pct)% of all cores"

log ""
log "## warm-up (2 s each, not recorded)"
wrk -t1 -c"$CONNS" -d2s -s "$PEERS/post.lua" "$P/v1/echo" >/dev/null
wrk -t1 -c"$CONNS" -d2s -s "$PEERS/post.lua" "$G/v1/echo" >/dev/null

for i in $(seq 1 "$RUNS"); do
  log ""
  log "## round $i of $RUNS (${DURATION}s per run; host busy without our load: $(busy_pct)%)"
  wrk_run portico-post "$PORTICO_PID" "$PEERS/post.lua" "$P/v1/echo"
  wrk_run gwpeer-post "$GW_PID" "$PEERS/post.lua" "$G/v1/echo"
  wrk_run portico-get "$PORTICO_PID" "$WORK/get.lua" "$P/v1/echo/hello"
  wrk_run gwpeer-get "$GW_PID" "$WORK/get.lua" "$G/v1/echo/hello"
  wrk_run portico-libgrpc-post "$PORTICO2_PID" "$PEERS/post.lua" "$P2/v1/echo"
  wrk_run portico-libgrpc-get "$PORTICO2_PID" "$WORK/get.lua" "$P2/v1/echo/hello"
  h2_run direct-c${CONNS}m1 -c "$CONNS" -m 1
  h2_run direct-c1m${CONNS} -c 1 -m "$CONNS"
  ws_run ws-echo --url "$WS/bench.v1.Echo/Echo" --mode echo --streams "$WS_STREAMS" \
    --duration "$DURATION" --warmup 1
  ws_run ws-stream --url "$WS/bench.v1.Echo/ServerStream" --mode stream --streams "$WS_STREAMS" \
    --duration "$DURATION" --warmup 1 --body "{\"message\":\"x\",\"repeat\":$STREAM_REPEAT}"
done

log ""
log "## hold: $WS_HOLD idle WebSocket streams on /bench.v1.Echo/ServerStream for ${WS_HOLD_SECS}s"
HOLD_OUT="$("$WS_LOAD" --url "$WS/bench.v1.Echo/ServerStream" --mode hold --streams "$WS_HOLD" \
  --duration "$WS_HOLD_SECS" --pid "$PORTICO_PID" 2>&1)" || { FAILURES=$((FAILURES + 1)); log "ws_load hold reported errors"; }
printf '%s\n' "$HOLD_OUT" | tee -a "$LOG" "$WORK/logs/ws_load-full.log"
kill -0 "$PORTICO_PID" 2>/dev/null || die "Portico died during the hold test; log: $(tail -20 "$WORK/logs/portico.log")"
HOLD_LINE=$(grep '^WS_RESULT' <<<"$HOLD_OUT" || true)
hkv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$HOLD_LINE"; }

# ----------------------------------------------------------------- table ----
median() {  # median <scenario> <column 1-6>
  [[ -s "$RES/$1" ]] || { echo nan; return; }
  awk -v c="$2" '$c != "nan" && $c != "" {print $c}' "$RES/$1" | sort -g |
    awk '{v[NR]=$1} END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'
}
errsum() { [[ -s "$RES/$1" ]] && awk '{s+=$6} END {print s+0}' "$RES/$1" || echo nan; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "–"; else printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { if (u == "nan" || u == "") print "–"; else printf "%.2f ms", u / 1000 }'; }
num() { awk -v x="$1" 'BEGIN { if (x == "nan" || x == "") print "–"; else printf "%.0f", x }'; }
cpu() { awk -v x="$1" 'BEGIN { if (x == "nan" || x == "" || x < 0) print "–"; else printf "%.1f", x }'; }

D1="direct-c${CONNS}m1"; DM="direct-c1m${CONNS}"
row() {  # row <label> <scenario> [peer scenario]
  local label=$1 sc=$2 peer=${3:-} rps p50 p99 g b e
  rps=$(median "$sc" 1); p50=$(median "$sc" 2); p99=$(median "$sc" 3)
  g=$(median "$sc" 4); b=$(median "$sc" 5); e=$(errsum "$sc")
  local rp="–" pp="–" rd="–" pd="–" rdm="–"
  if [[ -n "$peer" ]]; then
    rp=$(ratio "$rps" "$(median "$peer" 1)"); pp=$(ratio "$p99" "$(median "$peer" 3)")
  fi
  if [[ "$sc" == portico-* ]]; then
    rd=$(ratio "$rps" "$(median "$D1" 1)"); pd=$(ratio "$p99" "$(median "$D1" 3)")
    rdm=$(ratio "$rps" "$(median "$DM" 1)")
  fi
  echo "| $label | $(num "$rps") | $(ms "$p50") | $(ms "$p99") | $(cpu "$g") | $(cpu "$b") | $e | $rp | $pp | $rd | $pd | $rdm |"
}
TABLE="$WORK/table.md"
{
  echo "Medians of $RUNS runs, ${DURATION}s each, $CONNS connections (wrk -t1, h2load -t1), WebSocket: $WS_STREAMS sockets. CPU in µs per request (per message for the WS stream row)."
  echo ""
  echo "| scenario | RPS | p50 | p99 | gateway CPU µs/req | backend CPU µs/req | errors | RPS Portico/peer | p99 Portico/peer | RPS Portico/direct c${CONNS}m1 | p99 Portico/direct c${CONNS}m1 | RPS Portico/direct c1m${CONNS} |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  row "REST POST /v1/echo → Portico" portico-post gwpeer-post
  row "REST POST /v1/echo → grpc-gateway v1" gwpeer-post
  row "REST GET /v1/echo/hello → Portico" portico-get gwpeer-get
  row "REST GET /v1/echo/hello → grpc-gateway v1" gwpeer-get
  row "REST POST /v1/echo → Portico, libgrpc++ transport" portico-libgrpc-post gwpeer-post
  row "REST GET /v1/echo/hello → Portico, libgrpc++ transport" portico-libgrpc-get gwpeer-get
  row "gRPC direct, h2load -c$CONNS -m1" "$D1"
  row "gRPC direct, h2load -c1 -m$CONNS" "$DM"
  row "WS unary Echo, new socket per call → Portico" ws-echo
  row "WS ServerStream repeat=$STREAM_REPEAT → Portico (msgs/s)" ws-stream
  echo ""
  echo "WebSocket hold: $(hkv opened) of $WS_HOLD streams opened in $(hkv open_s) s, $(hkv alive_after_hold) still open after ${WS_HOLD_SECS}s idle, $(hkv verified) verified afterwards (request → reply → close 1000); Portico VmRSS $(hkv rss_before_kb) kB → $(hkv rss_open_kb) kB with the streams open (→ $(hkv rss_after_kb) kB after closing): **$(hkv rss_per_stream_kib) KiB per stream**; errors $(hkv errors)."
  echo ""
  echo "Direct rows: the backend CPU includes h2load's 1 s warm-up (upper bound). Portico/direct p99 compares a REST call through the gateway with a gRPC call straight to the backend."
} >"$TABLE"
log ""
log "## results"
tee -a "$LOG" <"$TABLE"
log ""
log "full log: $LOG"
if ((FAILURES > 0)); then
  log "FAILURES: $FAILURES runs reported errors (details above and in $WORK/logs)"
  KEEP=1
  exit 1
fi
