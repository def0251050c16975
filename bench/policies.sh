#!/usr/bin/env bash
# What policies cost per request (issue 10): one Portico per setting, all started at once in
# front of one C++ gRPC echo backend (bench.v1.Echo), under wrk (REST POST /v1/echo, HTTP/1.1),
# runs interleaved (run 1 of every setting, then run 2, ...) so that load from other processes
# hits every setting alike. Prints medians and ratios to "none".
#
#   bench/policies.sh                        # RUNS=3 DURATION=10: about 4 minutes
#   SETTINGS="none jwt" RUNS=3 DURATION=5 bench/policies.sh
#
# Settings: none (no policy), jwt (RS256 from a JWKS file; wrk repeats one token, so this is the
# verified-token cache's cost), rate (a local rate limit by ip, never exhausted), jwt+rate,
# redis (the rate limit shared in a local redis-server), jwt+redis; and log (no policy, the
# access log of issue 12 written to a file: SETTINGS="none log"). Measured per run:
# requests/s and Portico's CPU time per request (utime+stime over the run). Keys and the token
# are made here with the openssl CLI. The JWT and rate-limit checks alone (without HTTP) are in
# bench/jwt_bench and bench/rate_limit_bench.
#
# Env: SETTINGS ("none jwt rate jwt+rate redis jwt+redis") RUNS (3) DURATION (10 s) CONNS (32)
#      THREADS (1 Portico io thread) PORTICO_BIN (build-bench/portico, else build/portico)
#      OUT (/tmp/portico-peers: echo_backend built there if missing) PEERS (../shared/peers)
#      KEEP=1 (keep the work dir)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${PEERS:-$(cd "$ROOT/../shared/peers" && pwd)}"
OUT="${OUT:-${TMPDIR:-/tmp}/portico-peers}"
SETTINGS="${SETTINGS:-none jwt rate jwt+rate redis jwt+redis}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-1}"
if [[ -z "${PORTICO_BIN:-}" ]]; then
  PORTICO_BIN="$ROOT/build-bench/portico"
  [[ -x "$PORTICO_BIN" ]] || PORTICO_BIN="$ROOT/build/portico"
fi
BACKEND_BIN="$OUT/bin/echo_backend"
TICKS="$(getconf CLK_TCK)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-policies.XXXXXX")"
RES="$WORK/results"
mkdir -p "$RES" "$WORK/logs"
log() { echo "$@" | tee -a "$WORK/policies.log"; }
die() { log "FATAL: $*"; exit 1; }

[[ -x "$PORTICO_BIN" ]] || die "no Portico binary at $PORTICO_BIN (cmake --build --preset bench --target portico)"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
command -v openssl >/dev/null || die "openssl is missing"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
ensure_echo_backend

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# An RS256 key, its JWKS and a token valid for a day.
openssl genrsa -out "$WORK/key.pem" 2048 2>/dev/null
n="$(openssl rsa -in "$WORK/key.pem" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | b64url)"
cat >"$WORK/jwks.json" <<EOF
{"keys":[{"kty":"RSA","kid":"bench","alg":"RS256","n":"$n","e":"AQAB"}]}
EOF
header="$(printf '{"alg":"RS256","kid":"bench","typ":"JWT"}' | b64url)"
payload="$(printf '{"iss":"https://bench","aud":"bench","sub":"user-1","exp":%d}' $(( $(date +%s) + 86400 )) | b64url)"
signature="$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$WORK/key.pem" -binary | b64url)"
TOKEN="$header.$payload.$signature"

log "# Portico policy cost, $(date -u +%FT%TZ), portico $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
log "# machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "# Portico: $PORTICO_BIN, threads $THREADS; wrk -t1 -c$CONNS -d${DURATION}s POST /v1/echo; RUNS=$RUNS; settings: $SETTINGS"

BACKEND_PORT=$(free_port 50251)
"$BACKEND_BIN" --port="$BACKEND_PORT" >"$WORK/logs/backend.log" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
wait_port "$BACKEND_PORT" "$BACKEND_PID" || die "echo_backend did not start: $(tail -5 "$WORK/logs/backend.log")"

REDIS_PORT=""
if [[ "$SETTINGS" == *redis* ]]; then
  command -v redis-server >/dev/null || die "redis-server is missing (scripts/deps.sh installs it)"
  REDIS_PORT=$(free_port 16379)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" >"$WORK/logs/redis.log" 2>&1 &
  REDIS_PID=$!; PIDS+=("$REDIS_PID")
  wait_port "$REDIS_PORT" "$REDIS_PID" || die "redis-server did not start"
fi

policy_yaml() {
  local jwt="" rate=""
  [[ "$1" == *jwt* ]] && jwt="    jwt: { issuer: https://bench, audiences: [bench], jwks_file: $WORK/jwks.json, forward_claims: { sub: x-user-id } }"
  [[ "$1" == *rate* ]] && rate="    rate_limit: { rate: 100000000, per: 1s, key: ip }"
  [[ "$1" == *redis* ]] && rate="    rate_limit: { rate: 100000000, per: 1s, key: ip, shared: true }"
  [[ -z "$jwt$rate" ]] && { echo "policies: []"; return; }
  echo "policies:"
  echo "  - name: bench"
  [[ -n "$jwt" ]] && echo "$jwt"
  [[ -n "$rate" ]] && echo "$rate"
  return 0
}

declare -A PORT PID
for setting in $SETTINGS; do
  PORT[$setting]=$(free_port 18480)
  admin=$(free_port 19981)
  mkdir -p "$WORK/data-$setting"
  {
    cat <<EOF
listen: 127.0.0.1:${PORT[$setting]}
admin: { listen: 127.0.0.1:$admin }
store: { type: file, dir: $WORK/data-$setting }
threads: $THREADS
descriptors:
  - path: $PEERS/proto/bench/v1/bench.proto
    import_paths: [$PEERS/proto]
backends:
  - name: echo
    endpoints: [127.0.0.1:$BACKEND_PORT]
    services: [bench.v1.Echo]
EOF
    [[ -n "$REDIS_PORT" ]] && echo "redis: { address: 127.0.0.1:$REDIS_PORT }"
    [[ "$setting" == *log* ]] && echo "access_log: { path: $WORK/access-$setting.log }"
    policy_yaml "$setting"
  } >"$WORK/portico-$setting.yaml"
  "$PORTICO_BIN" --config "$WORK/portico-$setting.yaml" >"$WORK/logs/portico-$setting.log" 2>&1 &
  PID[$setting]=$!; PIDS+=("${PID[$setting]}")
  wait_port "${PORT[$setting]}" "${PID[$setting]}" ||
    die "Portico ($setting) did not start: $(tail -5 "$WORK/logs/portico-$setting.log")"
  got="$(curl -s --max-time 5 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
           -d '{"message":"hi"}' "http://127.0.0.1:${PORT[$setting]}/v1/echo" || true)"
  [[ "$(jq -r .message <<<"$got" 2>/dev/null)" == hi ]] || die "Portico ($setting) answered [$got]"
  if [[ "$setting" == *jwt* ]]; then
    code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://127.0.0.1:${PORT[$setting]}/v1/echo")"
    [[ "$code" == 401 ]] || die "Portico ($setting) let a call without a token through ($code)"
  fi
  wrk -t1 -c"$CONNS" -d1s -s "$PEERS/post.lua" -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:${PORT[$setting]}/v1/echo" >/dev/null 2>&1 || true
done

for run in $(seq 1 "$RUNS"); do
  for setting in $SETTINGS; do
    before=$(cpu_ticks "${PID[$setting]}")
    out="$(wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$PEERS/post.lua" -H "Authorization: Bearer $TOKEN" \
             "http://127.0.0.1:${PORT[$setting]}/v1/echo" 2>&1)"
    after=$(cpu_ticks "${PID[$setting]}")
    rps="$(sed -n 's/^SUMMARY rps=\([0-9.]*\) requests=\([0-9]*\).*/\1/p' <<<"$out")"
    requests="$(sed -n 's/^SUMMARY rps=[0-9.]* requests=\([0-9]*\).*/\1/p' <<<"$out")"
    errors="$(sed -n 's/^SUMMARY .*errors(\(.*\))/\1/p' <<<"$out")"
    p99="$(sed -n 's/^LATENCY_US .*p99=\([0-9]*\).*/\1/p' <<<"$out")"
    [[ -n "$rps" && "$requests" -gt 0 ]] || die "wrk failed for $setting: $out"
    us_per_req="$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')"
    echo "$rps $us_per_req $p99" >>"$RES/$setting"
    log "run $run $setting: rps=$rps cpu_us_per_req=$us_per_req p99_us=$p99 ($errors)"
  done
done

base="${SETTINGS%% *}"
base_rps="$(awk '{print $1}' "$RES/$base" | median)"
base_cpu="$(awk '{print $2}' "$RES/$base" | median)"
log ""
log "| setting | RPS (median) | vs $base | Portico CPU us/req (median) | extra us/req vs $base | p99 us |"
log "|---|---|---|---|---|---|"
for setting in $SETTINGS; do
  rps="$(awk '{print $1}' "$RES/$setting" | median)"
  cpu="$(awk '{print $2}' "$RES/$setting" | median)"
  p99="$(awk '{print $3}' "$RES/$setting" | median)"
  log "$(awk -v s="$setting" -v r="$rps" -v br="$base_rps" -v u="$cpu" -v bu="$base_cpu" -v p="$p99" \
    'BEGIN {printf "| %s | %.0f | %.2f | %.1f | %+.1f | %s |", s, r, r / br, u, u - bu, p}')"
done
