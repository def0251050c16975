#!/usr/bin/env bash
# GET /admin/openapi.json of a real Portico checked by OpenAPI 3.1 validators and used by a
# generated client: starts build/examples/greeter_server and build/portico on free loopback
# ports, Portico loading the test protos and every example's protos (greeter, chat, dashboard)
# with the greeter as the one backend, waits for /admin/healthz, runs openapi_check.mjs, and
# stops what it started.
#
#   tests/openapi/run.sh [BUILD_DIR]          (default: $PORTICO_BUILD_DIR, else <repo>/build)
#
# Needs node (>= 20) and the packages of package-lock.json in tests/openapi/node_modules
# (installed with `npm ci` when missing).
# Exit status: openapi_check.mjs's (0 all passed, 1 a failure), 1 when setup fails, 77 when node
# or npm is missing or npm ci cannot reach the registry (for ctest's SKIP_RETURN_CODE).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-${PORTICO_BUILD_DIR:-$root/build}}" && pwd)
portico="$build/portico"
greeter_server="$build/examples/greeter_server"

log() { echo "run.sh: $*" >&2; }

for exe in "$portico" "$greeter_server"; do
  if [[ ! -x "$exe" ]]; then
    log "missing $exe (build it: ninja -C $build portico greeter_server)"
    exit 1
  fi
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "SKIP: node or npm is not installed"
  exit 77
fi
if [[ ! -d "$here/node_modules/swagger-client" || ! -d "$here/node_modules/@redocly/openapi-core" ||
      ! -d "$here/node_modules/@seriousme/openapi-schema-validator" ]]; then
  log "installing the validators and swagger-client (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || {
    log "SKIP: npm ci failed (is the npm registry reachable?); run it in $here"
    exit 77
  }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portico-openapi.XXXXXX")
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    # Both exit promptly on SIGTERM; SIGKILL whatever is still there after 5 s.
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 && -z "${KEEP_LOGS:-}" ]]; then
    for f in "$tmp"/*.log; do
      [[ -s "$f" ]] || continue
      echo "----- $(basename "$f") (last 40 lines) -----" >&2
      tail -n 40 "$f" >&2
    done
  fi
  if [[ -n "${KEEP_LOGS:-}" ]]; then
    log "logs kept in $tmp"
  else
    rm -rf "$tmp"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Three free loopback ports: backend, data plane, admin. (The OS picks them; they are released
# just before use, which is good enough on a test machine.)
read -r backend_port data_port admin_port < <(node -e '
  const net = require("net");
  const servers = [0, 1, 2].map(() => net.createServer());
  Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "));
    servers.forEach((s) => s.close());
  });')
if [[ -z "${admin_port:-}" ]]; then
  log "cannot find free ports"
  exit 1
fi

# Waits up to $2 seconds for command $1 (a string for eval) to succeed while pid $3 lives.
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

cd "$tmp"  # nothing lands in the caller's directory

"$greeter_server" --port="$backend_port" >"$tmp/greeter_server.log" 2>&1 &
pids+=($!)
wait_for "grep -q 'greeter listening' '$tmp/greeter_server.log'" 10 "${pids[-1]}"

# JSON is YAML; node does the quoting of paths.
# shellcheck disable=SC2016  # the single-quoted text is JavaScript
CONFIG_DATA="$data_port $admin_port $backend_port" ROOT="$root" TMP="$tmp" node -e '
  const [data, admin, backend] = process.env.CONFIG_DATA.split(" ");
  const root = process.env.ROOT, tmp = process.env.TMP;
  const proto = (dir, file) => ({ path: `${root}/${dir}/${file}`, import_paths: [`${root}/${dir}`] });
  const config = {
    listen: `127.0.0.1:${data}`,
    admin: { listen: `127.0.0.1:${admin}` },
    store: { type: "file", dir: `${tmp}/data` },
    descriptors: [
      proto("tests/protos", "portico/test/v1/test.proto"),
      proto("tests/protos", "portico/test/v1/extra.proto"),
      proto("examples/greeter", "greeter.proto"),
      proto("examples/chat", "chat.proto"),
      proto("examples/dashboard", "users.proto"),
      proto("examples/dashboard", "orders.proto"),
      proto("examples/dashboard", "recs.proto"),
      proto("examples/dashboard", "control.proto"),
    ],
    backends: [{ name: "greeter", endpoints: [`127.0.0.1:${backend}`], services: ["greeter.v1.Greeter"], timeout: "10s" }],
  };
  require("fs").writeFileSync(`${tmp}/portico.yaml`, JSON.stringify(config, null, 2) + "\n");'

"$portico" --config "$tmp/portico.yaml" >"$tmp/portico.log" 2>&1 &
pids+=($!)
wait_for "curl -fsS --max-time 1 http://127.0.0.1:$admin_port/admin/healthz" 15 "${pids[-1]}"

log "greeter_server on 127.0.0.1:$backend_port, portico on 127.0.0.1:$data_port (admin $admin_port)"
node "$here/openapi_check.mjs" "http://127.0.0.1:$admin_port" "http://127.0.0.1:$data_port"
