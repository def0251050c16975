# Shared by the bench scripts (source it after setting WORK, and `die`):
#   PIDS+=($!)            children stopped on exit (TERM, then KILL after 5 s)
#   CLEAN_DIR             what a clean exit removes (default $WORK); KEEP=1 keeps it
#   free_port <first>     the first port from <first> nothing listens on (never the same twice)
#   wait_port <port> <pid> until something listens on <port>, or <pid> is gone (15 s)
#   cpu_ticks <pid>       utime + stime of a process, in clock ticks
#   median                of the numbers on stdin, one per line
#   ensure_echo_backend   builds ../shared/peers' echo_backend into $OUT unless $BACKEND_BIN exists
#                         (needs PEERS, OUT, ROOT, BACKEND_BIN and `log`)
PIDS=()
bench_cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ "${KEEP:-0}" == 1 || $rc -ne 0 ]] && echo "logs kept in $WORK" >&2
  [[ "${KEEP:-0}" == 1 || $rc -ne 0 ]] || rm -rf "${CLEAN_DIR:-$WORK}"
  exit $rc
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
TAKEN=" "
free_port() {
  local p=$1
  while port_busy "$p" || [[ "$TAKEN" == *" $p "* ]]; do
    p=$((p + 1)); ((p < $1 + 500)) || die "no free port near $1"
  done
  TAKEN+="$p "; echo "$p"
}
wait_port() {
  for _ in $(seq 1 150); do
    port_busy "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ensure_echo_backend() {
  [[ -x "$BACKEND_BIN" ]] && return 0
  log ">> building echo_backend into $OUT"
  make -C "$PEERS/backend" OUT="$OUT" GOOGLEAPIS="$ROOT/proto" -j2 >"$WORK/logs/backend-build.log" 2>&1 ||
    die "echo_backend build failed (log: $WORK/logs/backend-build.log)"
}
