#!/usr/bin/env bash
# End-to-end test of the web console (/console/ on the admin listener) in Chromium: starts
# build/examples/greeter_server, build/examples/chat_server and build/portico (admin.token set;
# chat.proto loaded from the config, greeter.proto not: the test uploads it) on free loopback
# ports, then runs console_e2e.mjs, which logs in, uploads, calls (unary, server stream, bidi
# over the mux WebSocket), edits a policy, watches a backend turn unhealthy and checks the
# layout at 360x740. Screenshots go to $PORTICO_ARTIFACTS_DIR (default <build>/artifacts/console/).
#
#   tests/console/run.sh [BUILD_DIR]          (default: $PORTICO_BUILD_DIR, else <repo>/build)
#
# Needs node (>= 20), /usr/bin/chromium ($CHROMIUM overrides) and playwright-core in
# tests/console/node_modules (installed with `npm ci` when missing).
# Exit status: 0 passed, 1 a failure or a setup error, 77 when chromium, node or npm is
# unavailable (for ctest's SKIP_RETURN_CODE).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-${PORTICO_BUILD_DIR:-$root/build}}" && pwd)
portico="$build/portico"
greeter_server="$build/examples/greeter_server"
chat_server="$build/examples/chat_server"
chromium="${CHROMIUM:-/usr/bin/chromium}"
artifacts="${PORTICO_ARTIFACTS_DIR:-$build/artifacts/console}"

# shellcheck source=tests/support/suite_lib.sh
source "$root/tests/support/suite_lib.sh"

suite_need_exes "cmake --build --preset default --target portico greeter_server chat_server" \
  "$portico" "$greeter_server" "$chat_server"
suite_need_tools node "$chromium"
suite_npm_ci "$here" playwright-core

mkdir -p "$artifacts"
suite_start_tmp console
# Four free loopback ports: greeter, chat, data plane, admin.
read -r greeter_port chat_port data_port admin_port < <(suite_free_ports 4)
[[ -n "${admin_port:-}" ]] || { log "cannot find free ports"; exit 1; }

"$greeter_server" --port="$greeter_port" >"$tmp/greeter_server.log" 2>&1 &
greeter_pid=$!
pids+=("$greeter_pid")
"$chat_server" --port="$chat_port" >"$tmp/chat_server.log" 2>&1 &
pids+=($!)
wait_for "grep -q 'greeter listening' '$tmp/greeter_server.log'" 10 "$greeter_pid"
wait_for "grep -q 'chat listening' '$tmp/chat_server.log'" 10 "${pids[-1]}"

token=$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')
# JSON is YAML; node does the quoting of paths.
# shellcheck disable=SC2016  # the single-quoted text is JavaScript
CONFIG_DATA="$data_port $admin_port $greeter_port $chat_port $token" ROOT="$root" TMP="$tmp" node -e '
  const [data, admin, greeter, chat, token] = process.env.CONFIG_DATA.split(" ");
  const root = process.env.ROOT, tmp = process.env.TMP;
  const config = {
    listen: `127.0.0.1:${data}`,
    admin: { listen: `127.0.0.1:${admin}`, token },
    store: { type: "file", dir: `${tmp}/data` },
    // chat.proto from the config; greeter.proto is uploaded through the console.
    descriptors: [{ path: `${root}/examples/chat/chat.proto`, import_paths: [`${root}/examples/chat`] }],
    backends: [
      { name: "greeter", endpoints: [`127.0.0.1:${greeter}`], services: ["greeter.v1.Greeter"],
        timeout: "10s",
        health_check: { interval: "300ms", timeout: "250ms", unhealthy_threshold: 1, healthy_threshold: 1 } },
      { name: "chat", endpoints: [`127.0.0.1:${chat}`], services: ["chat.v1.Chat"], timeout: "3600s" },
    ],
    policies: [{ name: "hello-limit", match: { path_prefix: "/v1/hello" },
                 rate_limit: { rate: 100, per: "1s", burst: 200, key: "ip" } }],
  };
  require("fs").writeFileSync(`${tmp}/portico.yaml`, JSON.stringify(config, null, 2) + "\n");'

# The files embedded in the binary are tested, unless PORTICO_CONSOLE_DIR is set in the caller's
# environment (then Portico reads http/console/ from disk: edit, rerun, no rebuild).
"$portico" --config "$tmp/portico.yaml" >"$tmp/portico.log" 2>&1 &
pids+=($!)
wait_for "curl -fsS --max-time 1 http://127.0.0.1:$admin_port/admin/healthz -H 'Authorization: Bearer $token'" 15 "${pids[-1]}"

log "greeter :$greeter_port, chat :$chat_port, portico :$data_port (admin :$admin_port); screenshots in $artifacts"
CHROMIUM="$chromium" ARTIFACTS="$artifacts" ROOT="$root" TOKEN="$token" GREETER_PID="$greeter_pid" \
  node "$here/console_e2e.mjs" "http://127.0.0.1:$admin_port"
