# The harness shared by the run.sh of the suites that drive real processes from node
# (tests/browser, tests/clients, tests/console, tests/openapi): skips, `npm ci`, a temporary
# directory whose processes are stopped on exit, free ports, waiting for readiness.
# Source it after `set -euo pipefail`; it defines:
#
#   log MESSAGE...                  to stderr, prefixed "run.sh:"
#   suite_need_exes HINT EXE...     exit 1 naming a missing built binary (HINT: how to build it)
#   suite_need_tools TOOL...        exit 77 (ctest's skip) when a tool is not installed
#   suite_npm_ci DIR MODULE...      `npm ci` in DIR unless DIR/node_modules has every MODULE;
#                                   exit 77 when it cannot (no npm, registry unreachable)
#   suite_start_tmp NAME            tmp=<a new directory>; cd there; on exit every pid in the
#                                   array `pids` gets SIGTERM (SIGKILL after 5 s), a failure
#                                   prints the tail of each *.log there (except suite-*.log,
#                                   which the caller shows itself), KEEP_LOGS=1 keeps the directory
#   suite_free_ports N              prints N free loopback ports (the OS picks them; they are
#                                   released just before use, good enough on a test machine)
#   wait_for WHAT SECONDS PID       waits for command WHAT (a string for eval) to succeed while
#                                   PID lives; returns 1 on timeout or when PID exits

log() { echo "run.sh: $*" >&2; }

suite_need_exes() {
  local hint=$1 exe
  shift
  for exe in "$@"; do
    if [[ ! -x "$exe" ]]; then
      log "missing $exe (build it: $hint)"
      exit 1
    fi
  done
}

suite_need_tools() {
  local tool
  for tool in "$@"; do
    if [[ $tool == /* ]]; then
      [[ -x "$tool" ]] && continue
    elif command -v "$tool" >/dev/null; then
      continue
    fi
    log "SKIP: $tool is not installed"
    exit 77
  done
}

suite_npm_ci() {
  local dir=$1 module missing=
  shift
  for module in "$@"; do
    [[ -d "$dir/node_modules/$module" ]] || missing=1
  done
  [[ -n "$missing" ]] || return 0
  suite_need_tools npm
  log "installing $* (npm ci)"
  # The packages come from the npm registry; without them the suite cannot run at all, which is
  # a skip (77, reported by ctest), not a failure of Portico.
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || {
    log "SKIP: npm ci failed (is the npm registry reachable?); run it in $dir"
    exit 77
  }
}

pids=()
suite_cleanup() {
  local status=$? pid f
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do  # SIGKILL whatever still runs after 5 s
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    for f in "$tmp"/*.log; do
      [[ -s "$f" && $f != */suite-*.log ]] || continue
      echo "----- $(basename "$f") (last 40 lines) -----" >&2
      tail -n 40 "$f" >&2
    done
  fi
  if [[ -n "${KEEP_LOGS:-}" ]]; then log "logs kept in $tmp"; else rm -rf "$tmp"; fi
  exit "$status"
}

suite_start_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/portico-$1.XXXXXX")
  trap suite_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cd "$tmp"  # nothing lands in the caller's directory
}

suite_free_ports() {
  N="$1" node -e '
    const net = require("net");
    const servers = Array.from({ length: Number(process.env.N) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    });'
}

wait_for() {
  local what=$1 seconds=$2 pid=$3
  local deadline=$((SECONDS + seconds))
  until eval "$what" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited while waiting for: $what"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${seconds}s waiting for: $what"
      return 1
    fi
    sleep 0.1
  done
}
