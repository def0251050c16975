#!/usr/bin/env bash
# TLS on the data listener: handshake cost and requests per second over TLS vs plain HTTP.
#
#   bench/tls_handshake.sh                 # DURATION=5 CONNS=16: about a minute
#
# Starts two Portico processes on free ports serving the same small static file (no backend,
# so only the front door is measured): one plain, one with `tls` (a P-256 certificate made
# here with openssl). Then:
#   - full handshakes: `openssl s_time -new` (TLS 1.3, then 1.2) for DURATION seconds each;
#     Portico's CPU time per handshake (utime + stime of the TLS process / handshakes, so the
#     accept and the close are in it too) and handshakes per second (one client, in turn);
#   - resumed handshakes: `s_time -reuse -tls1_2` (s_time resumes TLS 1.2 sessions only;
#     TLS 1.3 resumption is tested in tests/integration/tls_test.cc);
#   - wrk GET of the static file, keep-alive, CONNS connections: plain vs TLS RPS, as a ratio.
# Numbers are noise on a shared machine; the ratios are what to read.
#
# Env: DURATION (5 s per measurement) CONNS (16) PORTICO_BIN (build/portico)
#      PORTICO_THREADS (1) KEEP=1 (keep the work dir)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DURATION="${DURATION:-5}"
CONNS="${CONNS:-16}"
PORTICO_BIN="${PORTICO_BIN:-$ROOT/build/portico}"
PORTICO_THREADS="${PORTICO_THREADS:-1}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-tls.XXXXXX")"
log() { echo "$@"; }
die() { echo "FATAL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

[[ -x "$PORTICO_BIN" ]] || die "no $PORTICO_BIN (build the portico target first)"
command -v wrk >/dev/null || die "wrk is not installed"
command -v openssl >/dev/null || die "openssl is not installed"
TICK="$(getconf CLK_TCK)"

# ------------------------------------------------------------ certificates ----
cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
  -out ca.pem -subj /CN=bench-ca -days 30 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
  -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 30 \
  -extfile server.ext -out server.pem 2>/dev/null
mkdir -p static && head -c 512 /dev/urandom | base64 >static/file.txt

# ---------------------------------------------------------------- servers ----
start_portico() {  # <name> <extra yaml>: sets PORT and PID
  local port admin
  port="$(free_port 18443)"
  admin="$(free_port 19443)"
  cat >"$1.yaml" <<EOF
listen: 127.0.0.1:$port
admin: { listen: 127.0.0.1:$admin }
store: { dir: $WORK/$1-store }
threads: $PORTICO_THREADS
static: [{ prefix: /static/, dir: $WORK/static }]
$2
EOF
  "$PORTICO_BIN" --config "$1.yaml" >"$1.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port" "$!" && wait_port "$admin" "$!" || die "portico ($1) did not start: $(cat "$1.log")"
  PORT="$port"
  PID="$!"
}
start_portico plain ""
PLAIN="$PORT"
start_portico tls "tls: { cert_file: $WORK/server.pem, key_file: $WORK/server.key }"
TLS="$PORT"
TLS_PID="$PID"
curl -sf -o /dev/null "http://127.0.0.1:$PLAIN/static/file.txt" || die "plain check failed"
curl -sf --http1.1 -o /dev/null --cacert ca.pem "https://127.0.0.1:$TLS/static/file.txt" || die "TLS check failed"

log "# TLS on the data listener, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
log "# portico $("$PORTICO_BIN" --version) ($PORTICO_BIN), threads $PORTICO_THREADS, $(openssl version)"

# ------------------------------------------------------------- handshakes ----
handshakes() {  # <s_time flags>: "<handshakes> <handshakes/s> <server CPU us per handshake>"
  local before after out n secs
  before="$(cpu_ticks "$TLS_PID")"
  out="$(openssl s_time -connect "127.0.0.1:$TLS" -CAfile ca.pem -time "$DURATION" "$@" 2>&1 </dev/null)"
  after="$(cpu_ticks "$TLS_PID")"
  n="$(sed -n 's/^\([0-9]*\) connections in \([0-9.]*\)s.*/\1/p' <<<"$out" | head -1)"
  secs="$(sed -n 's/^\([0-9]*\) connections in \([0-9.]*\)s.*/\2/p' <<<"$out" | head -1)"
  [[ -n "$n" && "$n" -gt 0 ]] || die "s_time failed: $out"
  awk -v n="$n" -v s="$secs" -v t=$((after - before)) -v tick="$TICK" \
    'BEGIN {printf "%d %.0f %.0f\n", n, n / s, t / tick * 1e6 / n}'
}
read -r FULL_N FULL_RATE FULL_CPU < <(handshakes -new)
read -r FULL12_N FULL12_RATE FULL12_CPU < <(handshakes -new -tls1_2)
read -r REUSE_N REUSE_RATE REUSE_CPU < <(handshakes -reuse -tls1_2)

# -------------------------------------------------------------------- RPS ----
rps() {  # <url>
  wrk -t1 -c"$CONNS" -d"${DURATION}s" "$1" | awk '/^Requests\/sec/ {printf "%.0f\n", $2}'
}
PLAIN_RPS="$(rps "http://127.0.0.1:$PLAIN/static/file.txt")"
TLS_RPS="$(rps "https://127.0.0.1:$TLS/static/file.txt")"

printf '%-44s %12s %20s\n' "measure" "per second" "server CPU / op"
printf '%-44s %12s %17s us\n' "full handshake TLS 1.3 ($FULL_N)" "$FULL_RATE" "$FULL_CPU"
printf '%-44s %12s %17s us\n' "full handshake TLS 1.2 ($FULL12_N)" "$FULL12_RATE" "$FULL12_CPU"
printf '%-44s %12s %17s us\n' "resumed handshake TLS 1.2 ($REUSE_N)" "$REUSE_RATE" "$REUSE_CPU"
printf '%-44s %12s\n' "GET static file, plain HTTP/1.1 (wrk -c$CONNS)" "$PLAIN_RPS"
printf '%-44s %12s\n' "GET static file, HTTPS HTTP/1.1 (wrk -c$CONNS)" "$TLS_RPS"
awk -v p="$PLAIN_RPS" -v t="$TLS_RPS" -v f="$FULL12_CPU" -v r="$REUSE_CPU" 'BEGIN {
  printf "ratio: TLS RPS / plain RPS = %.2f; resumed / full TLS 1.2 handshake CPU = %.2f\n", t / p, r / f }'
