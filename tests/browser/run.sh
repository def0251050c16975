#!/usr/bin/env bash
# Browser end-to-end test of the chat example: starts build/examples/chat_server and build/portico
# on free loopback ports (with a generated config and a temporary data dir), waits for
# /admin/healthz, runs chat_e2e.mjs against the gateway, and stops what it started.
#
#   tests/browser/run.sh [BUILD_DIR]          (default: $PORTICO_BUILD_DIR, else <repo>/build)
#
# Needs node (>= 18), /usr/bin/chromium (apt-get install -y chromium; $CHROMIUM overrides) and
# playwright-core in tests/browser/node_modules (installed with `npm ci` when missing).
# Exit status: chat_e2e.mjs's (0 all passed, 1 a failure), 1 when setup fails, 77 when chromium
# or node is missing (for ctest's SKIP_RETURN_CODE).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-${PORTICO_BUILD_DIR:-$root/build}}" && pwd)
portico="$build/portico"
chat_server="$build/examples/chat_server"
chromium="${CHROMIUM:-/usr/bin/chromium}"

# shellcheck source=tests/support/suite_lib.sh
source "$root/tests/support/suite_lib.sh"

suite_need_exes "cmake --build --preset default --target portico chat_server" \
  "$portico" "$chat_server"
suite_need_tools node "$chromium"
suite_npm_ci "$here" playwright-core

suite_start_tmp browser
# Three free loopback ports: backend, data plane, admin.
read -r backend_port data_port admin_port < <(suite_free_ports 3)
[[ -n "${admin_port:-}" ]] || { log "cannot find free ports"; exit 1; }

"$chat_server" --port="$backend_port" >"$tmp/chat_server.log" 2>&1 &
pids+=($!)
wait_for "grep -q 'chat listening' '$tmp/chat_server.log'" 10 "${pids[-1]}"

# JSON is YAML; node does the quoting of paths.
# shellcheck disable=SC2016  # the single-quoted text is JavaScript
CONFIG_DATA="$data_port $admin_port $backend_port" ROOT="$root" TMP="$tmp" node -e '
  const [data, admin, backend] = process.env.CONFIG_DATA.split(" ");
  const root = process.env.ROOT, tmp = process.env.TMP;
  const config = {
    listen: `127.0.0.1:${data}`,
    admin: { listen: `127.0.0.1:${admin}` },
    store: { type: "file", dir: `${tmp}/data` },
    descriptors: [{ path: `${root}/examples/chat/chat.proto`, import_paths: [`${root}/examples/chat`] }],
    backends: [{ name: "chat", endpoints: [`127.0.0.1:${backend}`], services: ["chat.v1.Chat"], timeout: "3600s" }],
    static: [{ prefix: "/chat/", dir: `${root}/examples/chat/web` }],
  };
  require("fs").writeFileSync(`${tmp}/portico.yaml`, JSON.stringify(config, null, 2) + "\n");'

"$portico" --config "$tmp/portico.yaml" >"$tmp/portico.log" 2>&1 &
pids+=($!)
wait_for "curl -fsS --max-time 1 http://127.0.0.1:$admin_port/admin/healthz" 15 "${pids[-1]}"

log "chat_server on 127.0.0.1:$backend_port, portico on 127.0.0.1:$data_port (admin $admin_port)"
CHROMIUM="$chromium" node "$here/chat_e2e.mjs" "http://127.0.0.1:$data_port"
