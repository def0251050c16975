#!/usr/bin/env bash
# Native gRPC through Portico (the pass-through proxy, h2c) vs straight to the backend, same run:
# h2load sends gRPC unary bench.v1.Echo/Echo ("hello", one length-prefixed frame) to the
# ../shared/peers echo_backend directly and through Portico, in interleaved rounds, at
# -c$CONNS -m1 and -c1 -m$CONNS. Prints medians (RPS, p50, p99 from h2load's per-request log)
# and the ratios Portico/direct.
#
#   bench/grpc_proxy.sh                      # RUNS=3 DURATION=10 CONNS=16: about 2.5 minutes
#   PORTICO_BIN=build-bench/portico bench/grpc_proxy.sh
#
# Env: PORTICO_BIN (build-bench/portico if there, else build/portico) RUNS (3) DURATION (10 s)
#      CONNS (16) PORTICO_THREADS (2) OUT (/tmp/portico-peers: echo_backend, built there
#      when missing) PEERS (../shared/peers) KEEP=1 (keep the work dir)
# Stops what it started by PID.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${PEERS:-$(cd "$ROOT/../shared/peers" 2>/dev/null && pwd || echo "$ROOT/../shared/peers")}"
OUT="${OUT:-${TMPDIR:-/tmp}/portico-peers}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-16}"
PORTICO_THREADS="${PORTICO_THREADS:-2}"
if [[ -z "${PORTICO_BIN:-}" ]]; then
  PORTICO_BIN="$ROOT/build-bench/portico"
  [[ -x "$PORTICO_BIN" ]] || PORTICO_BIN="$ROOT/build/portico"
fi
BACKEND_BIN="$OUT/bin/echo_backend"

log() { echo "$*" >&2; }
die() { log "error: $*"; exit 1; }
command -v h2load >/dev/null || die "h2load is missing: apt-get install nghttp2-client"
[[ -x "$PORTICO_BIN" ]] || die "no portico binary at $PORTICO_BIN"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-grpc-proxy.XXXXXX")"
mkdir -p "$WORK/logs" "$WORK/data"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
ensure_echo_backend

BACKEND_PORT=$(free_port 50151)
PORTICO_PORT=$(free_port 18380)
ADMIN_PORT=$(free_port 19931)

"$BACKEND_BIN" --port="$BACKEND_PORT" >"$WORK/logs/echo_backend.log" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
wait_port "$BACKEND_PORT" "$BACKEND_PID" || die "echo_backend did not start"

cat >"$WORK/portico.yaml" <<EOF
listen: 127.0.0.1:$PORTICO_PORT
admin: { listen: 127.0.0.1:$ADMIN_PORT }
store: { type: file, dir: $WORK/data }
threads: $PORTICO_THREADS
descriptors:
  - path: $PEERS/proto/bench/v1/bench.proto
    import_paths: [$PEERS/proto]
backends:
  - name: echo
    endpoints: [127.0.0.1:$BACKEND_PORT]
    services: [bench.v1.Echo]
    timeout: 60s
EOF
"$PORTICO_BIN" --config "$WORK/portico.yaml" >"$WORK/logs/portico.log" 2>&1 &
PORTICO_PID=$!; PIDS+=("$PORTICO_PID")
wait_port "$PORTICO_PORT" "$PORTICO_PID" || die "Portico did not start: $(tail -5 "$WORK/logs/portico.log")"

# EchoRequest{message: "hello"}: field 1, length 5; framed (flag 0, length 7).
printf '\x00\x00\x00\x00\x07\x0a\x05hello' >"$WORK/echo_hello.grpc"

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
run() {  # run <scenario> <port> <h2load args...>
  local sc=$1 port=$2; shift 2
  local lf="$WORK/h2load-requests.tsv" out rps errs p50 p99
  rm -f "$lf"
  out="$(h2load -D "$DURATION" --warm-up-time=1 -t 1 --log-file="$lf" \
      -d "$WORK/echo_hello.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
      "$@" "http://127.0.0.1:$port/bench.v1.Echo/Echo" 2>&1)" || true
  printf '== %s\n%s\n' "$sc" "$out" >>"$WORK/logs/h2load-full.log"
  rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  errs=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\1 \2 \3/p' <<<"$out" | awk '{print $1+$2+$3}')
  [[ -n "$rps" ]] || { log "$sc: h2load failed: $out"; return; }
  read -r p50 p99 < <(awk -F'\t' '{print $3}' "$lf" | sort -n |
    awk '{v[NR]=$1} END { if (NR == 0) { print "nan nan"; exit }
      i50=int(0.50*(NR-1)+1.5); i99=int(0.99*(NR-1)+1.5); if (i99>NR) i99=NR; print v[i50], v[i99] }')
  printf '%s\t%s\t%s\t%s\t%s\n' "$sc" "$rps" "$p50" "$p99" "${errs:-0}" >>"$RESULTS"
  log "$(printf '  %-22s rps=%-9s p50=%-7s p99=%-7s errors=%s' "$sc" "$rps" "${p50}us" "${p99}us" "${errs:-0}")"
}

# A gRPC status other than 0 still counts as a 2xx for h2load: check one call's trailers first.
check="$(h2load -n 1 -c 1 -d "$WORK/echo_hello.grpc" -H 'content-type: application/grpc' \
  -H 'te: trailers' "http://127.0.0.1:$PORTICO_PORT/bench.v1.Echo/Echo" 2>&1)" || true
grep -q '1 succeeded' <<<"$check" || die "a call through Portico failed: $check"

log "# $(h2load --version | head -1); RUNS=$RUNS DURATION=${DURATION}s CONNS=$CONNS threads=$PORTICO_THREADS"
for r in $(seq 1 "$RUNS"); do
  log "round $r/$RUNS"
  run "direct-c${CONNS}m1" "$BACKEND_PORT" -c "$CONNS" -m 1
  run "portico-c${CONNS}m1" "$PORTICO_PORT" -c "$CONNS" -m 1
  run "direct-c1m${CONNS}" "$BACKEND_PORT" -c 1 -m "$CONNS"
  run "portico-c1m${CONNS}" "$PORTICO_PORT" -c 1 -m "$CONNS"
done

med() {  # med <scenario> <column: 2 rps, 3 p50, 4 p99, 5 errors>
  awk -F'\t' -v s="$1" -v c="$2" '$1 == s {print $c}' "$RESULTS" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }
echo "Native gRPC unary (bench.v1.Echo/Echo) through Portico vs direct: medians of $RUNS runs, ${DURATION}s each (h2load -t1)."
echo ""
echo "| load | RPS direct | RPS Portico | RPS Portico/direct | p50 direct | p50 Portico | p99 direct | p99 Portico | p99 Portico/direct | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for load in "c${CONNS}m1" "c1m${CONNS}"; do
  rd=$(med "direct-$load" 2); rp=$(med "portico-$load" 2)
  d50=$(med "direct-$load" 3); p50=$(med "portico-$load" 3)
  d99=$(med "direct-$load" 4); p99=$(med "portico-$load" 4)
  e=$(awk -F'\t' -v l="$load" '$1 ~ l {s += $5} END {print s + 0}' "$RESULTS")
  echo "| -$load | $rd | $rp | $(ratio "$rp" "$rd") | ${d50}us | ${p50}us | ${d99}us | ${p99}us | $(ratio "$p99" "$d99") | $e |"
done
