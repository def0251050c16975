#!/usr/bin/env bash
# What an aggregate costs (issue 11, "Measure"): one Portico (bench/aggregate_bench.yaml) in
# front of the dashboard example's gRPC backend (examples/dashboard, no delays, no failures),
# under wrk (GET, HTTP/1.1). Settings, run interleaved (run 1 of every setting, then run 2, ...)
# so that load from other processes hits every setting alike:
#   agg3    GET /v1/bench3/u1?name=Ada: 3 independent parts (GetUser, Orders/List, Recs/ForUser)
#   parts3  the same 3 calls one by one through Portico's REST routes (wrk takes them in turn)
#   dash    GET /v1/dashboard/u1: the example's aggregate, 6 calls (user, orders; recs after
#           user; order_details: one Orders/Get per order of u1's 3)
#   parts6  the same 6 calls one by one
# Measured per run: requests/s, wrk's p50/p90/p99 (--latency), Portico's and the backend's CPU
# (utime+stime from /proc/<pid>/stat) per request and per "aggregate's worth" (one aggregate,
# or one request to each of its parts), and the CPU other processes took meanwhile (the
# machine's busy time from /proc/stat minus Portico, the backend and wrk). Prints medians and
# the aggregate / sum-of-parts CPU ratio.
#
#   bench/aggregate.sh                       # RUNS=3 DURATION=10 WARMUP=2: about 2.5 minutes
#   SETTINGS="agg3 parts3" RUNS=1 bench/aggregate.sh
#
# Env: SETTINGS ("agg3 parts3 dash parts6") RUNS (3) DURATION (10 s) WARMUP (2 s, before
#      every measured run) CONNS (32) THREADS (1 Portico io thread)
#      PORTICO_BIN (build-bench/portico, else build/portico)
#      DASHBOARD_BIN (build-bench/examples/dashboard_backend, else build/examples/...)
#      KEEP=1 (keep the work dir)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SETTINGS="${SETTINGS:-agg3 parts3 dash parts6}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-1}"
pick_bin() {  # <env value> <path under the build dir>
  if [[ -n "$1" ]]; then echo "$1"; return; fi
  if [[ -x "$ROOT/build-bench/$2" ]]; then echo "$ROOT/build-bench/$2"; else echo "$ROOT/build/$2"; fi
}
PORTICO_BIN="$(pick_bin "${PORTICO_BIN:-}" portico)"
DASHBOARD_BIN="$(pick_bin "${DASHBOARD_BIN:-}" examples/dashboard_backend)"
TICKS="$(getconf CLK_TCK)"
CORES="$(nproc)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-aggregate.XXXXXX")"
RES="$WORK/results"
mkdir -p "$RES" "$WORK/logs" "$WORK/data"
log() { echo "$@" | tee -a "$WORK/aggregate.log"; }
die() { log "FATAL: $*"; exit 1; }

for bin in "$PORTICO_BIN" "$DASHBOARD_BIN"; do
  [[ -x "$bin" ]] || die "no binary at $bin (cmake --preset bench && cmake --build --preset bench -j2 --target portico dashboard_backend)"
done
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
command -v jq >/dev/null || die "jq is missing"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

# Each setting: the paths wrk takes in turn, and how many requests make one aggregate's worth.
declare -A PATHS GROUP WHAT
PATHS[agg3]="/v1/bench3/u1?name=Ada";                            GROUP[agg3]=1
PATHS[parts3]="/v1/users/u1 /v1/users/u1/orders?limit=3 /v1/recs/Ada"; GROUP[parts3]=3
PATHS[dash]="/v1/dashboard/u1";                                  GROUP[dash]=1
PATHS[parts6]="/v1/users/u1 /v1/users/u1/orders?limit=20 /v1/recs/Ada /v1/orders/o-1003 /v1/orders/o-1002 /v1/orders/o-1001"
GROUP[parts6]=6
WHAT[agg3]="aggregate, 3 independent parts"
WHAT[parts3]="its 3 parts one by one (single REST calls)"
WHAT[dash]="dashboard aggregate, 6 calls (1 dependent, 3 for_each)"
WHAT[parts6]="its 6 calls one by one (single REST calls)"
for setting in $SETTINGS; do
  [[ -n "${PATHS[$setting]:-}" ]] || die "unknown setting $setting (agg3 parts3 dash parts6)"
done

# busy and total jiffies of the whole machine (all cores), from /proc/stat's first line.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
# CPU of this shell's waited-for children (wrk and the small tools), clock ticks.
children_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }

log "# Portico aggregation cost, $(date -u +%FT%TZ), portico $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
log "# machine: $CORES cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "# Portico: $PORTICO_BIN, threads $THREADS; backend: $DASHBOARD_BIN"
log "# wrk -t1 -c$CONNS -d${DURATION}s --latency (after a ${WARMUP}s warm-up), GET; RUNS=$RUNS; settings: $SETTINGS"

BACKEND_PORT=$(free_port 50361)
"$DASHBOARD_BIN" --port "$BACKEND_PORT" >"$WORK/logs/backend.log" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
wait_port "$BACKEND_PORT" "$BACKEND_PID" || die "dashboard_backend did not start: $(tail -5 "$WORK/logs/backend.log")"

PORT=$(free_port 18580)
ADMIN_PORT=$(free_port 19991)
sed -e "s|@PORT@|$PORT|; s|@ADMIN_PORT@|$ADMIN_PORT|; s|@DATA_DIR@|$WORK/data|" \
    -e "s|@THREADS@|$THREADS|; s|@BACKEND_PORT@|$BACKEND_PORT|; s|@ROOT@|$ROOT|g" \
    "$HERE/aggregate_bench.yaml" >"$WORK/portico.yaml"
"$PORTICO_BIN" --config "$WORK/portico.yaml" >"$WORK/logs/portico.log" 2>&1 &
PORTICO_PID=$!; PIDS+=("$PORTICO_PID")
wait_port "$PORT" "$PORTICO_PID" || die "Portico did not start: $(tail -5 "$WORK/logs/portico.log")"
BASE="http://127.0.0.1:$PORT"

# The answers are what they should be before anything is measured.
got="$(curl -s --max-time 5 "$BASE/v1/bench3/u1?name=Ada" || true)"
[[ "$(jq -c '[.user.name, (.orders.items | length), (.recs.items | length), has("errors")]' <<<"$got" 2>/dev/null)" == '["Ada",3,3,false]' ]] ||
  die "bench3 answered [$got]"
got="$(curl -s --max-time 5 "$BASE/v1/dashboard/u1" || true)"
[[ "$(jq -c '[.user.name, (.orders.items | length), (.recs.items | length), [.order_details[].id], has("errors")]' <<<"$got" 2>/dev/null)" == \
   '["Ada",3,3,["o-1003","o-1002","o-1001"],false]' ]] || die "dashboard answered [$got]"
for path in ${PATHS[parts6]} /v1/users/u1/orders?limit=3; do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE$path" || true)"
  [[ "$code" == 200 ]] || die "GET $path answered $code"
done

run_wrk() {  # <setting> <seconds>
  WRK_PATHS="${PATHS[$1]}" wrk -t1 -c"$CONNS" -d"$2s" --latency -s "$HERE/aggregate.lua" "$BASE" 2>&1
}
field() { sed -n "s/^$1.* $2=\([0-9.]*\).*/\1/p" <<<"$3"; }

for run in $(seq 1 "$RUNS"); do
  for setting in $SETTINGS; do
    run_wrk "$setting" "$WARMUP" >/dev/null || true
    load="$(cut -d' ' -f1 /proc/loadavg)"
    read -r busy0 total0 < <(machine_ticks)
    p0=$(cpu_ticks "$PORTICO_PID"); b0=$(cpu_ticks "$BACKEND_PID"); c0=$(children_ticks)
    out="$(run_wrk "$setting" "$DURATION")"
    p1=$(cpu_ticks "$PORTICO_PID"); b1=$(cpu_ticks "$BACKEND_PID"); c1=$(children_ticks)
    read -r busy1 total1 < <(machine_ticks)
    rps="$(field SUMMARY rps "$out")"
    requests="$(field SUMMARY requests "$out")"
    errors="$(sed -n 's/^SUMMARY .*errors(\(.*\))/\1/p' <<<"$out")"
    [[ -n "$rps" && "${requests:-0}" -gt 0 ]] || die "wrk failed for $setting: $out"
    [[ "$errors" == "connect=0 read=0 write=0 status=0 timeout=0" ]] || log "WARNING: $setting run $run had errors: $errors"
    p50="$(field LATENCY_US p50 "$out")"; p90="$(field LATENCY_US p90 "$out")"; p99="$(field LATENCY_US p99 "$out")"
    # Per request, per aggregate's worth (GROUP requests), and the other processes' share of
    # the machine (busy jiffies not ours, over all cores' jiffies).
    read -r gw_req gw_agg be_agg others < <(awk -v p=$((p1 - p0)) -v b=$((b1 - b0)) -v c=$((c1 - c0)) \
      -v busy=$((busy1 - busy0)) -v total=$((total1 - total0)) -v hz="$TICKS" -v n="$requests" -v g="${GROUP[$setting]}" \
      'BEGIN {o = (busy - p - b - c) / total * 100; if (o < 0) o = 0;
              printf "%.2f %.2f %.2f %.0f\n", p / hz * 1e6 / n, p / hz * 1e6 / n * g, b / hz * 1e6 / n * g, o}')
    echo "$rps $gw_req $gw_agg $be_agg $p50 $p90 $p99 $load $others" >>"$RES/$setting"
    log "run $run $setting: rps=$rps gateway_cpu_us_per_req=$gw_req per_aggregate=$gw_agg backend_per_aggregate=$be_agg p50/p90/p99_us=$p50/$p90/$p99 load1=$load others=${others}% ($errors)"
  done
done

col() { awk -v i="$2" '{print $i}' "$RES/$1" | median; }
log ""
log "# medians of $RUNS runs; CPU in µs; \"per aggregate\" = per aggregated request, or per one request to each of its parts; others = CPU other processes took, % of all $CORES cores"
log "| setting | what | RPS | p50 ms | p90 ms | p99 ms | gateway CPU/request | gateway CPU per aggregate | backend CPU per aggregate | load1 | others |"
log "|---|---|---|---|---|---|---|---|---|---|---|"
for setting in $SETTINGS; do
  log "$(awk -v s="$setting" -v w="${WHAT[$setting]}" -v r="$(col "$setting" 1)" -v u="$(col "$setting" 2)" \
    -v a="$(col "$setting" 3)" -v b="$(col "$setting" 4)" -v p50="$(col "$setting" 5)" -v p90="$(col "$setting" 6)" \
    -v p99="$(col "$setting" 7)" -v l="$(col "$setting" 8)" -v o="$(col "$setting" 9)" \
    'BEGIN {printf "| %s | %s | %.0f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %.2f | %.0f%% |", s, w, r, p50 / 1000, p90 / 1000, p99 / 1000, u, a, b, l, o}')"
done
log ""
for pair in "agg3 parts3" "dash parts6"; do
  read -r agg parts <<<"$pair"
  [[ -s "$RES/$agg" && -s "$RES/$parts" ]] || continue
  # Ratios of the medians, and the range of the per-run ratios (run i of agg against run i of parts).
  range="$(paste -d' ' "$RES/$agg" "$RES/$parts" | awk '{r = $3 / $12; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r} END {printf "%.2f–%.2f", lo, hi}')"
  log "$(awk -v a="$agg" -v p="$parts" -v ca="$(col "$agg" 3)" -v cp="$(col "$parts" 3)" \
    -v la="$(col "$agg" 7)" -v lp="$(col "$parts" 7)" -v rg="$range" \
    'BEGIN {printf "%s vs %s: gateway CPU %.1f µs per aggregate vs %.1f µs for its parts one by one = %.2f (per run %s); p99 %.2f ms vs %.2f ms per single call", a, p, ca, cp, ca / cp, rg, la / 1000, lp / 1000}')"
done
