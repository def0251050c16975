#!/usr/bin/env bash
# REST over HTTP/2 (h2c, h2load) vs over HTTP/1.1 (wrk) through one Portico in front of the C++
# gRPC echo backend (bench.v1.Echo), same route (POST /v1/echo, JSON), same process, runs
# interleaved (h1, h2, h2mux, then again) so that load from other processes hits each alike.
# Measured per run: requests/s and Portico's CPU time per request (utime+stime over the run,
# from /proc). Prints medians and ratios to HTTP/1.1.
#
#   bench/h2_rest.sh                  # RUNS=3 DURATION=10: about 2 minutes
#
# Modes: h1 (wrk -c$CONNS, one request in flight per connection), h2 (h2load -c$CONNS -m1:
# the same concurrency, one stream per connection), h2mux (h2load -c$MUX_CONNS -m$STREAMS:
# the same number of requests in flight, multiplexed on a few connections).
# Env: RUNS (3) DURATION (10 s) CONNS (32) MUX_CONNS (4) STREAMS (8) THREADS (1 io thread)
#      PORTICO_BIN (build-bench/portico, else build/portico) OUT (/tmp/portico-peers) PEERS
#      KEEP=1 (keep the work dir)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${PEERS:-$(cd "$ROOT/../shared/peers" && pwd)}"
OUT="${OUT:-${TMPDIR:-/tmp}/portico-peers}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-32}"
MUX_CONNS="${MUX_CONNS:-4}"
STREAMS="${STREAMS:-8}"
THREADS="${THREADS:-1}"
if [[ -z "${PORTICO_BIN:-}" ]]; then
  PORTICO_BIN="$ROOT/build-bench/portico"
  [[ -x "$PORTICO_BIN" ]] || PORTICO_BIN="$ROOT/build/portico"
fi
BACKEND_BIN="$OUT/bin/echo_backend"
TICKS="$(getconf CLK_TCK)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-h2rest.XXXXXX")"
RES="$WORK/results"
mkdir -p "$RES" "$WORK/logs"
log() { echo "$@" | tee -a "$WORK/h2_rest.log"; }
die() { log "FATAL: $*"; exit 1; }

[[ -x "$PORTICO_BIN" ]] || die "no Portico binary at $PORTICO_BIN (cmake --build --preset bench --target portico)"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
command -v h2load >/dev/null || die "h2load is missing (apt-get install nghttp2-client)"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
ensure_echo_backend

log "# REST over h2c vs HTTP/1.1, $(date -u +%FT%TZ), portico $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
log "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "# Portico: $PORTICO_BIN, threads $THREADS; POST /v1/echo; RUNS=$RUNS DURATION=${DURATION}s"
log "# h1: wrk -t1 -c$CONNS; h2: h2load -t1 -c$CONNS -m1; h2mux: h2load -t1 -c$MUX_CONNS -m$STREAMS"

BACKEND_PORT=$(free_port 50251)
"$BACKEND_BIN" --port="$BACKEND_PORT" >"$WORK/logs/backend.log" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
wait_port "$BACKEND_PORT" "$BACKEND_PID" || die "echo_backend did not start: $(tail -5 "$WORK/logs/backend.log")"

PORT=$(free_port 18480)
ADMIN=$(free_port 19981)
mkdir -p "$WORK/data"
cat >"$WORK/portico.yaml" <<EOF
listen: 127.0.0.1:$PORT
admin: { listen: 127.0.0.1:$ADMIN }
store: { type: file, dir: $WORK/data }
threads: $THREADS
descriptors:
  - path: $PEERS/proto/bench/v1/bench.proto
    import_paths: [$PEERS/proto]
backends:
  - name: echo
    endpoints: [127.0.0.1:$BACKEND_PORT]
    services: [bench.v1.Echo]
policies: []
EOF
"$PORTICO_BIN" --config "$WORK/portico.yaml" >"$WORK/logs/portico.log" 2>&1 &
PID=$!; PIDS+=("$PID")
wait_port "$PORT" "$PID" || die "Portico did not start: $(tail -5 "$WORK/logs/portico.log")"
URL="http://127.0.0.1:$PORT/v1/echo"
BODY='{"message":"hello"}'
printf '%s' "$BODY" >"$WORK/body.json"
got="$(curl -s --max-time 5 --http2-prior-knowledge -X POST -H 'Content-Type: application/json' -d "$BODY" "$URL" || true)"
[[ "$(jq -r .message <<<"$got" 2>/dev/null)" == hello ]] || die "Portico over h2c answered [$got]"

# Prints "rps requests" for one run of `mode`.
load() {
  local mode=$1 secs=$2 out
  case "$mode" in
    h1)
      out="$(wrk -t1 -c"$CONNS" -d"${secs}s" -s "$PEERS/post.lua" "$URL" 2>&1)"
      sed -n 's/^SUMMARY rps=\([0-9.]*\) requests=\([0-9]*\) .*errors(connect=0 read=0 write=0 status=0 timeout=0)$/\1 \2/p' <<<"$out"
      ;;
    h2 | h2mux)
      local c=$CONNS m=1
      [[ "$mode" == h2mux ]] && { c=$MUX_CONNS; m=$STREAMS; }
      out="$(h2load -t1 -c"$c" -m"$m" -D "$secs" -d "$WORK/body.json" \
               -H 'content-type: application/json' "$URL" 2>&1)"
      # "finished in 10.00s, 1234.5 req/s, ..." and "requests: N total, N started, N done, N succeeded, 0 failed, 0 errored, 0 timeout"
      local rps ok failed
      rps="$(sed -n 's/^finished in [0-9.]*s, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")"
      ok="$(sed -n 's/^requests: .* \([0-9]*\) succeeded, \([0-9]*\) failed, \([0-9]*\) errored.*/\1/p' <<<"$out")"
      failed="$(sed -n 's/^requests: .* succeeded, \([0-9]*\) failed, \([0-9]*\) errored.*/\1\2/p' <<<"$out")"
      [[ "$failed" == 00 ]] && echo "$rps $ok"
      ;;
  esac
}

for mode in h1 h2 h2mux; do load "$mode" 1 >/dev/null || true; done  # warm up
for run in $(seq 1 "$RUNS"); do
  for mode in h1 h2 h2mux; do
    before=$(cpu_ticks "$PID")
    res="$(load "$mode" "$DURATION" || true)"
    after=$(cpu_ticks "$PID")
    [[ -n "$res" ]] || die "$mode run $run failed"
    read -r rps requests <<<"$res"
    us="$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')"
    echo "$rps $us" >>"$RES/$mode"
    log "run $run $mode: rps=$rps cpu_us_per_req=$us"
  done
done

base_rps="$(awk '{print $1}' "$RES/h1" | median)"
base_cpu="$(awk '{print $2}' "$RES/h1" | median)"
log ""
log "| mode | RPS (median) | RPS vs h1 | Portico CPU us/req (median) | CPU/req vs h1 |"
log "|---|---|---|---|---|"
for mode in h1 h2 h2mux; do
  rps="$(awk '{print $1}' "$RES/$mode" | median)"
  cpu="$(awk '{print $2}' "$RES/$mode" | median)"
  log "$(awk -v s="$mode" -v r="$rps" -v br="$base_rps" -v u="$cpu" -v bu="$base_cpu" \
    'BEGIN {printf "| %s | %.0f | %.2f | %.1f | %.2f |", s, r, r / br, u, u / bu}')"
done
