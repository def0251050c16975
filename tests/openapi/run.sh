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

# shellcheck source=tests/support/suite_lib.sh
source "$root/tests/support/suite_lib.sh"

suite_need_exes "cmake --build --preset default --target portico greeter_server" \
  "$portico" "$greeter_server"
suite_need_tools node
suite_npm_ci "$here" swagger-client @redocly/openapi-core @seriousme/openapi-schema-validator

suite_start_tmp openapi
# Three free loopback ports: backend, data plane, admin.
read -r backend_port data_port admin_port < <(suite_free_ports 3)
[[ -n "${admin_port:-}" ]] || { log "cannot find free ports"; exit 1; }

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
