#!/usr/bin/env bash
# Builds Portico and the greeter example, starts the greeter gRPC backend and Portico on its
# embedded default (data plane 127.0.0.1:8080, admin 127.0.0.1:9901, data in ./portico-data),
# registers greeter.proto and the backend through the admin API, and prints what to curl.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/portico-ccache}"
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target portico greeter_server

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

build/examples/greeter_server --port=50051 & pids+=($!)
build/portico & pids+=($!)
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:9901/admin/healthz >/dev/null && break
  sleep 0.1
done
curl -sf http://127.0.0.1:9901/admin/healthz >/dev/null || { echo "portico did not start" >&2; exit 1; }

# Routes appear at run time: upload the .proto, then say which backend serves it.
curl -sS -X POST 'http://127.0.0.1:9901/admin/descriptors?name=greeter.proto' \
  -H 'Content-Type: text/plain' --data-binary @examples/greeter/greeter.proto; echo
curl -sS -X PUT http://127.0.0.1:9901/admin/backends/greeter -H 'Content-Type: application/json' \
  -d '{"endpoints":["127.0.0.1:50051"],"services":["greeter.v1.Greeter"],"timeout":"10s"}'; echo

cat <<'TXT'

Portico is up. Try:
  curl http://127.0.0.1:8080/v1/hello/world
  curl -X POST http://127.0.0.1:8080/v1/hello -d '{"name":"you"}'
  curl -X POST http://127.0.0.1:8080/greeter.v1.Greeter/SayHello -d '{"name":"default route"}'
  curl http://127.0.0.1:9901/admin/routes
  curl http://127.0.0.1:9901/metrics
  curl http://127.0.0.1:9901/admin/openapi.json
The web console: http://127.0.0.1:9901/console/ (browse, upload .proto files, call methods).
Ctrl-C to stop.
TXT
wait "${pids[1]}"
