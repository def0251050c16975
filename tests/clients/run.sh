#!/usr/bin/env bash
# Portico's front doors tested with the clients users run. Starts build/tests/portico_test_backend
# (portico.test.v1.TestService) and two build/portico processes on free loopback ports, one
# plaintext (HTTP/1.1 and h2c) and one with `tls:` (a CA and a certificate made here with
# openssl; h2 and http/1.1 by ALPN), both with the descriptor set protoc writes of tests/protos
# and a CORS policy for the browser page's origin; then runs the suites:
#
#   connect-node  @connectrpc/connect-node: Connect JSON/proto, gRPC-Web and gRPC transports
#   grpc-js       @grpc/grpc-js: native gRPC, four call kinds, deadline, cancel, metadata
#   grpcio        python3-grpcio: the same
#   browser       Chromium (playwright-core): grpc-web text/binary, connect-web, WSS, CORS
#   curl          REST over HTTPS (h2, http/1.1) and over h2c (--http2-prior-knowledge)
#
#   tests/clients/run.sh [BUILD_DIR] [SUITE...]     (default: $PORTICO_BUILD_DIR, else <repo>/build;
#                                                     all suites)
#
# Prints one line per case ("ok   <suite>: <case>" / "FAIL <suite>: <case>: <why>") and a summary.
# Exit status: 0 every selected suite passed, 1 a failure (or setup failed), 77 when node is
# missing or `npm ci` cannot reach the registry (ctest's SKIP_RETURN_CODE). KEEP_LOGS=1 keeps the
# temporary directory (configs, certificates, logs); PORTICO_TEST_BACKEND names another backend binary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build_arg=${PORTICO_BUILD_DIR:-$root/build}
if [[ $# -gt 0 && -d "$1" ]]; then build_arg=$1; shift; fi
build=$(cd "$build_arg" && pwd)
portico="$build/portico"
backend="${PORTICO_TEST_BACKEND:-$build/tests/portico_test_backend}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
python=/usr/bin/python3  # Debian's, where python3-grpcio lives (not a pyenv shim)
all_suites=(connect-node grpc-js grpcio browser curl)
suites=("$@")
((${#suites[@]})) || suites=("${all_suites[@]}")
SUITE_TIMEOUT=${SUITE_TIMEOUT:-150}

# shellcheck source=tests/support/suite_lib.sh
source "$root/tests/support/suite_lib.sh"

for s in "${suites[@]}"; do
  [[ " ${all_suites[*]} " == *" $s "* ]] || { log "unknown suite '$s' (known: ${all_suites[*]})"; exit 2; }
done
suite_need_exes "cmake --build --preset default --target portico portico_test_backend" \
  "$portico" "$backend"
suite_need_tools node protoc openssl curl
suite_npm_ci "$here" @connectrpc/connect-node @grpc/grpc-js grpc-web playwright-core @bufbuild/protobuf

suite_start_tmp clients
read -r plain_port plain_admin tls_port tls_admin page_port < <(suite_free_ports 5)
[[ -n "${page_port:-}" ]] || { log "cannot find free ports"; exit 1; }

# A CA and a server certificate for 127.0.0.1 and localhost it signs (EC keys: fast).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=Portico test CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>openssl.log
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout server.key -out server.csr 2>>openssl.log
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem 2>>openssl.log

# The descriptor set of the test service, plus google.rpc's Status and details for the clients.
protoc -I"$root/tests/protos" -I"$root/proto" -I/usr/include --include_imports \
  --descriptor_set_out="$tmp/test.pb" portico/test/v1/test.proto google/rpc/status.proto \
  google/rpc/error_details.proto

"$backend" >backend.log 2>&1 &
pids+=($!)
wait_for "grep -q '^port ' backend.log" 10 "${pids[-1]}"
backend_port=$(awk '/^port /{print $2; exit}' backend.log)

page_origin="http://127.0.0.1:$page_port"
write_config() {  # $1 file, $2 data port, $3 admin port, $4 "tls" or ""
  # JSON is YAML; node does the quoting.
  # shellcheck disable=SC2016  # the single-quoted text is JavaScript
  OUT=$1 DATA=$2 ADMIN=$3 WITH_TLS=$4 BACKEND=$backend_port ORIGIN=$page_origin TMP=$tmp node -e '
    const e = process.env;
    const config = {
      listen: `127.0.0.1:${e.DATA}`,
      admin: { listen: `127.0.0.1:${e.ADMIN}` },
      store: { type: "file", dir: `${e.TMP}/data-${e.DATA}` },
      descriptors: [{ path: `${e.TMP}/test.pb` }],
      backends: [{ name: "test", endpoints: [`127.0.0.1:${e.BACKEND}`],
                   services: ["portico.test.v1.TestService"], timeout: "30s" }],
      policies: [{ name: "page-cors", cors: {
        allow_origins: [e.ORIGIN], allow_methods: ["GET", "POST"],
        allow_headers: ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout",
                        "connect-protocol-version", "connect-timeout-ms", "x-client-meta"],
        expose_headers: ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-reply-header",
                         "x-reply-trailer", "trailer-x-reply-trailer"],
        max_age: "60s" } }],
      websocket: { allowed_origins: [e.ORIGIN] },
      access_log: { path: `${e.TMP}/access-${e.DATA}.log` },
    };
    if (e.WITH_TLS) config.tls = { cert_file: `${e.TMP}/server.pem`, key_file: `${e.TMP}/server.key` };
    require("fs").writeFileSync(e.OUT, JSON.stringify(config, null, 2) + "\n");'
}
write_config portico_plain.yaml "$plain_port" "$plain_admin" ""
write_config portico_tls.yaml "$tls_port" "$tls_admin" tls

"$portico" --config portico_plain.yaml >portico_plain.log 2>&1 &
pids+=($!)
wait_for "curl -fsS --max-time 1 http://127.0.0.1:$plain_admin/admin/healthz" 15 "${pids[-1]}"

# A Portico that rejects the tls config (or cannot serve it) fails the TLS cases, not the run.
tls_addr=""
"$portico" --config portico_tls.yaml >portico_tls.log 2>&1 &
pids+=($!)
if wait_for "curl -fsS --max-time 1 http://127.0.0.1:$tls_admin/admin/healthz" 15 "${pids[-1]}"; then
  tls_addr="127.0.0.1:$tls_port"
else
  log "Portico with tls did not start; TLS cases fail. Its log:"
  tail -n 5 portico_tls.log >&2
fi

log "backend 127.0.0.1:$backend_port; portico plain 127.0.0.1:$plain_port (admin $plain_admin)," \
  "tls ${tls_addr:-none} (admin $tls_admin)"
export PLAIN="127.0.0.1:$plain_port" TLS="$tls_addr" CA_FILE="$tmp/ca.pem" DESCRIPTOR_SET="$tmp/test.pb"
export PAGE_PORT="$page_port" CHROMIUM="$chromium" NODE_PATH="$here/node_modules"

declare -A result
run_suite() {  # $1 name, rest: command
  local name=$1
  shift
  local started=$SECONDS status=0
  echo "== $name"
  # pipefail: the status is the suite's (tee succeeds).
  (cd "$here" && timeout -k 5 "$SUITE_TIMEOUT" "$@") 2>&1 | tee "$tmp/suite-$name.log" || status=$?
  ((status == 124)) && echo "FAIL $name: the suite took longer than ${SUITE_TIMEOUT}s"
  result[$name]="$status $((SECONDS - started))s"
}

for s in "${suites[@]}"; do
  case $s in
    connect-node) run_suite "$s" node connect_node.mjs ;;
    grpc-js) run_suite "$s" node grpc_js.mjs ;;
    grpcio)
      if "$python" -c 'import grpc, google.protobuf' 2>/dev/null; then
        run_suite "$s" "$python" grpcio_client.py
      else
        echo "FAIL grpcio: python3-grpcio is not installed (apt-get install -y python3-grpcio python3-protobuf)"
        result[$s]="1 0s"
      fi
      ;;
    browser)
      if [[ -x "$chromium" ]]; then
        run_suite "$s" node browser.mjs
      else
        echo "FAIL browser: $chromium is missing (apt-get install -y chromium)"
        result[$s]="1 0s"
      fi
      ;;
    curl) run_suite "$s" bash curl_cases.sh ;;
  esac
done

echo "== summary"
overall=0
for s in "${suites[@]}"; do
  read -r status took <<<"${result[$s]}"
  if [[ $status == 0 ]]; then echo "PASS $s ($took)"; else echo "FAIL $s (exit $status, $took)"; overall=1; fi
done
for name in plain tls; do
  if grep -qiE 'AddressSanitizer|runtime error|terminate called|Segmentation' "portico_$name.log"; then
    echo "FAIL portico ($name) log shows a crash or sanitizer report"
    overall=1
  fi
done
exit $overall
