#!/usr/bin/env bash
# Does admin work stall the data plane? p99 latency of a wrk run on the data listener, first
# idle, then while 100 .proto uploads (POST /admin/descriptors, compile + catalog + fsync) go to
# the admin listener. Run it once per binary to compare builds:
#
#   bench/admin_upload.sh                                   # build/portico
#   PORTICO_BIN=/path/to/old/portico bench/admin_upload.sh  # another build
#
# The data-plane request is a small static file (GET /s/hello.txt), so the figure measures the
# io loops and nothing else. Each wrk run lasts DURATION; the uploads are spread over it (back to
# back when one takes longer than its slot, stopping when the run ends; the line says how many
# finished inside it: on a busy machine fewer than UPLOADS).
# About 45 s per binary. Stops what it started by PID.
#
# Env: PORTICO_BIN (build/portico) DURATION (20 s per wrk run) CONNS (16) UPLOADS (100)
#      PORTICO_THREADS (2) PROTO (examples/chat/chat.proto)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PORTICO_BIN="${PORTICO_BIN:-$ROOT/build/portico}"
DURATION="${DURATION:-20}"
CONNS="${CONNS:-16}"
UPLOADS="${UPLOADS:-100}"
PORTICO_THREADS="${PORTICO_THREADS:-2}"
PROTO="${PROTO:-$ROOT/examples/chat/chat.proto}"

command -v wrk >/dev/null || { echo "wrk is missing: scripts/deps.sh wrk" >&2; exit 1; }
[[ -x "$PORTICO_BIN" ]] || { echo "no portico binary at $PORTICO_BIN" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-admin-upload.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
ADMIN_PORT="$(free_port)"
mkdir -p "$WORK/www" "$WORK/data"
echo "hello" >"$WORK/www/hello.txt"
cat >"$WORK/config.yaml" <<EOF
listen: 127.0.0.1:$PORT
admin: { listen: 127.0.0.1:$ADMIN_PORT }
store: { type: file, dir: $WORK/data }
threads: $PORTICO_THREADS
static: [{ prefix: /s/, dir: $WORK/www }]
EOF
"$PORTICO_BIN" --config "$WORK/config.yaml" 2>"$WORK/portico.log" &
PIDS+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$ADMIN_PORT/admin/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/s/hello.txt" >/dev/null || { cat "$WORK/portico.log"; exit 1; }

# wrk's --latency table; prints "p50 p99 max requests/s".
run_wrk() {
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/s/hello.txt" >"$WORK/wrk.txt"
  local p50 p99 max rps
  p50="$(awk '$1 == "50%" {print $2}' "$WORK/wrk.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")"
  max="$(awk '$1 == "Latency" {print $4; exit}' "$WORK/wrk.txt")"
  rps="$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")"
  echo "$p50 $p99 $max $rps"
}

# UPLOADS uploads spread over the wrk run (back to back when one takes longer than its slot),
# stopping when the run is over.
upload_loop() {
  local gap ok=0 inside=0 start now status
  gap="$(awk -v d="$DURATION" -v n="$UPLOADS" 'BEGIN { printf "%.3f", d * 0.9 / n }')"
  start="$(date +%s.%N)"
  for _ in $(seq "$UPLOADS"); do
    status="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
      --data-binary "@$PROTO" "http://127.0.0.1:$ADMIN_PORT/admin/descriptors?name=bench/upload.proto")"
    now="$(date +%s.%N)"
    # Past the wrk run, stop: the figure is about uploads during it (and the run stays short).
    awk -v s="$start" -v n="$now" -v d="$DURATION" 'BEGIN { exit !(n - s <= d) }' || break
    inside=$((inside + 1))
    [[ "$status" == 200 ]] && ok=$((ok + 1))
    sleep "$gap"
  done
  awk -v ok="$ok" -v k="$inside" \
    'BEGIN { printf "%d uploads inside the wrk run, %d of them 200\n", k, ok }' \
    >"$WORK/uploads.txt"
}

echo "# $(date -u +%FT%TZ) $PORTICO_BIN threads=$PORTICO_THREADS conns=$CONNS duration=${DURATION}s"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share these cores)"
read -r p50 p99 max rps < <(run_wrk)
printf "idle:          p50 %-8s p99 %-8s max %-8s %s req/s\n" "$p50" "$p99" "$max" "$rps"
upload_loop &
UPLOADER=$!
read -r p50 p99 max rps < <(run_wrk)
wait "$UPLOADER"
printf "with uploads:  p50 %-8s p99 %-8s max %-8s %s req/s (%s)\n" "$p50" "$p99" "$max" "$rps" \
  "$(cat "$WORK/uploads.txt")"
